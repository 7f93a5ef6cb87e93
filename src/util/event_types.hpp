// The account event types of API.md §12: what GET /admin/events filters by and what
// webhooks.events may name. The account module records them by these names.
#pragma once

#include <algorithm>
#include <array>
#include <string_view>

namespace gatehouse {

inline constexpr std::array<std::string_view, 14> kEventTypes = {"user.created",
                                                                 "login.succeeded",
                                                                 "login.failed",
                                                                 "login.throttled",
                                                                 "token.revoked",
                                                                 "session.revoked",
                                                                 "user.logged_out_everywhere",
                                                                 "password.changed",
                                                                 "password.reset_requested",
                                                                 "user.disabled",
                                                                 "user.enabled",
                                                                 "user.claims_changed",
                                                                 "user.removed",
                                                                 "refresh_token.reused"};

inline bool IsEventType(std::string_view type) {
  return std::find(kEventTypes.begin(), kEventTypes.end(), type) != kEventTypes.end();
}

}  // namespace gatehouse
