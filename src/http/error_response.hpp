// The one place that turns an Error into an HTTP answer: status, message and headers.
#pragma once

#include "http/request.hpp"
#include "util/result.hpp"

namespace gatehouse::http {

// `context_message` overrides the generic text for kStorageFailure, because the contract
// gives each endpoint its own wording ("Logout access went wrong", ...).
Response ErrorResponse(const Error& error, std::string_view context_message = {});

}  // namespace gatehouse::http
