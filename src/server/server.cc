#include "server/server.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/log.h"

namespace mamori::server {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = net::ip::tcp;

// How long a connection closed after an answer keeps reading (and discarding) what the client
// still sends, so that the client gets to read the answer instead of a reset.
constexpr std::chrono::seconds kLinger{5};

// Each response may take this long to write beyond request_timeout, per 64 KiB of body.
constexpr std::chrono::seconds kWriteTimePer64KiB{1};

constexpr const char* kCsp =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'self'";

std::string JsonEscape(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

// Token bucket per client address.
class RateLimiter {
 public:
  RateLimiter(double per_second, double burst) : rate_(per_second), burst_(burst) {}
  bool Allow(const std::string& client) {
    if (rate_ <= 0) return true;
    const auto now = std::chrono::steady_clock::now();
    std::lock_guard lock(mu_);
    if (buckets_.size() > 50'000) Prune(now);
    auto [it, inserted] = buckets_.try_emplace(client, Bucket{burst_, now});
    Bucket& b = it->second;
    const double elapsed = std::chrono::duration<double>(now - b.last).count();
    b.tokens = std::min(burst_, b.tokens + elapsed * rate_);
    b.last = now;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

 private:
  struct Bucket {
    double tokens;
    std::chrono::steady_clock::time_point last;
  };
  void Prune(std::chrono::steady_clock::time_point now) {
    for (auto it = buckets_.begin(); it != buckets_.end();) {
      it = now - it->second.last > std::chrono::minutes(5) ? buckets_.erase(it) : std::next(it);
    }
  }
  const double rate_;
  const double burst_;
  std::mutex mu_;  // guards buckets_
  std::unordered_map<std::string, Bucket> buckets_;
};

struct Shared;

// What the server keeps of each connection, whatever its stream.
class SessionBase {
 public:
  virtual ~SessionBase() = default;
  // Closes the connection if it is waiting for a new request (used at shutdown).
  virtual void CloseIfIdle() = 0;
};

// One connection. `Stream` is beast::tcp_stream (plain HTTP) or
// beast::ssl_stream<beast::tcp_stream> (HTTPS).
template <class Stream>
class Session : public SessionBase, public std::enable_shared_from_this<Session<Stream>> {
 public:
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;
  template <class... Args>
  explicit Session(Shared& shared, Args&&... stream_args);
  ~Session() override;
  void Start();
  void CloseIfIdle() override;

 private:
  void ReadHeader();
  void OnHeader(beast::error_code ec);
  void ReadBody();
  void OnBody(beast::error_code ec);
  void Reply(api::HttpResponse res, bool keep_alive);
  void OnWrite(bool keep_alive, beast::error_code ec);
  // Stops sending, then reads and discards until the client closes or kLinger passes.
  void LingeringClose();
  void Drain();
  void Close();
  auto& Lowest() { return beast::get_lowest_layer(stream_); }
  using std::enable_shared_from_this<Session<Stream>>::shared_from_this;
  using std::enable_shared_from_this<Session<Stream>>::weak_from_this;

  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<http::response<http::string_body>> res_;
  std::shared_ptr<http::response<http::empty_body>> continue_;
  Shared& shared_;
  std::string client_;
  std::chrono::steady_clock::time_point started_;
  size_t requests_served_ = 0;
  std::atomic<bool> idle_{true};
};

struct Shared {
  Shared(const api::Api& a, const ServerOptions& o)
      : api(a), options(o), limiter(o.rate_limit_per_second, o.rate_limit_burst) {}
  const api::Api& api;
  const ServerOptions& options;
  RateLimiter limiter;
  std::atomic<bool> shutting_down{false};
  std::mutex sessions_mu;  // guards sessions
  std::set<std::weak_ptr<SessionBase>, std::owner_less<std::weak_ptr<SessionBase>>> sessions;
  std::atomic<int> live{0};  // sessions alive (constructed, not yet destroyed)
};

template <class Stream>
template <class... Args>
Session<Stream>::Session(Shared& shared, Args&&... stream_args)
    : stream_(std::forward<Args>(stream_args)...), shared_(shared) {
  ++shared_.live;
}

template <class Stream>
Session<Stream>::~Session() {
  --shared_.live;
}

template <class Stream>
void Session<Stream>::Start() {
  beast::error_code ec;
  const auto ep = Lowest().socket().remote_endpoint(ec);
  client_ = ec ? "unknown" : ep.address().to_string();
  {
    std::lock_guard lock(shared_.sessions_mu);
    if (shared_.sessions.size() > 1024) {
      std::erase_if(shared_.sessions, [](const auto& w) { return w.expired(); });
    }
    shared_.sessions.insert(weak_from_this());
  }
  if constexpr (kTls) {
    Lowest().expires_after(shared_.options.request_timeout);
    stream_.async_handshake(ssl::stream_base::server,
                            [self = shared_from_this()](beast::error_code ec) {
                              if (ec) return self->Close();  // not TLS, bad certificate, timeout
                              self->ReadHeader();
                            });
  } else {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->ReadHeader(); });
  }
}

template <class Stream>
void Session<Stream>::CloseIfIdle() {
  net::post(stream_.get_executor(), [self = shared_from_this()] {
    if (self->idle_ && self->buffer_.size() == 0) self->Close();
  });
}

template <class Stream>
void Session<Stream>::ReadHeader() {
  if (shared_.shutting_down) return Close();
  idle_ = true;
  parser_.emplace();
  parser_->header_limit(static_cast<uint32_t>(shared_.options.header_limit));
  // No body limit while the header is read: Beast would otherwise check a Content-Length
  // against its default of 1 MiB and fail the read with no answer. OnHeader checks it against
  // the route's limit instead.
  parser_->body_limit(boost::none);
  // A new connection gets request_timeout for its first request (a client that trickles its
  // header holds a connection no longer than that); keep_alive_timeout is for the wait
  // between requests on a connection that has served one.
  const bool waiting_between_requests = requests_served_ > 0 && buffer_.size() == 0;
  Lowest().expires_after(waiting_between_requests ? shared_.options.keep_alive_timeout
                                                  : shared_.options.request_timeout);
  http::async_read_header(
      stream_, buffer_, *parser_,
      [self = shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
}

api::HttpResponse Problem(ErrorCode code, int status, std::string ja, std::string en) {
  api::HttpResponse r = api::ProblemResponse(Error{code, std::move(ja), std::move(en), {}});
  r.status = status;
  return r;
}

template <class Stream>
void Session<Stream>::OnHeader(beast::error_code ec) {
  idle_ = false;
  started_ = std::chrono::steady_clock::now();
  if (ec == http::error::header_limit) {
    return Reply(Problem(ErrorCode::kTooLarge, 431, "リクエストヘッダーが大きすぎます。",
                         "request header fields too large"),
                 false);
  }
  if (ec) return Close();  // end of stream, timeout, reset, malformed
  if (!shared_.limiter.Allow(client_)) {
    api::HttpResponse r = Problem(ErrorCode::kUnavailable, 429,
                                  "リクエストが多すぎます。しばらくしてから再度お試しください。",
                                  "too many requests");
    r.headers.emplace_back("Retry-After", "1");
    return Reply(std::move(r), false);
  }
  const auto& req = parser_->get();
  const std::string_view target(req.target().data(), req.target().size());
  const std::string_view path = target.substr(0, target.find('?'));
  const size_t body_limit = shared_.api.BodyLimit(
      std::string_view(req.method_string().data(), req.method_string().size()), path,
      std::string_view(req[http::field::cookie].data(), req[http::field::cookie].size()),
      std::string_view(req[http::field::authorization].data(),
                       req[http::field::authorization].size()),
      client_);
  if (const auto length = parser_->content_length(); length && *length > body_limit) {
    return Reply(Problem(ErrorCode::kTooLarge, 413, "送信されたデータが大きすぎます。",
                         "request body too large"),
                 false);
  }
  parser_->body_limit(body_limit);  // for a chunked body, checked as it arrives
  Lowest().expires_after(shared_.options.request_timeout);
  if (beast::iequals(req[http::field::expect], "100-continue")) {
    continue_ =
        std::make_shared<http::response<http::empty_body>>(http::status::continue_, req.version());
    return http::async_write(stream_, *continue_,
                             [self = shared_from_this()](beast::error_code ec, size_t) {
                               if (ec) return self->Close();
                               self->ReadBody();
                             });
  }
  ReadBody();
}

template <class Stream>
void Session<Stream>::ReadBody() {
  http::async_read(stream_, buffer_, *parser_,
                   [self = shared_from_this()](beast::error_code ec, size_t) { self->OnBody(ec); });
}

template <class Stream>
void Session<Stream>::OnBody(beast::error_code ec) {
  if (ec == http::error::body_limit) {
    return Reply(Problem(ErrorCode::kTooLarge, 413, "送信されたデータが大きすぎます。",
                         "request body too large"),
                 false);
  }
  if (ec) return Close();
  auto& req = parser_->get();
  api::HttpRequest in;
  in.method = std::string(req.method_string());
  in.client = client_;
  auto target = api::ParseTarget(std::string_view(req.target().data(), req.target().size()));
  if (!target.ok()) return Reply(api::ProblemResponse(target.error()), false);
  in.path = std::move(target->path);
  in.query = std::move(target->query);
  std::string ct(req[http::field::content_type]);
  ct = ct.substr(0, ct.find(';'));
  while (!ct.empty() && ct.back() == ' ') ct.pop_back();
  for (char& c : ct) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  in.content_type = std::move(ct);
  in.if_match = std::string(req[http::field::if_match]);
  in.cookie = std::string(req[http::field::cookie]);
  in.csrf_token = std::string(req["X-CSRF-Token"]);
  in.authorization = std::string(req[http::field::authorization]);
  in.tls = kTls;
  in.body = std::move(req.body());
  api::HttpResponse out = shared_.api.Handle(in);
  if (in.method == "HEAD") {
    out.headers.emplace_back("Content-Length", std::to_string(out.body.size()));
    out.body.clear();
  }
  Reply(std::move(out), req.keep_alive() && !shared_.shutting_down);
}

template <class Stream>
void Session<Stream>::Reply(api::HttpResponse r, bool keep_alive) {
  auto res = std::make_shared<http::response<http::string_body>>(
      static_cast<http::status>(r.status), parser_ ? parser_->get().version() : 11);
  res->set(http::field::server, "mamori");
  if (!r.content_type.empty()) res->set(http::field::content_type, r.content_type);
  bool has_cache_control = false;
  bool has_length = false;
  bool has_csp = false;  // a self-contained document (a printable report) brings its own
  for (auto& [k, v] : r.headers) {
    has_cache_control |= beast::iequals(k, "Cache-Control");
    has_csp |= beast::iequals(k, "Content-Security-Policy");
    has_length |= beast::iequals(k, "Content-Length");
    // Set-Cookie may repeat; every other header is set once.
    if (beast::iequals(k, "Set-Cookie")) {
      res->insert(k, v);
    } else {
      res->set(k, v);
    }
  }
  if (!has_cache_control) res->set(http::field::cache_control, "no-store");
  if (!has_csp) res->set("Content-Security-Policy", kCsp);
  res->set("X-Content-Type-Options", "nosniff");
  res->set("X-Frame-Options", "DENY");
  res->set("Referrer-Policy", "no-referrer");
  res->set("Cross-Origin-Opener-Policy", "same-origin");
  res->set("Permissions-Policy", "camera=(), microphone=(), geolocation=()");
  if constexpr (kTls) res->set("Strict-Transport-Security", "max-age=31536000");
  res->body() = std::move(r.body);
  if (!has_length) res->prepare_payload();
  res->keep_alive(keep_alive);
  if (shared_.options.access_log && parser_) {
    const auto& req = parser_->get();
    const std::string_view target(req.target().data(), req.target().size());
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started_)
            .count();
    char dur[32];
    std::snprintf(dur, sizeof dur, "%.2f", ms);
    log::Info(
        "http",
        "\"client\":\"" + client_ + "\",\"method\":\"" +
            JsonEscape(std::string_view(req.method_string().data(), req.method_string().size())) +
            "\",\"path\":\"" + JsonEscape(target.substr(0, target.find('?')).substr(0, 512)) +
            "\",\"status\":" + std::to_string(r.status) +
            ",\"bytes\":" + std::to_string(res->body().size()) + ",\"ms\":" + dur);
  }
  res_ = res;
  Lowest().expires_after(shared_.options.request_timeout +
                         kWriteTimePer64KiB * static_cast<int64_t>(res_->body().size() >> 16));
  http::async_write(stream_, *res_,
                    [self = shared_from_this(), keep_alive](beast::error_code ec, size_t) {
                      self->OnWrite(keep_alive, ec);
                    });
}

template <class Stream>
void Session<Stream>::OnWrite(bool keep_alive, beast::error_code ec) {
  res_.reset();
  ++requests_served_;
  if (ec) return Close();
  if (!keep_alive) return LingeringClose();
  ReadHeader();
}

template <class Stream>
void Session<Stream>::LingeringClose() {
  beast::error_code ec;
  Lowest().socket().shutdown(tcp::socket::shutdown_send, ec);
  if (ec) return Close();
  buffer_.clear();
  Lowest().expires_after(kLinger);
  Drain();
}

template <class Stream>
void Session<Stream>::Drain() {
  stream_.async_read_some(buffer_.prepare(16u << 10),
                          [self = shared_from_this()](beast::error_code ec, size_t) {
                            if (ec) return self->Close();  // end of stream, reset or kLinger
                            self->buffer_.clear();
                            self->Drain();
                          });
}

template <class Stream>
void Session<Stream>::Close() {
  beast::error_code ec;
  Lowest().socket().shutdown(tcp::socket::shutdown_both, ec);
  Lowest().socket().close(ec);
}

// One io_context per thread: a connection lives on one thread for its whole life, so its
// handlers need no strand and wake no other thread.
class BeastServer final : public Server {
 private:
  // TLS 1.2 or later with the certificate chain and key of the settings.
  Status LoadTls() {
    if (options_.tls_cert.empty() || options_.tls_key.empty()) {
      return Error::Invalid("tls_cert と tls_key は両方を設定してください。",
                            "set both tls_cert and tls_key");
    }
    tls_.emplace(ssl::context::tls_server);
    tls_->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                      ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                      ssl::context::single_dh_use);
    beast::error_code ec;
    tls_->use_certificate_chain_file(options_.tls_cert, ec);
    if (ec) {
      return Error::Invalid("証明書を読めません: " + options_.tls_cert + " (" + ec.message() + ")",
                            "cannot load certificate " + options_.tls_cert + ": " + ec.message());
    }
    tls_->use_private_key_file(options_.tls_key, ssl::context::pem, ec);
    if (ec) {
      return Error::Invalid("秘密鍵を読めません: " + options_.tls_key + " (" + ec.message() + ")",
                            "cannot load private key " + options_.tls_key + ": " + ec.message());
    }
    return {};
  }

 public:
  BeastServer(const ServerOptions& options, const api::Api& api)
      : options_(options), shared_(api, options_) {
    const int n = options.threads > 0
                      ? options.threads
                      : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    for (int i = 0; i < n; ++i) {
      ios_.push_back(std::make_unique<net::io_context>(1));
      guards_.emplace_back(net::make_work_guard(*ios_.back()));
    }
    acceptor_.emplace(*ios_[0]);
    signals_.emplace(*ios_[0]);
    deadline_.emplace(*ios_[0]);
  }

  Status Bind() {
    beast::error_code ec;
    const auto address = net::ip::make_address(options_.address, ec);
    if (ec) {
      return Error::Invalid("待ち受けアドレスが正しくありません: " + options_.address,
                            "bad listen address " + options_.address);
    }
    if (!options_.tls_cert.empty() || !options_.tls_key.empty()) {
      MAMORI_TRY(LoadTls());
    } else if (!address.is_loopback() && !options_.allow_plain_http) {
      return Error::Invalid(
          "TLS(tls_cert と tls_key)を設定せずに、ループバック以外のアドレス(" + options_.address +
              ")で待ち受けることはできません。TLS を設定するか、安全なネットワークであることを"
              "確認したうえで allow_plain_http = true を設定してください。",
          "plain HTTP is allowed only on loopback unless allow_plain_http is set");
    }
    const tcp::endpoint ep(address, options_.port);
    acceptor_->open(ep.protocol(), ec);
    if (!ec) acceptor_->set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_->bind(ep, ec);
    if (!ec) acceptor_->listen(net::socket_base::max_listen_connections, ec);
    if (ec) {
      return Error::Unavailable("ポートを開けません: " + options_.address + ":" +
                                    std::to_string(options_.port) + " (" + ec.message() + ")",
                                "cannot listen on " + options_.address + ":" +
                                    std::to_string(options_.port) + ": " + ec.message());
    }
    port_ = acceptor_->local_endpoint().port();
    return {};
  }

  uint16_t port() const override { return port_; }
  bool tls() const override { return tls_.has_value(); }

  void Run() override {
    if (options_.handle_signals) {
      signals_->add(SIGINT);
      signals_->add(SIGTERM);
      signals_->async_wait([this](beast::error_code ec, int sig) {
        if (!ec) {
          log::Info("shutdown", "\"signal\":" + std::to_string(sig));
          BeginShutdown();
        }
      });
    }
    Accept();
    std::vector<std::thread> pool;
    for (size_t i = 1; i < ios_.size(); ++i) pool.emplace_back([this, i] { ios_[i]->run(); });
    ios_[0]->run();
    for (auto& t : pool) t.join();
    log::Info("stopped");
  }

  void Stop() override {
    net::post(*ios_[0], [this] { BeginShutdown(); });
  }

 private:
  void Accept() {
    net::io_context& target = *ios_[next_++ % ios_.size()];
    acceptor_->async_accept(target, [this](beast::error_code ec, tcp::socket s) {
      if (ec) {
        if (ec == net::error::operation_aborted || shared_.shutting_down) return;
        log::Warn("accept_failed", "\"error\":\"" + JsonEscape(ec.message()) + "\"");
      } else if (shared_.live >= options_.max_connections) {
        if (!saturated_) {
          log::Warn("connection_limit",
                    "\"max_connections\":" + std::to_string(options_.max_connections));
        }
        saturated_ = true;
        Refuse(std::move(s));
      } else {
        saturated_ = false;
        if (tls_) {
          std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(shared_, std::move(s),
                                                                          *tls_)
              ->Start();
        } else {
          std::make_shared<Session<beast::tcp_stream>>(shared_, std::move(s))->Start();
        }
      }
      if (!shared_.shutting_down) Accept();
    });
  }

  // Answers a connection beyond max_connections with a bare 503 and closes it, without
  // blocking and without keeping any state for it.
  static void Refuse(tcp::socket socket) {
    static constexpr std::string_view kBusy =
        "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nRetry-After: 1\r\n"
        "Connection: close\r\n\r\n";
    beast::error_code ec;
    socket.non_blocking(true, ec);
    if (!ec) socket.write_some(net::buffer(kBusy), ec);
    socket.shutdown(tcp::socket::shutdown_send, ec);
    // Whatever of the request has arrived is read, so that close() does not turn into a reset
    // that could destroy the answer before the client reads it.
    char discard[4096];
    while (!ec) socket.read_some(net::buffer(discard), ec);
    socket.close(ec);
  }

  // Runs on ios_[0].
  void BeginShutdown() {
    if (shared_.shutting_down.exchange(true)) return;
    beast::error_code ec;
    acceptor_->close(ec);
    signals_->cancel(ec);
    {
      std::lock_guard lock(shared_.sessions_mu);
      for (const auto& w : shared_.sessions) {
        if (auto s = w.lock()) s->CloseIfIdle();
      }
      shared_.sessions.clear();
    }
    // Requests in flight finish; whatever is still running after the grace period is cut.
    deadline_->expires_after(options_.shutdown_grace);
    deadline_->async_wait([this](beast::error_code ec) {
      if (!ec) {
        log::Warn("shutdown_grace_expired");
        for (auto& io : ios_) io->stop();
      }
    });
    WaitForSessions();
  }

  void WaitForSessions() {
    auto timer = std::make_shared<net::steady_timer>(*ios_[0], std::chrono::milliseconds(20));
    timer->async_wait([this, timer](beast::error_code) {
      if (shared_.live == 0) {
        deadline_->cancel();
        for (auto& g : guards_) g.reset();  // each io_context returns once idle
      } else {
        WaitForSessions();
      }
    });
  }

  // Declared before ios_ so that they outlive the io_contexts: destroying an io_context
  // destroys the handlers still queued on it (after the shutdown grace has expired), and with
  // them the last references to their sessions, whose destructors use shared_.
  ServerOptions options_;
  Shared shared_;
  std::vector<std::unique_ptr<net::io_context>> ios_;
  std::vector<net::executor_work_guard<net::io_context::executor_type>> guards_;
  std::optional<tcp::acceptor> acceptor_;      // on ios_[0]
  std::optional<net::signal_set> signals_;     // on ios_[0]
  std::optional<net::steady_timer> deadline_;  // on ios_[0]
  std::optional<ssl::context> tls_;            // set when serving HTTPS
  size_t next_ = 0;                            // round-robin over ios_; only touched on ios_[0]
  bool saturated_ = false;  // at max_connections (logged once per episode); only on ios_[0]
  uint16_t port_ = 0;
};

}  // namespace

Result<std::unique_ptr<Server>> Server::Create(const ServerOptions& options, const api::Api& api) {
  auto s = std::make_unique<BeastServer>(options, api);
  MAMORI_TRY(s->Bind());
  return std::unique_ptr<Server>(std::move(s));
}

}  // namespace mamori::server
