// The syslog listener of `mamori monitor --syslog udp://ADDR:PORT --syslog tcp://ADDR:PORT`: a
// firewall's syslog (netfilter LOG lines, RFC 3164 or RFC 5424 headers) sent over the network
// into the same line pipeline as the files.
//
// UDP: one message per datagram. TCP (RFC 6587): each message is either octet-counted
// ("LEN SP MSG") or ends with a line feed, decided per message by its first byte (a digit: octet
// counting); several clients at once. A message longer than kMaxSyslogMessage is counted as
// malformed (a sample of its start kept) and dropped as it arrives, never buffered whole. Each
// sender (transport and address) is one input of the Monitor named "syslog udp 192.0.2.1", its
// messages numbered from 1 as its "lines". At most kMaxSyslogSources senders have inputs of their
// own: when all are taken, a sender silent for kSyslogSenderIdle (and without an open
// connection) gives its place to the new one (it is retired: its counts join "syslog udp
// (others)" in the summary, and should it come back its messages are numbered from 1 again);
// when none is silent that long, or kMaxSyslogSenderNames senders have had inputs of their own
// in this run, the new sender's messages go to "syslog udp (others)". So spoofed UDP sources
// cannot keep a real firewall that starts sending later out of its own input for long, and the
// names the detectors keep stay bounded. Nothing is ever sent back (no amplification).
//
// Memory is bounded: kMaxSyslogConnections connections (more are accepted and closed at once,
// with a notice), each buffering at most one message of kMaxSyslogMessage bytes.
//
// Not thread-safe; the caller's loop waits on fds() and calls Handle.
#pragma once

#include <poll.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "common/result.h"
#include "monitor/follow.h"
#include "monitor/monitor.h"

namespace mamori::monitor {

inline constexpr size_t kMaxSyslogMessage = size_t{64} << 10;
inline constexpr size_t kMaxSyslogConnections = 256;
// When all connections are open, one silent this long gives way to a new one.
inline constexpr std::chrono::seconds kSyslogIdleGiveWay{60};
inline constexpr size_t kMaxSyslogSources = 1024;
// A sender silent this long (and without an open connection) gives its input to a new sender
// when all kMaxSyslogSources are taken.
inline constexpr std::chrono::minutes kSyslogSenderIdle{10};
// Senders that ever have an input of their own in one run (the detectors keep each name: the
// names stay bounded under a flood of spoofed sources).
inline constexpr size_t kMaxSyslogSenderNames = 16 * kMaxSyslogSources;

enum class SyslogTransport : uint8_t { kUdp, kTcp };

// The listener's bounds (tests make them small).
struct SyslogLimits {
  size_t max_senders = kMaxSyslogSources;
  std::chrono::milliseconds idle_give_way = kSyslogIdleGiveWay;  // connections
  std::chrono::milliseconds sender_idle = kSyslogSenderIdle;
  size_t max_sender_names = kMaxSyslogSenderNames;
  // The clock silences are measured by (tests move it by hand); null: steady_clock.
  std::function<std::chrono::steady_clock::time_point()> now;
};

struct SyslogEndpoint {
  SyslogTransport transport = SyslogTransport::kUdp;
  std::string address;  // an IPv4 or IPv6 literal, without brackets
  uint16_t port = 0;    // 0: any free port (tests)
};

// "udp://127.0.0.1:5514", "tcp://[::1]:5514", "tcp://0.0.0.0:514". Host names are refused (a
// listener binds an address). kInvalidInput with the reason otherwise.
Result<SyslogEndpoint> ParseSyslogUrl(std::string_view url);

// Splits one TCP stream into messages (RFC 6587). Pure; fuzzed.
class SyslogFramer {
 public:
  class Sink {
   public:
    virtual ~Sink() = default;
    virtual void Message(std::string_view message) = 0;
    // A frame that could not be read (too long, a bad octet count): its start, for the sample.
    virtual void Malformed(Reason reason, std::string_view excerpt) = 0;
  };

  explicit SyslogFramer(size_t max_message = kMaxSyslogMessage) : max_(max_message) {}
  void Feed(std::string_view bytes, Sink& sink);
  // The connection closed: a last message without its line feed is still a message; a cut
  // octet-counted one is malformed.
  void End(Sink& sink);
  // Bytes held for the message being read (at most max_message).
  size_t buffered() const { return message_.size(); }

 private:
  // kCounted: a count and a space were read; octet counting only if "<" (the PRI) follows.
  enum class State : uint8_t { kStart, kLength, kCounted, kOctets, kLine, kSkipLine, kSkipOctets };
  void TooLong(Sink& sink);

  size_t max_;
  State state_ = State::kStart;
  std::string message_;  // the message so far, or the start of an over-long one
  uint64_t remaining_ = 0;
  std::string length_;
};

class SyslogServer {
 public:
  // Binds every endpoint (kUnavailable naming the URL when the address cannot be bound). The
  // Monitor must outlive the server.
  static Result<std::unique_ptr<SyslogServer>> Create(const std::vector<SyslogEndpoint>& endpoints,
                                                      Monitor& monitor, NoticeFn notice,
                                                      SyslogLimits limits = {});
  ~SyslogServer();

  // The bound ports, in the order of the endpoints (port 0 resolved).
  const std::vector<uint16_t>& ports() const { return ports_; }
  // The descriptors to wait on (POLLIN), rebuilt after every Handle; a TCP listener that could
  // not accept for want of descriptors asks for nothing for a second (no busy loop).
  const std::vector<pollfd>& fds();
  // Reads from every descriptor poll() marked ready in `ready` (same order as fds()).
  void Handle(const std::vector<pollfd>& ready);
  // Closes every connection; an incomplete message is left unread (like a file's last line).
  void Stop();

  using Counts = ListenerCounts;
  const Counts& counts() const { return counts_; }

 private:
  struct Listener;
  struct Connection;
  SyslogServer(Monitor& monitor, NoticeFn notice, SyslogLimits limits);
  struct Sender {
    InputId input = 0;
    std::chrono::steady_clock::time_point last_active;
  };
  InputId InputFor(SyslogTransport transport, const std::string& address);
  // Retires the sender silent longest if it has been silent sender_idle and has no open
  // connection; false when there is none.
  bool RetireIdleSender();
  InputId OthersInput(const char* kind);
  std::chrono::steady_clock::time_point Now() const {
    return limits_.now ? limits_.now() : std::chrono::steady_clock::now();
  }
  void Rebuild();
  void Accept(Listener& listener);
  void ReadDatagrams(Listener& listener);
  bool ReadStream(Connection& connection);  // false: closed

  Monitor& monitor_;
  NoticeFn notice_;
  SyslogLimits limits_;
  std::vector<std::unique_ptr<Listener>> listeners_;
  std::vector<std::unique_ptr<Connection>> connections_;
  std::vector<pollfd> fds_;
  std::vector<uint16_t> ports_;
  std::map<std::string, Sender> senders_;  // by "udp 192.0.2.1"; at most kMaxSyslogSources
  std::map<std::string, InputId> others_;  // "udp (others)", "tcp (others)"
  std::unordered_set<std::string> named_;  // senders that have had an input: at most the cap
  bool names_full_said_ = false;
  // No sender can have been silent long enough before this (skips the search in a flood).
  std::chrono::steady_clock::time_point next_retire_{};
  std::vector<char> buffer_;
  Counts counts_;
};

}  // namespace mamori::monitor
