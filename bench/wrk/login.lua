-- POST <url> (/login) as existing users $BENCH_USER_PREFIX0 .. $BENCH_USER_PREFIX<BENCH_USERS-1>,
-- each request the next user (from a random start), all with password $BENCH_PASSWORD.
dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "report.lua")
local prefix = os.getenv("BENCH_USER_PREFIX") or "user"
local users = tonumber((assert(os.getenv("BENCH_USERS"), "BENCH_USERS unset")))
local password = assert(os.getenv("BENCH_PASSWORD"), "BENCH_PASSWORD unset")
local headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }
local next_user

init = function(args)
  math.randomseed(os.time())
  next_user = math.random(0, users - 1)
end

request = function()
  next_user = (next_user + 1) % users
  return wrk.format("POST", nil, headers,
                    "username=" .. prefix .. next_user .. "&password=" .. password)
end
