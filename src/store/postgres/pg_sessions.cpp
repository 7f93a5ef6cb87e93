// The PostgreSQL store's sessions as users see them (API.md §10): listing, ending one, ending
// the idle ones, recording a use, and the rows of refresh-token rotation. Each write is one
// statement (a data-modifying CTE), so it commits whole; the ones that revoke NOTIFY the feed.
// The ones that end sessions run in pg::Pool::Transact, as their feed entries wait for the
// feed's turn (kTakeFeedTurn). Rotations go in batches, one autocommit statement each
// (store/rotation_batches.hpp); one decided alone is one autocommit statement, sent again when
// its connection is lost (CompareAndRotate says why that is safe). A rotation writes no feed
// entry and so does not take the feed's turn: only a reuse, which ends the session, does.
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "store/postgres/pg_statements.hpp"
#include "store/postgres/postgres_store.hpp"
#include "store/store_rows.hpp"

namespace gatehouse::store {
namespace {

// A PostgreSQL array literal of `values` (elements quoted, `"` and `\` escaped): one parameter
// for a whole batch.
template <typename Field>
std::string ArrayLiteral(const std::vector<const RotationRequest*>& requests, Field field) {
  std::string out = "{";
  for (const RotationRequest* request : requests) {
    if (out.size() > 1) out += ',';
    out += '"';
    for (const char c : pg::ParamText(field(*request))) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

template <typename T>
Result<std::optional<T>> FirstOrNone(Result<std::vector<T>> rows) {
  if (!rows) return rows.error();
  if (rows->empty()) return std::optional<T>();
  return std::optional<T>(std::move(rows->front()));
}

}  // namespace

Result<std::vector<SessionRecord>> PostgresStore::SelectSessions(const std::string& key,
                                                                 int64_t now, int64_t idle_since) {
  auto rows = pool_.Run(pg::kListSessions, key, now, idle_since);
  if (!rows) return rows.error();
  return pg::ReadAll(*rows, &DecodeSession<pg::Rows::Row>);
}

Result<std::optional<SessionRecord>> PostgresStore::SelectSession(std::string_view sid) {
  auto rows = pool_.Run(pg::kFindSession, sid);
  if (!rows) return rows.error();
  return FirstOrNone(pg::ReadAll(*rows, &DecodeSession<pg::Rows::Row>));
}

Result<std::vector<Revocation>> PostgresStore::EndedAndNotified(Result<pg::Rows> rows) {
  if (!rows) return rows.error();
  Result<std::vector<Revocation>> ended = pg::ReadAll(*rows, &DecodeEndedSession<pg::Rows::Row>);
  if (ended && !ended->empty()) Notify();
  return ended;
}

Result<std::optional<Revocation>> PostgresStore::DeleteSession(const std::string& key,
                                                               std::string_view sid,
                                                               const AccountEvent* event) {
  return FirstOrNone(EndedAndNotified(WithFeedEntries(
      event, [&](auto& db) { return db.Run(pg::kEndSession, key, sid); },
      [](const pg::Rows& rows) { return rows.Count() != 0; })));
}

Result<std::vector<Revocation>> PostgresStore::DeleteIdleSessions(int64_t idle_since) {
  return EndedAndNotified(WithFeedEntries(
      nullptr, [&](auto& db) { return db.Run(pg::kEndIdleSessions, idle_since); },
      [](const pg::Rows&) { return true; }));
}

Result<bool> PostgresStore::UpdateSessionUse(std::string_view sid, const SessionUse& use,
                                             int64_t idle_since) {
  auto rows =
      pool_.Run(pg::kTouchSession, sid, use.at, use.client_address, use.user_agent, idle_since);
  if (!rows) return rows.error();
  return rows->Affected() != 0;
}

Result<std::optional<RefreshUse>> PostgresStore::SelectRefreshUse(std::string_view jti) {
  auto rows = pool_.Run(pg::kFindRefreshUse, jti);
  if (!rows) return rows.error();
  return FirstOrNone(pg::ReadAll(*rows, &DecodeRefreshUse<pg::Rows::Row>));
}

Result<bool> PostgresStore::CompareAndRotate(const RotationRequest& request,
                                             std::string_view expected_jti) {
  // One autocommit statement (one round trip; the compare, the new jti and the used one's record
  // commit together). A connection lost before its result leaves unknown whether it committed,
  // so it is sent once more, and either way the caller ends with the answer of a rotation:
  // - it had not committed: the second run is the rotation;
  // - it had: the second run matches no row (the current jti is the new one now) and changes
  //   nothing, Store::RotateRefresh then reads the used record of the presented jti, which holds
  //   this very request's sealed answer with used_at = request.use.at, so it is a replay within
  //   any reuse interval and answers the pair minted for this request (the record is kept 60 s
  //   past the interval, serve.cpp's pruning, far longer than a resend takes);
  // - another request with the same token won meanwhile: the same replay of its answer that a
  //   concurrent refresh gets (API.md §10).
  auto rows =
      pool_.RunResendingIfLost(pg::kRotateSession, request.sid, expected_jti, request.new_jti,
                               request.use.at, request.use.client_address, request.use.user_agent,
                               request.idle_since, request.presented_jti, request.sealed_answer);
  if (!rows) return rows.error();
  return rows->Affected() != 0;
}

void PostgresStore::QueueRotation(const RotationRequest& request, RotationDone done) {
  rotations_.Submit(request, std::move(done));
}

Result<std::vector<bool>> PostgresStore::RotateCurrent(
    const std::vector<const RotationRequest*>& requests) {
  using R = const RotationRequest&;
  // Not sent again when the connection is lost: the batch fails, and each rotation is decided
  // alone (RotationBatches says why that is safe).
  auto rows = pool_.Run(
      pg::kRotateSessions, ArrayLiteral(requests, [](R r) { return std::string_view(r.sid); }),
      ArrayLiteral(requests, [](R r) { return std::string_view(r.presented_jti); }),
      ArrayLiteral(requests, [](R r) { return std::string_view(r.new_jti); }),
      ArrayLiteral(requests, [](R r) { return r.use.at; }),
      ArrayLiteral(requests, [](R r) { return std::string_view(r.use.client_address); }),
      ArrayLiteral(requests, [](R r) { return std::string_view(r.use.user_agent); }),
      ArrayLiteral(requests, [](R r) { return r.idle_since; }),
      ArrayLiteral(requests, [](R r) { return std::string_view(r.sealed_answer); }));
  if (!rows) return rows.error();
  std::unordered_set<std::string> rotated;
  for (int i = 0; i < rows->Count(); ++i) rotated.insert(rows->Text(i, 0));
  std::vector<bool> answer;
  answer.reserve(requests.size());
  for (const RotationRequest* request : requests) answer.push_back(rotated.contains(request->sid));
  return answer;
}

}  // namespace gatehouse::store
