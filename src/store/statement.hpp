// A SQL statement kept with its name and the C++ types of its parameters, as userver keeps its
// queries: a backend runs or binds a Statement<Params...> with exactly those arguments, so a
// call cannot be paired with another statement's SQL, nor pass a parameter of the wrong type.
#pragma once

#include <cstdint>
#include <string_view>

namespace gatehouse::store {

struct StatementText {
  const char* name;  // unique within its backend: the prepared name, and the name in errors
  const char* sql;
  // PostgreSQL: safe to send again on a fresh connection when the first attempt lost its
  // connection (it reads, or writes idempotently).
  bool retry_on_reconnect = false;
};

// `Params`: the types of ?1/$1, ?2/$2, ... in order; std::string_view or int64_t.
template <typename... Params>
struct Statement {
  StatementText text;
};

}  // namespace gatehouse::store
