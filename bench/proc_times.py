#!/usr/bin/env python3
# Runs a command and prints its wall time, the CPU seconds (user + system) and peak resident set
# of the command and of each child process it starts, sampled from /proc every 20 ms, and the
# peaks of their resident and proportional set sizes summed. For `mamori netcheck`, whose
# shadowed-rule walk runs in a child process (docs/benchmarks.md, issue 7):
#
#   python3 bench/proc_times.py build/release/src/cli/mamori netcheck TOPOLOGY --format json
#
# The command's standard output goes to /tmp/proc_times.out.
import subprocess, sys, time, os, re
peak_pss_parts = {}
peak_pss = 0
tck = os.sysconf('SC_CLK_TCK')
t0 = time.time()
p = subprocess.Popen(sys.argv[1:], stdout=open('/tmp/proc_times.out','wb'))
seen = {}
peak_sum = 0
def kids(pid):
    try:
        with open(f'/proc/{pid}/task/{pid}/children') as f: return [int(x) for x in f.read().split()]
    except OSError: return []
while p.poll() is None:
    tot = 0
    for pid in [p.pid] + kids(p.pid):
        try:
            st = open(f'/proc/{pid}/stat').read().rsplit(')',1)[1].split()
            cpu = (int(st[11]) + int(st[12])) / tck
            rss = int(st[21]) * 4096 / 2**20
            try:
                pss = int(re.search(r'Pss:\s+(\d+)', open(f'/proc/{pid}/smaps_rollup').read()).group(1)) / 1024
            except Exception: pss = 0
            peak_pss_parts[pid] = pss
            c, r = seen.get(pid, (0, 0))
            seen[pid] = (max(c, cpu), max(r, rss))
            tot += rss
        except (OSError, IndexError): pass
    peak_sum = max(peak_sum, tot)
    live = [pid for pid in [p.pid] + kids(p.pid)]
    peak_pss = max(peak_pss, sum(peak_pss_parts.get(x, 0) for x in live))
    time.sleep(0.02)
wall = time.time() - t0
print(f"wall {wall:.2f} s; " + "; ".join(f"pid cpu {c:.2f} s rss {r:.0f} MiB" for c, r in seen.values()) + f"; summed rss peak {peak_sum:.0f} MiB; summed pss peak {peak_pss:.0f} MiB")
