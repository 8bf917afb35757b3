// The HTTP vocabulary of the API layer, independent of the server library: a parsed request
// in, a response out. The server adapter (src/server) converts to and from the wire.
//
// Plain values; thread-safe to copy.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace mamori::api {

using QueryParams = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method;  // "GET", "POST", …
  std::string path;    // percent-decoded path, without the query
  QueryParams query;   // decoded, in order
  std::string body;
  std::string content_type;  // lower-cased media type without parameters
  std::string if_match;
  std::string client;         // client IP address
  std::string cookie;         // the Cookie header as sent
  std::string csrf_token;     // the X-CSRF-Token header
  std::string authorization;  // the Authorization header (service accounts' bearer tokens)
  bool tls = false;           // arrived over HTTPS (cookies get Secure)
};

// The value of cookie `name` in a Cookie header ("a=1; b=2"), or "".
std::string CookieValue(std::string_view header, std::string_view name);

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

struct Target {
  std::string path;
  QueryParams query;
};

// Splits a request target ("/a/b?x=1&y=%E7%B7%8F") into a decoded path and query parameters.
// Rejects (kInvalidInput) malformed percent escapes, NUL or control bytes, invalid UTF-8,
// paths not starting with '/', "." or ".." segments, more than 64 parameters, and targets
// longer than 8 KiB. '+' in the query means a space.
Result<Target> ParseTarget(std::string_view target);

// The single mapping from ErrorCode to HTTP status.
int HttpStatusFor(ErrorCode code);

// application/problem+json for an error: Japanese `detail`, English `detail_en`, and the
// field errors (with row and column for imports).
HttpResponse ProblemResponse(const Error& error);

}  // namespace mamori::api
