// `mamori monitor --follow --checkpoint` and `--syslog` as a long-running process: the real
// binary, real files (appends, rotation by rename, copytruncate, lines half written), SIGTERM
// and restart with the same checkpoint while the log moves on, and real UDP and TCP sockets.
// Every event has its own destination port and time (--window 1, events 10 s apart), so each
// becomes its own alert and "exactly once" is checked event by event.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';
import {
  appendFileSync, copyFileSync, readFileSync, renameSync, truncateSync, writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { BIN, ROOT, mamori, tempDir } from '../lib/mamori.mjs';

const TOPOLOGY = `[zones.a]
networks = ["10.1.0.0/16"]
[zones.b]
networks = ["10.2.0.0/16"]
[devices.fw]
format = "iptables-save"
config = "fw.rules"
interfaces = { x = "a", y = "b" }
`;

const BASE = Date.parse('2024-05-01T00:00:00Z') / 1000;
const iso = (n) => new Date((BASE + n * 10) * 1000).toISOString().replace('.000Z', 'Z');
// Event n: time BASE + 10 n s, destination port 1000 + n.
const body = (n) =>
  `FWD IN=eth0 OUT=eth1 SRC=10.1.0.1 DST=10.2.0.1 LEN=60 PROTO=TCP SPT=1 DPT=${1000 + n}`;
const line = (n) => `${iso(n)} fw kernel: ${body(n)}\n`;
const lines = (from, to) => Array.from({ length: to - from + 1 }, (_, i) => line(from + i)).join('');

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// A running `mamori monitor`: its alerts so far, its standard error, and its end.
function start(args) {
  const child = spawn(BIN, ['monitor', ...args], { cwd: ROOT });
  const run = { child, stdout: '', stderr: '' };
  child.stdout.on('data', (d) => { run.stdout += d; });
  child.stderr.on('data', (d) => { run.stderr += d; });
  run.done = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  run.alerts = () => run.stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l));
  return run;
}

async function until(what, condition, ms = 15000) {
  const end = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

async function stop(run) {
  run.child.kill('SIGTERM');
  const { code, signal } = await run.done;
  assert.equal(signal, null, run.stderr);
  assert.equal(code, 0, run.stderr);
  const events = run.stderr.match(/イベント \(events\): ([\d,]+)/);
  assert.ok(events, run.stderr);
  return Number(events[1].replace(/,/g, ''));
}

const ports = (alerts) => alerts.map((a) => a.dport - 1000);
const range = (from, to) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

test('follow: appends, rotation, copytruncate, SIGTERM and restart with a checkpoint: every event exactly once', async () => {
  const dir = tempDir();
  const topology = path.join(dir, 'topology.toml');
  writeFileSync(topology, TOPOLOGY);
  const log = path.join(dir, 'fw.log');
  const checkpoint = path.join(dir, 'monitor.checkpoint');
  const args = ['--topology', topology, '--window', '1', '--follow', '--checkpoint', checkpoint, log];

  writeFileSync(log, lines(1, 5));
  let run = start(args);
  // Each alert is written when the next event's time passes its window: 4 of 5 now.
  await until('alerts 1-4', () => run.alerts().length >= 4);
  appendFileSync(log, lines(6, 8));
  await until('alerts 1-7', () => run.alerts().length >= 7);

  // logrotate's create: rename, the writer adds two lines to the old file, then a new file.
  renameSync(log, `${log}.1`);
  appendFileSync(`${log}.1`, lines(9, 10));
  writeFileSync(log, lines(11, 13));
  await until('alerts 1-12', () => run.alerts().length >= 12);
  assert.match(run.stderr, /ローテーションされました/);

  // copytruncate: copy, empty the file in place, the writer goes on at its start.
  copyFileSync(log, `${log}.copy`);
  truncateSync(log, 0);
  appendFileSync(log, lines(14, 15));
  await until('alerts 1-14', () => run.alerts().length >= 14);
  assert.match(run.stderr, /切り詰められたか書き換えられました/);

  // Half a line when the stop comes: it is not consumed, and read whole after the restart.
  const half = line(16).slice(0, 25);
  appendFileSync(log, half);
  await sleep(400);
  const firstEvents = await stop(run);
  const first = run.alerts();
  assert.deepEqual(ports(first), range(1, 15), run.stdout); // SIGTERM wrote the open alert
  assert.equal(firstEvents, 15);
  assert.match(readFileSync(checkpoint, 'utf8'), /^mamori-monitor-checkpoint 1\n/);

  // While stopped: the line is finished, more come, and the log is rotated once more.
  appendFileSync(log, line(16).slice(25) + lines(17, 18));
  renameSync(log, `${log}-20240501`);
  writeFileSync(log, lines(19, 20));

  run = start(args);
  await until('alerts 16-20', () => run.alerts().length >= 4);
  assert.match(run.stderr, /停止中にローテーションされていました/);
  appendFileSync(log, lines(21, 22));
  await until('alerts 16-21', () => run.alerts().length >= 6);
  const secondEvents = await stop(run);
  const second = run.alerts();
  assert.deepEqual(ports(second), range(16, 22), run.stdout);
  assert.equal(secondEvents, 7);

  // Evidence: the old file's lines under its rotated name with their numbers continued.
  const evidence = new Map(second.map((a) => [a.dport - 1000, a.evidence[0]]));
  assert.equal(evidence.get(16), `${log}-20240501:3`);
  assert.equal(evidence.get(18), `${log}-20240501:5`);
  assert.equal(evidence.get(19), `${log}:1`);

  // A third start with nothing new reads nothing again.
  run = start(args);
  await sleep(700);
  assert.equal(await stop(run), 0);
  assert.deepEqual(run.alerts(), []);
});

test('follow: invalid options and checkpoint files are errors (exit 2) naming what is wrong', () => {
  const dir = tempDir();
  const topology = path.join(dir, 'topology.toml');
  writeFileSync(topology, TOPOLOGY);
  const log = path.join(dir, 'fw.log');
  writeFileSync(log, lines(1, 1));
  const checkpoint = path.join(dir, 'cp');

  let r = mamori(['monitor', '--topology', topology, '--checkpoint', checkpoint, log]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--checkpoint は --follow と一緒に/);
  r = mamori(['monitor', '--topology', topology, '--follow', '--checkpoint', checkpoint, '-']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /標準入力にはチェックポイントを使えません/);
  r = mamori(['monitor', '--topology', topology, '--syslog', 'udp://localhost:514']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--syslog の指定が正しくありません: udp:\/\/localhost:514/);
  r = mamori(['monitor', '--topology', topology, '--follow', path.join(dir, 'missing.log')]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /missing\.log/);
  r = mamori(['monitor', '--topology', topology, '--follow', log, log]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /同じファイルが二度指定されています/);
  // A checkpoint that cannot be written stops the run before anything is read.
  r = mamori(['monitor', '--topology', topology, '--follow', '--checkpoint',
    path.join(dir, 'no-such-dir', 'cp'), log]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /チェックポイントを書けません.*no-such-dir/);
  // A foreign checkpoint (here: the topology given by mistake) is never overwritten or ignored.
  r = mamori(['monitor', '--topology', topology, '--follow', '--checkpoint', topology, log]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /topology\.toml:1: チェックポイントのファイルとして読めません/);
  assert.equal(readFileSync(topology, 'utf8'), TOPOLOGY);
});

function udpSend(port, host, message) {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
    socket.send(Buffer.from(message), port, host, (err) => {
      socket.close();
      if (err) reject(err); else resolve();
    });
  });
}

function tcpSend(port, host, data) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host }, () => socket.end(data));
    socket.on('close', resolve);
    socket.on('error', reject);
  });
}

test('syslog: netfilter LOG lines over UDP and TCP (line feeds and octet counting, IPv4 and IPv6)', async () => {
  const dir = tempDir();
  const topology = path.join(dir, 'topology.toml');
  writeFileSync(topology, TOPOLOGY);
  const run = start(['--topology', topology, '--window', '1', '--syslog-year', '2024',
    '--syslog-utc-offset', '+00:00', '--syslog', 'udp://127.0.0.1:0', '--syslog', 'tcp://127.0.0.1:0', '--syslog', 'tcp://[::1]:0']);
  await until('listening', () => (run.stderr.match(/listening for syslog/g) ?? []).length === 3);
  const [udp, tcp4, tcp6] = [...run.stderr.matchAll(/listening for syslog\): \S+:(\d+)/g)]
    .map((m) => Number(m[1]));

  // RFC 3164 with PRI over UDP, one message per datagram.
  const rfc3164 = (n) => `<4>May  1 ${iso(n).slice(11, 19)} fw kernel: ${body(n)}`;
  await udpSend(udp, '127.0.0.1', `<4>${line(1)}`);
  await udpSend(udp, '127.0.0.1', rfc3164(2));
  // RFC 5424, octet counted, two messages in one TCP connection, with a too-long one between.
  const m5424 = (n) => `<4>1 ${iso(n)} fw kernel - - - ${body(n)}`;
  const counted = (m) => `${Buffer.byteLength(m)} ${m}`;
  await tcpSend(tcp4, '127.0.0.1',
    counted(m5424(3)) + counted('<4>' + 'x'.repeat(70000)) + counted(m5424(4)));
  // Line feeds, over IPv6, while another client is connected.
  const idle = net.connect({ port: tcp4, host: '127.0.0.1' });
  await new Promise((resolve) => idle.on('connect', resolve));
  await tcpSend(tcp6, '::1', line(5) + line(6));
  await sleep(300);
  await udpSend(udp, '127.0.0.1', line(9)); // the latest time: closes the others' windows
  await until('alerts', () => run.alerts().length >= 6);
  idle.end();
  assert.equal(await stop(run), 7);
  const alerts = run.alerts();
  assert.deepEqual(ports(alerts).sort((a, b) => a - b), [1, 2, 3, 4, 5, 6, 9], run.stdout);
  assert.ok(alerts.every((a) => a.kind === 'separation' && a.from_zone === 'a' && a.to_zone === 'b'));
  const evidence = alerts.map((a) => a.evidence[0]).sort();
  assert.deepEqual(evidence, [
    'syslog tcp ::1:1', 'syslog tcp ::1:2',
    'syslog tcp 127.0.0.1:1', 'syslog tcp 127.0.0.1:3',
    'syslog udp 127.0.0.1:1', 'syslog udp 127.0.0.1:2', 'syslog udp 127.0.0.1:3',
  ].sort());
  assert.match(run.stderr, /不正な行 \(malformed lines\): 1/);
  assert.match(run.stderr, /syslog tcp 127\.0\.0\.1:2: syslog のメッセージが長すぎます/);
});
