#!/usr/bin/env bash
# The load benchmark of issue 7, run by scripts/bench: gatehouse against nginx (the machine's
# HTTP limit), against a bare Beast server (the limit of the library gatehouse is built on) and
# against the raw argon2id rate (gatehouse's, libsodium's and Node's @node-rs/argon2), side by
# side, then one table.
#
# Settings (environment):
#   BENCH_SECONDS      length of each wrk run (default 5)
#   BENCH_ROUNDS       A B rounds per comparison (default 3)
#   BENCH_LOGIN_ROUNDS rounds of login against the raw argon2id rate (default 5: on 2 vCPUs
#                      here that rate moved between 310 and 520 hashes/s from one minute to
#                      the next, so a shift between A and B spoils fewer rounds of the median)
#   BENCH_CONNECTIONS  wrk connections (default 64); BENCH_FLOOD_CONNECTIONS (default 16)
#   BENCH_IO_THREADS   gatehouse --threads, nginx workers, bare Beast threads (default: cores
#                      - 1, at least 1: wrk's one thread keeps a core; see the README)
#   BENCH_THREADS      gatehouse --hash-threads and the raw argon2id threads (default: cores)
#   BENCH_BIG_USERS, BENCH_BIG_REVOCATIONS   the seeded store (default 1000000 each)
#   BENCH_LOGIN_USERS  users of the login store (default 10000)
#   BENCH_KEEP=1       keep the temporary directory (stores, logs, token files)
#   BENCH_GATEHOUSE    the gatehouse binary measured (default build/bench/gatehouse)
#   BENCH_ONLY         parts after the first (GET /me and refresh vs nginx), comma-separated:
#                      cores (GET /me and refresh vs nginx again, both servers on as many
#                      threads as cores), cookie (GET /me by cookie vs by header), big (1M store: /me,
#                      refresh and a GET /admin/users page against small stores), login (login rate and flood), pg
#                      (refresh and login on PostgreSQL next to SQLite, issue 4; and
#                      /logout/access on PostgreSQL next to the raw fsync rate, issue 16),
#                      durable (/logout/access on SQLite next to the raw fsync rate of its data
#                      directory's disk, issue 16), rotation (rotating and non-rotating
#                      /token/refresh on SQLite and PostgreSQL, and PostgreSQL's commit rate
#                      by pgbench, issue 16), stream (GET /me
#                      with 100 revocation streams open against none, and the p99 delay of a
#                      revocation to every stream, issue 19), events (/logout/access and
#                      login with events recorded against build/bench-noevents/gatehouse, which
#                      writes no event rows, issue 19); default: all
#   BENCH_LOGOUT_TOKENS_SECONDS  seconds of refreshes collecting the distinct access tokens of
#                      each /logout/access run (default 2 x BENCH_SECONDS)
#
# Every figure goes to $work/results.jsonl with the exact command that produced it;
# bench/lib/report.py prints the table. Nothing here fails on a timing.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${BENCH_SECONDS:-5}
rounds=${BENCH_ROUNDS:-3}
login_rounds=${BENCH_LOGIN_ROUNDS:-5}
connections=${BENCH_CONNECTIONS:-64}
flood_connections=${BENCH_FLOOD_CONNECTIONS:-16}
cores=$(nproc)
threads=${BENCH_THREADS:-$cores}
io_threads=${BENCH_IO_THREADS:-$((cores > 1 ? cores - 1 : 1))}
big_users=${BENCH_BIG_USERS:-1000000}
big_revocations=${BENCH_BIG_REVOCATIONS:-1000000}
login_users=${BENCH_LOGIN_USERS:-10000}
password=bench-password-1

build=build/bench
gatehouse=${BENCH_GATEHOUSE:-$build/gatehouse}  # another binary: a before/after comparison
seed_store=$build/bench/gatehouse_seed_store
argon2_rate=$build/bench/gatehouse_argon2_rate
bare_beast=$build/bench/gatehouse_bare_beast
fsync_rate=$build/bench/gatehouse_fsync_rate
# The same gatehouse writing no event log rows (scripts/bench builds it): part events.
gatehouse_noevents=build/bench-noevents/gatehouse
# Node's @node-rs/argon2, installed into $build/node by scripts/bench.
node_rate="NODE_PATH=$build/node/node_modules node bench/node/argon2_rate.mjs"

work=$(mktemp -d /tmp/gatehouse-bench.XXXXXX)
results=$work/results.jsonl
started_pids=()

cleanup() {
  local pid
  for pid in "${started_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${started_pids[@]}"; do wait_gone "$pid"; done
  if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

log() { echo "[bench $(date +%T)] $*" >&2; }

wait_gone() {  # waits (at most 15 s) until process $1 has exited
  local i
  for i in $(seq 150); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
}

stop() {  # stops a server this script started, and forgets it
  kill "$1" 2>/dev/null || true
  wait_gone "$1"
  local pid kept=()
  for pid in "${started_pids[@]}"; do [ "$pid" = "$1" ] || kept+=("$pid"); done
  started_pids=("${kept[@]}")
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

rss_mib() {  # VmRSS of process $1 in MiB
  awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"
}

record_value() {  # key label value unit command
  python3 bench/lib/record.py value "$results" --key "$1" --label "$2" --value "$3" \
    --unit "$4" --cmd "$5"
}

# ---- servers ---------------------------------------------------------------------------------

# start_gatehouse NAME [ARGS [IO_THREADS]]: serves the data dir $work/NAME on a free port with
# IO_THREADS (default $io_threads) I/O threads; sets gh_pid, gh_port, gh_startup_ms and gh_cmd
# (the launch command as run). The per-user refresh and revocation limits stay on, at a rate no
# run reaches: every refresh pays for its check, as in production, and none is refused. A build
# older than those settings (a "before" run) is started without them.
per_user_limits=""
if [[ $("$gatehouse" --help 2>&1 || true) == *--rate-limit-refresh-per-user* ]]; then
  per_user_limits="--rate-limit-refresh-per-user 1000000000/1s --rate-limit-revocation-per-user 1000000000/1s"
fi
start_gatehouse() {
  local name=$1 extra=${2:-} gh_threads=${3:-$io_threads}
  mkdir -p "$work/$name"
  gh_port=$(free_port)
  gh_cmd="python3 bench/lib/launch.py --log $work/$name.log --ready-url http://127.0.0.1:$gh_port/healthz -- $gatehouse serve --listen 127.0.0.1:$gh_port --data-dir $work/$name --threads $gh_threads --hash-threads $threads --rate-limit-login-per-user 0 --rate-limit-login-per-address 0 --rate-limit-registration-per-address 0 $per_user_limits $extra"
  local launched
  launched=$(bash -c "$gh_cmd")
  gh_pid=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["pid"])' <<<"$launched")
  gh_startup_ms=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["startup_ms"])' <<<"$launched")
  started_pids+=("$gh_pid")
  log "gatehouse $name: pid $gh_pid, port $gh_port, ready after $gh_startup_ms ms"
}

# register_load_user PORT: registers user0 (named like the seeded users, so that the answers
# have the same size) and logs it in (login_tokens).
register_load_user() {
  curl -sf "http://127.0.0.1:$1/registration" -d "username=user0&password=$password" >/dev/null
  login_tokens "$1" user0
}

# login_tokens PORT USER: logs in, writes $work/tokens-PORT.{access,refresh}.
login_tokens() {
  local answer
  answer=$(curl -sf "http://127.0.0.1:$1/login" -d "username=$2&password=$password")
  python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])' <<<"$answer" \
    >"$work/tokens-$1.access"
  python3 -c 'import json, sys; print(json.load(sys.stdin)["refresh_token"])' <<<"$answer" \
    >"$work/tokens-$1.refresh"
}

# start_nginx [WORKERS]: nginx from Debian as the baseline, WORKERS workers (default
# $io_threads, one per gatehouse I/O thread), keep-alive, no access log, answering GET /me and
# POST /token/refresh with the bodies and Content-Type gatehouse answered them with (captured
# into $work/body.me, body.refresh and $answer_content_type).
start_nginx() {
  local dir=$work/nginx me refresh workers=${1:-$io_threads}
  mkdir -p "$dir/tmp"
  nginx_port=$(free_port)
  me=$(cat "$work/body.me")
  refresh=$(cat "$work/body.refresh")
  case "$me$refresh" in *[\$\'\\]*) echo "bench: a body holds \$, ' or \\" >&2; exit 1 ;; esac
  cat >"$dir/nginx.conf" <<EOF
worker_processes $workers;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  server_tokens off;
  keepalive_timeout 60s;
  keepalive_requests 100000000;
  client_body_temp_path $dir/tmp/body;
  proxy_temp_path $dir/tmp/proxy;
  fastcgi_temp_path $dir/tmp/fastcgi;
  uwsgi_temp_path $dir/tmp/uwsgi;
  scgi_temp_path $dir/tmp/scgi;
  types { }
  default_type "$answer_content_type";
  server {
    listen 127.0.0.1:$nginx_port reuseport;
    location = /me { return 200 '$me'; }
    location = /token/refresh { return 200 '$refresh'; }
  }
}
EOF
  local launched
  launched=$(python3 bench/lib/launch.py --log "$dir/stdout.log" \
    --ready-url "http://127.0.0.1:$nginx_port/me" -- nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log")
  nginx_pid=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["pid"])' <<<"$launched")
  started_pids+=("$nginx_pid")
  log "nginx: pid $nginx_pid, port $nginx_port, $workers workers, config $dir/nginx.conf"
}

# start_bare NAME BODYFILE: bench/bare_beast.cpp answering every request with BODYFILE and
# $answer_content_type on $io_threads threads; sets bare_pid, bare_port.
start_bare() {
  local launched
  bare_port=$(free_port)
  launched=$(python3 bench/lib/launch.py --log "$work/bare-$1.log" \
    --ready-url "http://127.0.0.1:$bare_port/" -- "$bare_beast" --port "$bare_port" \
    --threads "$io_threads" --body "$2" --content-type "$answer_content_type")
  bare_pid=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["pid"])' <<<"$launched")
  started_pids+=("$bare_pid")
  log "bare Beast ($1): pid $bare_pid, port $bare_port, $io_threads threads"
}

# ---- measurements ----------------------------------------------------------------------------

wrk_cmd() {  # wrk_cmd SCRIPT URL [TOKENFILE] [CONNECTIONS] [SECONDS]: the command line
  local token=""
  [ -n "${3:-}" ] && token="BENCH_TOKEN=\$(cat $3) "
  echo "${token}wrk -t1 -c${4:-$connections} -d${5:-$seconds}s --latency -s bench/wrk/$1 $2"
}

login_wrk_cmd() {  # login_wrk_cmd PORT CONNECTIONS SECONDS
  echo "BENCH_USERS=$login_users BENCH_PASSWORD=$password wrk -t1 -c$2 -d$3s --timeout 10s --latency -s bench/wrk/login.lua http://127.0.0.1:$1/login"
}

# measure SERIES LABEL ROUND COMMAND [RSS_PID RSS_KEY RSS_LABEL]: runs COMMAND, records its
# figures; with RSS_PID, also samples that process's VmRSS every 0.25 s during the run and
# records the largest sample.
measure() {
  local series=$1 label=$2 round=$3 cmd=$4 rss_pid=${5:-} output sampler
  log "$label, round $round: $cmd"
  if [ -n "$rss_pid" ]; then
    (peak=0; while kill -0 "$rss_pid" 2>/dev/null; do
       now=$(awk '/^VmRSS:/ { print $2 }' "/proc/$rss_pid/status" 2>/dev/null || echo 0)
       [ "${now:-0}" -gt "$peak" ] && { peak=$now; echo "$peak" >"$work/rss-peak"; }
       sleep 0.25
     done) &
    sampler=$!
  fi
  # A run that fails is logged and left out of the table (its row shows fewer rounds, or "not
  # measured"); the bench goes on.
  if ! output=$(bash -c "$cmd" 2>&1) ||
     ! python3 bench/lib/record.py run "$results" --series "$series" --label "$label" \
       --round "$round" --cmd "$cmd" <<<"$output"; then
    log "FAILED, left out of the table: $cmd"
    printf '%s\n' "$output" | tail -5 >&2
  fi
  if [ -n "$rss_pid" ]; then
    kill "$sampler" 2>/dev/null || true
    wait "$sampler" 2>/dev/null || true
    local peak_kib
    peak_kib=$(cat "$work/rss-peak" 2>/dev/null || echo 0)
    python3 bench/lib/record.py value "$results" --key "$6" --label "$7 (round $round)" \
      --value "$(awk -v k="$peak_kib" 'BEGIN { printf "%.1f", k / 1024 }')" --unit MiB \
      --cmd "largest VmRSS in /proc/$rss_pid/status, sampled every 0.25 s during: $cmd"
    rm -f "$work/rss-peak"
  fi
}

# alternate SERIES_A LABEL_A COMMAND_A SERIES_B LABEL_B COMMAND_B: $rounds rounds of A then B.
alternate() {
  local round
  for round in $(seq "$rounds"); do
    measure "$1" "$2" "$round" "$3"
    measure "$4" "$5" "$round" "$6"
  done
}

# alternate_login SERIES_A LABEL_A PORT_A SERIES_B LABEL_B PORT_B: POST /login of the seeded
# users on two servers, $rounds rounds of A then B.
alternate_login() {
  alternate "$1" "$2" "$(login_wrk_cmd "$3" "$connections" "$seconds")" \
    "$4" "$5" "$(login_wrk_cmd "$6" "$connections" "$seconds")"
}

# measure_baselines SERIES LABEL SCRIPT PATH TOKENFILE ROUND: the same wrk run against the bare
# Beast server and nginx, recorded as SERIES.bare and SERIES.nginx.
measure_baselines() {
  measure "$1.bare" "$2 bare Beast (same body)" "$6" \
    "$(wrk_cmd "$3" "http://127.0.0.1:$bare_port$4" "$5")"
  measure "$1.nginx" "$2 nginx (same body)" "$6" \
    "$(wrk_cmd "$3" "http://127.0.0.1:$nginx_port$4" "$5")"
}

# measure_logout SERIES LABEL PORT ROUND: POST /logout/access, each request with an access token
# of its own (a revoked one answers 401), collected first by refreshing user0's refresh token
# (login_tokens) for BENCH_LOGOUT_TOKENS_SECONDS.
measure_logout() {
  local tokens=$work/logout-tokens.$3.$4 collect
  : >"$tokens"
  collect="BENCH_TOKENS_OUT=$tokens $(wrk_cmd collect_access.lua "http://127.0.0.1:$3/token/refresh" "$work/tokens-$3.refresh" "$connections" "${BENCH_LOGOUT_TOKENS_SECONDS:-$((seconds * 2))}")"
  bash -c "$collect" >/dev/null 2>&1 || log "collecting tokens failed: $collect"
  log "$(wc -l <"$tokens") access tokens for $2, round $4"
  local before after
  before=$(durable_counts "$3")
  measure "$1" "$2" "$4" \
    "BENCH_TOKENS=$tokens $(wrk_cmd post_each.lua "http://127.0.0.1:$3/logout/access")"
  after=$(durable_counts "$3")
  # Writes per fsync of the run (SQLite's group commit; PostgreSQL reports none): what a batch
  # held. Near 1 the store pays an fsync per write; well above 1 while the rate stays near the
  # raw fsync rate, the writes are limited by something else (CPU, HTTP), not by the disk.
  read -r writes transactions <<<"$(paste -d' ' <(echo "$before") <(echo "$after") |
    awk '{ print $3 - $1, $4 - $2 }')"
  if [ "$transactions" -gt 0 ]; then
    record_value "$1.writes_per_fsync" "$2: writes per transaction (round $4)" \
      "$(awk -v w="$writes" -v t="$transactions" 'BEGIN { printf "%.1f", w / t }')" writes \
      "gatehouse_durable_{writes,transactions}_total of /metrics around the run ($writes / $transactions)"
  fi
  rm -f "$tokens"
}

# durable_counts PORT: "WRITES TRANSACTIONS" of the server's group commit (0 0 on a build
# without those metrics).
durable_counts() {
  curl -sf "http://127.0.0.1:$1/metrics" | awk '
    $1 == "gatehouse_durable_writes_total" { w = $2 }
    $1 == "gatehouse_durable_transactions_total" { t = $2 }
    END { print w + 0, t + 0 }'
}

# ---- the run ---------------------------------------------------------------------------------

only=${BENCH_ONLY:-cores,cookie,big,login,pg,durable,rotation,stream,events}
wants() { [[ ",$only," == *",$1,"* ]]; }

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
log "work dir $work; $rounds rounds x ${seconds}s, wrk -t1 -c$connections, $io_threads I/O threads, $threads hash threads"

# 1. The empty store: start-up and idle RSS, then GET /me and POST /token/refresh vs nginx.
start_gatehouse empty
empty_pid=$gh_pid empty_port=$gh_port
record_value startup.empty "start-up to /healthz 200, empty store" "$gh_startup_ms" ms "$gh_cmd"
sleep 1
record_value rss.idle_empty "idle RSS, empty store, fresh start" "$(rss_mib "$empty_pid")" MiB \
  "grep VmRSS /proc/$empty_pid/status  # 1 s after the start of: $gh_cmd"
register_load_user "$empty_port"
answer_content_type=$(curl -sf -o "$work/body.me" -w '%{content_type}' \
  -H "Authorization: Bearer $(cat "$work/tokens-$empty_port.access")" \
  "http://127.0.0.1:$empty_port/me")
curl -sf -X POST -H "Authorization: Bearer $(cat "$work/tokens-$empty_port.refresh")" \
  "http://127.0.0.1:$empty_port/token/refresh" >"$work/body.refresh"
start_nginx

empty_access=$work/tokens-$empty_port.access
empty_refresh=$work/tokens-$empty_port.refresh
start_bare me "$work/body.me"
for round in $(seq "$rounds"); do
  measure me.gatehouse "GET /me gatehouse (empty store)" "$round" \
    "$(wrk_cmd get_bearer.lua "http://127.0.0.1:$empty_port/me" "$empty_access")" \
    "$empty_pid" rss.load_empty "RSS under GET /me load, empty store"
  measure_baselines me "GET /me" get_bearer.lua /me "$empty_access" "$round"
done
stop "$bare_pid"
start_bare refresh "$work/body.refresh"
for round in $(seq "$rounds"); do
  measure refresh.gatehouse "POST /token/refresh gatehouse (empty store)" "$round" \
    "$(wrk_cmd post_bearer.lua "http://127.0.0.1:$empty_port/token/refresh" "$empty_refresh")"
  measure_baselines refresh "POST /token/refresh" post_bearer.lua /token/refresh \
    "$empty_refresh" "$round"
done
stop "$bare_pid"
stop "$nginx_pid"

# 1b. The same two comparisons with both servers on as many threads as cores, so that wrk's
#     thread shares them (no target; it shows what the default of part 1 avoids).
cores_part=false
wants cores && [ "$cores" != "$io_threads" ] && cores_part=true
if $cores_part; then
start_gatehouse cores "" "$cores"
cores_pid=$gh_pid cores_port=$gh_port
register_load_user "$cores_port"
start_nginx "$cores"
cores_access=$work/tokens-$cores_port.access cores_refresh=$work/tokens-$cores_port.refresh
alternate \
  cores.me "GET /me gatehouse ($cores I/O threads)" \
  "$(wrk_cmd get_bearer.lua "http://127.0.0.1:$cores_port/me" "$cores_access")" \
  cores.me_nginx "GET /me nginx ($cores workers)" \
  "$(wrk_cmd get_bearer.lua "http://127.0.0.1:$nginx_port/me" "$cores_access")"
alternate \
  cores.refresh "POST /token/refresh gatehouse ($cores I/O threads)" \
  "$(wrk_cmd post_bearer.lua "http://127.0.0.1:$cores_port/token/refresh" "$cores_refresh")" \
  cores.refresh_nginx "POST /token/refresh nginx ($cores workers)" \
  "$(wrk_cmd post_bearer.lua "http://127.0.0.1:$nginx_port/token/refresh" "$cores_refresh")"
stop "$nginx_pid"
stop "$cores_pid"
fi

# 1c. GET /me by cookie against GET /me by header (API.md §11), one server with
#     tokens.location = headers,cookies and one token sent both ways, in alternating rounds.
if wants cookie; then
start_gatehouse cookie "--tokens-location headers,cookies"
cookie_pid=$gh_pid cookie_port=$gh_port
register_load_user "$cookie_port"
cookie_access=$work/tokens-$cookie_port.access
alternate \
  cookie.me_cookie "GET /me by cookie (headers,cookies)" \
  "$(wrk_cmd get_cookie.lua "http://127.0.0.1:$cookie_port/me" "$cookie_access")" \
  cookie.me_header "GET /me by header (headers,cookies)" \
  "$(wrk_cmd get_bearer.lua "http://127.0.0.1:$cookie_port/me" "$cookie_access")"
stop "$cookie_pid"
fi

# 2. A million users and a million unexpired revocations, seeded straight into the store.
if wants big; then
mkdir -p "$work/big"
seed_cmd="$seed_store --database sqlite://$work/big/gatehouse.db --users $big_users --revocations $big_revocations --password $password"
log "seeding: $seed_cmd"
seed_start=$EPOCHREALTIME
bash -c "$seed_cmd" >&2
record_value seed.big "seeding $big_users users + $big_revocations revocations" \
  "$(awk -v a="$seed_start" -v b="$EPOCHREALTIME" 'BEGIN { print b - a }')" s "$seed_cmd"
admin_secret=$work/admin-secret
echo "bench-admin-secret-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$admin_secret"
for start in 1 2 3; do
  start_gatehouse big "--admin-secret $(cat "$admin_secret")"
  record_value startup.big "start-up to /healthz 200, 1M users+revocations (start $start)" \
    "$gh_startup_ms" ms "$gh_cmd"
  [ "$start" = 3 ] || stop "$gh_pid"
done
big_pid=$gh_pid big_port=$gh_port
sleep 1
record_value rss.idle_big "idle RSS, 1M users+revocations loaded" "$(rss_mib "$big_pid")" MiB \
  "grep VmRSS /proc/$big_pid/status  # 1 s after the start of: $gh_cmd"
login_tokens "$big_port" user0
big_access=$work/tokens-$big_port.access
big_refresh=$work/tokens-$big_port.refresh
for round in $(seq "$rounds"); do
  measure big.me "GET /me gatehouse (1M store)" "$round" \
    "$(wrk_cmd get_bearer.lua "http://127.0.0.1:$big_port/me" "$big_access")" \
    "$big_pid" rss.load_big "RSS under GET /me load, 1M store"
  measure big.me_empty "GET /me gatehouse (empty store)" "$round" \
    "$(wrk_cmd get_bearer.lua "http://127.0.0.1:$empty_port/me" "$empty_access")"
done
alternate \
  big.refresh "POST /token/refresh gatehouse (1M store)" \
  "$(wrk_cmd post_bearer.lua "http://127.0.0.1:$big_port/token/refresh" "$big_refresh")" \
  big.refresh_empty "POST /token/refresh gatehouse (empty store)" \
  "$(wrk_cmd post_bearer.lua "http://127.0.0.1:$empty_port/token/refresh" "$empty_refresh")"
# Issue 18: a page of GET /admin/users (10 names after "user5", one index range) costs the same
# among a million users as among ten (user0 ... user9, registered here).
start_gatehouse admin10 "--admin-secret $(cat "$admin_secret")"
admin10_pid=$gh_pid admin10_port=$gh_port
for i in $(seq 0 9); do
  curl -sf "http://127.0.0.1:$admin10_port/registration" -d "username=user$i&password=$password" >/dev/null
done
alternate \
  big.admin_page "GET /admin/users?limit=10&after=user5 (1M users)" \
  "$(wrk_cmd get_bearer.lua "'http://127.0.0.1:$big_port/admin/users?limit=10&after=user5'" "$admin_secret")" \
  admin10.admin_page "GET /admin/users?limit=10&after=user5 (10 users)" \
  "$(wrk_cmd get_bearer.lua "'http://127.0.0.1:$admin10_port/admin/users?limit=10&after=user5'" "$admin_secret")"
stop "$admin10_pid"
stop "$big_pid"
fi

# 3. Logins of many existing users against the raw argon2id rate on as many threads; then
#    GET /me alone and under a login flood that keeps the hash pool busy.
if wants login; then
mkdir -p "$work/login"
seed_cmd="$seed_store --database sqlite://$work/login/gatehouse.db --users $login_users --password $password"
bash -c "$seed_cmd" >&2
start_gatehouse login
login_pid=$gh_pid login_port=$gh_port
# Node's @node-rs/argon2 is measured only when its hash names the same algorithm, version and
# parameters as gatehouse's (the PHC string up to the salt: a verify takes them from the string
# it is given, so verifying alone would not show it) and each side verifies the other's hash.
node_ready=false
if ! command -v node >/dev/null || [ ! -d "$build/node/node_modules/@node-rs/argon2" ]; then
  log "no node or no $build/node/node_modules/@node-rs/argon2 (scripts/bench installs it): the node-rs row is not measured"
elif ours=$("$argon2_rate" --print-hash) && theirs=$(bash -c "$node_rate --print-hash") &&
     [[ ${theirs%\$*\$*} == "${ours%\$*\$*}" ]] &&
     bash -c "$node_rate --check '$ours'" && "$argon2_rate" --check "$theirs"; then
  log "gatehouse and @node-rs/argon2 verify each other's hashes, both ${ours%\$*\$*}"
  node_ready=true
else
  log "gatehouse and @node-rs/argon2 hashes do not match (${ours:-none} / ${theirs:-none}): the node-rs row is not measured"
fi
for round in $(seq "$login_rounds"); do
  measure login.gatehouse "POST /login gatehouse ($login_users users)" "$round" \
    "$(login_wrk_cmd "$login_port" "$connections" "$seconds")" \
    "$login_pid" rss.load_login "RSS under POST /login load"
  measure login.argon2 "raw argon2id verify, gatehouse's (argon2_fast)" "$round" \
    "$argon2_rate --impl gatehouse --threads $threads --seconds $seconds"
  measure login.argon2_libsodium "raw argon2id verify, libsodium" "$round" \
    "$argon2_rate --impl libsodium --threads $threads --seconds $seconds"
  if $node_ready; then
    measure login.argon2_node "raw argon2id verify, Node @node-rs/argon2" "$round" \
      "$node_rate --threads $threads --seconds $seconds"
  fi
done

login_tokens "$login_port" user0
login_access=$work/tokens-$login_port.access
flood_cmd=$(login_wrk_cmd "$login_port" "$flood_connections" $((seconds + 2)))
for round in $(seq "$rounds"); do
  measure flood.me_unloaded "GET /me gatehouse, no other load" "$round" \
    "$(wrk_cmd get_bearer.lua "http://127.0.0.1:$login_port/me" "$login_access")"
  log "login flood, round $round: $flood_cmd"
  bash -c "$flood_cmd" >"$work/flood.out" 2>&1 &
  flood=$!
  sleep 1
  measure flood.me_flooded "GET /me gatehouse, login flood running" "$round" \
    "$(wrk_cmd get_bearer.lua "http://127.0.0.1:$login_port/me" "$login_access")  # while: $flood_cmd"
  wait "$flood" || true
  python3 bench/lib/record.py run "$results" --series flood.login \
    --label "POST /login, the flood itself" --round "$round" --cmd "$flood_cmd" <"$work/flood.out"
done
stop "$login_pid"
fi

# 4. Issue 4: refresh and login on PostgreSQL (a throwaway cluster on loopback, scripts/pg-cluster)
#    next to the same on SQLite, both stores seeded with the same users.
if wants pg; then
# Outside $work (mode 0700, root's): the cluster runs as the postgres user.
pg_dir=/tmp/gatehouse-bench-pg.$$
pg_base=$(GATEHOUSE_PG_PORT=$(free_port) scripts/pg-cluster start "$pg_dir" | tail -1)
psql -q "${pg_base}postgres" -c "CREATE DATABASE gatehouse_bench" >&2
pg_url="${pg_base}gatehouse_bench"
mkdir -p "$work/pgcmp-sqlite"
for store in "sqlite://$work/pgcmp-sqlite/gatehouse.db" "$pg_url"; do
  bash -c "$seed_store --database $store --users $login_users --password $password" >&2
done
start_gatehouse pgcmp-sqlite
sq_pid=$gh_pid sq_port=$gh_port
start_gatehouse pgcmp-pg "--database $pg_url"
pg_pid=$gh_pid pg_port=$gh_port
login_tokens "$sq_port" user0
login_tokens "$pg_port" user0
alternate \
  pg.refresh "POST /token/refresh gatehouse on PostgreSQL" \
  "$(wrk_cmd post_bearer.lua "http://127.0.0.1:$pg_port/token/refresh" "$work/tokens-$pg_port.refresh")" \
  pg.refresh_sqlite "POST /token/refresh gatehouse on SQLite" \
  "$(wrk_cmd post_bearer.lua "http://127.0.0.1:$sq_port/token/refresh" "$work/tokens-$sq_port.refresh")"
for round in $(seq "$rounds"); do
  measure_logout pg.logout "POST /logout/access gatehouse on PostgreSQL" "$pg_port" "$round"
  measure pg.fsync "raw fsync/s, the PostgreSQL data directory's disk" "$round" \
    "$fsync_rate --dir $pg_dir --seconds $seconds"
done
alternate_login \
  pg.login "POST /login gatehouse on PostgreSQL ($login_users users)" "$pg_port" \
  pg.login_sqlite "POST /login gatehouse on SQLite ($login_users users)" "$sq_port"
stop "$pg_pid"
stop "$sq_pid"
scripts/pg-cluster destroy "$pg_dir" >/dev/null
fi

# 5. Issue 16: durable writes. POST /logout/access (each a revocation, on disk before its 200)
#    against the raw fsync rate of the data directory's disk (bench/fsync_rate.cpp), in the same
#    rounds: a store paying one fsync per write could not pass 1x.
if wants durable; then
start_gatehouse durable
durable_pid=$gh_pid durable_port=$gh_port
register_load_user "$durable_port"
for round in $(seq "$rounds"); do
  measure_logout durable.logout "POST /logout/access gatehouse (SQLite)" "$durable_port" "$round"
  measure durable.fsync "raw fsync/s, the data directory's disk" "$round" \
    "$fsync_rate --dir $work/durable --seconds $seconds"
done
stop "$durable_pid"
fi

# 6. Issue 16: refresh-token rotation. A rotating refresh (one durable compare-and-set of the
#    session) next to a non-rotating one, on SQLite and on PostgreSQL, and the non-rotating
#    refresh on PostgreSQL next to SQLite's, all in the same rounds. A rotating run presents
#    each token once (refresh_rotating.lua), from one fresh session per connection each round;
#    the fair non-rotating run it is compared with uses as many sessions, in turn (post_each.lua):
#    the one-token run beside it is kept, but a use of one session is recorded at most once a
#    second (store/recent_session_uses.hpp), so it writes nearly nothing. PostgreSQL's own
#    ceiling is measured in the same rounds on the same cluster: single-row UPDATE transactions
#    committed per second by pgbench with as many connections as gatehouse's pool (each on a row
#    of its own, so nothing waits for a lock), as a rotation is one such commit.
if wants rotation; then
rot_pg_dir=/tmp/gatehouse-bench-rot-pg.$$
rot_pg_base=$(GATEHOUSE_PG_PORT=$(free_port) scripts/pg-cluster start "$rot_pg_dir" | tail -1)
pool_size=8  # database.pool_size's default (src/config/setting_table.cpp), given explicitly
for db in plain rotating commit; do
  psql -q "${rot_pg_base}postgres" -c "CREATE DATABASE gatehouse_rot_$db" >&2
done
psql -q "${rot_pg_base}gatehouse_rot_commit" -c "CREATE TABLE commit_rate (id integer PRIMARY KEY, n bigint NOT NULL); INSERT INTO commit_rate SELECT g, 0 FROM generate_series(0, $((pool_size - 1))) g" >&2
echo 'UPDATE commit_rate SET n = n + 1 WHERE id = :client_id;' >"$work/commit_rate.sql"
pgbench_cmd="${PG_BIN:-/usr/lib/postgresql/15/bin}/pgbench -n -M prepared -c $pool_size -j 1 -T $seconds -f $work/commit_rate.sql ${rot_pg_base}gatehouse_rot_commit"
start_gatehouse rot-sq-plain
rsp_pid=$gh_pid rsp_port=$gh_port
start_gatehouse rot-sq-rotating "--jwt-refresh-rotation true"
rsr_pid=$gh_pid rsr_port=$gh_port
start_gatehouse rot-pg-plain "--database ${rot_pg_base}gatehouse_rot_plain --database-pool-size $pool_size"
rpp_pid=$gh_pid rpp_port=$gh_port
start_gatehouse rot-pg-rotating "--database ${rot_pg_base}gatehouse_rot_rotating --database-pool-size $pool_size --jwt-refresh-rotation true"
rpr_pid=$gh_pid rpr_port=$gh_port
for port in "$rsp_port" "$rsr_port" "$rpp_port" "$rpr_port"; do register_load_user "$port"; done
# session_tokens PORT: $connections logins of user0, their refresh tokens into
# $work/sessions-PORT, one a line (current tokens for refresh_rotating.lua and post_each.lua).
session_tokens() {
  local i
  : >"$work/sessions-$1"
  for i in $(seq "$connections"); do
    curl -sf "http://127.0.0.1:$1/login" -d "username=user0&password=$password" |
      python3 -c 'import json, sys; print(json.load(sys.stdin)["refresh_token"])' \
      >>"$work/sessions-$1"
  done
}
# Without rotation a session's token stays current: one set for every round.
session_tokens "$rsp_port"
session_tokens "$rpp_port"
for round in $(seq "$rounds"); do
  measure rotation.sqlite_plain "POST /token/refresh SQLite, no rotation, one token" "$round" \
    "$(wrk_cmd post_bearer.lua "http://127.0.0.1:$rsp_port/token/refresh" "$work/tokens-$rsp_port.refresh")"
  measure rotation.sqlite_plain_many "POST /token/refresh SQLite, no rotation, $connections sessions" "$round" \
    "BENCH_TOKENS=$work/sessions-$rsp_port $(wrk_cmd post_each.lua "http://127.0.0.1:$rsp_port/token/refresh")"
  session_tokens "$rsr_port"
  measure rotation.sqlite_rotating "POST /token/refresh SQLite, rotating" "$round" \
    "BENCH_TOKENS=$work/sessions-$rsr_port $(wrk_cmd refresh_rotating.lua "http://127.0.0.1:$rsr_port/token/refresh")"
  measure rotation.pg_plain "POST /token/refresh PostgreSQL, no rotation, one token" "$round" \
    "$(wrk_cmd post_bearer.lua "http://127.0.0.1:$rpp_port/token/refresh" "$work/tokens-$rpp_port.refresh")"
  measure rotation.pg_plain_many "POST /token/refresh PostgreSQL, no rotation, $connections sessions" "$round" \
    "BENCH_TOKENS=$work/sessions-$rpp_port $(wrk_cmd post_each.lua "http://127.0.0.1:$rpp_port/token/refresh")"
  session_tokens "$rpr_port"
  measure rotation.pg_rotating "POST /token/refresh PostgreSQL, rotating" "$round" \
    "BENCH_TOKENS=$work/sessions-$rpr_port $(wrk_cmd refresh_rotating.lua "http://127.0.0.1:$rpr_port/token/refresh")"
  measure rotation.pg_commit "PostgreSQL single-row UPDATE commits, $pool_size connections" "$round" \
    "$pgbench_cmd"
done
for pid in "$rsp_pid" "$rsr_pid" "$rpp_pid" "$rpr_pid"; do stop "$pid"; done
scripts/pg-cluster destroy "$rot_pg_dir" >/dev/null
fi

# 7. Issue 19: the revocation stream. GET /me with 100 GET /revocations event streams open and
#    two revocations a second flowing to all of them (bench/lib/subscribers.py), against GET /me
#    on the same server with none open, in alternate rounds; then the p99 of every revocation's
#    delay to every stream, over all rounds.
if wants stream; then
stream_secret="a bench revocations secret of thirty-two bytes or more"
start_gatehouse stream "--revocations-secret '$stream_secret'"
stream_pid=$gh_pid stream_port=$gh_port
register_load_user "$stream_port"
stream_delays=$work/stream-delays
: >"$stream_delays"
stream_me=$(wrk_cmd get_bearer.lua "http://127.0.0.1:$stream_port/me" "$work/tokens-$stream_port.access")
alternate \
  stream.me_subscribed "GET /me, 100 revocation streams open" \
  "python3 bench/lib/subscribers.py --port $stream_port --secret '$stream_secret' --refresh-token-file $work/tokens-$stream_port.refresh --subscribers 100 --per-second 2 --seconds $seconds --delays-out $stream_delays -- $stream_me" \
  stream.me_plain "GET /me, no revocation stream open" "$stream_me"
record_value stream.delay_p99 "revocation to each of 100 streams, p99 over all rounds" \
  "$(sort -n "$stream_delays" | awk '{ v[NR] = $1 } END { if (NR) { i = int(NR * 0.99); if (i < 1) i = 1; print v[i] } else print "nan" }')" ms \
  "bench/lib/subscribers.py (above): $(wc -l <"$stream_delays") delays"
stop "$stream_pid"
fi

# 8. Issue 19: what recording events costs. POST /logout/access and POST /login on the normal
#    binary and on build/bench-noevents/gatehouse (the same code, but the store writes no event
#    rows: CMake GATEHOUSE_RECORD_EVENTS=OFF), two stores seeded alike, in alternate rounds.
if wants events; then
if [ ! -x "$gatehouse_noevents" ]; then
  log "no $gatehouse_noevents (scripts/bench builds it): the events rows are not measured"
else
for side in events-on events-off; do
  mkdir -p "$work/$side"
  bash -c "$seed_store --database sqlite://$work/$side/gatehouse.db --users $login_users --password $password" >&2
done
start_gatehouse events-on
on_pid=$gh_pid on_port=$gh_port
gatehouse=$gatehouse_noevents start_gatehouse events-off
off_pid=$gh_pid off_port=$gh_port
login_tokens "$on_port" user0
login_tokens "$off_port" user0
# Which side goes first alternates (A B, B A, ...): the second run of a round meets the disk
# just after the first's writes and checkpoints.
for round in $(seq "$rounds"); do
  sides=(on off)
  [ $((round % 2)) -eq 0 ] && sides=(off on)
  for side in "${sides[@]}"; do
    if [ "$side" = on ]; then
      measure_logout events.logout_on "POST /logout/access, events recorded" "$on_port" "$round"
    else
      measure_logout events.logout_off "POST /logout/access, no event rows (bench-noevents)" \
        "$off_port" "$round"
    fi
  done
done
alternate_login \
  events.login_on "POST /login, events recorded ($login_users users)" "$on_port" \
  events.login_off "POST /login, no event rows (bench-noevents, $login_users users)" "$off_port"
stop "$on_pid"
stop "$off_pid"
fi
fi

sleep 1
record_value rss.idle_empty_after "idle RSS, empty store, after all its load" \
  "$(rss_mib "$empty_pid")" MiB "grep VmRSS /proc/$empty_pid/status  # after the runs above"

echo
if revision=$(git rev-parse --short HEAD 2>/dev/null); then
  git diff --quiet HEAD || revision+=" + uncommitted changes"
else
  revision="not a git checkout"
fi
echo "gatehouse benchmark: $cores cores, $revision, $rounds rounds x ${seconds}s, wrk -t1 -c$connections, gatehouse --threads $io_threads --hash-threads $threads, nginx $io_threads workers$($cores_part && echo " (part 1b: $cores each)")"
echo "load average (1, 5, 15 min) before the run: $load_before; after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
python3 bench/lib/report.py "$results"
