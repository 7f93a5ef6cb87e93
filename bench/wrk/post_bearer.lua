-- POST <url> with Authorization: Bearer $BENCH_TOKEN and no body (POST /token/refresh).
dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "report.lua")
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer " .. assert(os.getenv("BENCH_TOKEN"), "BENCH_TOKEN unset")
