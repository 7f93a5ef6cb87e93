// The SQLite store's statements, each named and typed beside its SQL (store/statement.hpp).
// Internal to src/store/sqlite. Columns a SELECT lists are in the order store/store_rows.hpp
// decodes them.
#pragma once

#include <cstdint>
#include <string_view>

#include "store/statement.hpp"
#include "store/store_rows.hpp"

namespace gatehouse::store::sqlite {

using Text = std::string_view;
using Int = int64_t;

// Users and sessions.
inline constexpr Statement<Text, Text, Text, Int, Text> kInsertUser{
    {"insert_user",
     "INSERT INTO users (username, username_key, password_hash, created_at, claims) "
     "VALUES (?, ?, ?, ?, ?)"}};
inline constexpr Statement<Text> kFindUser{
    {"find_user",
     "SELECT username, password_hash, created_at, password_version, disabled, claims, "
     "reset_code_hash, reset_expires_at FROM users WHERE username_key = ?"}};
inline constexpr Statement<Text, Text> kUpdatePasswordHash{
    {"update_password_hash", "UPDATE users SET password_hash = ? WHERE username_key = ?"}};
inline constexpr Statement<Text> kDeleteUser{
    {"delete_user", "DELETE FROM users WHERE username_key = ?"}};
inline constexpr Statement<Text, Int> kListUsers{
    {"list_users",
     "SELECT username, created_at, disabled, claims FROM users WHERE username_key > ? "
     "ORDER BY username_key LIMIT ?"}};
// A prefix is the key range [?2, ?3), ?2 already past the cursor ?1 (one lower bound: two
// made SQLite scan from the cursor, 150 ms a page at a million users): one index range.
inline constexpr Statement<Text, Text, Text, Int> kListUsersWithPrefix{
    {"list_users_with_prefix",
     "SELECT username, created_at, disabled, claims FROM users WHERE username_key >= ?2 AND "
     "username_key < ?3 AND username_key <> ?1 ORDER BY username_key LIMIT ?4"}};
inline constexpr Statement<Int, Text> kSetDisabled{
    {"set_disabled",
     "UPDATE users SET disabled = ? WHERE username_key = ? RETURNING password_version"}};
inline constexpr Statement<Text, Text> kSetClaims{
    {"set_claims", "UPDATE users SET claims = ? WHERE username_key = ?"}};
inline constexpr Statement<Text, Int, Text> kSetResetCode{
    {"set_reset_code",
     "UPDATE users SET reset_code_hash = ?, reset_expires_at = ? WHERE username_key = ?"}};
// Spends the code in the same statement that uses it: of two resets racing with one code, one
// finds it gone. A disabled user's code stays.
inline constexpr Statement<Text, Text, Text, Int> kResetPassword{
    {"reset_password",
     "UPDATE users SET password_hash = ?1, password_version = password_version + 1, "
     "reset_code_hash = '', reset_expires_at = 0 WHERE username_key = ?2 AND "
     "reset_code_hash = ?3 AND reset_code_hash <> '' AND reset_expires_at > ?4 AND disabled = 0 "
     "RETURNING password_version"}};
inline constexpr Statement<Text, Text, Text, Int> kImportUser{
    {"import_user",
     "INSERT OR IGNORE INTO users (username, username_key, password_hash, created_at) "
     "VALUES (?, ?, ?, ?)"}};
inline constexpr Statement<Text, Text> kChangePassword{
    {"change_password",
     "UPDATE users SET password_hash = ?, password_version = password_version + 1 "
     "WHERE username_key = ? RETURNING password_version"}};
inline constexpr Statement<Text, Int, Int, Text, Text, Text, Text, Int> kCreateSession{
    {"create_session",
     "INSERT INTO sessions (sid, username_key, created_at, expires_at, last_used_at, "
     "client_address, user_agent, refresh_jti) SELECT ?1, username_key, ?2, ?3, ?2, ?4, ?5, ?6 "
     "FROM users WHERE username_key = ?7 AND password_version = ?8 AND disabled = 0"}};
inline constexpr Statement<Text, Int, Int> kListSessions{
    {"list_sessions",
     "SELECT " GH_SESSION_COLUMNS " WHERE s.username_key = ? AND s.expires_at > ? AND "
     "s.last_used_at >= ? ORDER BY s.last_used_at DESC, s.created_at DESC, s.sid"}};
inline constexpr Statement<Text> kFindSession{
    {"find_session", "SELECT " GH_SESSION_COLUMNS " WHERE s.sid = ?"}};
// ?1 empty: whoever owns the session.
inline constexpr Statement<Text, Text> kDeleteSession{
    {"delete_session",
     "DELETE FROM sessions WHERE sid = ?2 AND (?1 = '' OR username_key = ?1) "
     "RETURNING sid, expires_at"}};
inline constexpr Statement<Int> kDeleteIdleSessions{
    {"delete_idle_sessions",
     "DELETE FROM sessions WHERE last_used_at < ? RETURNING sid, expires_at"}};
inline constexpr Statement<Text, Int, Text, Text, Int> kTouchSession{
    {"touch_session",
     "UPDATE sessions SET last_used_at = MAX(last_used_at, ?2), client_address = ?3, "
     "user_agent = ?4 WHERE sid = ?1 AND last_used_at >= ?5"}};
// The compare-and-set of rotation: only while the current refresh jti is the expected one.
inline constexpr Statement<Text, Text, Text, Int, Text, Text, Int> kRotateSession{
    {"rotate_session",
     "UPDATE sessions SET refresh_jti = ?3, generation = generation + 1, "
     "last_used_at = MAX(last_used_at, ?4), client_address = ?5, user_agent = ?6 "
     "WHERE sid = ?1 AND refresh_jti = ?2 AND last_used_at >= ?7"}};
inline constexpr Statement<Text, Text, Int, Text> kAddRefreshUse{
    {"add_refresh_use",
     "INSERT INTO refresh_uses (jti, sid, used_at, sealed_answer) VALUES (?, ?, ?, ?)"}};
inline constexpr Statement<Text> kFindRefreshUse{
    {"find_refresh_use",
     "SELECT r.sid, r.used_at, r.sealed_answer, EXISTS (SELECT 1 FROM sessions s WHERE s.sid = "
     "r.sid) FROM refresh_uses r WHERE r.jti = ?"}};
inline constexpr Statement<Text, Int, Text, Text, Text, Text, Text> kAddAccountEvent{
    {"add_account_event",
     "INSERT INTO events (type, at, username, sid, client_address, user_agent, username_key) "
     "VALUES (?, ?, ?, ?, ?, ?, ?)"}};
// An empty type or username key matches any.
inline constexpr Statement<Int, Text, Text, Int> kListAccountEvents{
    {"list_account_events",
     "SELECT " GH_ACCOUNT_EVENT_COLUMNS " WHERE id > ?1 AND (?2 = '' OR type = ?2) AND "
     "(?3 = '' OR username_key = ?3) ORDER BY id LIMIT ?4"}};
// AUTOINCREMENT keeps the highest id ever given in sqlite_sequence, deleted rows included.
inline constexpr Statement<> kLastEventId{
    {"last_event_id",
     "SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0)"}};
// Events are appended in time order, so the expired ones are the oldest ids: this walks the
// rowid from the start to the first event kept, reading no more rows than it deletes (events
// have no index on `at`). Should the clock step back, an event is kept until those before it
// expire: later than its time, never earlier.
inline constexpr Statement<Int> kPruneAccountEvents{
    {"prune_account_events",
     "DELETE FROM events WHERE id < COALESCE((SELECT id FROM events WHERE at > ?1 ORDER BY id "
     "LIMIT 1), (SELECT MAX(id) + 1 FROM events))"}};
inline constexpr Statement<Text> kUserSessions{
    {"user_sessions", "SELECT sid, expires_at FROM sessions WHERE username_key = ?"}};
inline constexpr Statement<Text> kDeleteUserSessions{
    {"delete_user_sessions", "DELETE FROM sessions WHERE username_key = ?"}};
inline constexpr Statement<> kSessionsRecordedSince{
    {"sessions_recorded_since",
     "SELECT value FROM store_facts WHERE name = 'sessions_recorded_since'"}};

// Revocations, the user revoked-before times and the revocation feed.
// A re-add keeps the later expiry, so a row never goes before a token it covers expires. A re-add
// that would not extend the row changes nothing (sqlite3_changes 0): two logouts of one token at
// once add one revocation, one feed entry and one event.
inline constexpr Statement<Text, Int, Int> kAddRevocation{
    {"add_revocation",
     "INSERT INTO revocations (id, kind, expires_at) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE "
     "SET expires_at = excluded.expires_at WHERE excluded.expires_at > revocations.expires_at"}};
inline constexpr Statement<Text, Int, Int> kImportRevocation{
    {"import_revocation",
     "INSERT OR IGNORE INTO revocations (id, kind, expires_at) VALUES (?, ?, ?)"}};
inline constexpr Statement<Int> kLoadRevocations{
    {"load_revocations", "SELECT id, kind, expires_at FROM revocations WHERE expires_at > ?"}};
inline constexpr Statement<Text, Int> kSetUserRevokedBefore{
    {"set_user_revoked_before",
     "INSERT INTO user_revocations (username_key, revoked_before) VALUES (?, ?) ON CONFLICT "
     "(username_key) DO UPDATE SET revoked_before = MAX(revoked_before, "
     "excluded.revoked_before)"}};
inline constexpr Statement<> kLoadUserRevocations{
    {"load_user_revocations", "SELECT username_key, revoked_before FROM user_revocations"}};
// The update changes nothing; it is there so that RETURNING answers the kept row too.
inline constexpr Statement<Text, Int> kKeepFirstFact{
    {"keep_first_fact",
     "INSERT INTO store_facts (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET "
     "value = store_facts.value RETURNING value"}};
inline constexpr Statement<Text, Int, Int> kAddEvent{
    {"add_event",
     "INSERT INTO revocation_events (subject, kind, value, created_at) "
     "VALUES (?, ?, ?, CAST(strftime('%s', 'now') AS INTEGER))"}};
inline constexpr Statement<> kLatestEvent{
    {"latest_event", "SELECT COALESCE(MAX(seq), 0) FROM revocation_events"}};
inline constexpr Statement<Int, Int> kEventsSince{
    {"events_since",
     "SELECT seq, subject, kind, value FROM revocation_events WHERE seq > ? ORDER BY seq "
     "LIMIT ?"}};
// The user's cut covers a sid-less token's own second too (auth/token_service.cpp).
inline constexpr Statement<Text, Text, Text, Int> kIsRevoked{
    {"is_revoked",
     "SELECT EXISTS (SELECT 1 FROM revocations WHERE id IN (?1, ?2)) OR EXISTS (SELECT 1 FROM "
     "user_revocations WHERE username_key = ?3 AND (revoked_before > ?4 OR "
     "(?2 = '' AND revoked_before = ?4)))"}};

// Pruning: each deletes the rows whose time is at or before ?.
inline constexpr Statement<Int> kPruneSessions{
    {"prune_sessions", "DELETE FROM sessions WHERE expires_at <= ?"}};
inline constexpr Statement<Int> kPruneRefreshUses{
    {"prune_refresh_uses", "DELETE FROM refresh_uses WHERE used_at <= ?"}};
inline constexpr Statement<Int> kPruneRevocations{
    {"prune_revocations", "DELETE FROM revocations WHERE expires_at <= ?"}};
inline constexpr Statement<Int> kPruneEvents{
    {"prune_events", "DELETE FROM revocation_events WHERE created_at <= ?"}};
inline constexpr Statement<Int> kPruneUserRevocations{
    {"prune_user_revocations", "DELETE FROM user_revocations WHERE revoked_before <= ?"}};

// Signing keys.
inline constexpr Statement<Text, Text, Text, Int> kAddSigningKey{
    {"add_signing_key",
     "INSERT OR IGNORE INTO signing_keys (kid, algorithm, material, created_at) "
     "VALUES (?, ?, ?, ?)"}};
inline constexpr Statement<Text> kLoadSigningKeys{
    {"load_signing_keys",
     "SELECT kid, algorithm, material, created_at FROM signing_keys WHERE algorithm = ? "
     "ORDER BY created_at, kid"}};
inline constexpr Statement<Text> kRemoveSigningKey{
    {"remove_signing_key", "DELETE FROM signing_keys WHERE kid = ?"}};

// Webhook cursors: a new one starts at the newest event (a URL gets what happens after it is
// configured); the lease is taken when free, expired or already ours.
inline constexpr Statement<Text> kCreateWebhookCursor{
    {"create_webhook_cursor",
     "INSERT OR IGNORE INTO webhook_cursors (url_key, delivered, owner, lease_until) "
     "SELECT ?1, COALESCE(MAX(id), 0), '', 0 FROM events"}};
inline constexpr Statement<Text, Text, Int, Int> kLeaseWebhookCursor{
    {"lease_webhook_cursor",
     "UPDATE webhook_cursors SET owner = ?2, lease_until = ?4 WHERE url_key = ?1 AND "
     "(owner = ?2 OR lease_until < ?3) RETURNING delivered"}};
inline constexpr Statement<Text, Text, Int, Int> kAdvanceWebhookCursor{
    {"advance_webhook_cursor",
     "UPDATE webhook_cursors SET delivered = MAX(delivered, ?3), lease_until = ?4 "
     "WHERE url_key = ?1 AND owner = ?2"}};

}  // namespace gatehouse::store::sqlite
