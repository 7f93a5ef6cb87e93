// The route table as the transport sees it (http::Handler): 404, 405 with Allow, the route
// index that labels the metrics, and the one logged 500 for a handler's exception.
#include "api/routes.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "obs/metrics.hpp"
#include "support/test_services.hpp"

namespace gatehouse {
namespace {

http::Request RequestFor(http::Method method, std::string_view path) {
  http::Request request;
  request.method = method;
  request.path = path;
  request.client_address = "127.0.0.1";
  return request;
}

std::string HeaderValue(const http::Response& response, std::string_view name) {
  for (const auto& [field, value] : response.headers) {
    if (field == name) return value;
  }
  return {};
}

TEST(RoutesTest, UnknownPathIs404AndLabelledOther) {
  testing::TestServices world;
  const auto request = RequestFor(http::Method::kGet, "/nope");
  EXPECT_EQ(world.routes().Route(request), obs::Metrics::kMaxRoutes - 1);
  const auto response = world.Call(request);
  EXPECT_EQ(response.status, 404u);
  EXPECT_EQ(testing::JsonField(response.body, "message"), "Not found");
}

TEST(RoutesTest, KnownPathWithAnotherMethodIs405WithAllow) {
  testing::TestServices world;
  const auto get_login = world.Call(RequestFor(http::Method::kGet, "/login"));
  EXPECT_EQ(get_login.status, 405u);
  EXPECT_EQ(testing::JsonField(get_login.body, "message"), "Method not allowed");
  EXPECT_EQ(HeaderValue(get_login, "Allow"), "POST");
  const auto post_me = world.Call(RequestFor(http::Method::kPost, "/me"));
  EXPECT_EQ(post_me.status, 405u);
  EXPECT_EQ(HeaderValue(post_me, "Allow"), "GET, HEAD");
}

TEST(RoutesTest, HeadIsServedWhereGetIsAndNowhereElse) {
  testing::TestServices world;
  const auto head_healthz = world.Call(RequestFor(http::Method::kHead, "/healthz"));
  EXPECT_EQ(head_healthz.status, 200u);
  EXPECT_EQ(head_healthz.body, world.Call(RequestFor(http::Method::kGet, "/healthz")).body);
  const auto head_login = world.Call(RequestFor(http::Method::kHead, "/login"));
  EXPECT_EQ(head_login.status, 405u);
  EXPECT_EQ(HeaderValue(head_login, "Allow"), "POST");
}

TEST(RoutesTest, RouteIndexNamesThePathWhateverTheMethod) {
  testing::TestServices world;
  const auto names = api::Routes::Names();
  ASSERT_LT(names.size(), obs::Metrics::kMaxRoutes);
  for (std::size_t i = 0; i < names.size(); ++i) {
    EXPECT_EQ(world.routes().Route(RequestFor(http::Method::kGet, names[i])), i) << names[i];
    EXPECT_EQ(world.routes().Route(RequestFor(http::Method::kDelete, names[i])), i) << names[i];
  }
  EXPECT_NE(std::find(names.begin(), names.end(), "/me"), names.end());
}

TEST(RoutesTest, QueryStringIsNotPartOfThePath) {
  testing::TestServices world;
  // The parser strips the query; a path that still holds one is simply unknown.
  EXPECT_EQ(world.Call(RequestFor(http::Method::kGet, "/healthz?x=1")).status, 404u);
  EXPECT_EQ(world.Call(RequestFor(http::Method::kGet, "/healthz")).status, 200u);
}

}  // namespace
}  // namespace gatehouse
