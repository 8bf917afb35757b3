// The long-running form of `mamori monitor` (--follow, --syslog): one thread, one loop that
// polls the followed files every poll interval, waits on the syslog sockets and standard input,
// writes the checkpoint, and stops on SIGINT or SIGTERM.
//
// On a stop signal: the files' and connections' incomplete last lines stay unread, Finish writes
// every open alert, `flush` runs, then the checkpoint is written a last time (so it never covers
// a line whose alert was not written out). The periodic checkpoint (every checkpoint_interval,
// when something changed) is written after `flush` too. See docs/monitor.md for what a hard kill
// (SIGKILL, power loss) can lose or repeat.
//
// RunLive blocks SIGINT and SIGTERM while it runs (they are only taken while it waits, through
// ppoll) and restores the signal mask and handlers before it returns.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "monitor/checkpoint.h"
#include "monitor/follow.h"
#include "monitor/monitor.h"
#include "monitor/syslog.h"

namespace mamori::monitor {

struct LiveOptions {
  std::vector<std::string> follow;       // files to follow
  bool read_stdin = false;               // standard input, to its end
  std::vector<SyslogEndpoint> syslog;    // listeners
  std::string checkpoint_path;           // "": no checkpoint
  std::optional<Checkpoint> checkpoint;  // loaded from checkpoint_path (nullopt: first run)
  std::chrono::milliseconds poll_interval{250};
  std::chrono::milliseconds checkpoint_interval{5000};
  std::chrono::milliseconds tick_interval{60000};  // LiveHooks::tick
};

struct LiveHooks {
  NoticeFn notice;                          // notices for people (standard error)
  std::function<void(const Error&)> error;  // an input that failed; the run goes on
  std::function<void()> flush;              // makes the alerts written so far durable (stdout)
  // Called once the syslog listeners are bound, with "udp://127.0.0.1:5514" for each.
  std::function<void(const std::vector<std::string>&)> listening;
  // Called every tick_interval while running (e.g. to post a periodic report); may be empty.
  std::function<void()> tick;
};

// Runs until a stop signal, or until nothing is left to wait for (no files, no listener, and
// standard input at its end). Returns an error before reading anything when a file cannot be
// opened or the checkpoint cannot be written at the start (kInvalidInput), or a listener cannot
// be bound (kUnavailable); a checkpoint that cannot be written later is reported once through
// hooks.error (the run goes on) and, at the end, returned.
Status RunLive(Monitor& monitor, const LiveOptions& options, const LiveHooks& hooks);

}  // namespace mamori::monitor
