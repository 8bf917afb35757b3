#include "monitor/syslog.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>

#include "common/text.h"

namespace mamori::monitor {
namespace {

constexpr size_t kExcerptBytes = 120;
constexpr size_t kMaxLengthDigits = 10;
constexpr int kDatagramsPerHandle = 4096;  // then the other descriptors get their turn
constexpr size_t kStreamBytesPerHandle = size_t{1} << 20;

constexpr Reason kTooLong{"syslog のメッセージが長すぎます（上限 64 KiB）",
                          "syslog message too long (limit 64 KiB)"};
constexpr Reason kCut{"syslog のメッセージが途中で切れています（接続が閉じられました）",
                      "syslog message cut short (connection closed)"};

std::string ErrnoText() { return std::strerror(errno); }

Error BadUrl(std::string_view url, std::string_view ja, std::string_view en) {
  return Error::Invalid(Cat("--syslog の指定が正しくありません: ", Printable(url), ": ", ja,
                            "（例: udp://127.0.0.1:5514、tcp://[::1]:5514）"),
                        Cat("invalid --syslog ", Printable(url), ": ", en,
                            " (e.g. udp://127.0.0.1:5514, tcp://[::1]:5514)"));
}

// The sender's address as text.
std::string PeerAddress(const sockaddr_storage& peer) {
  char text[INET6_ADDRSTRLEN] = "?";
  if (peer.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&peer);
    inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
  } else if (peer.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&peer);
    inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text);
  }
  return text;
}

class MonitorSink final : public SyslogFramer::Sink {
 public:
  MonitorSink(Monitor& monitor, InputId input, uint64_t& messages)
      : monitor_(monitor), input_(input), messages_(messages) {}
  void Message(std::string_view message) override {
    ++messages_;
    monitor_.FeedMessage(input_, message);
  }
  void Malformed(Reason reason, std::string_view excerpt) override {
    ++messages_;
    monitor_.FeedMalformed(input_, reason, excerpt);
  }

 private:
  Monitor& monitor_;
  InputId input_;
  uint64_t& messages_;
};

}  // namespace

Result<SyslogEndpoint> ParseSyslogUrl(std::string_view url) {
  SyslogEndpoint endpoint;
  std::string_view rest = url;
  if (rest.substr(0, 6) == "udp://") {
    endpoint.transport = SyslogTransport::kUdp;
  } else if (rest.substr(0, 6) == "tcp://") {
    endpoint.transport = SyslogTransport::kTcp;
  } else {
    return BadUrl(url, "udp:// か tcp:// で始めてください", "must start with udp:// or tcp://");
  }
  rest.remove_prefix(6);
  std::string_view host;
  if (!rest.empty() && rest.front() == '[') {
    const size_t close = rest.find(']');
    if (close == std::string_view::npos || rest.substr(close + 1, 1) != ":") {
      return BadUrl(url, "[IPv6]:ポート の形にしてください", "use [IPv6]:PORT");
    }
    host = rest.substr(1, close - 1);
    rest.remove_prefix(close + 2);
    in6_addr a6{};
    if (inet_pton(AF_INET6, std::string(host).c_str(), &a6) != 1) {
      return BadUrl(url, "IPv6 アドレスが読めません", "unreadable IPv6 address");
    }
  } else {
    const size_t colon = rest.rfind(':');
    if (colon == std::string_view::npos) {
      return BadUrl(url, "ポートがありません", "no port");
    }
    host = rest.substr(0, colon);
    rest.remove_prefix(colon + 1);
    in_addr a4{};
    if (inet_pton(AF_INET, std::string(host).c_str(), &a4) != 1) {
      return BadUrl(url,
                    "IPv4 アドレスが読めません（ホスト名は使えません。IPv6 は [ ] で囲みます）",
                    "unreadable IPv4 address (host names are not accepted; put IPv6 in [ ])");
    }
  }
  unsigned port = 0;
  const auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), port);
  if (rest.empty() || ec != std::errc() || end != rest.data() + rest.size() || port > 65535 ||
      (rest.size() > 1 && rest.front() == '0')) {
    return BadUrl(url, "ポートは 0〜65535 の数にしてください", "the port must be 0-65535");
  }
  endpoint.address = std::string(host);
  endpoint.port = static_cast<uint16_t>(port);
  return endpoint;
}

// --- SyslogFramer ---------------------------------------------------------------------------

void SyslogFramer::TooLong(Sink& sink) {
  if (message_.size() > kExcerptBytes) message_.resize(kExcerptBytes);
  state_ = state_ == State::kOctets ? State::kSkipOctets : State::kSkipLine;
}

void SyslogFramer::Feed(std::string_view bytes, Sink& sink) {
  while (!bytes.empty()) {
    switch (state_) {
      case State::kStart: {
        const char c = bytes.front();
        if (c == '\n' || c == '\r' || c == '\0') {  // between messages
          bytes.remove_prefix(1);
        } else if (c >= '1' && c <= '9') {
          state_ = State::kLength;
          length_.clear();
        } else {
          state_ = State::kLine;
          message_.clear();
        }
        break;
      }
      case State::kLength: {
        const char c = bytes.front();
        if (c >= '0' && c <= '9' && length_.size() < kMaxLengthDigits) {
          length_.push_back(c);
          bytes.remove_prefix(1);
        } else if (c == ' ') {
          bytes.remove_prefix(1);
          state_ = State::kCounted;
        } else {
          // Not an octet count after all ("2024-05-01T…" starts a line): a line-feed message.
          message_ = length_;
          state_ = State::kLine;
          if (message_.size() > max_) TooLong(sink);
        }
        break;
      }
      case State::kCounted: {
        // RFC 6587 frames a syslog message, which starts with its PRI ("<"); anything else
        // ("5 packets dropped") is a line that happens to start with a number.
        if (bytes.front() == '<') {
          uint64_t length = 0;
          std::from_chars(length_.data(), length_.data() + length_.size(), length);
          remaining_ = length;
          message_.clear();
          state_ = State::kOctets;
          if (length > max_) TooLong(sink);
        } else {
          message_ = length_;
          message_.push_back(' ');
          state_ = State::kLine;
          if (message_.size() > max_) TooLong(sink);
        }
        break;
      }
      case State::kOctets: {
        const size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, bytes.size()));
        message_.append(bytes.substr(0, n));
        bytes.remove_prefix(n);
        remaining_ -= n;
        if (remaining_ == 0) {
          sink.Message(message_);
          message_.clear();
          state_ = State::kStart;
        }
        break;
      }
      case State::kLine: {
        const size_t nl = bytes.find('\n');
        const size_t n = nl == std::string_view::npos ? bytes.size() : nl;
        if (message_.size() + n > max_) {
          message_.append(bytes.substr(0, std::min(n, kExcerptBytes)));
          TooLong(sink);
          break;  // the rest of the line is skipped in kSkipLine
        }
        message_.append(bytes.substr(0, n));
        bytes.remove_prefix(n);
        if (nl != std::string_view::npos) {
          bytes.remove_prefix(1);
          sink.Message(message_);
          message_.clear();
          state_ = State::kStart;
        }
        break;
      }
      case State::kSkipLine: {
        const size_t nl = bytes.find('\n');
        if (nl == std::string_view::npos) {
          bytes = {};
        } else {
          bytes.remove_prefix(nl + 1);
          sink.Malformed(kTooLong, message_);
          message_.clear();
          state_ = State::kStart;
        }
        break;
      }
      case State::kSkipOctets: {
        const size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, bytes.size()));
        if (message_.size() < kExcerptBytes) {
          message_.append(bytes.substr(0, std::min(n, kExcerptBytes - message_.size())));
        }
        bytes.remove_prefix(n);
        remaining_ -= n;
        if (remaining_ == 0) {
          sink.Malformed(kTooLong, message_);
          message_.clear();
          state_ = State::kStart;
        }
        break;
      }
    }
  }
}

void SyslogFramer::End(Sink& sink) {
  switch (state_) {
    case State::kStart:
      break;
    case State::kLength:
      sink.Message(length_);
      break;
    case State::kCounted:
      sink.Message(length_ + " ");
      break;
    case State::kLine:
      if (!message_.empty()) sink.Message(message_);
      break;
    case State::kOctets:
      sink.Malformed(kCut, message_);
      break;
    case State::kSkipLine:
    case State::kSkipOctets:
      sink.Malformed(kTooLong, message_);
      break;
  }
  state_ = State::kStart;
  message_.clear();
  length_.clear();
  remaining_ = 0;
}

// --- SyslogServer ---------------------------------------------------------------------------

struct SyslogServer::Listener {
  int fd = -1;
  SyslogTransport transport = SyslogTransport::kUdp;
  std::chrono::steady_clock::time_point paused_until{};  // accept failed for want of descriptors
  ~Listener() {
    if (fd >= 0) ::close(fd);
  }
};

struct SyslogServer::Connection {
  int fd = -1;
  InputId input = 0;
  std::string sender;  // the key of its sender
  SyslogFramer framer;
  std::chrono::steady_clock::time_point last_active;
  bool evict = false;  // silent too long, giving way to a new connection (closed by Handle)
  ~Connection() {
    if (fd >= 0) ::close(fd);
  }
};

SyslogServer::SyslogServer(Monitor& monitor, NoticeFn notice, SyslogLimits limits)
    : monitor_(monitor), notice_(std::move(notice)), limits_(limits) {}

SyslogServer::~SyslogServer() = default;

Result<std::unique_ptr<SyslogServer>> SyslogServer::Create(
    const std::vector<SyslogEndpoint>& endpoints, Monitor& monitor, NoticeFn notice,
    SyslogLimits limits) {
  std::unique_ptr<SyslogServer> server(new SyslogServer(monitor, std::move(notice), limits));
  for (const SyslogEndpoint& e : endpoints) {
    const std::string url =
        Cat(e.transport == SyslogTransport::kUdp ? "udp://" : "tcp://",
            e.address.find(':') != std::string::npos ? Cat("[", e.address, "]") : e.address, ":",
            std::to_string(e.port));
    auto fail = [&](std::string_view what) {
      const std::string why = ErrnoText();
      return Error::Unavailable(
          Cat("syslog の待ち受けを開けません（", what, "）: ", url, ": ", why),
          Cat("cannot listen for syslog (", what, "): ", url, ": ", why));
    };
    sockaddr_storage address{};
    socklen_t length = 0;
    const bool v6 = e.address.find(':') != std::string::npos;
    if (v6) {
      auto* a = reinterpret_cast<sockaddr_in6*>(&address);
      a->sin6_family = AF_INET6;
      a->sin6_port = htons(e.port);
      if (inet_pton(AF_INET6, e.address.c_str(), &a->sin6_addr) != 1) {
        errno = EINVAL;
        return fail("address");
      }
      length = sizeof(sockaddr_in6);
    } else {
      auto* a = reinterpret_cast<sockaddr_in*>(&address);
      a->sin_family = AF_INET;
      a->sin_port = htons(e.port);
      if (inet_pton(AF_INET, e.address.c_str(), &a->sin_addr) != 1) {
        errno = EINVAL;
        return fail("address");
      }
      length = sizeof(sockaddr_in);
    }
    auto listener = std::make_unique<Listener>();
    listener->transport = e.transport;
    listener->fd = ::socket(v6 ? AF_INET6 : AF_INET,
                            (e.transport == SyslogTransport::kUdp ? SOCK_DGRAM : SOCK_STREAM) |
                                SOCK_NONBLOCK | SOCK_CLOEXEC,
                            0);
    if (listener->fd < 0) return fail("socket");
    const int one = 1;
    if (v6) ::setsockopt(listener->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (e.transport == SyslogTransport::kTcp) {
      ::setsockopt(listener->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    }
    if (::bind(listener->fd, reinterpret_cast<sockaddr*>(&address), length) != 0) {
      return fail("bind");
    }
    if (e.transport == SyslogTransport::kTcp && ::listen(listener->fd, 64) != 0) {
      return fail("listen");
    }
    sockaddr_storage bound{};
    socklen_t bound_length = sizeof bound;
    if (::getsockname(listener->fd, reinterpret_cast<sockaddr*>(&bound), &bound_length) != 0) {
      return fail("getsockname");
    }
    server->ports_.push_back(ntohs(v6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                      : reinterpret_cast<sockaddr_in*>(&bound)->sin_port));
    server->listeners_.push_back(std::move(listener));
  }
  server->buffer_.resize(kMaxSyslogMessage + 1);
  server->Rebuild();
  server->counts_.listening = true;  // the summary says so even before any message
  monitor.SetListenerCounts(server->counts_);
  return server;
}

InputId SyslogServer::InputFor(SyslogTransport transport, const std::string& address) {
  const char* kind = transport == SyslogTransport::kUdp ? "udp " : "tcp ";
  const auto now = Now();
  std::string key = Cat(kind, address);
  auto it = senders_.find(key);
  if (it != senders_.end()) {
    it->second.last_active = now;
    return it->second.input;
  }
  const bool named = named_.count(key) > 0;
  if (!named && named_.size() >= limits_.max_sender_names) {
    if (!names_full_said_) {
      names_full_said_ = true;
      notice_(Cat("syslog: この実行で自分の入力を持った送信元が上限（",
                  std::to_string(limits_.max_sender_names),
                  "）に達しました。これより後の新しい"
                  "送信元は「",
                  kind, "(others)」にまとめます。"),
              Cat("syslog: the senders that had an input of their own in this run reached the "
                  "limit (",
                  std::to_string(limits_.max_sender_names),
                  "); new senders from now on are merged into \"", kind, "(others)\"."));
    }
    ++counts_.merged_senders;
    return OthersInput(kind);
  }
  if (senders_.size() >= limits_.max_senders && !RetireIdleSender()) {
    // Said once: while no sender gives way, new senders share one input (their evidence names
    // no address; spoofed UDP sources can fill the table).
    if (counts_.merged_senders++ == 0) {
      notice_(
          Cat("syslog: 送信元が多すぎます（上限 ", std::to_string(limits_.max_senders),
              "）。無通信の送信元が空くまで、新しい送信元は「", kind, "(others)」にまとめます。"),
          Cat("syslog: too many senders (limit ", std::to_string(limits_.max_senders),
              "); until a silent sender gives way, new senders are merged into \"", kind,
              "(others)\"."));
    }
    return OthersInput(kind);
  }
  const InputId id = monitor_.OpenInput(Cat("syslog ", key), InputFormat::kNetfilter);
  if (!named) named_.insert(key);
  senders_.emplace(std::move(key), Sender{id, now});
  return id;
}

InputId SyslogServer::OthersInput(const char* kind) {
  std::string key = Cat(kind, "(others)");
  auto it = others_.find(key);
  if (it != others_.end()) return it->second;
  const InputId id = monitor_.OpenInput(Cat("syslog ", key), InputFormat::kNetfilter);
  others_.emplace(std::move(key), id);
  return id;
}

bool SyslogServer::RetireIdleSender() {
  const auto now = Now();
  if (now < next_retire_) return false;
  std::vector<InputId> connected;
  for (const auto& c : connections_) connected.push_back(c->input);
  std::sort(connected.begin(), connected.end());
  auto oldest = senders_.end();
  for (auto it = senders_.begin(); it != senders_.end(); ++it) {
    if (std::binary_search(connected.begin(), connected.end(), it->second.input)) continue;
    if (oldest == senders_.end() || it->second.last_active < oldest->second.last_active) {
      oldest = it;
    }
  }
  if (oldest == senders_.end() || now - oldest->second.last_active < limits_.sender_idle) {
    // Nobody can give way before the oldest has been silent long enough (a connected sender
    // may close sooner: look again then too, at most once a second).
    next_retire_ = oldest == senders_.end()
                       ? now + std::chrono::seconds(1)
                       : std::min(oldest->second.last_active + limits_.sender_idle,
                                  now + std::chrono::seconds(1));
    return false;
  }
  if (counts_.retired_senders++ == 0) {
    notice_(Cat("syslog: 送信元が上限（", std::to_string(limits_.max_senders),
                "）に達したため、無通信の送信元を「(others)」の集計に移して、新しい送信元に"
                "場所を空けます。"),
            Cat("syslog: sender limit (", std::to_string(limits_.max_senders),
                ") reached; silent senders are folded into \"(others)\" to make room for new "
                "ones."));
  }
  const char* oldest_kind = oldest->first.rfind("udp ", 0) == 0 ? "udp " : "tcp ";
  monitor_.RetireInput(oldest->second.input, OthersInput(oldest_kind));
  senders_.erase(oldest);
  return true;
}

const std::vector<pollfd>& SyslogServer::fds() {
  const auto now = Now();
  for (size_t i = 0; i < listeners_.size() && i < fds_.size(); ++i) {
    fds_[i].events = now < listeners_[i]->paused_until ? 0 : POLLIN;
  }
  return fds_;
}

void SyslogServer::Rebuild() {
  fds_.clear();
  for (const auto& l : listeners_) fds_.push_back({l->fd, POLLIN, 0});
  for (const auto& c : connections_) fds_.push_back({c->fd, POLLIN, 0});
}

void SyslogServer::Accept(Listener& listener) {
  while (true) {
    sockaddr_storage peer{};
    socklen_t length = sizeof peer;
    const int fd = ::accept4(listener.fd, reinterpret_cast<sockaddr*>(&peer), &length,
                             SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        // The connection stays queued and the listener stays readable: without a pause the
        // loop would spin. Stop polling it for a second (fds() asks for nothing until then).
        listener.paused_until = Now() + std::chrono::seconds(1);
        if (counts_.accept_failures++ == 0) {
          notice_("syslog: 記述子が足りず接続を受け付けられません。1 秒おきに試します。",
                  "syslog: out of descriptors, cannot accept; trying again every second.");
        }
      }
      return;  // EAGAIN: nothing more to accept
    }
    // Full: a connection silent for a while gives way (its sender reconnects when it has
    // something to say), so idle connections cannot keep a firewall out for good. It is only
    // marked here (Handle closes it after its loop: the descriptors' order must not change
    // while Handle walks them).
    size_t open = 0;
    for (const auto& c : connections_) open += c->evict ? 0 : 1;
    if (open >= kMaxSyslogConnections) {
      Connection* oldest = nullptr;
      for (const auto& c : connections_) {
        if (!c->evict && (oldest == nullptr || c->last_active < oldest->last_active)) {
          oldest = c.get();
        }
      }
      if (oldest != nullptr && Now() - oldest->last_active >= limits_.idle_give_way) {
        oldest->evict = true;
        ++counts_.idle_closed;
        --open;
      }
    }
    if (open >= kMaxSyslogConnections) {
      ::close(fd);
      if (counts_.refused_connections++ == 0) {
        notice_(Cat("syslog: 接続が多すぎます（上限 ", std::to_string(kMaxSyslogConnections),
                    "）。これを超える接続はすぐに閉じます。"),
                Cat("syslog: too many connections (limit ", std::to_string(kMaxSyslogConnections),
                    "); closing further ones at once."));
      }
      continue;
    }
    ++counts_.connections;
    auto c = std::make_unique<Connection>();
    c->fd = fd;
    c->last_active = Now();
    c->sender = Cat("tcp ", PeerAddress(peer));
    c->input = InputFor(SyslogTransport::kTcp, PeerAddress(peer));
    connections_.push_back(std::move(c));
  }
}

void SyslogServer::ReadDatagrams(Listener& listener) {
  for (int i = 0; i < kDatagramsPerHandle; ++i) {
    sockaddr_storage peer{};
    socklen_t length = sizeof peer;
    const ssize_t n = ::recvfrom(listener.fd, buffer_.data(), buffer_.size(), MSG_TRUNC,
                                 reinterpret_cast<sockaddr*>(&peer), &length);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;  // EAGAIN: nothing more for now
    }
    if (n == 0) continue;
    ++counts_.messages;
    const InputId input = InputFor(SyslogTransport::kUdp, PeerAddress(peer));
    const size_t size = static_cast<size_t>(n);
    if (size > kMaxSyslogMessage) {
      monitor_.FeedMalformed(input, kTooLong, std::string_view(buffer_.data(), kExcerptBytes));
    } else {
      monitor_.FeedMessage(input, std::string_view(buffer_.data(), size));
    }
  }
}

bool SyslogServer::ReadStream(Connection& c) {
  c.last_active = Now();
  MonitorSink sink(monitor_, c.input, counts_.messages);
  size_t total = 0;
  while (total < kStreamBytesPerHandle) {
    const ssize_t n = ::read(c.fd, buffer_.data(), buffer_.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return true;
      c.framer.End(sink);  // reset or other error: the connection is over
      return false;
    }
    if (n == 0) {
      c.framer.End(sink);
      return false;
    }
    total += static_cast<size_t>(n);
    c.framer.Feed(std::string_view(buffer_.data(), static_cast<size_t>(n)), sink);
  }
  return true;
}

void SyslogServer::Handle(const std::vector<pollfd>& ready) {
  const size_t listeners = listeners_.size();
  std::vector<bool> closed(connections_.size(), false);
  for (size_t i = 0; i < ready.size() && i < fds_.size(); ++i) {
    if (ready[i].revents == 0) continue;
    if (i < listeners) {
      Listener& l = *listeners_[i];
      if (l.transport == SyslogTransport::kUdp) {
        ReadDatagrams(l);
      } else {
        Accept(l);
      }
    } else if (i - listeners < closed.size()) {
      closed[i - listeners] = !ReadStream(*connections_[i - listeners]);
    }
  }
  size_t kept = 0;
  for (size_t i = 0; i < connections_.size(); ++i) {
    Connection& c = *connections_[i];
    const bool ends = (i < closed.size() && closed[i]) || c.evict;
    if (c.evict) {  // a message it had begun is cut: counted as such
      MonitorSink sink(monitor_, c.input, counts_.messages);
      c.framer.End(sink);
    }
    if (ends) {  // the sender's silence starts when its connection ends
      if (auto s = senders_.find(c.sender); s != senders_.end())
        s->second.last_active = c.last_active;
      continue;
    }
    connections_[kept++] = std::move(connections_[i]);
  }
  connections_.resize(kept);
  Rebuild();
  monitor_.SetListenerCounts(counts_);
}

void SyslogServer::Stop() {
  connections_.clear();
  Rebuild();
  monitor_.SetListenerCounts(counts_);
}

}  // namespace mamori::monitor
