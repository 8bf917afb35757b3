#!/usr/bin/env bash
# Benchmark (issue 4): the information asset register with 100,000 assets.
#  - import a 100,000-row XLSX into a new database (mamori assets import), and export it
#    (mamori assets export), side by side with SQLite's own CSV import and export of the same
#    rows (sqlite3 .import / .mode csv: no validation, no history, no audit: the floor);
#  - list, filter and search: server time of each request (the access log's "ms"), over
#    queries that each miss the list cache, p50 and p95.
# Usage: bench/assets.sh [rows]        (needs: scripts/setup.sh --bench; sqlite3, python3)
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-100000}
bin=${MAMORI_BIN:-$PWD/build/release/src/cli/mamori}  # another build's binary, to compare
work=$(mktemp -d /tmp/mamori-bench-assets-XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
seconds() { /usr/bin/time -f "%e %M" "$@" 2>&1 >/dev/null | tail -1; }

python3 - "$rows" "$work/assets.csv" <<'PY'
import random, sys
rows, out = int(sys.argv[1]), sys.argv[2]
random.seed(7)
kinds = ["ネットワーク", "情報システム", "機器・設備", "電磁的記録媒体", "情報(電子)", "情報(紙)", "システム関連文書"]
zones = ["マイナンバー利用事務系", "LGWAN接続系", "インターネット接続系", "その他"]
sections = ["J-SOMU", "J-SHIKAKU", "J-KYUFU", "G-GIJI", "S-SENKYO", "K-KANSA"]
words = ["被保険者", "資格", "保険料", "給付", "レセプト", "申請書", "台帳", "端末", "サーバー", "媒体",
         "会議録", "通知書", "統計", "照会", "口座", "納付書"]
with open(out, "w") as f:
    f.write("管理番号,資産名,種別,所管課,系統,機密性,完全性,可用性,個人情報,特定個人情報,要配慮個人情報,保管場所,状態,備考\n")
    for i in range(rows):
        k, z = random.choice(kinds), random.choice(zones)
        c = random.choice(["3", "2", "2", "1"])
        if k in ("情報システム", "ネットワーク") and z == "マイナンバー利用事務系" and c == "1":
            c = "2"
        spi = "有" if c != "1" and random.random() < 0.2 else "無"
        pi = "有" if random.random() < 0.5 else "無"
        name = "".join(random.sample(words, 3)) + str(i)
        f.write(f"B-{i:06d},{name},{k},{random.choice(sections)},{z},{c},{random.choice('12')},"
                f"{random.choice('12')},{pi},{spi},無,書庫{i % 50},利用中,\n")
PY

demo() {  # the demo organization, users and role assignments into database $1
  "$bin" admin import examples/demo/organization.csv --db "$1" >/dev/null
  "$bin" admin import examples/demo/users.csv --register users --db "$1" >/dev/null
  "$bin" admin import examples/demo/role_assignments.csv --register role_assignments --db "$1" >/dev/null
}
demo "$work/seed.db"
"$bin" assets import "$work/assets.csv" --db "$work/seed.db" >/dev/null
"$bin" assets export "$work/assets.xlsx" --db "$work/seed.db" >/dev/null
demo "$work/a.db"

echo "$rows assets, $(nproc) cores" >&2
echo "| step | seconds | peak memory |" >&2
echo "|---|---|---|" >&2
read -r s m < <(seconds "$bin" assets import "$work/assets.xlsx" --db "$work/a.db")
echo "| mamori assets import (XLSX, $(du -k "$work/assets.xlsx" | cut -f1) KB) | $s | $((m / 1024)) MB |" >&2
read -r s m < <(seconds "$bin" assets export "$work/out.xlsx" --db "$work/a.db")
echo "| mamori assets export (XLSX) | $s | $((m / 1024)) MB |" >&2
read -r s m < <(seconds "$bin" assets export "$work/out.csv" --db "$work/a.db")
echo "| mamori assets export (CSV) | $s | $((m / 1024)) MB |" >&2
read -r s m < <(seconds sqlite3 "$work/peer.db" ".mode csv" ".import $work/out.csv assets")
echo "| peer: sqlite3 .import of the same CSV (no checks) | $s | $((m / 1024)) MB |" >&2
read -r s m < <(seconds sqlite3 "$work/peer.db" ".headers on" ".mode csv" ".output $work/peer.csv" "SELECT * FROM assets")
echo "| peer: sqlite3 CSV export of the same rows | $s | $((m / 1024)) MB |" >&2

# List, filter and search: server time from the access log.
cat > "$work/mamori.toml" <<TOML
[paths]
catalog = "$PWD/catalog"
web = "$PWD/web/dist"
[server]
threads = 2
rate_limit_per_second = 0
access_log = true
TOML
port=18091
"$bin" serve --config "$work/mamori.toml" --db "$work/a.db" --listen 127.0.0.1:$port \
  >/dev/null 2>"$work/access.log" &
for _ in $(seq 1 50); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
cookie=$(MAMORI_BIN="$bin" MAMORI_ROOT="$PWD" node bench/login.mjs "http://127.0.0.1:$port" "$work/a.db" bench security_general)
: > "$work/access.log"
unit=$(curl -fs -H "Cookie: $cookie" "http://127.0.0.1:$port/api/v1/organization/units?q=J-KYUFU" | python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["id"])')
for i in $(seq 0 19); do  # each query differs, so none is answered from the list cache
  for q in "offset=$((i * 4000))" "kind=system&offset=$((i * 50))" "confidentiality=2&zone=lgwan&offset=$((i * 50))" \
           "section=$unit&status=in_use&offset=$((i * 50))" "sort=-name&offset=$((i * 50))" \
           "q=被保険者&offset=$((i * 50))" "q=レセプト%20資格&offset=$((i * 20))" "q=B-0$((i % 10))$((i % 7))"; do
    curl -fs -o /dev/null -H "Cookie: $cookie" "http://127.0.0.1:$port/api/v1/assets?$q"
  done
done
python3 - "$work/access.log" <<'PY' >&2
import json, sys
ms = sorted(json.loads(l)["ms"] for l in open(sys.argv[1]) if '"/api/v1/assets"' in l)
p = lambda q: ms[min(len(ms) - 1, int(q * len(ms)))]
print(f"| list, filter, sort and search ({len(ms)} requests, none cached): server time p50 | {p(0.5):.1f} ms | |")
print(f"| … p95 | {p(0.95):.1f} ms | |")
# The requests cycle through the eight kinds above, in order: p50 / p95 of each kind.
kinds = ["plain pages, offset 0–76,000", "kind=system", "confidentiality=2&zone=lgwan",
         "section=…&status=in_use", "sort=-name", "q=被保険者", "q=レセプト 資格", "q=B-0xy"]
by_kind = [json.loads(l)["ms"] for l in open(sys.argv[1]) if '"/api/v1/assets"' in l]
for k, name in enumerate(kinds):
    v = sorted(by_kind[k::len(kinds)])
    q = lambda x: v[min(len(v) - 1, int(x * len(v)))]
    print(f"| … {name}: p50 / p95 | {q(0.5):.1f} / {q(0.95):.1f} ms | |")
PY
