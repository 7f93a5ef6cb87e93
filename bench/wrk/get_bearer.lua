-- GET <url> with Authorization: Bearer $BENCH_TOKEN (GET /me).
dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "report.lua")
wrk.method = "GET"
wrk.headers["Authorization"] = "Bearer " .. assert(os.getenv("BENCH_TOKEN"), "BENCH_TOKEN unset")
