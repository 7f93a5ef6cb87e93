-- GET <url> with Cookie: access_token_cookie=$BENCH_TOKEN (GET /me by cookie, API.md §11).
dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "report.lua")
wrk.method = "GET"
wrk.headers["Cookie"] = "csrf_access_token=00000000-0000-4000-8000-000000000000; access_token_cookie="
  .. assert(os.getenv("BENCH_TOKEN"), "BENCH_TOKEN unset")
