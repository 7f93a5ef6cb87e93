// http::AcceptsMediaType: which Accept headers ask GET /revocations for its event stream.
#include "http/accept.hpp"

#include <gtest/gtest.h>

#include <string>

namespace gatehouse::http {
namespace {

bool WantsStream(std::string_view accept) { return AcceptsMediaType(accept, "text/event-stream"); }

TEST(AcceptsMediaType, TheTypeItselfWithAQualityAboveZero) {
  for (const char* accept :
       {"text/event-stream", "TEXT/Event-Stream", " text/event-stream ", "text/event-stream;q=1",
        "text/event-stream;q=0.001", "text/event-stream ; q=0.5", "text/event-stream;q=1.000",
        "application/json;q=0.9, text/event-stream;q=0.1", "text/event-stream;Q=0.5",
        "text/event-stream;x=\"a;q=0\"", "text/event-stream;q = 1",
        "text/event-stream;q=0.5;q=0"}) {
    EXPECT_TRUE(WantsStream(accept)) << accept;
  }
}

TEST(AcceptsMediaType, QualityZeroOrMalformedIsNotAcceptable) {
  for (const char* accept :
       {"text/event-stream;q=0", "text/event-stream;q=0.0", "text/event-stream;q=0.000",
        "text/event-stream;Q=0", "text/event-stream\t;\tq=0", "text/event-stream;q = 0",
        "text/event-stream;q=0.0000", "text/event-stream;q=00", "text/event-stream;q=\"0\"",
        "text/event-stream;q=", "text/event-stream;q", "text/event-stream;q=1.5",
        "text/event-stream;q=-1", "text/event-stream;q=0.1x", "text/event-stream;q=0;q=1"}) {
    EXPECT_FALSE(WantsStream(accept)) << accept;
  }
  EXPECT_FALSE(WantsStream("text/event-stream;q=0." + std::string(5000, '0')));
}

TEST(AcceptsMediaType, CommasInsideQuotesDoNotStartARange) {
  EXPECT_FALSE(WantsStream("application/json;x=\", text/event-stream;y=\""));
  EXPECT_FALSE(WantsStream("text/event-stream;x=\"a, b\";q=0"));
  EXPECT_FALSE(WantsStream("application/json;x=\"\\\", text/event-stream\""));
  EXPECT_TRUE(WantsStream("application/json;x=\"a, b\", text/event-stream"));
}

TEST(AcceptsMediaType, NotThroughWildcardsOrLookalikes) {
  for (const char* accept :
       {"", "*/*", "text/*", "text/event-streamx", "xtext/event-stream", "application/json", ",,,",
        "text/event-stream-x", "\"text/event-stream\""}) {
    EXPECT_FALSE(WantsStream(accept)) << accept;
  }
}

}  // namespace
}  // namespace gatehouse::http
