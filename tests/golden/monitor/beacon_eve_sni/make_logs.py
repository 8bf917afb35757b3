#!/usr/bin/env python3
"""Writes eve.json for the beacon_eve_sni golden case (see README.md). Deterministic."""
import json
import time

T0 = 1714521600  # 2024-05-01T00:00:00Z


def stamp(t):
    return time.strftime("%Y-%m-%dT%H:%M:%S.000000+0000", time.gmtime(t))


events = []  # (ts, order, object)


def flow(t, flow_id, src, sport, dst, dport, to_server):
    events.append((t, 1, {"timestamp": stamp(t), "flow_id": flow_id, "event_type": "flow",
                          "src_ip": src, "src_port": sport, "dest_ip": dst, "dest_port": dport,
                          "proto": "TCP", "app_proto": "tls",
                          "flow": {"pkts_toserver": 6, "pkts_toclient": 5,
                                   "bytes_toserver": to_server, "bytes_toclient": 4200,
                                   "start": stamp(t), "end": stamp(t + 1), "age": 1,
                                   "state": "closed", "reason": "timeout", "alerted": False}}))


def tls(t, flow_id, src, sport, dst, dport, sni):
    events.append((t, 0, {"timestamp": stamp(t), "flow_id": flow_id, "event_type": "tls",
                          "src_ip": src, "src_port": sport, "dest_ip": dst, "dest_port": dport,
                          "proto": "TCP", "tls": {"sni": sni, "version": "TLS 1.3"}}))


# The beacon: 10.30.0.10 → updates.c2.example (on a CDN address, 203.0.113.60) every 300 s from
# 06:00 to 17:55, 144 connections; bytes_toserver alternating 1500 and 1540. Suricata writes the
# tls record at the handshake, the flow record when the flow ends.
for k in range(144):
    t = T0 + 6 * 3600 + 300 * k
    fid = 500000 + k
    tls(t, fid, "10.30.0.10", 41000 + k, "203.0.113.60", 443, "updates.c2.example")
    flow(t, fid, "10.30.0.10", 41000 + k, "203.0.113.60", 443, (1500, 1540)[k % 2])
# Other sites on the same CDN address, irregular (the ip pair 10.30.0.10 → 203.0.113.60 is left
# out: its connections also belong to the scored sni pair).
for i, t in enumerate((30011, 30950, 41222, 52000)):
    tls(T0 + t, 600000 + i, "10.30.0.10", 42000 + i, "203.0.113.60", 443, "www.example.org")
    flow(T0 + t, 600000 + i, "10.30.0.10", 42000 + i, "203.0.113.60", 443, 900 + 150 * i)
# The first and last connections of the day set the data set: 00:00:00 to 23:59:59.
flow(T0, 700000, "10.30.0.10", 43000, "198.51.100.9", 443, 700)
flow(T0 + 86399, 700001, "10.30.0.10", 43001, "198.51.100.9", 443, 700)

events.sort(key=lambda e: (e[0], e[1]))
with open("eve.json", "w") as out:
    for _, _, obj in events:
        out.write(json.dumps(obj, separators=(", ", ": ")) + "\n")
