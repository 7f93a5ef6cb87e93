-- POST /token/refresh with Authorization: Bearer $BENCH_TOKEN (a refresh token), writing each
-- new access token to $BENCH_TOKENS_OUT, one a line: distinct access tokens for post_each.lua
-- (a revoked token answers 401, so every /logout/access needs a token of its own).
dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "report.lua")
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer " .. assert(os.getenv("BENCH_TOKEN"), "BENCH_TOKEN unset")
local out = assert(io.open(assert(os.getenv("BENCH_TOKENS_OUT"), "BENCH_TOKENS_OUT unset"), "a"))
response = function(status, headers, body)
  local token = status == 200 and body:match('"access_token":"([^"]+)"')
  if token then out:write(token, "\n") end
end
