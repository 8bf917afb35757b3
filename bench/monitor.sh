#!/usr/bin/env bash
# mamori monitor against a simdjson parse-only pass and jq on the same file (issue 8,
# docs/benchmarks.md).
#
#   bench/monitor.sh [LINES=5000000] [BLOCKLIST=1000000] [RULES=100] [SEED=1]
#
# Generates a Zeek conn.log in JSON of LINES lines, a blocklist of BLOCKLIST entries and RULES
# Sigma rules (bench/monitor_gen.mjs), then, side by side in one run:
#   - the ceiling: bench/monitor_parse, simdjson parsing every line (one filter: dport 445);
#   - jq applying the same filter (select(."id.resp_p" == 445));
#   - mamori monitor with the demo topology, the blocklist, the rules and every detector.
# Wall time, user+system CPU time, lines per second per core (lines / CPU seconds) and peak memory
# (maximum resident set), from /usr/bin/time, of the median of RUNS runs (default 3). Needs a
# release build (cmake --build --preset release --target mamori monitor_parse), node and jq.
set -euo pipefail
cd "$(dirname "$0")/.."
lines=${1:-5000000}
block=${2:-1000000}
rules=${3:-100}
seed=${4:-1}
runs=${RUNS:-3}
if ! [ "$runs" -ge 1 ] 2>/dev/null; then
  echo "RUNS must be a number of runs (1 or more), not '$runs'" >&2
  exit 2
fi
bin=${MAMORI_BIN:-build/release/src/cli/mamori}
parse=${MAMORI_PARSE_BIN:-build/release/bench/monitor_parse}
dir=$(mktemp -d /tmp/mamori-bench-monitor.XXXXXX)
trap 'rm -rf "$dir"' EXIT

node bench/monitor_gen.mjs "$dir" "$lines" "$block" "$rules" "$seed"
size=$(stat -c %s "$dir/conn.json")
echo
echo "input: $lines lines, $((size / 1048576)) MiB; blocklist $block entries; $rules Sigma rules;" \
  "seed $seed; load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| run (median of $runs) | wall | CPU (user+sys; each run) | lines/s per core | peak memory |"
echo '|---|---|---|---|---|'
# Each run RUNS times (default 3), one after the other; the table gives the run with the median
# CPU time (the lower middle one for an even RUNS; a shared host's other work makes single runs
# vary by several percent).
timed() { # label, name (its median CPU time goes to $dir/cpu.NAME), output file, command...
  local label=$1 name=$2 out=$3
  shift 3
  : >"$dir/times"
  for _ in $(seq "$runs"); do
    /usr/bin/time -o "$dir/time" -f '%e %U %S %M' "$@" >"$out" 2>"$dir/stderr" || {
      cat "$dir/stderr" >&2
      exit 1
    }
    tail -1 "$dir/time" >>"$dir/times"
  done
  read -r wall user sys kib < <(awk '{ print $2 + $3, $0 }' "$dir/times" | sort -n |
    awk -v m=$(((runs + 1) / 2)) 'NR == m { print $2, $3, $4, $5 }')
  awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }' >"$dir/cpu.$name"
  local all
  all=$(awk '{ printf "%s%.2f", (NR > 1 ? ", " : ""), $2 + $3 }' "$dir/times")
  awk -v l="$label" -v w="$wall" -v u="$user" -v s="$sys" -v k="$kib" -v n="$lines" -v a="$all" 'BEGIN {
    cpu = u + s; if (cpu < 0.01) cpu = 0.01;
    printf "| %s | %.2f s | %.2f s (%s) | %.2f M | %.0f MiB |\n", l, w, cpu, a, n / cpu / 1e6, k / 1024 }'
}
timed 'simdjson parse-only (ceiling)' parse "$dir/parse.out" "$parse" "$dir/conn.json"
timed 'jq (one filter)' jq "$dir/jq.out" jq -c 'select(."id.resp_p" == 445)' "$dir/conn.json"
timed 'mamori monitor (all detectors)' monitor "$dir/alerts.jsonl" "$bin" monitor \
  --topology examples/demo/network/topology.toml --blocklist "$dir/blocklist.txt" \
  --rules "$dir/rules" "$dir/conn.json"
cp "$dir/stderr" "$dir/monitor.stderr"

# The runs must agree on what they read.
read -r docs port445 <"$dir/parse.out"
jq445=$(wc -l <"$dir/jq.out")
if [ "$docs" != "$lines" ] || [ "$port445" != "$jq445" ]; then
  echo "the runs disagree: simdjson $docs lines, $port445 to port 445; jq $jq445" >&2
  exit 1
fi
echo
echo "simdjson and jq agree: $docs lines, $port445 to port 445."
awk -v p="$(cat "$dir/cpu.parse")" -v j="$(cat "$dir/cpu.jq")" -v m="$(cat "$dir/cpu.monitor")" 'BEGIN {
  if (m < 0.01) m = 0.01;
  printf "mamori monitor per core: %.0f%% of the ceiling rate (goal 25%%), %.1f times jq (goal 15)\n",
    100 * p / m, j / m }'
echo "mamori monitor: $(wc -l <"$dir/alerts.jsonl") alerts; its summary:"
sed 's/^/    /' "$dir/monitor.stderr"
