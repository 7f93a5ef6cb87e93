-- POST <url> (/token/refresh on a server with jwt.refresh_rotation) presenting each refresh
-- token once: $BENCH_TOKENS holds one current refresh token per session (one a line, at least
-- as many as connections); each request takes one from the queue and each 200 puts the refresh
-- token it answered back, so every request is a rotation, never a replay or a reuse. Run with
-- one wrk thread (one queue). A refusal loses its session's token (counted in non2xx); when the
-- queue runs dry the last token taken is sent again (a replay: give a session per connection).
dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "report.lua")
local queue, head, tail = {}, 1, 0
local file = assert(io.open(assert(os.getenv("BENCH_TOKENS"), "BENCH_TOKENS unset"), "r"))
for line in file:read("*a"):gmatch("[^\n]+") do
  tail = tail + 1
  queue[tail] = line
end
file:close()
assert(tail > 0, "no tokens in " .. os.getenv("BENCH_TOKENS"))
local last
request = function()
  if head <= tail then
    last = queue[head]
    queue[head] = nil
    head = head + 1
  end
  return wrk.format("POST", nil, { ["Authorization"] = "Bearer " .. last }, nil)
end
response = function(status, headers, body)
  local token = status == 200 and body:match('"refresh_token":"([^"]+)"')
  if token then
    tail = tail + 1
    queue[tail] = token
  end
end
