#include "obs/metrics.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "api/routes.hpp"

namespace gatehouse {
namespace {

// Every `route="..."` label value in a rendered page.
std::multiset<std::string> RouteLabels(const std::string& page) {
  std::multiset<std::string> labels;
  const std::string marker = "route=\"";
  for (auto at = page.find(marker); at != std::string::npos; at = page.find(marker, at)) {
    at += marker.size();
    labels.insert(page.substr(at, page.find('"', at) - at));
  }
  return labels;
}

TEST(MetricsTest, TheRouteTableFitsWithRoomForOther) {
  EXPECT_LE(api::Routes::Names().size() + 1, obs::Metrics::kMaxRoutes);
}

TEST(MetricsTest, UnusedRouteSlotsRenderNothing) {
  obs::Metrics metrics;
  const std::vector<std::string> names = api::Routes::Names();
  metrics.SetRouteNames(names);
  metrics.RecordRequest(0, 200, 0.001);
  metrics.RecordRequest(obs::Metrics::kMaxRoutes - 1, 404, 0.001);
  const std::string page = metrics.Render({});
  const std::multiset<std::string> labels = RouteLabels(page);
  EXPECT_EQ(labels.count(""), 0u) << page;
  std::set<std::string> expected(names.begin(), names.end());
  expected.insert("other");
  EXPECT_EQ(std::set<std::string>(labels.begin(), labels.end()), expected);
  // One latency histogram per named route and "other", none for the free slots.
  std::size_t histograms = 0;
  for (auto at = page.find("_seconds_count{route="); at != std::string::npos;
       at = page.find("_seconds_count{route=", at + 1)) {
    ++histograms;
  }
  EXPECT_EQ(histograms, names.size() + 1);
  EXPECT_NE(page.find("gatehouse_http_requests_total{route=\"other\",status=\"404\"} 1"),
            std::string::npos);
}

}  // namespace
}  // namespace gatehouse
