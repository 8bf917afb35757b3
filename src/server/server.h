// The HTTP adapter: Boost.Beast over Asio, asynchronous, on a pool of threads. It turns wire
// requests into api::HttpRequest, enforces the transport limits (header size, body size per
// route, request time, open connections), the per-client rate limit and the security headers,
// writes the access log, and shuts down gracefully on SIGINT/SIGTERM: it stops accepting,
// closes idle connections, lets requests in flight finish (up to `shutdown_grace`), then
// returns.
//
// Limits and deadlines:
// - A request's line and headers must arrive within `request_timeout` (on a new connection)
//   or `keep_alive_timeout` (the next request on a connection that has served one), and be at
//   most `header_limit` bytes (else 431).
// - The body size allowed is api::Api::BodyLimit(method, path, cookie, authorization): the
//   larger sizes of file uploads only with a valid session or token. A Content-Length above it is
//   answered 413 as soon as the header has arrived, before any of the body is read (and
//   before "100 Continue"); a chunked body that grows beyond it is answered 413 too. The body
//   must arrive within `request_timeout` of the end of the header.
// - Each response gets a write deadline of its own: `request_timeout` plus one second per
//   64 KiB of body, so that a large export to a slow client is not cut by the time spent
//   receiving and handling the request.
// - At most `max_connections` connections are open at once; beyond that a new connection is
//   answered with a bare "503 Service Unavailable" and closed at once.
// - A connection closed after an error answer (413, 431, 429...) first stops sending, then
//   reads and discards what the client still sends for up to 5 s, so that the client reads
//   the answer instead of a connection reset.
//
// Thread-safety: Run() once from one thread; Stop() from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "api/api.h"
#include "common/result.h"

namespace mamori::server {

struct ServerOptions {
  std::string address = "127.0.0.1";            // listen address
  uint16_t port = 8080;                         // 0: the kernel picks one (tests)
  int threads = 0;                              // 0: one per core
  size_t header_limit = 16u << 10;              // request line and headers, bytes
  std::chrono::seconds request_timeout{30};     // to receive a whole request; see above
  std::chrono::seconds keep_alive_timeout{60};  // idle connection between requests
  int max_connections = 1024;                   // open at once; beyond it, 503 and close
  double rate_limit_per_second = 50;            // per client address; 0 disables
  double rate_limit_burst = 200;
  std::chrono::seconds shutdown_grace{10};
  bool access_log = true;
  bool handle_signals = true;     // install SIGINT/SIGTERM handlers
  std::string tls_cert;           // PEM certificate chain; with tls_key, serve HTTPS (TLS 1.2+)
  std::string tls_key;            // PEM private key
  bool allow_plain_http = false;  // plain HTTP beyond loopback only when this is set
};

class Server {
 public:
  // Binds the listening socket (so the port is known before Run). kUnavailable when the
  // address cannot be bound.
  static Result<std::unique_ptr<Server>> Create(const ServerOptions& options, const api::Api& api);
  virtual ~Server() = default;

  virtual uint16_t port() const = 0;
  virtual bool tls() const = 0;
  // Serves until SIGINT/SIGTERM (when handle_signals) or Stop(); returns after the graceful
  // shutdown.
  virtual void Run() = 0;
  virtual void Stop() = 0;
};

}  // namespace mamori::server
