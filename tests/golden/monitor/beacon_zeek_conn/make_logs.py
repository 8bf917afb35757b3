#!/usr/bin/env python3
"""Writes conn.log for the beacon_zeek_conn golden case (see README.md). Deterministic."""

T0 = 1714521600  # 2024-05-01T00:00:00Z
HEADER = """#separator \\x09
#set_separator\t,
#empty_field\t(empty)
#unset_field\t-
#path\tconn
#open\t2024-05-01-00-00-00
#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents
#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\tbool\tbool\tcount\tstring\tcount\tcount\tcount\tcount\tset[string]
"""

rows = []  # (ts, uid, src, sport, dst, dport, proto, orig_ip_bytes)
# The beacon: 10.30.5.20 → 203.0.113.50:443 every 60 s with 0/4/1 s of jitter, IP bytes cycling
# 500, 530, 500, 480.
for k in range(1440):
    rows.append((T0 + 60 * k + (0, 4, 1)[k % 3], f"Cb{k:04d}", "10.30.5.20", 40000 + k % 20000,
                 "203.0.113.50", 443, "tcp", (500, 530, 500, 480)[k % 4]))
# The same host asks the zone's DNS server every 60 s: inside → inside, not analysed.
for k in range(0, 1440, 10):
    rows.append((T0 + 60 * k + 30, f"Cd{k:04d}", "10.30.5.20", 53000 + k, "10.30.0.53", 53, "udp",
                 70))
# Browsing by 10.30.5.21: a few irregular connections in the morning (scored, about 0.19).
for i, (t, size) in enumerate(zip((32405, 32447, 32800, 36013, 37900, 39677),
                                  (1200, 56000, 800, 15000, 300, 4000))):
    rows.append((T0 + t, f"Cw{i}", "10.30.5.21", 51000 + i, "198.51.100.7", 443, "tcp", size))
# Two connections elsewhere (too few to score); the last sets the data set's end, 23:59:59.
rows.append((T0 + 50000, "Cx0", "10.30.5.21", 52000, "198.51.100.8", 443, "tcp", 900))
rows.append((T0 + 86399, "Cx1", "10.30.5.21", 52001, "198.51.100.8", 443, "tcp", 950))
# Mail arriving from the internet: outside → inside, not analysed.
for k in range(0, 1440, 30):
    rows.append((T0 + 60 * k + 7, f"Cm{k:04d}", "198.51.100.20", 33000 + k, "10.30.0.25", 25,
                 "tcp", 2400))

rows.sort()
with open("conn.log", "w") as out:
    out.write(HEADER)
    for ts, uid, src, sport, dst, dport, proto, ip_bytes in rows:
        payload = max(ip_bytes - 40 * 5, 0)
        out.write(f"{ts}.000000\t{uid}\t{src}\t{sport}\t{dst}\t{dport}\t{proto}\t-\t0.2\t{payload}"
                  f"\t300\tSF\tT\tF\t0\tShADadFf\t5\t{ip_bytes}\t4\t460\t(empty)\n")
    out.write("#close\t2024-05-02-00-00-00\n")
