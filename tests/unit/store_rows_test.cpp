// The row decoding and errors both backends share (store/store_rows.hpp), on a row built by
// hand: a stored kind no build knows is refused, not cast into the enum.
#include "store/store_rows.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "store/statement.hpp"

namespace gatehouse::store {
namespace {

// A row as a backend hands it to the decoders: texts and numbers by column.
struct FakeRow {
  std::vector<std::string> texts;
  std::vector<int64_t> ints;
  std::string Text(int column) const { return texts.at(static_cast<std::size_t>(column)); }
  int64_t Int(int column) const { return ints.at(static_cast<std::size_t>(column)); }
};

TEST(StoreRowsTest, DecodesARevocationOfEachKnownKind) {
  Result<Revocation> token = DecodeRevocation(FakeRow{{"jti-1", "", ""}, {0, 0, 1700}});
  ASSERT_TRUE(token);
  EXPECT_EQ(token->id, "jti-1");
  EXPECT_EQ(token->kind, RevocationKind::kToken);
  EXPECT_EQ(token->expires_at, 1700);
  Result<Revocation> session = DecodeRevocation(FakeRow{{"sid-1", "", ""}, {0, 1, 1800}});
  ASSERT_TRUE(session);
  EXPECT_EQ(session->kind, RevocationKind::kSession);
}

TEST(StoreRowsTest, RefusesARevocationOfAnUnknownKind) {
  Result<Revocation> decoded = DecodeRevocation(FakeRow{{"jti-1", "", ""}, {0, 7, 1700}});
  ASSERT_FALSE(decoded);
  EXPECT_EQ(decoded.error().code, ErrorCode::kStorageFailure);
  EXPECT_EQ(decoded.error().detail, "database: load revocations: unknown kind 7");
}

TEST(StoreRowsTest, DecodesAFeedEventAndRefusesAnUnknownKind) {
  Result<RevocationEvent> user = DecodeEvent(FakeRow{{"", "alice", "", ""}, {12, 0, 2, 99}});
  ASSERT_TRUE(user);
  EXPECT_EQ(user->seq, 12);
  EXPECT_EQ(user->kind, RevocationEvent::Kind::kUser);
  EXPECT_EQ(user->subject, "alice");
  EXPECT_EQ(user->value, 99);
  Result<RevocationEvent> unknown = DecodeEvent(FakeRow{{"", "x", "", ""}, {13, 0, 3, 0}});
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, ErrorCode::kStorageFailure);
  Result<RevocationEvent> negative = DecodeEvent(FakeRow{{"", "x", "", ""}, {14, 0, -1, 0}});
  EXPECT_FALSE(negative);
}

TEST(StoreRowsTest, DecodesUsersWithAndWithoutTheirHash) {
  Result<UserRecord> found = DecodeUser(FakeRow{
      {"Alice", "$argon2id$x", "", "", "", R"({"r":1})", "c0de", ""}, {0, 0, 10, 3, 1, 0, 0, 99}});
  ASSERT_TRUE(found);
  EXPECT_EQ(found->username, "Alice");
  EXPECT_EQ(found->password_hash, "$argon2id$x");
  EXPECT_EQ(found->created_at, 10);
  EXPECT_EQ(found->password_version, 3);
  EXPECT_TRUE(found->disabled);
  EXPECT_EQ(found->claims, R"({"r":1})");
  EXPECT_EQ(found->reset_code_hash, "c0de");
  EXPECT_EQ(found->reset_expires_at, 99);
  Result<UserRecord> listed = DecodeListedUser(FakeRow{{"Bob", "", "", "{}"}, {0, 20, 0, 0}});
  ASSERT_TRUE(listed);
  EXPECT_EQ(listed->username, "Bob");
  EXPECT_TRUE(listed->password_hash.empty());
  EXPECT_EQ(listed->created_at, 20);
  EXPECT_FALSE(listed->disabled);
  EXPECT_EQ(listed->claims, "{}");
  EXPECT_TRUE(listed->reset_code_hash.empty());
}

TEST(StoreRowsTest, ChoosesThePruneStatementByWhatExpires) {
  static constexpr Statement<int64_t> kSessions{{"s", "DELETE s", true}};
  static constexpr Statement<int64_t> kRevocations{{"r", "DELETE r", true}};
  static constexpr Statement<int64_t> kEvents{{"e", "DELETE e", true}};
  static constexpr Statement<int64_t> kUsers{{"u", "DELETE u", true}};
  const PruneStatements statements{.sessions = &kSessions,
                                   .revocations = &kRevocations,
                                   .revocation_events = &kEvents,
                                   .user_revocations = &kUsers,
                                   .attempts = nullptr,
                                   .refresh_uses = nullptr,
                                   .account_events = nullptr};
  EXPECT_EQ(PruneStatement(Expiring::kSessions, statements), &kSessions);
  EXPECT_EQ(PruneStatement(Expiring::kRevocations, statements), &kRevocations);
  EXPECT_EQ(PruneStatement(Expiring::kRevocationEvents, statements), &kEvents);
  EXPECT_EQ(PruneStatement(Expiring::kUserRevocations, statements), &kUsers);
  EXPECT_EQ(PruneStatement(Expiring::kAttempts, statements), nullptr);
}

TEST(StoreRowsTest, StorageErrorsNameWhatFailed) {
  const Error error = StorageError(ErrorCode::kNotFound, "remove user", "no such user");
  EXPECT_EQ(error.code, ErrorCode::kNotFound);
  EXPECT_EQ(error.detail, "database: remove user: no such user");
}

}  // namespace
}  // namespace gatehouse::store
