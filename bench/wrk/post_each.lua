-- POST <url> with a different bearer token from $BENCH_TOKENS (one a line) on every request,
-- round robin. Run with one wrk thread. /logout/access: distinct access tokens from
-- collect_access.lua; once they run out they repeat, and the repeats answer 401 (counted in
-- non2xx): give enough tokens for the run. /token/refresh without rotation: one refresh token
-- per session, so that every session is used in turn (as many clients would), not one alone.
dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "report.lua")
local tokens = {}
local file = assert(io.open(assert(os.getenv("BENCH_TOKENS"), "BENCH_TOKENS unset"), "r"))
for line in file:read("*a"):gmatch("[^\n]+") do
  tokens[#tokens + 1] = line
end
file:close()
assert(#tokens > 0, "no tokens in " .. os.getenv("BENCH_TOKENS"))
local next_token = 0
request = function()
  next_token = next_token % #tokens + 1
  return wrk.format("POST", nil, { ["Authorization"] = "Bearer " .. tokens[next_token] }, nil)
end
