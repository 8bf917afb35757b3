// The HTTP adapter: Boost.Beast over Asio, asynchronous, on a pool of threads. It turns wire
// requests into api::HttpRequest, enforces the transport limits (header size, body size per
// route, request time), the per-client rate limit and the security headers, writes the access
// log, and shuts down gracefully on SIGINT/SIGTERM: it stops accepting, closes idle
// connections, lets requests in flight finish (up to `shutdown_grace`), then returns.
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
  std::chrono::seconds request_timeout{30};     // to receive a whole request
  std::chrono::seconds keep_alive_timeout{60};  // idle connection
  double rate_limit_per_second = 50;            // per client address; 0 disables
  double rate_limit_burst = 200;
  std::chrono::seconds shutdown_grace{10};
  bool access_log = true;
  bool handle_signals = true;  // install SIGINT/SIGTERM handlers
};

class Server {
 public:
  // Binds the listening socket (so the port is known before Run). kUnavailable when the
  // address cannot be bound.
  static Result<std::unique_ptr<Server>> Create(const ServerOptions& options, const api::Api& api);
  virtual ~Server() = default;

  virtual uint16_t port() const = 0;
  // Serves until SIGINT/SIGTERM (when handle_signals) or Stop(); returns after the graceful
  // shutdown.
  virtual void Run() = 0;
  virtual void Stop() = 0;
};

}  // namespace mamori::server
