// The PostgreSQL store's statements, each named and typed beside its SQL (store/statement.hpp),
// prepared under its name on every pooled connection. Internal to src/store/postgres. Columns
// a SELECT lists are in the order store/store_rows.hpp decodes them.
//
// A write and its feed entry are one statement (a data-modifying CTE), so they commit together
// without a client-side transaction. retry_on_reconnect says whether a statement may be sent
// again after its connection died mid-call: reads and idempotent upserts may.
#pragma once

#include <cstdint>
#include <string_view>

#include "store/postgres/pg_rate_limits.hpp"
#include "store/statement.hpp"
#include "store/store_rows.hpp"

namespace gatehouse::store::pg {

using Text = std::string_view;
using Int = int64_t;

// The feed's time column is written by the database's clock, like SQLite's.
#define GH_NOW "CAST(EXTRACT(EPOCH FROM now()) AS BIGINT)"
// Kind 2 is RevocationEvent::Kind::kUser.
#define GH_USER_EVENT                                                               \
  "INSERT INTO revocation_events (kind, subject, value, created_at) SELECT 2, $1, " \
  "$2::bigint, " GH_NOW " FROM upsert"

// Users and sessions.
inline constexpr Statement<Text, Text, Text, Int, Text> kInsertUser{
    {"insert_user",
     "INSERT INTO users (username_key, username, password_hash, created_at, claims) "
     "VALUES ($1, $2, $3, $4::bigint, $5)",
     false}};
inline constexpr Statement<Text> kFindUser{
    {"find_user",
     "SELECT username, password_hash, created_at, password_version, disabled, claims, "
     "reset_code_hash, reset_expires_at FROM users WHERE username_key = $1",
     true}};
inline constexpr Statement<Text, Text> kUpdatePasswordHash{
    {"update_password_hash", "UPDATE users SET password_hash = $2 WHERE username_key = $1", true}};
// The user's row stays locked until the transaction's revocation (LockUserThenRevoke).
inline constexpr Statement<Text> kRemoveUser{
    {"remove_user", "DELETE FROM users WHERE username_key = $1 RETURNING 0::bigint", false}};
inline constexpr Statement<Text, Text> kChangePassword{
    {"change_password",
     "UPDATE users SET password_hash = $2, password_version = password_version + 1 "
     "WHERE username_key = $1 RETURNING password_version",
     false}};
inline constexpr Statement<Text, Int> kListUsers{
    {"list_users",
     "SELECT username, created_at, disabled, claims FROM users WHERE username_key > $1 "
     "ORDER BY username_key LIMIT $2::bigint",
     true}};
// A prefix is the key range [$2, $3), $2 already past the cursor $1: one index range.
inline constexpr Statement<Text, Text, Text, Int> kListUsersWithPrefix{
    {"list_users_with_prefix",
     "SELECT username, created_at, disabled, claims FROM users WHERE username_key >= $2 AND "
     "username_key < $3 AND username_key <> $1 ORDER BY username_key LIMIT $4::bigint",
     true}};
// The user's row stays locked until the transaction's revocation (LockUserThenRevoke).
inline constexpr Statement<Text, Int> kSetDisabled{
    {"set_disabled",
     "UPDATE users SET disabled = $2::smallint WHERE username_key = $1 RETURNING password_version",
     false}};
// A change of claims enters the feed as a user event at time 0, which revokes nothing: other
// instances drop the user from their caches (they serve refreshes' claims from them).
inline constexpr Statement<Text, Text> kSetClaims{
    {"set_claims",
     "WITH updated AS (UPDATE users SET claims = $2 WHERE username_key = $1 RETURNING 1), "
     "claims_event AS (INSERT INTO revocation_events (kind, subject, value, created_at) "
     "SELECT 2, $1, 0, " GH_NOW " FROM updated) SELECT 1 FROM updated",
     true}};
inline constexpr Statement<Text, Text, Int> kSetResetCode{
    {"set_reset_code",
     "UPDATE users SET reset_code_hash = $2, reset_expires_at = $3::bigint WHERE username_key = $1",
     true}};
// Spends the code in the same statement that uses it: of two resets racing with one code, one
// finds it gone. A disabled user's code stays.
inline constexpr Statement<Text, Text, Text, Int> kResetPassword{
    {"reset_password",
     "UPDATE users SET password_hash = $2, password_version = password_version + 1, "
     "reset_code_hash = '', reset_expires_at = 0 WHERE username_key = $1 AND "
     "reset_code_hash = $3 AND reset_code_hash <> '' AND reset_expires_at > $4::bigint AND "
     "disabled = 0 RETURNING password_version",
     false}};
inline constexpr Statement<Text, Text, Text, Int> kImportUser{
    {"import_user",
     "INSERT INTO users (username_key, username, password_hash, created_at) "
     "VALUES ($1, $2, $3, $4::bigint) ON CONFLICT (username_key) DO NOTHING",
     false}};
inline constexpr Statement<> kPing{{"ping", "SELECT 1", true}};
// FOR SHARE: a password change or removal holding the row waits for this insert to commit
// (and then ends the session), or this waits for it and then finds another version.
inline constexpr Statement<Text, Int, Int, Text, Text, Text, Text, Int> kCreateSession{
    {"create_session",
     "WITH owner AS (SELECT username_key FROM users WHERE username_key = $7 AND "
     "password_version = $8::bigint AND disabled = 0 FOR SHARE) INSERT INTO sessions (sid, "
     "username_key, "
     "created_at, expires_at, last_used_at, client_address, user_agent, refresh_jti) "
     "SELECT $1, username_key, $2::bigint, $3::bigint, $2::bigint, $4, $5, $6 FROM owner",
     false}};
inline constexpr Statement<Text, Int, Int> kListSessions{
    {"list_sessions",
     "SELECT " GH_SESSION_COLUMNS " WHERE s.username_key = $1 AND s.expires_at > $2::bigint "
     "AND s.last_used_at >= $3::bigint ORDER BY s.last_used_at DESC, s.created_at DESC, s.sid",
     true}};
inline constexpr Statement<Text> kFindSession{
    {"find_session", "SELECT " GH_SESSION_COLUMNS " WHERE s.sid = $1", true}};
// The revocation (and feed entry) of each session the CTE `ended` deleted.
#define GH_REVOKE_ENDED                                                                   \
  "revoked AS (INSERT INTO revocations (id, kind, expires_at) SELECT sid, 1, expires_at " \
  "FROM ended ON CONFLICT (id) DO UPDATE SET "                                            \
  "expires_at = GREATEST(revocations.expires_at, EXCLUDED.expires_at) RETURNING 1), "     \
  "session_events AS (INSERT INTO revocation_events (kind, subject, value, created_at) "  \
  "SELECT 1, sid, expires_at, " GH_NOW " FROM ended RETURNING 1) "
// $1 empty: whoever owns the session.
inline constexpr Statement<Text, Text> kEndSession{
    {"end_session",
     "WITH ended AS (DELETE FROM sessions WHERE sid = $2 AND ($1 = '' OR username_key = $1) "
     "RETURNING sid, expires_at), " GH_REVOKE_ENDED "SELECT sid, expires_at FROM ended",
     true}};
inline constexpr Statement<Int> kEndIdleSessions{
    {"end_idle_sessions",
     "WITH ended AS (DELETE FROM sessions WHERE last_used_at < $1::bigint "
     "RETURNING sid, expires_at), " GH_REVOKE_ENDED "SELECT sid, expires_at FROM ended",
     true}};
// An account event, numbered from the counter row: its lock is held until the transaction
// commits, so ids increase in commit order. Sent last in its transaction, to hold it briefly.
inline constexpr Statement<Text, Int, Text, Text, Text, Text, Text> kAddAccountEvent{
    {"add_account_event",
     "WITH counter AS (UPDATE store_facts SET value = value + 1 WHERE name = 'last_event_id' "
     "RETURNING value) INSERT INTO events (id, type, at, username, sid, client_address, "
     "user_agent, username_key) SELECT value, $1, $2::bigint, $3, $4, $5, $6, $7 FROM counter",
     false}};
// An empty type or username key matches any.
inline constexpr Statement<Int, Text, Text, Int> kListAccountEvents{
    {"list_account_events",
     "SELECT " GH_ACCOUNT_EVENT_COLUMNS " WHERE id > $1::bigint AND ($2 = '' OR type = $2) AND "
     "($3 = '' OR username_key = $3) ORDER BY id LIMIT $4::bigint",
     true}};
inline constexpr Statement<> kLastEventId{
    {"last_event_id", "SELECT value FROM store_facts WHERE name = 'last_event_id'", true}};
inline constexpr Statement<Int> kPruneAccountEvents{
    {"prune_account_events", "DELETE FROM events WHERE at <= $1::bigint", true}};
inline constexpr Statement<Text, Int, Text, Text, Int> kTouchSession{
    {"touch_session",
     "UPDATE sessions SET last_used_at = GREATEST(last_used_at, $2::bigint), client_address = "
     "$3, user_agent = $4 WHERE sid = $1 AND last_used_at >= $5::bigint",
     true}};
// The compare-and-set of rotation, and the used jti with its sealed answer, in one statement:
// only while the current refresh jti is the expected one. Not idempotent as such (no generic
// retry), but sent again by PostgresStore::CompareAndRotate, which says why its outcome is.
inline constexpr Statement<Text, Text, Text, Int, Text, Text, Int, Text, Text> kRotateSession{
    {"rotate_session",
     "WITH rotated AS (UPDATE sessions SET refresh_jti = $3, generation = generation + 1, "
     "last_used_at = GREATEST(last_used_at, $4::bigint), client_address = $5, user_agent = $6 "
     "WHERE sid = $1 AND refresh_jti = $2 AND last_used_at >= $7::bigint RETURNING sid) "
     "INSERT INTO refresh_uses (jti, sid, used_at, sealed_answer) "
     "SELECT $8, sid, $4::bigint, $9 FROM rotated",
     false}};
// kRotateSession for many sessions in one statement, so one commit makes every rotation of a
// batch durable (rotation_batches.hpp). Parameters are PostgreSQL array literals of one element
// per rotation: the sid, the presented jti (the expected current one), the new jti, the use's
// time, address and user agent, the idle cut and the sealed answer. The sids are distinct
// (UPDATE ... FROM changes a row once, with any one of its matches). Answers the sid of every
// session rotated.
inline constexpr Statement<Text, Text, Text, Text, Text, Text, Text, Text> kRotateSessions{
    {"rotate_sessions",
     "WITH r AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], "
     "$5::text[], $6::text[], $7::bigint[], $8::text[]) AS r(sid, presented, new_jti, at, "
     "client_address, user_agent, idle_since, sealed_answer)), "
     "rotated AS (UPDATE sessions s SET refresh_jti = r.new_jti, generation = s.generation + 1, "
     "last_used_at = GREATEST(s.last_used_at, r.at), client_address = r.client_address, "
     "user_agent = r.user_agent FROM r WHERE s.sid = r.sid AND s.refresh_jti = r.presented AND "
     "s.last_used_at >= r.idle_since RETURNING r.presented, s.sid, r.at, r.sealed_answer) "
     "INSERT INTO refresh_uses (jti, sid, used_at, sealed_answer) "
     "SELECT presented, sid, at, sealed_answer FROM rotated RETURNING sid",
     false}};
inline constexpr Statement<Text> kFindRefreshUse{
    {"find_refresh_use",
     "SELECT r.sid, r.used_at, r.sealed_answer, CASE WHEN EXISTS (SELECT 1 FROM sessions s "
     "WHERE s.sid = r.sid) THEN 1 ELSE 0 END FROM refresh_uses r WHERE r.jti = $1",
     true}};
// Every part runs once, whatever the final SELECT reads (data-modifying CTEs).
inline constexpr Statement<Text, Int> kRevokeUserTokens{
    {"revoke_user_tokens",
     "WITH upsert AS (INSERT INTO user_revocations (username_key, revoked_before) "
     "VALUES ($1, $2::bigint) ON CONFLICT (username_key) DO UPDATE SET "
     "revoked_before = GREATEST(user_revocations.revoked_before, EXCLUDED.revoked_before) "
     "RETURNING 1), "
     "user_event AS (" GH_USER_EVENT " RETURNING 1), "
     "ended AS (DELETE FROM sessions WHERE username_key = $1 RETURNING sid, expires_at), "
     "revoked AS (INSERT INTO revocations (id, kind, expires_at) SELECT sid, 1, expires_at "
     "FROM ended ON CONFLICT (id) DO UPDATE SET "
     "expires_at = GREATEST(revocations.expires_at, EXCLUDED.expires_at) RETURNING 1), "
     "session_events AS (INSERT INTO revocation_events (kind, subject, value, created_at) "
     "SELECT 1, sid, expires_at, " GH_NOW " FROM ended RETURNING 1) "
     "SELECT sid, expires_at FROM ended",
     false}};
inline constexpr Statement<> kSessionsRecordedSince{
    {"sessions_recorded_since",
     "SELECT value FROM store_facts WHERE name = 'sessions_recorded_since'", true}};

// Revocations, the user revoked-before times and the revocation feed.
// The feed's turn. A feed entry's `seq` comes from a sequence, handed out when the row is
// inserted, before its transaction commits: two transactions (on one instance or two) could
// commit their entries out of `seq` order, and a reader of GET /revocations whose cursor passed
// the later one would never see the earlier one. So every transaction that writes feed entries
// sends this first, before any other statement, and holds the row's lock until it commits: the
// next writer's entries get their `seq` only after this one's are visible, so entries become
// visible in `seq` order and a cursor never passes an entry still to come. Taken first by all,
// it cannot deadlock with the row locks taken after it (the account event counter is taken
// last). A row lock rather than an advisory lock, which CockroachDB lacks; an upsert, so that
// the row needs no migration. Writers hold it for their few statements and commit; as the
// account event counter does, it orders the revocations of all instances one after another.
inline constexpr Statement<> kTakeFeedTurn{
    {"take_feed_turn",
     "INSERT INTO store_facts (name, value) VALUES ('revocation_feed_turn', 1) ON CONFLICT "
     "(name) DO UPDATE SET value = store_facts.value + 1 RETURNING value",
     false}};
// A re-add keeps the later expiry, so a row never goes before a token it covers expires. A re-add
// that would not extend the row changes nothing and inserts no feed entry (0 rows affected).
inline constexpr Statement<Text, Int, Int> kAddRevocation{
    {"add_revocation",
     "WITH upsert AS (INSERT INTO revocations (id, kind, expires_at) "
     "VALUES ($1, $2::smallint, $3::bigint) ON CONFLICT (id) DO UPDATE SET "
     "expires_at = EXCLUDED.expires_at WHERE EXCLUDED.expires_at > revocations.expires_at "
     "RETURNING 1) "
     "INSERT INTO revocation_events (kind, subject, value, created_at) "
     "SELECT $2::smallint, $1, $3::bigint, " GH_NOW " FROM upsert",
     true}};
inline constexpr Statement<Text, Int, Int> kImportRevocation{
    {"import_revocation",
     "INSERT INTO revocations (id, kind, expires_at) VALUES ($1, $2::smallint, $3::bigint) "
     "ON CONFLICT (id) DO NOTHING",
     false}};
inline constexpr Statement<Int> kLoadRevocations{
    {"load_revocations",
     "SELECT id, kind, expires_at FROM revocations WHERE expires_at > $1::bigint", true}};
inline constexpr Statement<Text, Int> kSetUserRevokedBefore{
    {"set_user_revoked_before",
     "WITH upsert AS (INSERT INTO user_revocations (username_key, revoked_before) "
     "VALUES ($1, $2::bigint) ON CONFLICT (username_key) DO UPDATE SET "
     "revoked_before = GREATEST(user_revocations.revoked_before, EXCLUDED.revoked_before) "
     "RETURNING 1) " GH_USER_EVENT,
     true}};
inline constexpr Statement<> kLoadUserRevocations{
    {"load_user_revocations", "SELECT username_key, revoked_before FROM user_revocations", true}};
// The update changes nothing; it is there so that RETURNING answers the kept row too.
inline constexpr Statement<Text, Int> kKeepFirstFact{
    {"keep_first_fact",
     "INSERT INTO store_facts (name, value) VALUES ($1, $2::bigint) ON CONFLICT (name) DO "
     "UPDATE SET value = store_facts.value RETURNING value",
     true}};
inline constexpr Statement<> kLatestEvent{
    {"latest_event", "SELECT COALESCE(MAX(seq), 0) FROM revocation_events", true}};
inline constexpr Statement<Int, Int> kEventsSince{
    {"events_since",
     "SELECT seq, subject, kind, value FROM revocation_events WHERE seq > $1::bigint "
     "ORDER BY seq LIMIT $2::bigint",
     true}};
// The user's cut covers a sid-less token's own second too (auth/token_service.cpp).
inline constexpr Statement<Text, Text, Text, Int> kIsRevoked{
    {"is_revoked",
     "SELECT EXISTS (SELECT 1 FROM revocations WHERE id IN ($1, $2)) OR EXISTS (SELECT 1 FROM "
     "user_revocations WHERE username_key = $3 AND (revoked_before > $4::bigint OR "
     "($2 = '' AND revoked_before = $4::bigint)))",
     true}};

// Pruning: each deletes the rows whose time is at or before $1.
inline constexpr Statement<Int> kPruneSessions{
    {"prune_sessions", "DELETE FROM sessions WHERE expires_at <= $1::bigint", true}};
inline constexpr Statement<Int> kPruneRefreshUses{
    {"prune_refresh_uses", "DELETE FROM refresh_uses WHERE used_at <= $1::bigint", true}};
inline constexpr Statement<Int> kPruneRevocations{
    {"prune_revocations", "DELETE FROM revocations WHERE expires_at <= $1::bigint", true}};
inline constexpr Statement<Int> kPruneEvents{
    {"prune_events", "DELETE FROM revocation_events WHERE created_at <= $1::bigint", true}};
inline constexpr Statement<Int> kPruneUserRevocations{
    {"prune_user_revocations", "DELETE FROM user_revocations WHERE revoked_before <= $1::bigint",
     true}};

// Signing keys.
inline constexpr Statement<Text, Text, Text, Int> kAddSigningKey{
    {"add_signing_key",
     "INSERT INTO signing_keys (kid, algorithm, material, created_at) "
     "VALUES ($1, $2, $3, $4::bigint) ON CONFLICT (kid) DO NOTHING",
     false}};
inline constexpr Statement<Text> kLoadSigningKeys{
    {"load_signing_keys",
     "SELECT kid, algorithm, material, created_at FROM signing_keys WHERE algorithm = $1 "
     "ORDER BY created_at, kid",
     true}};
inline constexpr Statement<Text> kRemoveSigningKey{
    {"remove_signing_key", "DELETE FROM signing_keys WHERE kid = $1", true}};

// Webhook cursors: a new one starts at the newest event (a URL gets what happens after it is
// configured); the lease is taken when free, expired or already ours.
inline constexpr Statement<Text> kCreateWebhookCursor{
    {"create_webhook_cursor",
     "INSERT INTO webhook_cursors (url_key, delivered, owner, lease_until) "
     "SELECT $1, COALESCE(MAX(id), 0), '', 0 FROM events ON CONFLICT (url_key) DO NOTHING",
     true}};
inline constexpr Statement<Text, Text, Int, Int> kLeaseWebhookCursor{
    {"lease_webhook_cursor",
     "UPDATE webhook_cursors SET owner = $2, lease_until = $4::bigint WHERE url_key = $1 AND "
     "(owner = $2 OR lease_until < $3::bigint) RETURNING delivered",
     true}};
inline constexpr Statement<Text, Text, Int, Int> kAdvanceWebhookCursor{
    {"advance_webhook_cursor",
     "UPDATE webhook_cursors SET delivered = GREATEST(delivered, $3::bigint), lease_until = "
     "$4::bigint WHERE url_key = $1 AND owner = $2",
     true}};

#undef GH_USER_EVENT
#undef GH_REVOKE_ENDED
#undef GH_NOW

// What the pool prepares on each connection: every statement above and the rate limits'.
inline const StatementText* const kAllStatements[] = {
    &kInsertUser.text,
    &kFindUser.text,
    &kUpdatePasswordHash.text,
    &kRemoveUser.text,
    &kChangePassword.text,
    &kListUsers.text,
    &kListUsersWithPrefix.text,
    &kSetDisabled.text,
    &kSetClaims.text,
    &kSetResetCode.text,
    &kResetPassword.text,
    &kImportUser.text,
    &kPing.text,
    &kCreateSession.text,
    &kListSessions.text,
    &kFindSession.text,
    &kEndSession.text,
    &kEndIdleSessions.text,
    &kAddAccountEvent.text,
    &kListAccountEvents.text,
    &kLastEventId.text,
    &kPruneAccountEvents.text,
    &kTouchSession.text,
    &kRotateSession.text,
    &kRotateSessions.text,
    &kFindRefreshUse.text,
    &kPruneRefreshUses.text,
    &kRevokeUserTokens.text,
    &kSessionsRecordedSince.text,
    &kAddRevocation.text,
    &kImportRevocation.text,
    &kLoadRevocations.text,
    &kSetUserRevokedBefore.text,
    &kLoadUserRevocations.text,
    &kKeepFirstFact.text,
    &kTakeFeedTurn.text,
    &kLatestEvent.text,
    &kEventsSince.text,
    &kIsRevoked.text,
    &kPruneSessions.text,
    &kPruneRevocations.text,
    &kPruneEvents.text,
    &kPruneUserRevocations.text,
    &kAddSigningKey.text,
    &kLoadSigningKeys.text,
    &kRemoveSigningKey.text,
    &kTakeAttempt.text,
    &kPruneAttempts.text,
    &kCreateWebhookCursor.text,
    &kLeaseWebhookCursor.text,
    &kAdvanceWebhookCursor.text,
};

}  // namespace gatehouse::store::pg
