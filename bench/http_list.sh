#!/usr/bin/env bash
# Benchmark (issue 2): wrk against GET /api/v1/organization/units?limit=50 on a database of
# 10,000 units, side by side in the same run with nginx serving the same JSON as a static file.
# Usage: bench/http_list.sh [seconds] [connections]      (needs: scripts/setup.sh --bench)
# Prints a Markdown table row per server and the ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
conns=${2:-32}
bin=build/release/src/cli/mamori
work=$(mktemp -d /tmp/mamori-bench-XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null; rm -rf "$work"' EXIT

# 10,000 units: 100 bureaus with 99 sections each.
{
  echo "組織コード,名称,名称(かな),区分,上位組織"
  for b in $(seq 1 100); do
    echo "B$b,部局$b,ぶきょく$b,部局,"
    for s in $(seq 1 99); do echo "B$b-S$s,課室$b-$s,かしつ$b-$s,課室,B$b"; done
  done
} > "$work/units.csv"
"$bin" admin import "$work/units.csv" --db "$work/bench.db" >/dev/null

mport=18080
nport=18081
cat > "$work/mamori.toml" <<TOML
[paths]
catalog = "$PWD/catalog"
web = "$PWD/web/dist"
[server]
threads = 2
rate_limit_per_second = 0
access_log = ${MAMORI_BENCH_ACCESS_LOG:-true}
TOML
"$bin" serve --config "$work/mamori.toml" --db "$work/bench.db" --listen 127.0.0.1:$mport \
  >/dev/null 2>"$work/mamori-access.log" &
for _ in $(seq 1 50); do curl -fs "http://127.0.0.1:$mport/healthz" >/dev/null && break; sleep 0.1; done

# Every API request needs a session: log in once (first login with MFA, as a person would).
cookie=$(MAMORI_BIN="$PWD/$bin" MAMORI_ROOT="$PWD" node bench/login.mjs "http://127.0.0.1:$mport" "$work/bench.db" bench staff)
path="/api/v1/organization/units?limit=50"
mkdir -p "$work/www/api/v1/organization"
curl -fs -H "Cookie: $cookie" "http://127.0.0.1:$mport$path" > "$work/www/api/v1/organization/units"
cat > "$work/nginx.conf" <<NGINX
worker_processes 2;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 1024; }
http {
  access_log $work/nginx-access.log;
  default_type application/json;
  server {
    listen 127.0.0.1:$nport;
    root $work/www;
    location / { try_files \$uri =404; }
  }
}
NGINX
nginx -c "$work/nginx.conf" -p "$work"
for _ in $(seq 1 50); do curl -fs "http://127.0.0.1:$nport$path" >/dev/null && break; sleep 0.1; done
bytes=$(wc -c < "$work/www/api/v1/organization/units")

run() {  # name url [header] -> requests/sec
  wrk -t1 -c"$conns" -d"${secs}s" --latency ${3:+-H "$3"} "$2" > "$work/$1.wrk"
  local rps p50 p99
  rps=$(awk '/Requests\/sec/ {print $2}' "$work/$1.wrk")
  p50=$(awk '$1=="50%" {print $2}' "$work/$1.wrk")
  p99=$(awk '$1=="99%" {print $2}' "$work/$1.wrk")
  echo "| $1 | $rps | $p50 | $p99 |" >&2
  echo "$rps"
}
echo "GET $path ($bytes bytes), 10,000 units, wrk -t1 -c$conns -d${secs}s, $(nproc) cores" >&2
echo "| server | requests/s | p50 | p99 |" >&2
echo "|---|---|---|---|" >&2
n=$(run "nginx (static file)" "http://127.0.0.1:$nport$path")
m=$(run "mamori" "http://127.0.0.1:$mport$path" "Cookie: $cookie")
cat > "$work/offsets.lua" <<'LUA'
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", "/api/v1/organization/units?limit=50&offset=" .. (counter % 9950))
end
LUA
wrk -t1 -c"$conns" -d"${secs}s" --latency -H "Cookie: $cookie" -s "$work/offsets.lua" "http://127.0.0.1:$mport/" > "$work/miss.wrk"
echo "| mamori, every request a new page (no cache hits) | $(awk '/Requests\/sec/ {print $2}' "$work/miss.wrk") | $(awk '$1=="50%" {print $2}' "$work/miss.wrk") | $(awk '$1=="99%" {print $2}' "$work/miss.wrk") |" >&2
awk -v m="$m" -v n="$n" 'BEGIN { printf "mamori / nginx = %.1f%%\n", 100*m/n }' >&2
