// The Standard Webhooks message gatehouse sends (webhooks/message.hpp) and the URL forms it logs
// and keys cursors by (webhooks/http_post.hpp).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "config/setting_types.hpp"
#include "store/event_json.hpp"
#include "webhooks/http_post.hpp"
#include "webhooks/message.hpp"

namespace gatehouse::webhooks {
namespace {

// The example of the Standard Webhooks specification (its reference libraries test it too).
TEST(WebhookSignature, MatchesTheSpecificationsExample) {
  const auto key = config::DecodeWebhookSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  ASSERT_TRUE(key);
  EXPECT_EQ(Signature(*key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, R"({"test": 2432232314})"),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

TEST(WebhookSignature, RefusesASecretThatIsNotWhsecBase64) {
  EXPECT_FALSE(config::DecodeWebhookSecret("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"));
  EXPECT_FALSE(config::DecodeWebhookSecret("whsec_not*base64!"));
  EXPECT_FALSE(config::DecodeWebhookSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw=="));
  EXPECT_FALSE(config::DecodeWebhookSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2La"));  // 21 bytes
}

TEST(WebhookSignature, RefusesAKeyOfOneShortUnitRepeated) {
  EXPECT_FALSE(config::DecodeWebhookSecret("whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));  // 24 NULs
  EXPECT_FALSE(config::DecodeWebhookSecret("whsec_aG9va2hvb2tob29raG9va2hvb2tob29r"));  // "hook"
  EXPECT_TRUE(config::DecodeWebhookSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"));
}

TEST(WebhookBody, DataIsTheEventAsTheLogAnswersIt) {
  store::StoredEvent stored{
      42,
      {"login.succeeded", 1796545280123, "alice", "sid-1", "203.0.113.7", "agent \"x\"", "alice"}};
  const auto body = nlohmann::json::parse(WebhookBody(stored));
  EXPECT_EQ(body["data"], nlohmann::json::parse(store::EventJson(stored)));
  EXPECT_EQ(body["type"], "login.succeeded");
  EXPECT_EQ(body["timestamp"], "2026-12-06T08:21:20.123Z");
  EXPECT_EQ(body["data"]["at"], body["timestamp"]);
  stored.event.sid.clear();  // no session applies: no "sid" at all
  EXPECT_FALSE(nlohmann::json::parse(WebhookBody(stored))["data"].contains("sid"));
  EXPECT_EQ(WebhookId(42), "evt_42");
}

TEST(WebhookUrl, ShownWithoutCredentialsQueryOrFragment) {
  const auto read = ReadWebhookUrl("https://user:p%40ss@hooks.example:8443/in/x?token=t#f");
  ASSERT_TRUE(read);
  EXPECT_EQ(read->shown, "https://hooks.example:8443/in/x");
  EXPECT_EQ(read->kept, "https://hooks.example:8443/in/x?token=t#f");
  EXPECT_EQ(ReadWebhookUrl("http://hooks.example")->shown, "http://hooks.example/");
}

TEST(WebhookUrl, TheCursorKeepsItsPlaceWhenOnlyThePasswordChanges) {
  EXPECT_EQ(ReadWebhookUrl("http://a:one@h/x?q=1")->kept,
            ReadWebhookUrl("http://b:two@h/x?q=1")->kept);
  EXPECT_NE(ReadWebhookUrl("http://h/x?q=1")->kept, ReadWebhookUrl("http://h/x?q=2")->kept);
}

TEST(WebhookUrl, NoneWhenLibcurlCannotReadIt) {
  // The authority ends at the first "/": its port would be "pass".
  EXPECT_FALSE(ReadWebhookUrl("http://user:pass/word@h/hooks"));
  EXPECT_FALSE(ReadWebhookUrl("http://"));
}

}  // namespace
}  // namespace gatehouse::webhooks
