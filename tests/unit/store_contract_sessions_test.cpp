// The storage contract of sessions (API.md §10; store/store.hpp): listing, ending one, ending
// the idle ones, recording a use, and rotation's compare-and-set, replay and reuse, on every
// backend (the fixture of store_contract_test.cpp: PostgreSQL with GATEHOUSE_TEST_PG_URL).
#include "unit/store_contract_fixture.hpp"

namespace gatehouse::store {
namespace {

class SessionStoreContractTest : public StoreContractTest {
 protected:
  void SetUp() override {
    StoreContractTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    ASSERT_TRUE(CreateUser(*store_, MakeUser("ivan")));
    ASSERT_TRUE(CreateUser(*store_, MakeUser("judy")));
  }

  // A session of `username` last used at `used_at`, whose current refresh jti is "<sid>-r0".
  void Open(const std::string& sid, const std::string& username, int64_t used_at,
            int64_t expires_at = 9000) {
    SessionRecord session = MakeSession(sid, username, expires_at);
    session.created_at = used_at;  // a session is used when it starts
    session.last_used_at = used_at;
    session.client_address = "10.0.0.1";
    session.user_agent = "agent/" + sid;
    session.refresh_jti = sid + "-r0";
    ASSERT_TRUE(CreateSession(*store_, session, 0));
  }

  std::vector<std::string> Listed(const std::string& username, int64_t now = 1000,
                                  int64_t idle_since = 0) {
    auto sessions = store_->ListSessions(UsernameKey(username), now, idle_since);
    EXPECT_TRUE(sessions) << Why(sessions);
    std::vector<std::string> sids;
    if (sessions)
      for (const SessionRecord& session : *sessions) sids.push_back(session.sid);
    return sids;
  }

  // Presents `jti` of session `sid` at `at` (unix seconds), answering `new_jti`.
  static RotationRequest Rotation(const std::string& sid, const std::string& jti,
                                  const std::string& new_jti, int64_t at) {
    return RotationRequest{sid,
                           "ivan",
                           jti,
                           new_jti,
                           "sealed:" + new_jti,
                           10,
                           0,
                           at * 1000,
                           SessionUse{at, "10.0.0.9", "rotating/1"},
                           "ivan"};
  }

  RotationOutcome::Kind Rotate(const RotationRequest& request, std::string* sealed = nullptr) {
    auto outcome = store_->RotateRefresh(request);
    EXPECT_TRUE(outcome) << Why(outcome);
    if (!outcome) return RotationOutcome::Kind::kEnded;
    if (sealed != nullptr) *sealed = outcome->sealed_answer;
    return outcome->kind;
  }

  bool Revoked(const std::string& sid) {
    auto revocations = store_->LoadRevocations(0);
    EXPECT_TRUE(revocations) << Why(revocations);
    for (const Revocation& revocation : *revocations) {
      if (revocation.id == sid) return revocation.kind == RevocationKind::kSession;
    }
    return false;
  }
};

using Kind = RotationOutcome::Kind;

TEST_P(SessionStoreContractTest, ListSessionsShowsTheUsersLiveSessionsMostRecentlyUsedFirst) {
  Open("s-old", "ivan", 1000);
  Open("s-new", "IVAN", 1200);
  Open("s-expired", "ivan", 1300, 1500);
  Open("s-judy", "judy", 1100);

  EXPECT_EQ(Listed("ivan", 1400), (std::vector<std::string>{"s-expired", "s-new", "s-old"}));
  EXPECT_EQ(Listed("ivan", 1500), (std::vector<std::string>{"s-new", "s-old"}));
  // Idle since 1100: a session last used before it is not listed.
  EXPECT_EQ(Listed("ivan", 1400, 1100), (std::vector<std::string>{"s-expired", "s-new"}));
  auto sessions = store_->ListSessions(UsernameKey("ivan"), 1500, 0);
  ASSERT_TRUE(sessions) << Why(sessions);
  const SessionRecord& newest = sessions->front();
  EXPECT_EQ(newest.username, "ivan");  // the user's name as first given
  EXPECT_EQ(newest.last_used_at, 1200);
  EXPECT_EQ(newest.expires_at, 9000);
  EXPECT_EQ(newest.client_address, "10.0.0.1");
  EXPECT_EQ(newest.user_agent, "agent/s-new");
}

TEST_P(SessionStoreContractTest, EndSessionDeletesTheRecordAndRevokesItsSidDurablyWithAFeedEntry) {
  Open("s1", "ivan", 1000, 8000);
  Open("s2", "ivan", 1000);

  auto ended = store_->EndSession(UsernameKey("Ivan"), "s1");
  ASSERT_TRUE(ended) << Why(ended);
  ASSERT_TRUE(ended->has_value());
  EXPECT_EQ((*ended)->id, "s1");
  EXPECT_EQ((*ended)->kind, RevocationKind::kSession);
  EXPECT_EQ((*ended)->expires_at, 8000);
  EXPECT_EQ(Listed("ivan"), (std::vector<std::string>{"s2"}));
  EXPECT_TRUE(Revoked("s1"));
  EXPECT_EQ(Describe(AllEvents()), (std::vector<std::string>{"session s1 8000"}));
  // Another store on the database (another instance) sees it at once.
  std::unique_ptr<Store> other = OpenDatabase();
  ASSERT_TRUE(other);
  EXPECT_TRUE(other->IsRevoked("any-jti", "s1", UsernameKey("ivan"), 1000).value());
  EXPECT_FALSE(other->FindSession("s1").value().has_value());
}

TEST_P(SessionStoreContractTest, EndSessionOfAnEndedAnUnknownOrAnotherUsersSessionEndsNothing) {
  Open("s1", "ivan", 1000);
  ASSERT_TRUE(store_->EndSession(UsernameKey("ivan"), "s1").value().has_value());

  EXPECT_FALSE(store_->EndSession(UsernameKey("ivan"), "s1").value().has_value());
  EXPECT_FALSE(store_->EndSession(UsernameKey("ivan"), "no-such-sid").value().has_value());
  Open("s-judy", "judy", 1000);
  EXPECT_FALSE(store_->EndSession(UsernameKey("ivan"), "s-judy").value().has_value());
  EXPECT_EQ(Listed("judy"), (std::vector<std::string>{"s-judy"}));
  EXPECT_FALSE(Revoked("s-judy"));
  // The empty key: whoever owns it (reuse detection, the idle sweep).
  EXPECT_TRUE(store_->EndSession(UsernameKey(), "s-judy").value().has_value());
  EXPECT_TRUE(Listed("judy").empty());
}

TEST_P(SessionStoreContractTest, TouchSessionRecordsTheLatestUseUnlessTheSessionIsIdleOrGone) {
  Open("s1", "ivan", 1000);
  Open("s2", "ivan", 1100);

  ASSERT_TRUE(store_->TouchSession("s1", SessionUse{1200, "10.0.0.7", "touch/1"}, 0).value());
  auto found = store_->FindSession("s1");
  ASSERT_TRUE(found && found->has_value()) << Why(found);
  EXPECT_EQ((*found)->last_used_at, 1200);
  EXPECT_EQ((*found)->client_address, "10.0.0.7");
  EXPECT_EQ((*found)->user_agent, "touch/1");
  EXPECT_EQ(Listed("ivan"), (std::vector<std::string>{"s1", "s2"}));
  // An older use (a late write) never moves last_used_at back.
  ASSERT_TRUE(store_->TouchSession("s1", SessionUse{1150, "10.0.0.8", "late/1"}, 0).value());
  EXPECT_EQ(store_->FindSession("s1").value()->last_used_at, 1200);

  EXPECT_FALSE(store_->TouchSession("s2", SessionUse{1300, "a", "b"}, 1101).value());
  EXPECT_EQ(store_->FindSession("s2").value()->last_used_at, 1100);
  EXPECT_FALSE(store_->TouchSession("no-such-sid", SessionUse{1300, "a", "b"}, 0).value());
}

TEST_P(SessionStoreContractTest, EndIdleSessionsEndsOnlyThoseLastUsedBeforeTheCutoff) {
  Open("s-idle", "ivan", 1000, 7000);
  Open("s-edge", "ivan", 1100);
  Open("s-judy", "judy", 999);

  auto ended = store_->EndIdleSessions(1100);
  ASSERT_TRUE(ended) << Why(ended);
  EXPECT_EQ(SortedIds(*ended), (std::vector<std::string>{"s-idle", "s-judy"}));
  EXPECT_EQ(Listed("ivan"), (std::vector<std::string>{"s-edge"}));
  EXPECT_TRUE(Listed("judy").empty());
  EXPECT_TRUE(Revoked("s-idle"));
  EXPECT_TRUE(Revoked("s-judy"));
  EXPECT_FALSE(Revoked("s-edge"));
  EXPECT_TRUE(store_->EndIdleSessions(1100).value().empty());
}

TEST_P(SessionStoreContractTest, RotationSetsTheCurrentJtiAndAReplayGetsTheFirstAnswer) {
  Open("s1", "ivan", 1000);

  EXPECT_EQ(Rotate(Rotation("s1", "s1-r0", "s1-r1", 1010)), Kind::kRotated);
  auto found = store_->FindSession("s1");
  ASSERT_TRUE(found && found->has_value()) << Why(found);
  EXPECT_EQ((*found)->refresh_jti, "s1-r1");
  EXPECT_EQ((*found)->generation, 1);
  EXPECT_EQ((*found)->last_used_at, 1010);
  EXPECT_EQ((*found)->user_agent, "rotating/1");
  // The same token again within the interval: the first answer, even once s1-r1 was used too.
  EXPECT_EQ(Rotate(Rotation("s1", "s1-r1", "s1-r2", 1011)), Kind::kRotated);
  std::string sealed;
  EXPECT_EQ(Rotate(Rotation("s1", "s1-r0", "s1-rX", 1020), &sealed), Kind::kReplay);
  EXPECT_EQ(sealed, "sealed:s1-r1");
  EXPECT_EQ(store_->FindSession("s1").value()->refresh_jti, "s1-r2");
}

TEST_P(SessionStoreContractTest, AUsedTokenAfterTheIntervalRevokesTheWholeSession) {
  Open("s1", "ivan", 1000, 8000);
  ASSERT_EQ(Rotate(Rotation("s1", "s1-r0", "s1-r1", 1010)), Kind::kRotated);

  EXPECT_EQ(Rotate(Rotation("s1", "s1-r0", "s1-rX", 1021)), Kind::kReused);
  EXPECT_FALSE(store_->FindSession("s1").value().has_value());
  EXPECT_TRUE(Revoked("s1"));
  EXPECT_TRUE(Listed("ivan").empty());
  // Every token of the ended session is refused from then on, the newest included.
  EXPECT_EQ(Rotate(Rotation("s1", "s1-r1", "s1-r2", 1022)), Kind::kEnded);
  EXPECT_EQ(Rotate(Rotation("s1", "s1-r0", "s1-r2", 1022)), Kind::kEnded);
}

TEST_P(SessionStoreContractTest, ATokenThatWasNeverCurrentIsAReuse) {
  Open("s1", "ivan", 1000);
  ASSERT_EQ(Rotate(Rotation("s1", "s1-r0", "s1-r1", 1010)), Kind::kRotated);
  // Not the current token and never used: a stale lineage (or a forged jti) ends the session.
  EXPECT_EQ(Rotate(Rotation("s1", "s1-stale", "s1-rX", 1011)), Kind::kReused);
  EXPECT_TRUE(Revoked("s1"));
}

TEST_P(SessionStoreContractTest, RotationOfAnEndedOrIdleSessionIsRefused) {
  Open("s-ended", "ivan", 1000);
  Open("s-idle", "ivan", 1000);
  ASSERT_TRUE(store_->EndSession(UsernameKey("ivan"), "s-ended").value().has_value());

  EXPECT_EQ(Rotate(Rotation("s-ended", "s-ended-r0", "x1", 1010)), Kind::kEnded);
  RotationRequest idle = Rotation("s-idle", "s-idle-r0", "x2", 1010);
  idle.idle_since = 1001;
  EXPECT_EQ(Rotate(idle), Kind::kEnded);
  EXPECT_EQ(store_->FindSession("s-idle").value()->refresh_jti, "s-idle-r0");
}

// N refreshes of one token at once, through two stores (two instances): exactly one rotates,
// every other one gets its answer, and the session is neither revoked nor rotated twice.
TEST_P(SessionStoreContractTest, ConcurrentRotationsOfOneTokenThroughTwoStoresRotateOnce) {
  std::unique_ptr<Store> other = OpenDatabase();
  ASSERT_TRUE(other);
  for (int round = 0; round < 10; ++round) {
    const std::string sid = "race" + std::to_string(round);
    Open(sid, "ivan", 1000);
    std::mutex mutex;
    std::vector<RotationOutcome> outcomes;
    RunTogether([&](int i) {
      Store& store = i % 2 == 0 ? *store_ : *other;
      auto outcome =
          store.RotateRefresh(Rotation(sid, sid + "-r0", sid + "-n" + std::to_string(i), 1010));
      std::lock_guard lock(mutex);
      if (outcome)
        outcomes.push_back(*outcome);
      else
        ADD_FAILURE() << Why(outcome);
    });
    const std::string current = store_->FindSession(sid).value()->refresh_jti;
    int rotated = 0;
    for (const RotationOutcome& outcome : outcomes) {
      if (outcome.kind == Kind::kRotated) {
        ++rotated;
        continue;
      }
      EXPECT_EQ(outcome.kind, Kind::kReplay) << "round " << round;
      EXPECT_EQ(outcome.sealed_answer, "sealed:" + current) << "round " << round;
    }
    EXPECT_EQ(rotated, 1) << "round " << round;
    EXPECT_EQ(store_->FindSession(sid).value()->generation, 1);
    EXPECT_FALSE(Revoked(sid));
  }
}

// Rotations submitted all at once, as a loaded server submits them (PostgreSQL sends them in
// batches, SQLite in group commits), through two stores: each session's current token rotates
// once, a second presentation of it is a replay of that answer, a token that was never current
// ends its session, and what the batch stored is byte for byte what was asked (a user agent with
// the characters an array literal escapes).
TEST_P(SessionStoreContractTest, SubmittedRotationsDecideAsOneByOne) {
  std::unique_ptr<Store> other = OpenDatabase();
  ASSERT_TRUE(other);
  constexpr int kSessions = 24;
  for (int n = 0; n < kSessions; ++n) Open("sub" + std::to_string(n), "ivan", 1000);
  struct Submitted {
    std::string sid;
    int copy;  // 0, 1: the current token; 2: a token never current
  };
  std::vector<Submitted> submitted;
  for (int n = 0; n < kSessions; ++n) {
    for (int copy = 0; copy < (n % 3 == 0 ? 3 : 2); ++copy) {
      submitted.push_back({"sub" + std::to_string(n), copy});
    }
  }
  const uint64_t writes_before =
      store_->DurableWriteCounts().writes + other->DurableWriteCounts().writes;
  std::mutex mutex;
  std::condition_variable all_done;
  std::map<std::pair<std::string, int>, Result<RotationOutcome>> outcomes;
  for (std::size_t i = 0; i < submitted.size(); ++i) {
    const Submitted& it = submitted[i];
    RotationRequest request = Rotation(it.sid, it.copy == 2 ? it.sid + "-never" : it.sid + "-r0",
                                       it.sid + "-n" + std::to_string(it.copy), 1010);
    request.use.user_agent = "quote\" back\\slash {brace,comma} " + it.sid;
    Store& store = i % 2 == 0 ? *store_ : *other;
    store.SubmitRotation(request, [&, key = std::make_pair(it.sid, it.copy)](auto outcome) {
      std::lock_guard lock(mutex);
      outcomes.emplace(key, std::move(outcome));
      all_done.notify_all();
    });
  }
  {
    std::unique_lock lock(mutex);
    ASSERT_TRUE(all_done.wait_for(lock, std::chrono::seconds(30),
                                  [&] { return outcomes.size() == submitted.size(); }));
  }
  // Every rotation was carried out by a batch (PostgreSQL) or a group commit (SQLite), not by
  // the one-by-one path a failed batch falls back to.
  uint64_t rotated_total = 0;
  for (const auto& [key, outcome] : outcomes) {
    rotated_total += outcome && outcome->kind == Kind::kRotated ? 1 : 0;
  }
  EXPECT_GE(store_->DurableWriteCounts().writes + other->DurableWriteCounts().writes,
            writes_before + rotated_total);
  for (int n = 0; n < kSessions; ++n) {
    const std::string sid = "sub" + std::to_string(n);
    const Result<RotationOutcome>& first = outcomes.at({sid, 0});
    const Result<RotationOutcome>& second = outcomes.at({sid, 1});
    ASSERT_TRUE(first) << Why(first);
    ASSERT_TRUE(second) << Why(second);
    if (n % 3 == 0) {  // the never-current token ended the session, before or after the rotation
      EXPECT_TRUE(Revoked(sid)) << sid;
      continue;
    }
    const int rotated = (first->kind == Kind::kRotated) + (second->kind == Kind::kRotated);
    EXPECT_EQ(rotated, 1) << sid;
    const SessionRecord session = *store_->FindSession(sid).value();
    EXPECT_EQ(session.generation, 1) << sid;
    EXPECT_EQ(session.user_agent, "quote\" back\\slash {brace,comma} " + sid);
    const RotationOutcome& loser = first->kind == Kind::kRotated ? *second : *first;
    EXPECT_EQ(loser.kind, Kind::kReplay) << sid;
    EXPECT_EQ(loser.sealed_answer, "sealed:" + session.refresh_jti) << sid;
    EXPECT_FALSE(Revoked(sid)) << sid;
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, SessionStoreContractTest,
                         ::testing::Values("sqlite", "postgresql"), BackendName);

}  // namespace
}  // namespace gatehouse::store
