// The storage contract (store/store.hpp), run against every backend. Each test gets a fresh,
// empty store: SQLite in a temporary file, PostgreSQL in a database created for the test (on
// the server named by GATEHOUSE_TEST_PG_URL, e.g. postgresql://user:pass@127.0.0.1:55432/) and
// dropped afterwards. Without GATEHOUSE_TEST_PG_URL the PostgreSQL tests are skipped.
// Backend-specific behaviour (files, modes, schema-version reads) lives in <backend>_store_test.
#include <algorithm>
#include <future>

#include "unit/store_contract_fixture.hpp"

namespace gatehouse::store {
namespace {

// --- users ---------------------------------------------------------------------------------

TEST_P(StoreContractTest, CreateThenFindReturnsTheStoredRecord) {
  ASSERT_TRUE(CreateUser(*store_, MakeUser("alice", "$argon2id$hash-a")));

  Result<std::optional<UserRecord>> found = store_->FindUser(UsernameKey("alice"));
  ASSERT_TRUE(found) << Why(found);
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->username, "alice");
  EXPECT_EQ((*found)->password_hash, "$argon2id$hash-a");
  EXPECT_EQ((*found)->created_at, 1700000000);
}

TEST_P(StoreContractTest, FindOfUnknownUserReturnsNullopt) {
  ASSERT_TRUE(CreateUser(*store_, MakeUser("alice")));
  Result<std::optional<UserRecord>> found = store_->FindUser(UsernameKey("nobody"));
  ASSERT_TRUE(found) << Why(found);
  EXPECT_FALSE(found->has_value());
}

TEST_P(StoreContractTest, FindIgnoresCaseAndReturnsTheNameAsFirstGiven) {
  ASSERT_TRUE(CreateUser(*store_, MakeUser("Alice")));

  for (const char* spelling : {"alice", "ALICE", "aLiCe", "Alice"}) {
    Result<std::optional<UserRecord>> found = store_->FindUser(UsernameKey(spelling));
    ASSERT_TRUE(found) << Why(found);
    ASSERT_TRUE(found->has_value()) << spelling;
    EXPECT_EQ((*found)->username, "Alice");
  }
}

TEST_P(StoreContractTest, CreatingTheSameUsernameInAnotherCaseConflicts) {
  ASSERT_TRUE(CreateUser(*store_, MakeUser("alice", "$argon2id$first")));

  Status second = CreateUser(*store_, MakeUser("ALICE", "$argon2id$second"));
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, ErrorCode::kConflict);
  EXPECT_EQ(second.error().detail.find("$argon2id$"), std::string::npos) << second.error().detail;
  Result<std::optional<UserRecord>> found = store_->FindUser(UsernameKey("alice"));
  ASSERT_TRUE(found) << Why(found);
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->username, "alice");
  EXPECT_EQ((*found)->password_hash, "$argon2id$first");
}

// Only ASCII letters are folded (UsernameKey): "Ärger" and "ärger" are two users.
TEST_P(StoreContractTest, NonAsciiLettersAreNotFoldedInTheUsernameKey) {
  ASSERT_TRUE(CreateUser(*store_, MakeUser("\xC3\x84rger", "$argon2id$upper")));     // "Ärger"
  Status second = CreateUser(*store_, MakeUser("\xC3\xA4rger", "$argon2id$lower"));  // "ärger"
  ASSERT_TRUE(second) << Why(second);

  Result<std::optional<UserRecord>> found = store_->FindUser(UsernameKey("\xC3\xA4RGER"));
  ASSERT_TRUE(found) << Why(found);
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->username, "\xC3\xA4rger");
  EXPECT_EQ((*found)->password_hash, "$argon2id$lower");
}

TEST_P(StoreContractTest, ConcurrentCreatesOfOneUsernameLetExactlyOneSucceed) {
  constexpr int kRounds = 10;
  for (int round = 0; round < kRounds; ++round) {
    const std::string name = "bob" + std::to_string(round);
    ExpectExactlyOneCreateWins(
        [&](int) -> Store& { return *store_; },
        [&](int i) { return MakeUser(i % 2 == 0 ? name : UsernameKey(name).str()); }, name);
  }
}

// Two stores on one database stand for two gatehouse instances registering one name at once.
TEST_P(StoreContractTest, ConcurrentCreatesThroughTwoStoresLetExactlyOneSucceed) {
  std::unique_ptr<Store> other = OpenDatabase();
  ASSERT_TRUE(other);
  constexpr int kRounds = 10;
  for (int round = 0; round < kRounds; ++round) {
    const std::string name = "Carol" + std::to_string(round);
    ExpectExactlyOneCreateWins(
        [&](int i) -> Store& { return i % 2 == 0 ? *store_ : *other; },
        [&](int i) { return MakeUser(name, "$argon2id$" + std::to_string(i)); }, name);
  }
}

TEST_P(StoreContractTest, UpdatePasswordHashReplacesTheHash) {
  ASSERT_TRUE(CreateUser(*store_, MakeUser("carol", "$pbkdf2-sha256$old")));
  ASSERT_TRUE(CreateUser(*store_, MakeUser("dave", "$argon2id$dave")));

  Status updated = store_->UpdatePasswordHash(UsernameKey("CAROL"), "$argon2id$new");
  ASSERT_TRUE(updated) << Why(updated);
  Result<std::optional<UserRecord>> found = store_->FindUser(UsernameKey("carol"));
  ASSERT_TRUE(found) << Why(found);
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->password_hash, "$argon2id$new");
  EXPECT_EQ((*found)->username, "carol");
  EXPECT_EQ((*found)->created_at, 1700000000);
  EXPECT_EQ(store_->FindUser(UsernameKey("dave"))->value().password_hash, "$argon2id$dave");
}

TEST_P(StoreContractTest, UpdatePasswordHashOfUnknownUserIsNotFound) {
  Status updated = store_->UpdatePasswordHash(UsernameKey("ghost"), "$argon2id$secret");
  ASSERT_FALSE(updated);
  EXPECT_EQ(updated.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(updated.error().detail.find("secret"), std::string::npos) << updated.error().detail;
}

TEST_P(StoreContractTest, RemoveUserDeletesOnlyThatUser) {
  ASSERT_TRUE(CreateUser(*store_, MakeUser("Erin")));
  ASSERT_TRUE(CreateUser(*store_, MakeUser("frank")));

  auto removed = store_->RemoveUser(UsernameKey("ERIN"), 5000);
  ASSERT_TRUE(removed) << Why(removed);
  Result<std::optional<UserRecord>> erin = store_->FindUser(UsernameKey("erin"));
  ASSERT_TRUE(erin) << Why(erin);
  EXPECT_FALSE(erin->has_value());
  Result<std::optional<UserRecord>> frank = store_->FindUser(UsernameKey("frank"));
  ASSERT_TRUE(frank) << Why(frank);
  EXPECT_TRUE(frank->has_value());
}

TEST_P(StoreContractTest, RemoveUserSetsTheUsersRevokedBefore) {
  ASSERT_TRUE(CreateUser(*store_, MakeUser("Erin")));

  ASSERT_TRUE(store_->RemoveUser(UsernameKey("Erin"), 5000));
  Result<std::vector<UserRevocation>> loaded = store_->LoadUserRevocations();
  ASSERT_TRUE(loaded) << Why(loaded);
  EXPECT_EQ(ByUser(*loaded), (std::map<std::string, int64_t>{{"erin", 5000}}));
}

TEST_P(StoreContractTest, RemoveUserAppendsAUserEventToTheFeed) {
  ASSERT_TRUE(CreateUser(*store_, MakeUser("Erin")));

  ASSERT_TRUE(store_->RemoveUser(UsernameKey("Erin"), 5000));
  EXPECT_EQ(Describe(AllEvents()), (std::vector<std::string>{"user erin 5000"}));
}

TEST_P(StoreContractTest, RemoveUserOfUnknownUserIsNotFoundAndRevokesNothing) {
  ASSERT_TRUE(CreateUser(*store_, MakeUser("frank")));

  auto removed = store_->RemoveUser(UsernameKey("ghost"), 5000);
  ASSERT_FALSE(removed);
  EXPECT_EQ(removed.error().code, ErrorCode::kNotFound);
  Result<std::vector<UserRevocation>> loaded = store_->LoadUserRevocations();
  ASSERT_TRUE(loaded) << Why(loaded);
  EXPECT_TRUE(loaded->empty());
  Result<int64_t> latest = store_->LatestRevocationEvent();
  ASSERT_TRUE(latest) << Why(latest);
  EXPECT_EQ(*latest, 0);
}

TEST_P(StoreContractTest, RemovedUsernameCanBeCreatedAgain) {
  ASSERT_TRUE(CreateUser(*store_, MakeUser("Erin", "$argon2id$old")));
  ASSERT_TRUE(store_->RemoveUser(UsernameKey("erin"), 5000));

  Status created = CreateUser(*store_, MakeUser("ERIN", "$argon2id$new"));
  ASSERT_TRUE(created) << Why(created);
  EXPECT_EQ(store_->FindUser(UsernameKey("erin"))->value().username, "ERIN");
  EXPECT_EQ(store_->FindUser(UsernameKey("erin"))->value().password_hash, "$argon2id$new");
}

TEST_P(StoreContractTest, ListUsersPagesInKeyOrderAfterTheGivenKey) {
  for (const char* name : {"dave", "Carol", "alice", "Bob", "erin"}) {
    ASSERT_TRUE(CreateUser(*store_, MakeUser(name)));
  }

  Result<std::vector<UserRecord>> first = store_->ListUsers("", 2);
  ASSERT_TRUE(first) << Why(first);
  EXPECT_EQ(Usernames(*first), (std::vector<std::string>{"alice", "Bob"}));
  Result<std::vector<UserRecord>> second = store_->ListUsers("bob", 2);
  ASSERT_TRUE(second) << Why(second);
  EXPECT_EQ(Usernames(*second), (std::vector<std::string>{"Carol", "dave"}));
  Result<std::vector<UserRecord>> third = store_->ListUsers("dave", 2);
  ASSERT_TRUE(third) << Why(third);
  EXPECT_EQ(Usernames(*third), (std::vector<std::string>{"erin"}));
  Result<std::vector<UserRecord>> past_end = store_->ListUsers("erin", 2);
  ASSERT_TRUE(past_end) << Why(past_end);
  EXPECT_TRUE(past_end->empty());
}

// Punctuation and digits sort by byte value in the key (as UsernameKey strings compare), and
// paging one by one visits every user exactly once.
TEST_P(StoreContractTest, ListUsersPagingVisitsEveryUserOnceInByteOrderOfTheKey) {
  const std::vector<std::string> names = {"b10", "A.b", "a_b", "a-b", "AB", "b2", "B1", "a b"};
  for (const std::string& name : names) ASSERT_TRUE(CreateUser(*store_, MakeUser(name)));
  std::vector<std::string> expected_keys;
  for (const std::string& name : names) expected_keys.push_back(UsernameKey(name).str());
  std::sort(expected_keys.begin(), expected_keys.end());

  std::vector<std::string> keys;
  std::string after;
  for (std::size_t page = 0; page <= names.size(); ++page) {
    Result<std::vector<UserRecord>> users = store_->ListUsers(after, 1);
    ASSERT_TRUE(users) << Why(users);
    if (users->empty()) break;
    ASSERT_EQ(users->size(), 1u);
    after = UsernameKey(users->front().username).str();
    keys.push_back(after);
  }
  EXPECT_EQ(keys, expected_keys);
}

TEST_P(StoreContractTest, ListUsersLeavesOutPasswordHashes) {
  ASSERT_TRUE(CreateUser(*store_, MakeUser("alice", "$argon2id$secret-a", 1700000001)));
  ASSERT_TRUE(CreateUser(*store_, MakeUser("Bob", "$argon2id$secret-b", 1700000002)));

  Result<std::vector<UserRecord>> users = store_->ListUsers("", 10);
  ASSERT_TRUE(users) << Why(users);
  ASSERT_EQ(users->size(), 2u);
  EXPECT_EQ((*users)[0].username, "alice");
  EXPECT_EQ((*users)[0].created_at, 1700000001);
  EXPECT_EQ((*users)[0].password_hash, "");
  EXPECT_EQ((*users)[1].username, "Bob");
  EXPECT_EQ((*users)[1].created_at, 1700000002);
  EXPECT_EQ((*users)[1].password_hash, "");
}

// --- import --------------------------------------------------------------------------------

TEST_P(StoreContractTest, ImportUsersCountsNewRowsAndLeavesExistingOnesAsTheyAre) {
  ASSERT_TRUE(CreateUser(*store_, MakeUser("alice", "$argon2id$kept", 1600000000)));

  Result<int64_t> imported =
      store_->ImportUsers({MakeUser("ALICE", "$pbkdf2-sha256$imported", 1500000000),
                           MakeUser("Bob", "$pbkdf2-sha256$bob", 1500000001),
                           MakeUser("carol", "$pbkdf2-sha256$carol", 1500000002)});
  ASSERT_TRUE(imported) << Why(imported);
  EXPECT_EQ(*imported, 2);

  Result<std::optional<UserRecord>> alice = store_->FindUser(UsernameKey("alice"));
  ASSERT_TRUE(alice) << Why(alice);
  ASSERT_TRUE(alice->has_value());
  EXPECT_EQ((*alice)->username, "alice");
  EXPECT_EQ((*alice)->password_hash, "$argon2id$kept");
  EXPECT_EQ((*alice)->created_at, 1600000000);
  Result<std::optional<UserRecord>> bob = store_->FindUser(UsernameKey("bob"));
  ASSERT_TRUE(bob) << Why(bob);
  ASSERT_TRUE(bob->has_value());
  EXPECT_EQ((*bob)->username, "Bob");
  EXPECT_EQ((*bob)->password_hash, "$pbkdf2-sha256$bob");
  EXPECT_EQ((*bob)->created_at, 1500000001);
}

TEST_P(StoreContractTest, ImportingTheSameUsersTwiceChangesNothing) {
  const std::vector<UserRecord> users = {MakeUser("alice", "$pbkdf2-sha256$a"),
                                         MakeUser("Bob", "$pbkdf2-sha256$b")};
  Result<int64_t> first = store_->ImportUsers(users);
  ASSERT_TRUE(first) << Why(first);
  EXPECT_EQ(*first, 2);

  Result<int64_t> second = store_->ImportUsers(users);
  ASSERT_TRUE(second) << Why(second);
  EXPECT_EQ(*second, 0);
  Result<std::vector<UserRecord>> listed = store_->ListUsers("", 10);
  ASSERT_TRUE(listed) << Why(listed);
  EXPECT_EQ(Usernames(*listed), (std::vector<std::string>{"alice", "Bob"}));
}

// A Flask database may hold "Bob" and "bob" (its usernames are case-sensitive): the first wins.
TEST_P(StoreContractTest, ImportUsersWithOneKeyTwiceInOneCallKeepsTheFirst) {
  Result<int64_t> imported = store_->ImportUsers(
      {MakeUser("Bob", "$pbkdf2-sha256$first"), MakeUser("bob", "$pbkdf2-sha256$second")});
  ASSERT_TRUE(imported) << Why(imported);
  EXPECT_EQ(*imported, 1);
  Result<std::optional<UserRecord>> bob = store_->FindUser(UsernameKey("bob"));
  ASSERT_TRUE(bob) << Why(bob);
  ASSERT_TRUE(bob->has_value());
  EXPECT_EQ((*bob)->username, "Bob");
  EXPECT_EQ((*bob)->password_hash, "$pbkdf2-sha256$first");
}

TEST_P(StoreContractTest, ImportOfNoRowsCountsZero) {
  Result<int64_t> users = store_->ImportUsers({});
  ASSERT_TRUE(users) << Why(users);
  EXPECT_EQ(*users, 0);
  Result<int64_t> revocations = store_->ImportRevocations({});
  ASSERT_TRUE(revocations) << Why(revocations);
  EXPECT_EQ(*revocations, 0);
}

TEST_P(StoreContractTest, ImportRevocationsCountsNewRowsAndLeavesExistingOnesAsTheyAre) {
  ASSERT_TRUE(store_->AddRevocation({"jti-1", RevocationKind::kToken, 2000}));

  Result<int64_t> imported = store_->ImportRevocations(
      {{"jti-1", RevocationKind::kSession, 9000}, {"jti-2", RevocationKind::kToken, 3000}});
  ASSERT_TRUE(imported) << Why(imported);
  EXPECT_EQ(*imported, 1);

  Result<std::vector<Revocation>> loaded = store_->LoadRevocations(0);
  ASSERT_TRUE(loaded) << Why(loaded);
  std::sort(loaded->begin(), loaded->end(),
            [](const Revocation& a, const Revocation& b) { return a.id < b.id; });
  ASSERT_EQ(loaded->size(), 2u);
  EXPECT_EQ((*loaded)[0].id, "jti-1");
  EXPECT_EQ((*loaded)[0].kind, RevocationKind::kToken);
  EXPECT_EQ((*loaded)[0].expires_at, 2000);
  EXPECT_EQ((*loaded)[1].id, "jti-2");
  EXPECT_EQ((*loaded)[1].kind, RevocationKind::kToken);
  EXPECT_EQ((*loaded)[1].expires_at, 3000);
}

TEST_P(StoreContractTest, ImportingTheSameRevocationsTwiceChangesNothing) {
  const std::vector<Revocation> revocations = {{"jti-1", RevocationKind::kToken, 2000},
                                               {"sid-1", RevocationKind::kSession, 3000}};
  Result<int64_t> first = store_->ImportRevocations(revocations);
  ASSERT_TRUE(first) << Why(first);
  EXPECT_EQ(*first, 2);

  Result<int64_t> second = store_->ImportRevocations(revocations);
  ASSERT_TRUE(second) << Why(second);
  EXPECT_EQ(*second, 0);
  Result<std::vector<Revocation>> loaded = store_->LoadRevocations(0);
  ASSERT_TRUE(loaded) << Why(loaded);
  EXPECT_EQ(SortedIds(*loaded), (std::vector<std::string>{"jti-1", "sid-1"}));
}

TEST_P(StoreContractTest, ImportedRevocationsDoNotEnterTheFeed) {
  Result<int64_t> imported = store_->ImportRevocations({{"jti-1", RevocationKind::kToken, 2000}});
  ASSERT_TRUE(imported) << Why(imported);
  ASSERT_EQ(*imported, 1);

  Result<int64_t> latest = store_->LatestRevocationEvent();
  ASSERT_TRUE(latest) << Why(latest);
  EXPECT_EQ(*latest, 0);
  EXPECT_TRUE(AllEvents().empty());
}

// --- revocations ---------------------------------------------------------------------------

TEST_P(StoreContractTest, AddedTokenRevocationLoadsWithItsKindAndExpiry) {
  Status added = store_->AddRevocation({"jti-1", RevocationKind::kToken, 2000});
  ASSERT_TRUE(added) << Why(added);

  Result<std::vector<Revocation>> loaded = store_->LoadRevocations(1000);
  ASSERT_TRUE(loaded) << Why(loaded);
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_EQ((*loaded)[0].id, "jti-1");
  EXPECT_EQ((*loaded)[0].kind, RevocationKind::kToken);
  EXPECT_EQ((*loaded)[0].expires_at, 2000);
}

TEST_P(StoreContractTest, SessionRevocationRoundTripsWithKindSession) {
  Status added = store_->AddRevocation({"sid-1", RevocationKind::kSession, 2000});
  ASSERT_TRUE(added) << Why(added);

  Result<std::vector<Revocation>> loaded = store_->LoadRevocations(1000);
  ASSERT_TRUE(loaded) << Why(loaded);
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_EQ((*loaded)[0].id, "sid-1");
  EXPECT_EQ((*loaded)[0].kind, RevocationKind::kSession);
  EXPECT_EQ((*loaded)[0].expires_at, 2000);
}

TEST_P(StoreContractTest, ReAddingARevocationSucceeds) {
  const Revocation revocation{"jti-1", RevocationKind::kToken, 2000};
  ASSERT_TRUE(store_->AddRevocation(revocation));
  Status again = store_->AddRevocation(revocation);
  ASSERT_TRUE(again) << Why(again);

  Result<std::vector<Revocation>> loaded = store_->LoadRevocations(1000);
  ASSERT_TRUE(loaded) << Why(loaded);
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_EQ((*loaded)[0].id, "jti-1");
  EXPECT_EQ((*loaded)[0].expires_at, 2000);
}

TEST_P(StoreContractTest, ReAddingARevocationKeepsTheLaterExpiry) {
  ASSERT_TRUE(store_->AddRevocation({"earlier-then-later", RevocationKind::kSession, 2000}));
  ASSERT_TRUE(store_->AddRevocation({"earlier-then-later", RevocationKind::kSession, 3000}));
  ASSERT_TRUE(store_->AddRevocation({"later-then-earlier", RevocationKind::kSession, 3000}));
  ASSERT_TRUE(store_->AddRevocation({"later-then-earlier", RevocationKind::kSession, 2000}));

  Result<std::vector<Revocation>> loaded = store_->LoadRevocations(2500);
  ASSERT_TRUE(loaded) << Why(loaded);
  ASSERT_EQ(loaded->size(), 2u);
  for (const Revocation& revocation : *loaded) {
    EXPECT_EQ(revocation.expires_at, 3000) << revocation.id;
    EXPECT_EQ(revocation.kind, RevocationKind::kSession) << revocation.id;
  }
}

TEST_P(StoreContractTest, LoadRevocationsReturnsOnlyUnexpiredRows) {
  ASSERT_TRUE(store_->AddRevocation({"expired", RevocationKind::kToken, 999}));
  ASSERT_TRUE(store_->AddRevocation({"expires-now", RevocationKind::kToken, 1000}));
  ASSERT_TRUE(store_->AddRevocation({"live-token", RevocationKind::kToken, 1001}));
  ASSERT_TRUE(store_->AddRevocation({"live-session", RevocationKind::kSession, 5000}));

  Result<std::vector<Revocation>> loaded = store_->LoadRevocations(1000);
  ASSERT_TRUE(loaded) << Why(loaded);
  EXPECT_EQ(SortedIds(*loaded), (std::vector<std::string>{"live-session", "live-token"}));
}

TEST_P(StoreContractTest, PruneRevocationsDeletesExpiredRowsAndCountsThem) {
  ASSERT_TRUE(store_->AddRevocation({"old-1", RevocationKind::kToken, 500}));
  ASSERT_TRUE(store_->AddRevocation({"old-2", RevocationKind::kSession, 1000}));
  ASSERT_TRUE(store_->AddRevocation({"live", RevocationKind::kToken, 1001}));

  Result<int64_t> pruned = store_->PruneRevocations(1000);
  ASSERT_TRUE(pruned) << Why(pruned);
  EXPECT_EQ(*pruned, 2);
  Result<std::vector<Revocation>> remaining = store_->LoadRevocations(0);
  ASSERT_TRUE(remaining) << Why(remaining);
  EXPECT_EQ(SortedIds(*remaining), (std::vector<std::string>{"live"}));
  Result<int64_t> again = store_->PruneRevocations(1000);
  ASSERT_TRUE(again) << Why(again);
  EXPECT_EQ(*again, 0);
}

// --- per-user revoked-before ---------------------------------------------------------------

TEST_P(StoreContractTest, UserRevokedBeforeKeepsTheLaterTime) {
  ASSERT_TRUE(store_->SetUserRevokedBefore({"dave", 2000}));
  ASSERT_TRUE(store_->SetUserRevokedBefore({"dave", 1500}));
  ASSERT_TRUE(store_->SetUserRevokedBefore({"erin", 100}));
  ASSERT_TRUE(store_->SetUserRevokedBefore({"erin", 300}));

  Result<std::vector<UserRevocation>> loaded = store_->LoadUserRevocations();
  ASSERT_TRUE(loaded) << Why(loaded);
  EXPECT_EQ(loaded->size(), 2u);
  EXPECT_EQ(ByUser(*loaded), (std::map<std::string, int64_t>{{"dave", 2000}, {"erin", 300}}));
}

TEST_P(StoreContractTest, CutHeldBackNameKeepsTheFirstTimeAndNeverLowersALaterCut) {
  ASSERT_TRUE(store_->CutHeldBackName(UsernameKey("Gina"), 100));
  ASSERT_TRUE(store_->CutHeldBackName(UsernameKey("gina"), 200));  // a re-run: still 100
  ASSERT_TRUE(store_->CutHeldBackName(UsernameKey("hugo"), 150));
  Result<std::vector<UserRevocation>> loaded = store_->LoadUserRevocations();
  ASSERT_TRUE(loaded) << Why(loaded);
  EXPECT_EQ(ByUser(*loaded), (std::map<std::string, int64_t>{{"gina", 100}, {"hugo", 150}}));

  // A later cut of the user's own (logout everywhere) stays: a re-run does not lower it.
  ASSERT_TRUE(store_->SetUserRevokedBefore({"gina", 300}));
  ASSERT_TRUE(store_->CutHeldBackName(UsernameKey("gina"), 400));
  loaded = store_->LoadUserRevocations();
  ASSERT_TRUE(loaded) << Why(loaded);
  EXPECT_EQ(ByUser(*loaded), (std::map<std::string, int64_t>{{"gina", 300}, {"hugo", 150}}));
}

TEST_P(StoreContractTest, UserRevokedBeforeKeyIgnoresCase) {
  ASSERT_TRUE(store_->SetUserRevokedBefore({"Frank", 10}));
  ASSERT_TRUE(store_->SetUserRevokedBefore({"frank", 20}));
  ASSERT_TRUE(store_->SetUserRevokedBefore({"FRANK", 15}));

  Result<std::vector<UserRevocation>> loaded = store_->LoadUserRevocations();
  ASSERT_TRUE(loaded) << Why(loaded);
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_EQ((*loaded)[0].username_key, "frank");
  EXPECT_EQ((*loaded)[0].revoked_before, 20);
}

TEST_P(StoreContractTest, PruneUserRevocationsDropsTimesAtOrBeforeTheCutoffAndCountsThem) {
  ASSERT_TRUE(store_->SetUserRevokedBefore({"early", 100}));
  ASSERT_TRUE(store_->SetUserRevokedBefore({"at-cutoff", 200}));
  ASSERT_TRUE(store_->SetUserRevokedBefore({"late", 201}));

  Result<int64_t> pruned = store_->PruneUserRevocations(200);
  ASSERT_TRUE(pruned) << Why(pruned);
  EXPECT_EQ(*pruned, 2);
  Result<std::vector<UserRevocation>> loaded = store_->LoadUserRevocations();
  ASSERT_TRUE(loaded) << Why(loaded);
  EXPECT_EQ(ByUser(*loaded), (std::map<std::string, int64_t>{{"late", 201}}));
  Result<int64_t> again = store_->PruneUserRevocations(200);
  ASSERT_TRUE(again) << Why(again);
  EXPECT_EQ(*again, 0);
}

// --- the revocation feed -------------------------------------------------------------------

TEST_P(StoreContractTest, LatestRevocationEventIsZeroWhenTheFeedIsEmpty) {
  Result<int64_t> latest = store_->LatestRevocationEvent();
  ASSERT_TRUE(latest) << Why(latest);
  EXPECT_EQ(*latest, 0);
  Result<std::vector<RevocationEvent>> events = store_->RevocationsSince(0, 10);
  ASSERT_TRUE(events) << Why(events);
  EXPECT_TRUE(events->empty());
}

TEST_P(StoreContractTest, FeedHoldsTokenSessionAndUserEventsInAppendOrder) {
  ASSERT_TRUE(CreateUser(*store_, MakeUser("Grace")));
  ASSERT_TRUE(store_->AddRevocation({"jti-1", RevocationKind::kToken, 2000}));
  ASSERT_TRUE(store_->AddRevocation({"sid-1", RevocationKind::kSession, 3000}));
  ASSERT_TRUE(store_->SetUserRevokedBefore({"Dave", 50}));
  ASSERT_TRUE(store_->RemoveUser(UsernameKey("GRACE"), 60));

  std::vector<RevocationEvent> events = AllEvents();
  EXPECT_EQ(Describe(events), (std::vector<std::string>{"token jti-1 2000", "session sid-1 3000",
                                                        "user dave 50", "user grace 60"}));
  for (std::size_t i = 1; i < events.size(); ++i) {
    EXPECT_GT(events[i].seq, events[i - 1].seq) << "event " << i;
  }
  ASSERT_FALSE(events.empty());
  EXPECT_GT(events.front().seq, 0);
  Result<int64_t> latest = store_->LatestRevocationEvent();
  ASSERT_TRUE(latest) << Why(latest);
  EXPECT_EQ(*latest, events.back().seq);
}

TEST_P(StoreContractTest, RevocationsSincePagesFromTheCursorUpToTheLimit) {
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(
        store_->AddRevocation({"jti-" + std::to_string(i), RevocationKind::kToken, 1000 + i}));
  }

  std::vector<std::string> seen;
  std::vector<std::size_t> page_sizes;
  int64_t cursor = 0;
  for (int page = 0; page < 10; ++page) {
    Result<std::vector<RevocationEvent>> events = store_->RevocationsSince(cursor, 2);
    ASSERT_TRUE(events) << Why(events);
    page_sizes.push_back(events->size());
    if (events->empty()) break;
    for (const RevocationEvent& event : *events) {
      EXPECT_GT(event.seq, cursor);
      seen.push_back(event.subject);
      cursor = event.seq;
    }
  }
  EXPECT_EQ(page_sizes, (std::vector<std::size_t>{2, 2, 1, 0}));
  EXPECT_EQ(seen, (std::vector<std::string>{"jti-0", "jti-1", "jti-2", "jti-3", "jti-4"}));
  Result<int64_t> latest = store_->LatestRevocationEvent();
  ASSERT_TRUE(latest) << Why(latest);
  EXPECT_EQ(*latest, cursor);
}

TEST_P(StoreContractTest, PruneRevocationEventsKeepsEventsWrittenAfterTheCutoff) {
  ASSERT_TRUE(store_->AddRevocation({"jti-1", RevocationKind::kToken, 2000}));
  ASSERT_TRUE(store_->SetUserRevokedBefore({"dave", 50}));

  Result<int64_t> pruned = store_->PruneRevocationEvents(UnixNow() - 3600);
  ASSERT_TRUE(pruned) << Why(pruned);
  EXPECT_EQ(*pruned, 0);
  EXPECT_EQ(Describe(AllEvents()), (std::vector<std::string>{"token jti-1 2000", "user dave 50"}));
}

TEST_P(StoreContractTest, PruneRevocationEventsDropsEventsWrittenAtOrBeforeTheCutoff) {
  ASSERT_TRUE(store_->AddRevocation({"jti-1", RevocationKind::kToken, 2000}));
  ASSERT_TRUE(store_->SetUserRevokedBefore({"dave", 50}));

  Result<int64_t> pruned = store_->PruneRevocationEvents(UnixNow() + 3600);
  ASSERT_TRUE(pruned) << Why(pruned);
  EXPECT_EQ(*pruned, 2);
  EXPECT_TRUE(AllEvents().empty());
}

// A poller whose cursor is at the last pruned event must still see what comes next.
TEST_P(StoreContractTest, SequenceNumbersAreNotReusedAfterAPrune) {
  ASSERT_TRUE(store_->AddRevocation({"jti-1", RevocationKind::kToken, 2000}));
  ASSERT_TRUE(store_->AddRevocation({"jti-2", RevocationKind::kToken, 2000}));
  Result<int64_t> cursor = store_->LatestRevocationEvent();
  ASSERT_TRUE(cursor) << Why(cursor);
  ASSERT_TRUE(store_->PruneRevocationEvents(UnixNow() + 3600));

  ASSERT_TRUE(store_->AddRevocation({"jti-3", RevocationKind::kToken, 2000}));
  Result<std::vector<RevocationEvent>> events = store_->RevocationsSince(*cursor, 10);
  ASSERT_TRUE(events) << Why(events);
  EXPECT_EQ(Describe(*events), (std::vector<std::string>{"token jti-3 2000"}));
}

// Concurrent appends by eight writers on two stores: every entry is in the feed exactly once,
// with a number of its own, and each writer's entries are numbered in the order it wrote them.
// (Entries may become visible out of number order on a shared database; store.hpp leaves
// catching those to the follower's look-back window, so no poller is raced here.)
TEST_P(StoreContractTest, ConcurrentAppendsEachGetOneDistinctNumberGrowingPerWriter) {
  std::unique_ptr<Store> other = OpenDatabase();
  ASSERT_TRUE(other);
  constexpr int kPerThread = 40;
  RunTogether([&](int i) {
    Store& store = i % 2 == 0 ? *store_ : *other;
    for (int n = 0; n < kPerThread; ++n) {
      const std::string id = "w" + std::to_string(i) + "-" + std::to_string(n);
      Status added = store.AddRevocation({id, RevocationKind::kToken, 2000});
      if (!added) ADD_FAILURE() << id << ": " << added.error().detail;
    }
  });

  const std::vector<RevocationEvent> events = AllEvents();
  ASSERT_EQ(events.size(), static_cast<std::size_t>(kThreads) * kPerThread);
  std::map<std::string, int64_t> seq_of;
  for (std::size_t k = 0; k < events.size(); ++k) {
    if (k > 0) {
      EXPECT_GT(events[k].seq, events[k - 1].seq) << "entry " << k;
    }
    EXPECT_TRUE(seq_of.emplace(events[k].subject, events[k].seq).second)
        << events[k].subject << " is in the feed twice";
  }
  for (int i = 0; i < kThreads; ++i) {
    int64_t previous = 0;
    for (int n = 0; n < kPerThread; ++n) {
      const std::string id = "w" + std::to_string(i) + "-" + std::to_string(n);
      const auto found = seq_of.find(id);
      ASSERT_NE(found, seq_of.end()) << id << " is missing from the feed";
      EXPECT_GT(found->second, previous) << id;
      previous = found->second;
    }
  }
  Result<int64_t> latest = store_->LatestRevocationEvent();
  ASSERT_TRUE(latest) << Why(latest);
  EXPECT_EQ(*latest, events.back().seq);
}

// --- IsRevoked -----------------------------------------------------------------------------

TEST_P(StoreContractTest, IsRevokedFindsARevokedJti) {
  ASSERT_TRUE(store_->AddRevocation({"jti-1", RevocationKind::kToken, 2000}));

  Result<bool> revoked = store_->IsRevoked("jti-1", "sid-other", UsernameKey("alice"), 100);
  ASSERT_TRUE(revoked) << Why(revoked);
  EXPECT_TRUE(*revoked);
}

TEST_P(StoreContractTest, IsRevokedFindsARevokedSid) {
  ASSERT_TRUE(store_->AddRevocation({"sid-1", RevocationKind::kSession, 2000}));

  Result<bool> revoked = store_->IsRevoked("jti-other", "sid-1", UsernameKey("alice"), 100);
  ASSERT_TRUE(revoked) << Why(revoked);
  EXPECT_TRUE(*revoked);
}

TEST_P(StoreContractTest, IsRevokedWhenTheUsersRevokedBeforeIsAfterIssuedAt) {
  ASSERT_TRUE(store_->SetUserRevokedBefore({"alice", 1000}));

  Result<bool> revoked = store_->IsRevoked("jti-1", "sid-1", UsernameKey("ALICE"), 999);
  ASSERT_TRUE(revoked) << Why(revoked);
  EXPECT_TRUE(*revoked);
}

TEST_P(StoreContractTest, IsNotRevokedWhenIssuedAtOrAfterTheUsersRevokedBefore) {
  ASSERT_TRUE(store_->SetUserRevokedBefore({"alice", 1000}));

  Result<bool> at = store_->IsRevoked("jti-1", "sid-1", UsernameKey("alice"), 1000);
  ASSERT_TRUE(at) << Why(at);
  EXPECT_FALSE(*at);
  Result<bool> after = store_->IsRevoked("jti-1", "sid-1", UsernameKey("alice"), 1001);
  ASSERT_TRUE(after) << Why(after);
  EXPECT_FALSE(*after);
}

TEST_P(StoreContractTest, IsRevokedWithoutSidWhenIssuedInTheSecondOfTheUsersRevokedBefore) {
  ASSERT_TRUE(store_->SetUserRevokedBefore({"alice", 1000}));

  Result<bool> at = store_->IsRevoked("jti-1", "", UsernameKey("alice"), 1000);
  ASSERT_TRUE(at) << Why(at);
  EXPECT_TRUE(*at);
  Result<bool> after = store_->IsRevoked("jti-1", "", UsernameKey("alice"), 1001);
  ASSERT_TRUE(after) << Why(after);
  EXPECT_FALSE(*after);
}

TEST_P(StoreContractTest, IsRevokedIsFalseForUnknownIdsAndUsers) {
  ASSERT_TRUE(store_->AddRevocation({"jti-1", RevocationKind::kToken, 2000}));
  ASSERT_TRUE(store_->AddRevocation({"sid-1", RevocationKind::kSession, 2000}));
  ASSERT_TRUE(store_->SetUserRevokedBefore({"alice", 1000}));

  Result<bool> revoked = store_->IsRevoked("jti-2", "", UsernameKey("bob"), 1);
  ASSERT_TRUE(revoked) << Why(revoked);
  EXPECT_FALSE(*revoked);
}

// --- signing keys --------------------------------------------------------------------------

TEST_P(StoreContractTest, AddSigningKeyReturnsTrueForANewKid) {
  Result<bool> added = store_->AddSigningKey({"kid-1", "EdDSA", kPem, 1000});
  ASSERT_TRUE(added) << Why(added);
  EXPECT_TRUE(*added);

  Result<std::vector<StoredKey>> loaded = store_->LoadSigningKeys("EdDSA");
  ASSERT_TRUE(loaded) << Why(loaded);
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_EQ((*loaded)[0].kid, "kid-1");
  EXPECT_EQ((*loaded)[0].algorithm, "EdDSA");
  EXPECT_EQ((*loaded)[0].material, kPem);
  EXPECT_EQ((*loaded)[0].created_at, 1000);
}

TEST_P(StoreContractTest, AddSigningKeyWithAnExistingKidReturnsFalseAndKeepsTheStoredKey) {
  ASSERT_TRUE(store_->AddSigningKey({"hs256", "HS256", "first-secret", 1000}));

  Result<bool> again = store_->AddSigningKey({"hs256", "HS256", "second-secret", 2000});
  ASSERT_TRUE(again) << Why(again);
  EXPECT_FALSE(*again);
  Result<std::vector<StoredKey>> loaded = store_->LoadSigningKeys("HS256");
  ASSERT_TRUE(loaded) << Why(loaded);
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_EQ((*loaded)[0].material, "first-secret");
  EXPECT_EQ((*loaded)[0].created_at, 1000);
}

// Two instances creating the HS256 secret at once agree on one.
TEST_P(StoreContractTest, ConcurrentAddsOfOneKidThroughTwoStoresKeepExactlyOne) {
  std::unique_ptr<Store> other = OpenDatabase();
  ASSERT_TRUE(other);
  std::atomic<int> added{0};
  std::mutex winner_mutex;
  std::string winner;
  RunTogether([&](int i) {
    Store& store = i % 2 == 0 ? *store_ : *other;
    const std::string secret = "secret-" + std::to_string(i);
    Result<bool> result = store.AddSigningKey({"hs256", "HS256", secret, 1000});
    if (!result) {
      ADD_FAILURE() << "thread " << i << ": " << result.error().detail;
    } else if (*result) {
      ++added;
      std::lock_guard lock(winner_mutex);
      winner = secret;
    }
  });
  EXPECT_EQ(added.load(), 1);
  for (Store* store : {store_.get(), other.get()}) {
    Result<std::vector<StoredKey>> loaded = store->LoadSigningKeys("HS256");
    ASSERT_TRUE(loaded) << Why(loaded);
    ASSERT_EQ(loaded->size(), 1u);
    EXPECT_EQ((*loaded)[0].material, winner);
  }
}

TEST_P(StoreContractTest, LoadSigningKeysReturnsOldestFirstWithKidBreakingTies) {
  ASSERT_TRUE(store_->AddSigningKey({"kid-b", "ES256", "pem-b", 200}));
  ASSERT_TRUE(store_->AddSigningKey({"kid-z", "ES256", "pem-z", 100}));
  ASSERT_TRUE(store_->AddSigningKey({"kid-c", "ES256", "pem-c", 300}));
  ASSERT_TRUE(store_->AddSigningKey({"kid-a", "ES256", "pem-a", 200}));

  Result<std::vector<StoredKey>> loaded = store_->LoadSigningKeys("ES256");
  ASSERT_TRUE(loaded) << Why(loaded);
  EXPECT_EQ(Kids(*loaded), (std::vector<std::string>{"kid-z", "kid-a", "kid-b", "kid-c"}));
  ASSERT_EQ(loaded->size(), 4u);
  EXPECT_EQ((*loaded)[1].material, "pem-a");
  EXPECT_EQ((*loaded)[1].created_at, 200);
}

TEST_P(StoreContractTest, LoadSigningKeysLeavesOutOtherAlgorithms) {
  ASSERT_TRUE(store_->AddSigningKey({"kid-ed", "EdDSA", "pem-ed", 100}));
  ASSERT_TRUE(store_->AddSigningKey({"kid-es", "ES256", "pem-es", 100}));
  ASSERT_TRUE(store_->AddSigningKey({"kid-rs", "RS256", "pem-rs", 100}));
  ASSERT_TRUE(store_->AddSigningKey({"hs256", "HS256", "secret", 100}));

  Result<std::vector<StoredKey>> rs = store_->LoadSigningKeys("RS256");
  ASSERT_TRUE(rs) << Why(rs);
  EXPECT_EQ(Kids(*rs), (std::vector<std::string>{"kid-rs"}));
  Result<std::vector<StoredKey>> none = store_->LoadSigningKeys("PS256");
  ASSERT_TRUE(none) << Why(none);
  EXPECT_TRUE(none->empty());
}

TEST_P(StoreContractTest, RemoveSigningKeyDeletesOnlyThatKey) {
  ASSERT_TRUE(store_->AddSigningKey({"kid-1", "EdDSA", "pem-1", 100}));
  ASSERT_TRUE(store_->AddSigningKey({"kid-2", "EdDSA", "pem-2", 200}));

  Status removed = store_->RemoveSigningKey("kid-1");
  ASSERT_TRUE(removed) << Why(removed);
  Result<std::vector<StoredKey>> loaded = store_->LoadSigningKeys("EdDSA");
  ASSERT_TRUE(loaded) << Why(loaded);
  EXPECT_EQ(Kids(*loaded), (std::vector<std::string>{"kid-2"}));
}

TEST_P(StoreContractTest, RemoveSigningKeyOfUnknownKidIsOk) {
  ASSERT_TRUE(store_->AddSigningKey({"kid-1", "EdDSA", "pem-1", 100}));

  Status removed = store_->RemoveSigningKey("no-such-kid");
  ASSERT_TRUE(removed) << Why(removed);
  Result<std::vector<StoredKey>> loaded = store_->LoadSigningKeys("EdDSA");
  ASSERT_TRUE(loaded) << Why(loaded);
  EXPECT_EQ(Kids(*loaded), (std::vector<std::string>{"kid-1"}));
}

// --- the store as a whole ------------------------------------------------------------------

TEST_P(StoreContractTest, PingIsOk) {
  Status pinged = store_->Ping();
  EXPECT_TRUE(pinged) << Why(pinged);
}

TEST_P(StoreContractTest, DataPersistsAcrossCloseAndReopen) {
  ASSERT_TRUE(CreateUser(*store_, MakeUser("Grace", "$argon2id$g")));
  ASSERT_TRUE(store_->AddRevocation({"jti-9", RevocationKind::kToken, 9000}));
  ASSERT_TRUE(store_->SetUserRevokedBefore({"grace", 42}));
  ASSERT_TRUE(store_->AddSigningKey({"kid-1", "EdDSA", kPem, 100}));
  store_.reset();

  store_ = OpenDatabase();
  ASSERT_TRUE(store_);
  Result<std::optional<UserRecord>> found = store_->FindUser(UsernameKey("grace"));
  ASSERT_TRUE(found) << Why(found);
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->username, "Grace");
  EXPECT_EQ((*found)->password_hash, "$argon2id$g");
  Result<std::vector<Revocation>> revocations = store_->LoadRevocations(0);
  ASSERT_TRUE(revocations) << Why(revocations);
  EXPECT_EQ(SortedIds(*revocations), (std::vector<std::string>{"jti-9"}));
  Result<std::vector<UserRevocation>> users = store_->LoadUserRevocations();
  ASSERT_TRUE(users) << Why(users);
  EXPECT_EQ(ByUser(*users), (std::map<std::string, int64_t>{{"grace", 42}}));
  Result<std::vector<StoredKey>> keys = store_->LoadSigningKeys("EdDSA");
  ASSERT_TRUE(keys) << Why(keys);
  ASSERT_EQ(keys->size(), 1u);
  EXPECT_EQ((*keys)[0].material, kPem);
  EXPECT_EQ(Describe(AllEvents()), (std::vector<std::string>{"token jti-9 9000", "user grace 42"}));
}

// Two stores open on one database at once (two instances): each sees the other's writes.
TEST_P(StoreContractTest, ASecondStoreOnTheSameDatabaseSeesTheWrites) {
  std::unique_ptr<Store> other = OpenDatabase();
  ASSERT_TRUE(other);
  ASSERT_TRUE(CreateUser(*store_, MakeUser("Heidi", "$argon2id$h")));
  ASSERT_TRUE(other->AddRevocation({"jti-7", RevocationKind::kToken, 9000}));

  Result<std::optional<UserRecord>> found = other->FindUser(UsernameKey("heidi"));
  ASSERT_TRUE(found) << Why(found);
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->username, "Heidi");
  Result<bool> revoked = store_->IsRevoked("jti-7", "", UsernameKey("heidi"), 100);
  ASSERT_TRUE(revoked) << Why(revoked);
  EXPECT_TRUE(*revoked);
  EXPECT_EQ(Describe(AllEvents()), (std::vector<std::string>{"token jti-7 9000"}));
}

// Instances starting at the same time on a new database do not race the migration.
TEST_P(StoreContractTest, StoresOpenedConcurrentlyOnANewDatabaseAllWork) {
  constexpr int kRounds = 10;  // enough rounds that a regression of SwitchToWal shows on most runs
  for (int round = 0; round < kRounds; ++round) {
    const std::string url = CreateEmptyDatabase();
    ASSERT_FALSE(url.empty());
    std::vector<std::unique_ptr<Store>> stores(kThreads);
    RunTogether([&](int i) {
      Result<std::unique_ptr<Store>> opened = OpenStore(url, StoreOptions{1});
      if (!opened) {
        ADD_FAILURE() << "round " << round << ", thread " << i << ": " << opened.error().detail;
        return;
      }
      stores[i] = std::move(opened).value();
    });
    for (int i = 0; i < kThreads; ++i) {
      if (!stores[i]) continue;
      const std::string name = "user" + std::to_string(i);
      Status created = CreateUser(*stores[i], MakeUser(name));
      EXPECT_TRUE(created) << "round " << round << ", store " << i << ": " << Why(created);
      Result<std::optional<UserRecord>> found =
          stores[(i + 1) % kThreads] ? stores[(i + 1) % kThreads]->FindUser(UsernameKey(name))
                                     : stores[i]->FindUser(UsernameKey(name));
      ASSERT_TRUE(found) << Why(found);
      EXPECT_TRUE(found->has_value()) << name;
    }
  }
}

// --- shared brute-force counts (API.md §9) ----------------------------------------------------

constexpr int64_t kAttemptsAt = 1'800'000'000'000;  // unix ms

TEST_P(StoreContractTest, TakeAttemptAllowsTheBurstThenAnswersTheWholeSecondsToWait) {
  if (!IsPostgres()) GTEST_SKIP() << "one process per SQLite file: counted in memory";
  const RateLimit limit{3, 60};
  for (int i = 0; i < 3; ++i) {
    auto wait = store_->TakeAttempt("login_per_user 192.0.2.1 alice", limit, kAttemptsAt, 1);
    ASSERT_TRUE(wait) << Why(wait);
    EXPECT_EQ(*wait, 0) << "attempt " << i + 1;
  }
  auto wait = store_->TakeAttempt("login_per_user 192.0.2.1 alice", limit, kAttemptsAt, 1);
  ASSERT_TRUE(wait) << Why(wait);
  EXPECT_EQ(*wait, 20);  // one attempt every 20 s
}

TEST_P(StoreContractTest, TakeAttemptRefusalTakesNothingAndTheBucketRefills) {
  if (!IsPostgres()) GTEST_SKIP() << "one process per SQLite file: counted in memory";
  const RateLimit limit{1, 10};
  EXPECT_EQ(*store_->TakeAttempt("k", limit, kAttemptsAt, 1), 0);
  EXPECT_EQ(*store_->TakeAttempt("k", limit, kAttemptsAt + 4000, 1), 6);
  EXPECT_EQ(*store_->TakeAttempt("k", limit, kAttemptsAt + 9500, 1), 1);
  EXPECT_EQ(*store_->TakeAttempt("k", limit, kAttemptsAt + 10000, 1), 0);
  EXPECT_GT(*store_->TakeAttempt("k", limit, kAttemptsAt + 10000, 1), 0);
}

TEST_P(StoreContractTest, GivingAnAttemptBackAllowsOneMore) {
  if (!IsPostgres()) GTEST_SKIP() << "one process per SQLite file: counted in memory";
  const RateLimit limit{1, 900};
  EXPECT_EQ(*store_->TakeAttempt("k", limit, kAttemptsAt, 1), 0);
  EXPECT_EQ(*store_->TakeAttempt("k", limit, kAttemptsAt, -1), 0);
  EXPECT_EQ(*store_->TakeAttempt("k", limit, kAttemptsAt, 1), 0);
  EXPECT_GT(*store_->TakeAttempt("k", limit, kAttemptsAt, 1), 0);
}

TEST_P(StoreContractTest, AttemptsThroughTwoStoresCountInOneBucket) {
  // Two stores on one database are two instances: N instances allow what one does.
  if (!IsPostgres()) GTEST_SKIP() << "one process per SQLite file: counted in memory";
  std::unique_ptr<Store> other = OpenDatabase();
  ASSERT_TRUE(other);
  const RateLimit limit{4, 900};
  for (int i = 0; i < 4; ++i) {
    Store& store = i % 2 == 0 ? *store_ : *other;
    EXPECT_EQ(*store.TakeAttempt("login_per_address 192.0.2.7", limit, kAttemptsAt, 1), 0) << i;
  }
  EXPECT_GT(*other->TakeAttempt("login_per_address 192.0.2.7", limit, kAttemptsAt, 1), 0);
  EXPECT_GT(*store_->TakeAttempt("login_per_address 192.0.2.7", limit, kAttemptsAt, 1), 0);
  EXPECT_EQ(*store_->TakeAttempt("login_per_address 192.0.2.8", limit, kAttemptsAt, 1), 0);
}

TEST_P(StoreContractTest, ConcurrentAttemptsOnOneBucketAllowExactlyTheLimit) {
  if (!IsPostgres()) GTEST_SKIP() << "one process per SQLite file: counted in memory";
  const RateLimit limit{20, 900};
  std::atomic<int> allowed{0};
  RunTogether([&](int) {
    for (int i = 0; i < 10; ++i) {
      auto wait = store_->TakeAttempt("hot", limit, kAttemptsAt, 1);
      if (!wait) ADD_FAILURE() << Why(wait);
      if (wait && *wait == 0) ++allowed;
    }
  });
  EXPECT_EQ(allowed.load(), 20);
}

TEST_P(StoreContractTest, ABucketRowIsSixteenBytesOfKeyWhateverTheKeysLength) {
  if (!IsPostgres()) GTEST_SKIP() << "one process per SQLite file: counted in memory";
  const std::string long_key = "login_per_user 192.0.2.1 " + std::string(16384, 'u');
  ASSERT_EQ(*store_->TakeAttempt(long_key, RateLimit{10, 900}, kAttemptsAt, 1), 0);
  std::string output;
  ASSERT_TRUE(RunPsql(url_, "SELECT 'len=' || max(octet_length(key)) FROM rate_limits", output))
      << output;
  EXPECT_NE(output.find("len=16"), std::string::npos) << output;
}

TEST_P(StoreContractTest, PruneAttemptsDropsOnlyBucketsFullAgain) {
  if (!IsPostgres()) GTEST_SKIP() << "one process per SQLite file: counted in memory";
  const RateLimit limit{2, 60};  // a bucket is full again 30 s after one attempt
  ASSERT_EQ(*store_->TakeAttempt("refilled", limit, kAttemptsAt, 1), 0);
  ASSERT_EQ(*store_->TakeAttempt("drained", limit, kAttemptsAt + 20000, 1), 0);
  ASSERT_EQ(*store_->TakeAttempt("drained", limit, kAttemptsAt + 20000, 1), 0);
  auto pruned = store_->PruneAttempts(kAttemptsAt + 30000);
  ASSERT_TRUE(pruned) << Why(pruned);
  EXPECT_EQ(*pruned, 1);
  EXPECT_GT(*store_->TakeAttempt("drained", limit, kAttemptsAt + 30000, 1), 0);
}

TEST_P(StoreContractTest, SqliteCountsNoAttempts) {
  if (IsPostgres()) GTEST_SKIP() << "shared backend: counts in the database";
  for (int i = 0; i < 5; ++i) EXPECT_EQ(*store_->TakeAttempt("k", RateLimit{1, 900}, 0, 1), 0);
}

TEST_P(StoreContractTest, IsSharedOnlyForPostgresql) {
  EXPECT_EQ(store_->IsShared(), IsPostgres());
}

// Counts the signals of a feed watch and waits for them.
class SignalCounter {
 public:
  std::function<void()> Callback() {
    return [this] {
      std::lock_guard lock(mutex_);
      ++calls_;
      signalled_.notify_all();
    };
  }
  int Calls() {
    std::lock_guard lock(mutex_);
    return calls_;
  }
  // True once more than `than` signals came within `within`.
  bool WaitForMore(int than, std::chrono::milliseconds within) {
    std::unique_lock lock(mutex_);
    return signalled_.wait_for(lock, within, [&] { return calls_ > than; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable signalled_;
  int calls_ = 0;
};

// PostgreSQL's listener signals once when its LISTEN is in place (so that a catch-up poll can
// run): wait for that one, so that only a later signal can come from a write.
void AwaitListening(bool postgres, SignalCounter& counter) {
  if (postgres) {
    ASSERT_TRUE(counter.WaitForMore(0, std::chrono::seconds(5))) << "the listener never connected";
  }
}

// PostgreSQL signals new feed entries (LISTEN/NOTIFY) so that another instance learns of a
// revocation within a second; SQLite has one writer, its own process, and is signalled by
// its own commits only (next test).
TEST_P(StoreContractTest, WatchRevocationFeedSignalsAnotherStoresRevocation) {
  if (!IsPostgres()) GTEST_SKIP() << "SQLite: one process writes the file";
  SignalCounter counter;
  std::unique_ptr<Store> watcher = OpenDatabase();
  ASSERT_TRUE(watcher);
  std::unique_ptr<FeedWatch> watch = watcher->WatchRevocationFeed(counter.Callback());
  ASSERT_NE(watch, nullptr);
  EXPECT_STREQ(watch->Source(), "listen/notify");
  ASSERT_NO_FATAL_FAILURE(AwaitListening(true, counter));
  const int before = counter.Calls();
  ASSERT_TRUE(store_->AddRevocation({"jti-1", RevocationKind::kToken, 2000}));
  EXPECT_TRUE(counter.WaitForMore(before, std::chrono::seconds(1)))
      << "no signal within 1 s of a revocation by another store";
}

// Both backends signal the watching store's own feed entries once they are committed: that is
// what brings an instance's own revocations to its event streams without waiting for the poll.
TEST_P(StoreContractTest, WatchRevocationFeedSignalsTheStoresOwnRevocations) {
  SignalCounter counter;
  std::unique_ptr<FeedWatch> watch = store_->WatchRevocationFeed(counter.Callback());
  ASSERT_NE(watch, nullptr);
  EXPECT_STREQ(watch->Source(), IsPostgres() ? "listen/notify" : "commit");
  ASSERT_NO_FATAL_FAILURE(AwaitListening(IsPostgres(), counter));
  int before = counter.Calls();
  ASSERT_TRUE(store_->AddRevocation({"jti-1", RevocationKind::kToken, 2000}));
  EXPECT_TRUE(counter.WaitForMore(before, std::chrono::seconds(1))) << "token revocation";
  before = counter.Calls();
  ASSERT_TRUE(store_->SetUserRevokedBefore({"dave", 50}));
  EXPECT_TRUE(counter.WaitForMore(before, std::chrono::seconds(1))) << "user revocation";
}

TEST_P(StoreContractTest, SqliteSignalsNoCommitThatAppendedNothingToTheFeed) {
  if (IsPostgres()) GTEST_SKIP() << "PostgreSQL: NOTIFY is sent by the feed's own writes";
  SignalCounter counter;
  std::unique_ptr<FeedWatch> watch = store_->WatchRevocationFeed(counter.Callback());
  ASSERT_NE(watch, nullptr);
  ASSERT_TRUE(CreateUser(*store_, MakeUser("erin")));
  AccountEvent failed_login;
  failed_login.type = "login.failed";
  failed_login.at_ms = 1000;
  ASSERT_TRUE(store_->RecordEvent(failed_login));
  EXPECT_FALSE(counter.WaitForMore(0, std::chrono::milliseconds(300)));
}

TEST_P(StoreContractTest, DestroyingTheFeedWatchEndsTheSignal) {
  SignalCounter counter;
  std::unique_ptr<Store> watcher = OpenDatabase();
  ASSERT_TRUE(watcher);
  std::unique_ptr<FeedWatch> watch = watcher->WatchRevocationFeed(counter.Callback());
  ASSERT_NE(watch, nullptr);
  // Ended while signalling, not before the watch got that far.
  ASSERT_NO_FATAL_FAILURE(AwaitListening(IsPostgres(), counter));
  ASSERT_TRUE(watcher->AddRevocation({"jti-0", RevocationKind::kToken, 2000}));
  ASSERT_TRUE(counter.WaitForMore(IsPostgres() ? 1 : 0, std::chrono::seconds(1)));
  watch.reset();
  const int calls_before = counter.Calls();

  ASSERT_TRUE(watcher->AddRevocation({"jti-1", RevocationKind::kToken, 2000}));
  ASSERT_TRUE(watcher->SetUserRevokedBefore({"dave", 50}));
  EXPECT_FALSE(counter.WaitForMore(calls_before, std::chrono::milliseconds(500)));
}

TEST_P(StoreContractTest, ANewDatabaseRecordsSessionsSinceTimeZero) {
  auto since = store_->SessionsRecordedSince();
  ASSERT_TRUE(since) << Why(since);
  EXPECT_EQ(*since, 0);
}

TEST_P(StoreContractTest, FindUserOfANewUserHasPasswordVersionZero) {
  ASSERT_TRUE(CreateUser(*store_, MakeUser("ivan")));
  EXPECT_EQ(store_->FindUser(UsernameKey("ivan"))->value().password_version, 0);
}

TEST_P(StoreContractTest, RevokeUserTokensEndsEverySessionOfTheUserOnly) {
  ASSERT_TRUE(CreateUser(*store_, MakeUser("Ivan")));
  ASSERT_TRUE(CreateUser(*store_, MakeUser("judy")));
  ASSERT_TRUE(CreateSession(*store_, MakeSession("s1", "ivan", 8000), 0));
  ASSERT_TRUE(CreateSession(*store_, MakeSession("s2", "IVAN", 8500), 0));
  ASSERT_TRUE(CreateSession(*store_, MakeSession("s3", "judy"), 0));

  auto revoked = store_->RevokeUserTokens(UsernameKey("Ivan"), 5000);
  ASSERT_TRUE(revoked) << Why(revoked);
  EXPECT_EQ(Sids(*revoked), (std::vector<std::string>{"s1", "s2"}));
  EXPECT_EQ(revoked->user.username_key, "ivan");
  EXPECT_EQ(revoked->user.revoked_before, 5000);
  auto loaded = store_->LoadRevocations(0);
  ASSERT_TRUE(loaded) << Why(loaded);
  EXPECT_EQ(SortedIds(*loaded), (std::vector<std::string>{"s1", "s2"}));
  for (const Revocation& revocation : *loaded) {
    EXPECT_EQ(revocation.kind, RevocationKind::kSession);
    EXPECT_EQ(revocation.expires_at, revocation.id == "s1" ? 8000 : 8500);
  }
  EXPECT_EQ(ByUser(*store_->LoadUserRevocations()),
            (std::map<std::string, int64_t>{{"ivan", 5000}}));
  // Ended sessions are forgotten: a second revocation names none of them again.
  auto again = store_->RevokeUserTokens(UsernameKey("ivan"), 5001);
  ASSERT_TRUE(again) << Why(again);
  EXPECT_TRUE(again->sessions.empty());
}

TEST_P(StoreContractTest, RevokeUserTokensAppendsTheUserAndEachSessionToTheFeed) {
  ASSERT_TRUE(CreateUser(*store_, MakeUser("ivan")));
  ASSERT_TRUE(CreateSession(*store_, MakeSession("s1", "ivan", 8000), 0));

  ASSERT_TRUE(store_->RevokeUserTokens(UsernameKey("ivan"), 5000));
  // One transaction: PostgreSQL numbers the parts of one statement in no fixed order.
  std::vector<std::string> events = Describe(AllEvents());
  std::sort(events.begin(), events.end());
  EXPECT_EQ(events, (std::vector<std::string>{"session s1 8000", "user ivan 5000"}));
}

TEST_P(StoreContractTest, CreateSessionForAnUnknownUserIsAConflict) {
  Status created = CreateSession(*store_, MakeSession("s1", "ghost"), 0);
  ASSERT_FALSE(created);
  EXPECT_EQ(created.error().code, ErrorCode::kConflict);
}

TEST_P(StoreContractTest, ChangePasswordRaisesTheVersionStoresTheHashAndEndsSessions) {
  ASSERT_TRUE(CreateUser(*store_, MakeUser("ivan", "$argon2id$old")));
  ASSERT_TRUE(CreateSession(*store_, MakeSession("s1", "ivan"), 0));

  auto changed = store_->ChangePassword(UsernameKey("IVAN"), "$argon2id$new", 5000);
  ASSERT_TRUE(changed) << Why(changed);
  EXPECT_EQ(changed->password_version, 1);
  EXPECT_EQ(Sids(*changed), (std::vector<std::string>{"s1"}));
  const UserRecord user = store_->FindUser(UsernameKey("ivan"))->value();
  EXPECT_EQ(user.password_hash, "$argon2id$new");
  EXPECT_EQ(user.password_version, 1);
  EXPECT_EQ(ByUser(*store_->LoadUserRevocations()),
            (std::map<std::string, int64_t>{{"ivan", 5000}}));
  // A login that checked the old password cannot open a session any more; one of the new can.
  Status stale = CreateSession(*store_, MakeSession("s2", "ivan"), 0);
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().code, ErrorCode::kConflict);
  EXPECT_TRUE(CreateSession(*store_, MakeSession("s3", "ivan"), 1));
}

TEST_P(StoreContractTest, ChangePasswordOfUnknownUserIsNotFoundAndRevokesNothing) {
  auto changed = store_->ChangePassword(UsernameKey("ghost"), "$argon2id$new", 5000);
  ASSERT_FALSE(changed);
  EXPECT_EQ(changed.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(*store_->LatestRevocationEvent(), 0);
}

TEST_P(StoreContractTest, UpdatePasswordHashKeepsThePasswordVersion) {
  ASSERT_TRUE(CreateUser(*store_, MakeUser("ivan", "$pbkdf2-sha256$old")));
  ASSERT_TRUE(store_->UpdatePasswordHash(UsernameKey("ivan"), "$argon2id$same-password"));
  EXPECT_EQ(store_->FindUser(UsernameKey("ivan"))->value().password_version, 0);
  EXPECT_TRUE(CreateSession(*store_, MakeSession("s1", "ivan"), 0));
}

TEST_P(StoreContractTest, RemoveUserEndsItsSessionsAndLaterSessionsFail) {
  ASSERT_TRUE(CreateUser(*store_, MakeUser("ivan")));
  ASSERT_TRUE(CreateSession(*store_, MakeSession("s1", "ivan"), 0));

  auto removed = store_->RemoveUser(UsernameKey("ivan"), 5000);
  ASSERT_TRUE(removed) << Why(removed);
  EXPECT_EQ(Sids(*removed), (std::vector<std::string>{"s1"}));
  EXPECT_EQ(CreateSession(*store_, MakeSession("s2", "ivan"), 0).error().code,
            ErrorCode::kConflict);
}

TEST_P(StoreContractTest, PruneSessionsDropsSessionsExpiredAtOrBeforeNow) {
  ASSERT_TRUE(CreateUser(*store_, MakeUser("ivan")));
  ASSERT_TRUE(CreateSession(*store_, MakeSession("old", "ivan", 100), 0));
  ASSERT_TRUE(CreateSession(*store_, MakeSession("edge", "ivan", 200), 0));
  ASSERT_TRUE(CreateSession(*store_, MakeSession("live", "ivan", 201), 0));

  auto pruned = store_->PruneSessions(200);
  ASSERT_TRUE(pruned) << Why(pruned);
  EXPECT_EQ(*pruned, 2);
  EXPECT_EQ(Sids(*store_->RevokeUserTokens(UsernameKey("ivan"), 300)),
            (std::vector<std::string>{"live"}));
}

// The ordering behind API.md §9: logins that checked the old password race a password change
// through two stores (two connections, as two instances would). Every session recorded for
// the old password must be among those the change ended; none may be recorded after it.
TEST_P(StoreContractTest, SessionsRacingAPasswordChangeAreEndedByItOrRefused) {
  std::unique_ptr<Store> other = OpenDatabase();
  ASSERT_TRUE(other);
  for (int round = 0; round < 20; ++round) {
    const std::string name = "racer" + std::to_string(round);
    ASSERT_TRUE(CreateUser(*store_, MakeUser(name, "$argon2id$old")));
    std::mutex mutex;
    std::vector<std::string> recorded;
    std::optional<UserTokensRevoked> changed;
    RunTogether([&](int i) {
      Store& store = i % 2 == 0 ? *store_ : *other;
      if (i == kThreads / 2) {
        auto result = store.ChangePassword(UsernameKey(name), "$argon2id$new", 5000);
        std::lock_guard lock(mutex);
        if (result)
          changed = *result;
        else
          ADD_FAILURE() << Why(result);
        return;
      }
      for (int n = 0; n < 5; ++n) {
        const std::string sid = name + "-" + std::to_string(i) + "-" + std::to_string(n);
        Status created = CreateSession(store, MakeSession(sid, name), 0);
        std::lock_guard lock(mutex);
        if (created)
          recorded.push_back(sid);
        else if (created.error().code != ErrorCode::kConflict)
          ADD_FAILURE() << Why(created);
      }
    });
    ASSERT_TRUE(changed.has_value());
    const std::vector<std::string> ended = Sids(*changed);
    for (const std::string& sid : recorded) {
      EXPECT_TRUE(std::binary_search(ended.begin(), ended.end(), sid))
          << "round " << round << ": session " << sid << " outlived the password change";
    }
  }
}

// --- the event log (API.md §12) -------------------------------------------------------------

AccountEvent Event(std::string type, std::string username, int64_t at_ms = 1000,
                   std::string sid = {}) {
  const std::string key = UsernameKey(username).str();
  return AccountEvent{std::move(type), at_ms, std::move(username), std::move(sid), "192.0.2.7",
                      "test-agent/1",  key};
}

std::vector<StoredEvent> Events(Store& store, EventQuery query = {}) {
  query.limit = query.limit == 100 ? 1000 : query.limit;
  auto events = store.ListEvents(query);
  EXPECT_TRUE(events) << Why(events);
  return events ? *events : std::vector<StoredEvent>{};
}

std::vector<std::string> Types(const std::vector<StoredEvent>& events) {
  std::vector<std::string> types;
  for (const StoredEvent& stored : events) types.push_back(stored.event.type);
  return types;
}

TEST_P(StoreContractTest, EachWriteRecordsItsEventWithEveryField) {
  const AccountEvent created = Event("user.created", "Kate", 1234, "sid-k");
  ASSERT_TRUE(store_->CreateUser(MakeUser("Kate"), UsernameKey("Kate"), &created));
  const std::vector<StoredEvent> events = Events(*store_);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_GT(events[0].id, 0);
  const AccountEvent& got = events[0].event;
  EXPECT_EQ(got.type, "user.created");
  EXPECT_EQ(got.at_ms, 1234);
  EXPECT_EQ(got.username, "Kate");
  EXPECT_EQ(got.username_key, "kate");
  EXPECT_EQ(got.sid, "sid-k");
  EXPECT_EQ(got.client_address, "192.0.2.7");
  EXPECT_EQ(got.user_agent, "test-agent/1");
}

TEST_P(StoreContractTest, EveryEventWritingCallRecordsOneEventInCallOrder) {
  const UsernameKey key("liam");
  const AccountEvent created = Event("user.created", "liam");
  ASSERT_TRUE(store_->CreateUser(MakeUser("liam"), key, &created));
  const AccountEvent login = Event("login.succeeded", "liam", 1000, "s1");
  ASSERT_TRUE(store_->CreateSession(MakeSession("s1", "liam"), key, 0, &login));
  ASSERT_TRUE(store_->RecordEvent(Event("login.failed", "liam")));
  const AccountEvent token = Event("token.revoked", "liam", 1000, "s1");
  ASSERT_TRUE(store_->AddRevocation({"j1", RevocationKind::kToken, 2000}, &token));
  std::promise<Status> submitted;
  const AccountEvent token2 = Event("token.revoked", "liam", 1000, "s1");
  store_->SubmitRevocation(
      {"j2", RevocationKind::kToken, 2000},
      [&submitted](Status done) { submitted.set_value(done); }, &token2);
  ASSERT_TRUE(submitted.get_future().get());
  const AccountEvent ended = Event("session.revoked", "liam", 1000, "s1");
  ASSERT_TRUE(store_->EndSession(key, "s1", &ended));
  const AccountEvent everywhere = Event("user.logged_out_everywhere", "liam");
  ASSERT_TRUE(store_->RevokeUserTokens(key, 5000, &everywhere));
  const AccountEvent changed = Event("password.changed", "liam");
  ASSERT_TRUE(store_->ChangePassword(key, "$argon2id$new", 5001, &changed));
  const AccountEvent removed = Event("user.removed", "liam");
  ASSERT_TRUE(store_->RemoveUser(key, 5002, &removed));

  const std::vector<StoredEvent> events = Events(*store_);
  EXPECT_EQ(Types(events), (std::vector<std::string>{
                               "user.created", "login.succeeded", "login.failed", "token.revoked",
                               "token.revoked", "session.revoked", "user.logged_out_everywhere",
                               "password.changed", "user.removed"}));
  for (std::size_t i = 1; i < events.size(); ++i) EXPECT_GT(events[i].id, events[i - 1].id);
}

TEST_P(StoreContractTest, AWriteThatChangesNothingRecordsNoEvent) {
  const UsernameKey key("mia");
  ASSERT_TRUE(CreateUser(*store_, MakeUser("mia")));
  const AccountEvent taken = Event("user.created", "mia");
  EXPECT_FALSE(store_->CreateUser(MakeUser("MIA"), UsernameKey("MIA"), &taken));
  const AccountEvent stale = Event("login.succeeded", "mia");
  EXPECT_FALSE(store_->CreateSession(MakeSession("s1", "mia"), key, 7, &stale));
  const AccountEvent none = Event("session.revoked", "mia");
  auto ended = store_->EndSession(key, "no-such-session", &none);
  ASSERT_TRUE(ended) << Why(ended);
  EXPECT_FALSE(ended->has_value());
  const AccountEvent gone = Event("user.removed", "nobody");
  EXPECT_FALSE(store_->RemoveUser(UsernameKey("nobody"), 10, &gone));
  const AccountEvent nopassword = Event("password.changed", "nobody");
  EXPECT_FALSE(store_->ChangePassword(UsernameKey("nobody"), "$h", 10, &nopassword));
  EXPECT_TRUE(Events(*store_).empty());
}

// Two logouts of one token at once both reach the store (attacker round 14 saw up to 4 feed
// entries and events for one jti): the second changes nothing, so it adds neither.
TEST_P(StoreContractTest, ReAddingARevocationAddsNoFeedEntryOrEventUnlessItExtendsIt) {
  const AccountEvent first = Event("token.revoked", "olga", 1000, "s1");
  ASSERT_TRUE(store_->AddRevocation({"jti-twice", RevocationKind::kToken, 2000}, &first));
  const AccountEvent again = Event("token.revoked", "olga", 1001, "s1");
  ASSERT_TRUE(store_->AddRevocation({"jti-twice", RevocationKind::kToken, 2000}, &again));
  std::promise<Status> submitted;
  store_->SubmitRevocation(
      {"jti-twice", RevocationKind::kToken, 1500},
      [&submitted](Status done) { submitted.set_value(done); }, &again);
  ASSERT_TRUE(submitted.get_future().get());
  EXPECT_EQ(Describe(AllEvents()), (std::vector<std::string>{"token jti-twice 2000"}));
  EXPECT_EQ(Events(*store_).size(), 1u);

  const AccountEvent later = Event("session.revoked", "olga", 1002, "s1");
  ASSERT_TRUE(store_->AddRevocation({"jti-twice", RevocationKind::kToken, 3000}, &later));
  EXPECT_EQ(Describe(AllEvents()),
            (std::vector<std::string>{"token jti-twice 2000", "token jti-twice 3000"}));
  EXPECT_EQ(Events(*store_).size(), 2u);
}

TEST_P(StoreContractTest, AdminWritesRecordTheirEventsAndNothingWhenNothingChanged) {
  const UsernameKey key("nina");
  ASSERT_TRUE(CreateUser(*store_, MakeUser("Nina")));
  const AccountEvent disabled = Event("user.disabled", "Nina");
  ASSERT_TRUE(store_->SetDisabled(key, true, 100, &disabled));
  const AccountEvent enabled = Event("user.enabled", "Nina");
  ASSERT_TRUE(store_->SetDisabled(key, false, 101, &enabled));
  const AccountEvent claims = Event("user.claims_changed", "Nina");
  ASSERT_TRUE(store_->SetClaims(key, R"({"roles":["a"]})", &claims));
  const AccountEvent requested = Event("password.reset_requested", "Nina");
  ASSERT_TRUE(store_->SetResetCode(key, "hash-1", 5000, &requested));
  const AccountEvent changed = Event("password.changed", "Nina");
  ASSERT_TRUE(store_->ResetPassword(key, "hash-1", "$argon2id$new", 100, 102, &changed));
  // A spent code and a missing user change nothing: no event.
  const AccountEvent spent = Event("password.changed", "Nina");
  EXPECT_FALSE(store_->ResetPassword(key, "hash-1", "$argon2id$again", 100, 103, &spent));
  const UsernameKey nobody("nobody");
  const AccountEvent none = Event("user.disabled", "nobody");
  EXPECT_FALSE(store_->SetDisabled(nobody, true, 100, &none));
  EXPECT_FALSE(store_->SetDisabled(nobody, false, 100, &none));
  EXPECT_FALSE(store_->SetClaims(nobody, "{}", &none));
  EXPECT_FALSE(store_->SetResetCode(nobody, "h", 1, &none));
  const std::vector<StoredEvent> events = Events(*store_);
  EXPECT_EQ(Types(events),
            (std::vector<std::string>{"user.disabled", "user.enabled", "user.claims_changed",
                                      "password.reset_requested", "password.changed"}));
  for (const StoredEvent& stored : events) EXPECT_EQ(stored.event.username_key, "nina");
}

TEST_P(StoreContractTest, CreateUserStoresTheGivenClaims) {
  UserRecord user = MakeUser("Olga");
  user.claims = R"({"roles":["x"]})";
  ASSERT_TRUE(CreateUser(*store_, user));
  auto found = store_->FindUser(UsernameKey("olga"));
  ASSERT_TRUE(found) << Why(found);
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->claims, user.claims);
}

TEST_P(StoreContractTest, ListEventsPagesFromTheCursorAndFiltersByTypeAndUsernameKey) {
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(store_->RecordEvent(
        Event(i % 2 == 0 ? "login.failed" : "login.throttled", i < 3 ? "Nora" : "omar")));
  }
  const std::vector<StoredEvent> all = Events(*store_);
  ASSERT_EQ(all.size(), 5u);
  const std::vector<StoredEvent> page =
      Events(*store_, {.after = all[1].id, .limit = 2, .type = {}, .username_key = {}});
  ASSERT_EQ(page.size(), 2u);
  EXPECT_EQ(page[0].id, all[2].id);
  EXPECT_EQ(page[1].id, all[3].id);
  EXPECT_TRUE(
      Events(*store_, {.after = all[4].id, .limit = 100, .type = {}, .username_key = {}}).empty());
  EXPECT_EQ(Events(*store_, {.after = 0, .limit = 100, .type = "login.failed", .username_key = {}})
                .size(),
            3u);
  const std::vector<StoredEvent> nora =
      Events(*store_, {.after = 0, .limit = 100, .type = {}, .username_key = "nora"});
  ASSERT_EQ(nora.size(), 3u);
  EXPECT_EQ(nora[0].event.username, "Nora");
  EXPECT_EQ(
      Events(*store_, {.after = 0, .limit = 100, .type = "login.throttled", .username_key = "omar"})
          .size(),
      1u);
}

TEST_P(StoreContractTest, PruneEventsDropsEventsAtOrBeforeTheCutoffAndKeepsIdsGrowing) {
  ASSERT_TRUE(store_->RecordEvent(Event("login.failed", "pia", 1000)));
  ASSERT_TRUE(store_->RecordEvent(Event("login.failed", "pia", 2000)));
  ASSERT_TRUE(store_->RecordEvent(Event("login.failed", "pia", 3000)));
  const int64_t last = Events(*store_).back().id;
  auto pruned = store_->PruneEvents(2000);
  ASSERT_TRUE(pruned) << Why(pruned);
  EXPECT_EQ(*pruned, 2);
  const std::vector<StoredEvent> left = Events(*store_);
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].event.at_ms, 3000);
  ASSERT_TRUE(store_->RecordEvent(Event("login.failed", "pia", 4000)));
  EXPECT_GT(Events(*store_).back().id, last);
}

// A clock that stepped back wrote an older time after a newer one. Retention may keep such an
// event late (SQLite prunes from the oldest id), but never drops one dated after the cutoff.
TEST_P(StoreContractTest, PruneEventsNeverDropsAnEventAfterTheCutoffWhenTheClockSteppedBack) {
  for (const int64_t at_ms : {1000, 5000, 2000, 3000}) {
    ASSERT_TRUE(store_->RecordEvent(Event("login.failed", "ria", at_ms)));
  }
  auto pruned = store_->PruneEvents(2500);
  ASSERT_TRUE(pruned) << Why(pruned);
  std::vector<int64_t> left;
  for (const StoredEvent& stored : Events(*store_)) left.push_back(stored.event.at_ms);
  EXPECT_EQ(std::count(left.begin(), left.end(), 1000), 0);
  EXPECT_EQ(std::count(left.begin(), left.end(), 5000), 1);
  EXPECT_EQ(std::count(left.begin(), left.end(), 3000), 1);
}

// GET /admin/events hands back no cursor above it (docs/api.md): 0 before any event, then the
// highest id given, which pruning every event does not lower.
TEST_P(StoreContractTest, LastEventIdIsTheHighestIdEverGivenPrunedEventsIncluded) {
  auto none = store_->LastEventId();
  ASSERT_TRUE(none) << Why(none);
  EXPECT_EQ(*none, 0);
  ASSERT_TRUE(store_->RecordEvent(Event("login.failed", "quinn", 1000)));
  ASSERT_TRUE(store_->RecordEvent(Event("login.failed", "quinn", 2000)));
  const int64_t last = Events(*store_).back().id;
  auto given = store_->LastEventId();
  ASSERT_TRUE(given) << Why(given);
  EXPECT_EQ(*given, last);
  ASSERT_TRUE(store_->PruneEvents(5000));
  ASSERT_TRUE(Events(*store_).empty());
  auto after_prune = store_->LastEventId();
  ASSERT_TRUE(after_prune) << Why(after_prune);
  EXPECT_EQ(*after_prune, last);
}

TEST_P(StoreContractTest, ConcurrentEventsThroughTwoStoresGetDistinctIdsInCommitOrder) {
  std::unique_ptr<Store> second = OpenDatabase();
  ASSERT_TRUE(second);
  RunTogether([&](int i) {
    Store& store = i % 2 == 0 ? *store_ : *second;
    for (int n = 0; n < 10; ++n) {
      EXPECT_TRUE(store.RecordEvent(Event("login.failed", "t" + std::to_string(i), n)));
    }
  });
  const std::vector<StoredEvent> events = Events(*store_);
  ASSERT_EQ(events.size(), static_cast<std::size_t>(kThreads * 10));
  // Each writer's events appear in the order it wrote them.
  std::map<std::string, int64_t> last_at;
  for (const StoredEvent& stored : events) {
    auto [it, first] = last_at.emplace(stored.event.username, stored.event.at_ms);
    if (!first) {
      EXPECT_GT(stored.event.at_ms, it->second);
      it->second = stored.event.at_ms;
    }
  }
}

TEST_P(StoreContractTest, ARotatedTokensReuseRecordsRefreshTokenReusedWithItsSid) {
  ASSERT_TRUE(CreateUser(*store_, MakeUser("Quinn")));
  ASSERT_TRUE(CreateSession(*store_, MakeSession("sq", "Quinn"), 0));
  RotationRequest request{"sq",      "Quinn",  "old-jti",
                          "new-jti", "sealed", 10,
                          0,         4321,     SessionUse{1100, "198.51.100.1", "ua"},
                          "quinn"};
  auto first = store_->RotateRefresh(request);
  ASSERT_TRUE(first) << Why(first);
  request.use.at = 5000;  // long after the reuse interval
  auto reused = store_->RotateRefresh(request);
  ASSERT_TRUE(reused) << Why(reused);
  EXPECT_EQ(reused->kind, RotationOutcome::Kind::kReused);
  const std::vector<StoredEvent> events = Events(
      *store_, {.after = 0, .limit = 100, .type = "refresh_token.reused", .username_key = {}});
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].event.sid, "sq");
  EXPECT_EQ(events[0].event.username_key, "quinn");
  EXPECT_EQ(events[0].event.client_address, "198.51.100.1");
}

// Webhook cursors (API.md §12): a new cursor starts at the newest event; one owner holds its
// lease at a time; only the holder moves it, never backwards; a lapsed or released lease passes.
TEST_P(StoreContractTest, AWebhookCursorStartsAtTheNewestEventAndHasOneHolderAtATime) {
  ASSERT_TRUE(store_->RecordEvent(Event("login.failed", "wes", 1000)));
  const int64_t newest = Events(*store_).back().id;
  auto first = store_->ClaimWebhookCursor("url-a", "one", 1000, 61000);
  ASSERT_TRUE(first) << Why(first);
  ASSERT_TRUE(first->has_value());
  EXPECT_EQ(**first, newest);
  auto other = store_->ClaimWebhookCursor("url-a", "two", 2000, 62000);
  ASSERT_TRUE(other) << Why(other);
  EXPECT_FALSE(other->has_value());
  auto stolen = store_->AdvanceWebhookCursor("url-a", "two", newest + 5, 62000);
  ASSERT_TRUE(stolen) << Why(stolen);
  EXPECT_FALSE(*stolen);
  auto moved = store_->AdvanceWebhookCursor("url-a", "one", newest + 2, 63000);
  ASSERT_TRUE(moved && *moved);
  auto back = store_->AdvanceWebhookCursor("url-a", "one", newest + 1, 63000);
  ASSERT_TRUE(back && *back);
  auto renewed = store_->ClaimWebhookCursor("url-a", "one", 3000, 64000);
  ASSERT_TRUE(renewed && renewed->has_value());
  EXPECT_EQ(**renewed, newest + 2);
  auto lapsed = store_->ClaimWebhookCursor("url-a", "two", 64001, 124001);
  ASSERT_TRUE(lapsed && lapsed->has_value());
  EXPECT_EQ(**lapsed, newest + 2);
  ASSERT_TRUE(store_->AdvanceWebhookCursor("url-a", "two", 0, 0));  // released
  auto released = store_->ClaimWebhookCursor("url-a", "one", 65000, 125000);
  ASSERT_TRUE(released && released->has_value());
  auto separate = store_->ClaimWebhookCursor("url-b", "two", 65000, 125000);
  ASSERT_TRUE(separate && separate->has_value());
  EXPECT_EQ(**separate, newest);
}

TEST_P(StoreContractTest, ConcurrentClaimsOfOneWebhookCursorHaveOneWinner) {
  std::unique_ptr<Store> second = OpenDatabase();
  ASSERT_TRUE(second);
  std::atomic<int> winners{0};
  RunTogether([&](int i) {
    Store& store = i % 2 == 0 ? *store_ : *second;
    auto claimed = store.ClaimWebhookCursor("url-race", "owner" + std::to_string(i), 1000, 61000);
    EXPECT_TRUE(claimed) << Why(claimed);
    if (claimed && claimed->has_value()) ++winners;
  });
  EXPECT_EQ(winners.load(), 1);
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreContractTest, ::testing::Values("sqlite", "postgresql"),
                         BackendName);

}  // namespace
}  // namespace gatehouse::store
