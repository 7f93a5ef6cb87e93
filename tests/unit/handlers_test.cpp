// Handlers through the route table, without a socket (tests/support/test_services): the
// answers of API.md for /me and /login, as the e2e tests see them over HTTP.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "support/test_services.hpp"

namespace gatehouse {
namespace {

using testing::JsonField;

constexpr std::string_view kAlice = R"({"username": "alice", "password": "correct horse 42"})";

std::string HeaderValue(const http::Response& response, std::string_view name) {
  for (const auto& [field, value] : response.headers) {
    if (field == name) return value;
  }
  return {};
}

class HandlersTest : public ::testing::Test {
 protected:
  // Registers alice and returns her "Bearer <access token>".
  std::string RegisterAlice() {
    const auto registered = world_.Post("/registration", kAlice);
    EXPECT_EQ(registered.status, 200u) << registered.body;
    return "Bearer " + JsonField(registered.body, "access_token");
  }

  gatehouse::testing::TestServices world_;
};

TEST_F(HandlersTest, MeAnswersTheUserOfAValidToken) {
  const auto bearer = RegisterAlice();
  const auto me = world_.Get("/me", bearer);
  EXPECT_EQ(me.status, 200u) << me.body;
  EXPECT_EQ(JsonField(me.body, "username"), "alice");
  EXPECT_FALSE(JsonField(me.body, "created_at").empty());
}

TEST_F(HandlersTest, MeWithoutAHeaderIs401WithTheRealmChallenge) {
  const auto me = world_.Get("/me");
  EXPECT_EQ(me.status, 401u);
  EXPECT_EQ(JsonField(me.body, "message"), "Missing Authorization Header");
  EXPECT_EQ(HeaderValue(me, "WWW-Authenticate"), R"(Bearer realm="gatehouse")");
}

TEST_F(HandlersTest, MeWithAnExpiredTokenIs401Expired) {
  const auto bearer = RegisterAlice();
  world_.SetNow(gatehouse::testing::kTestStart + 31 * 60);  // access tokens live 30 minutes
  const auto me = world_.Get("/me", bearer);
  EXPECT_EQ(me.status, 401u);
  EXPECT_EQ(JsonField(me.body, "message"), "Token has expired");
  EXPECT_EQ(HeaderValue(me, "WWW-Authenticate"),
            R"(Bearer error="invalid_token", error_description="Token has expired")");
}

TEST_F(HandlersTest, MeWithARevokedTokenIs401Revoked) {
  const auto bearer = RegisterAlice();
  const auto logout = world_.Post("/logout/access", "", bearer);
  EXPECT_EQ(logout.status, 200u) << logout.body;
  const auto me = world_.Get("/me", bearer);
  EXPECT_EQ(me.status, 401u);
  EXPECT_EQ(JsonField(me.body, "message"), "Token has been revoked");
}

TEST_F(HandlersTest, MeWithAGarbledTokenIs401Invalid) {
  const auto me = world_.Get("/me", "Bearer not.a.token");
  EXPECT_EQ(me.status, 401u);
  EXPECT_EQ(JsonField(me.body, "message"), "Invalid token");
}

TEST_F(HandlersTest, LoginWithAWrongPasswordIs401WrongCredentials) {
  RegisterAlice();
  const auto login =
      world_.Post("/login", R"({"username": "alice", "password": "wrong horse 42"})");
  EXPECT_EQ(login.status, 401u);
  EXPECT_EQ(JsonField(login.body, "message"), "Wrong credentials");
  EXPECT_TRUE(JsonField(login.body, "access_token").empty());
}

TEST_F(HandlersTest, LoginWithTheRightPasswordAnswersTokens) {
  RegisterAlice();
  const auto login = world_.Post("/login", kAlice);
  EXPECT_EQ(login.status, 200u) << login.body;
  EXPECT_EQ(JsonField(login.body, "message"), "Logged in as alice");
  EXPECT_EQ(world_.Get("/me", "Bearer " + JsonField(login.body, "access_token")).status, 200u);
}

// Each request makes its username key once (store::UsernameKey counts every computation):
// before, a login made 3 (4 with a hash upgrade) and /me 2. A second computation anywhere on
// the path (handler, account module, store, cache, token check) makes these fail.
TEST_F(HandlersTest, EachRequestComputesTheUsernameKeyOnce) {
  const auto at_start = store::UsernameKey::Computations();
  const auto bearer = RegisterAlice();
  EXPECT_EQ(store::UsernameKey::Computations() - at_start, 1u) << "registration";

  const auto before_login = store::UsernameKey::Computations();
  const auto login =
      world_.Post("/login", R"({"username": "ALICE", "password": "correct horse 42"})");
  ASSERT_EQ(login.status, 200u) << login.body;
  EXPECT_EQ(store::UsernameKey::Computations() - before_login, 1u) << "login";

  const auto before_me = store::UsernameKey::Computations();
  ASSERT_EQ(world_.Get("/me", bearer).status, 200u);
  EXPECT_EQ(store::UsernameKey::Computations() - before_me, 1u) << "/me";
}

// A session's use is recorded after the answer, on the store pool: wait for its write.
uint64_t DurableWritesOnceSettled(store::Store& store, uint64_t at_least) {
  for (int i = 0; i < 200 && store.DurableWriteCounts().writes < at_least; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // any write still coming
  return store.DurableWriteCounts().writes;
}

// last_used_at is kept in whole seconds: a client refreshing many times in one second changes
// the record once, and pays one durable write, not one each (store/recent_session_uses.hpp).
TEST_F(HandlersTest, RefreshesOfOneClientInOneSecondRecordTheSessionUseOnce) {
  const auto registered = world_.Post("/registration", kAlice);
  ASSERT_EQ(registered.status, 200u) << registered.body;
  const std::string refresh = "Bearer " + JsonField(registered.body, "refresh_token");
  const uint64_t before = DurableWritesOnceSettled(world_.store(), 0);
  for (int i = 0; i < 20; ++i) ASSERT_EQ(world_.Post("/token/refresh", "", refresh).status, 200u);
  EXPECT_EQ(DurableWritesOnceSettled(world_.store(), before + 1), before + 1);
  world_.SetNow(gatehouse::testing::kTestStart + 1);
  for (int i = 0; i < 5; ++i) ASSERT_EQ(world_.Post("/token/refresh", "", refresh).status, 200u);
  EXPECT_EQ(DurableWritesOnceSettled(world_.store(), before + 2), before + 2);
}

// The filter reads the request's own address and User-Agent before any string of the use is
// built: another client in the same second is written, the same one again is not, also with a
// User-Agent longer than the record keeps (it is cut only when written).
TEST_F(HandlersTest, RefreshesOfAnotherClientInTheSameSecondRecordTheirUse) {
  const auto registered = world_.Post("/registration", kAlice);
  ASSERT_EQ(registered.status, 200u) << registered.body;
  const std::string refresh = "Bearer " + JsonField(registered.body, "refresh_token");
  const std::string long_agent(store::kMaxUserAgentBytes + 100, 'a');
  http::Request request;
  request.method = http::Method::kPost;
  request.path = "/token/refresh";
  request.authorization = refresh;
  request.content_type = "application/json";
  request.client_address = "127.0.0.1";
  request.user_agent = long_agent;
  const uint64_t before = DurableWritesOnceSettled(world_.store(), 0);
  for (int i = 0; i < 3; ++i) ASSERT_EQ(world_.Call(request).status, 200u);
  EXPECT_EQ(DurableWritesOnceSettled(world_.store(), before + 1), before + 1);
  request.user_agent = "another/1";
  for (int i = 0; i < 3; ++i) ASSERT_EQ(world_.Call(request).status, 200u);
  EXPECT_EQ(DurableWritesOnceSettled(world_.store(), before + 2), before + 2);
  request.client_address = "10.0.0.2";
  for (int i = 0; i < 3; ++i) ASSERT_EQ(world_.Call(request).status, 200u);
  EXPECT_EQ(DurableWritesOnceSettled(world_.store(), before + 3), before + 3);
}

}  // namespace
}  // namespace gatehouse
