# cmake -DSOURCE_DIR=<repo> -P check_third_party_headers.cmake
# Fails when a third-party header is included outside the files docs/architecture.md allows.
# Most of these headers sit in /usr/include, where a PRIVATE link cannot hide them, so the
# rule is checked on the sources themselves.
set(rules
    "boost/" "src/http/"
    "openssl/" "src/auth/"
    "simdjson" "src/auth/"
    "sodium\\.h" "src/auth/|src/store/postgres/pg_rate_limits\\.cpp|src/webhooks/|src/config/webhook_setting_types\\.cpp"
    "curl/" "src/webhooks/http_post\\.cpp"
    "sqlite3\\.h" "src/store/sqlite/"
    "libpq-fe\\.h" "src/store/postgres/"
    "spdlog/" "src/obs/"
    "toml\\+\\+/" "src/config/"
    "CLI/" "src/cli/")
file(GLOB_RECURSE sources RELATIVE ${SOURCE_DIR} ${SOURCE_DIR}/src/*.cpp ${SOURCE_DIR}/src/*.hpp)
set(failures "")
foreach(source IN LISTS sources)
  file(STRINGS ${SOURCE_DIR}/${source} includes REGEX "^#include <")
  set(rest ${rules})
  while(rest)
    list(POP_FRONT rest header allowed)
    foreach(line IN LISTS includes)
      if(line MATCHES "^#include <${header}" AND NOT source MATCHES "^(${allowed})")
        string(APPEND failures "${source}: ${line} (allowed in: ${allowed})\n")
      endif()
    endforeach()
  endwhile()
endforeach()
if(failures)
  message(FATAL_ERROR "third-party headers outside their layer:\n${failures}")
endif()
message(STATUS "third-party headers: every include in its layer")
