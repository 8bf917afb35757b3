#include "cli/evidence_client.h"

#include <chrono>
#include <fstream>
#include <sstream>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <nlohmann/json.hpp>

namespace mamori::cli {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using nlohmann::json;

namespace {

constexpr auto kTimeout = std::chrono::seconds(30);

Error BadUrl(const std::string& url) {
  return Error::Invalid(
      "--report-to の URL が正しくありません: " + url + "(例: https://mamori.example.lg.jp)",
      "bad --report-to URL");
}

template <class Stream>
Result<json> Exchange(Stream& stream, const EvidenceTarget& t, const std::string& body) {
  http::request<http::string_body> req{http::verb::post, t.base_path + "/api/v1/evidence", 11};
  req.set(http::field::host, t.host);
  req.set(http::field::user_agent, "mamori-engine");
  req.set(http::field::content_type, "application/json");
  req.set(http::field::authorization, "Bearer " + t.token);
  req.body() = body;
  req.prepare_payload();
  http::write(stream, req);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(4u << 20);
  http::read(stream, buffer, parser);
  const auto& res = parser.get();
  json answer = json::parse(res.body(), nullptr, false);
  if (res.result_int() == 201 && answer.is_object()) return answer;
  std::string detail =
      answer.is_object() && answer.contains("detail") && answer["detail"].is_string()
          ? answer["detail"].get<std::string>()
          : res.body().substr(0, 200);
  if (answer.is_object() && answer.contains("errors") && answer["errors"].is_array()) {
    for (const json& e : answer["errors"]) {
      if (e.is_object() && e.contains("message") && e["message"].is_string()) {
        detail += " " + e.value("field", std::string()) + ": " + e["message"].get<std::string>();
      }
    }
  }
  const std::string ja = "サーバーが証跡を受け付けませんでした(HTTP " +
                         std::to_string(res.result_int()) + "): " + detail;
  if (res.result_int() == 401 || res.result_int() == 403) {
    return Error::Denied(ja, "the server refused the token");
  }
  return Error::Invalid(ja, "the server refused the evidence");
}

}  // namespace

Result<EvidenceTarget> LoadEvidenceTarget(const std::string& url, const std::string& token_file,
                                          const std::string& ca_file) {
  EvidenceTarget t;
  std::string rest;
  if (url.rfind("https://", 0) == 0) {
    t.tls = true;
    rest = url.substr(8);
  } else if (url.rfind("http://", 0) == 0) {
    rest = url.substr(7);
  } else {
    return BadUrl(url);
  }
  const size_t slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  t.base_path = slash == std::string::npos ? "" : rest.substr(slash);
  while (!t.base_path.empty() && t.base_path.back() == '/') t.base_path.pop_back();
  for (char c : t.base_path) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == '?' || c == '#') return BadUrl(url);
  }
  if (!authority.empty() && authority[0] == '[') {  // [IPv6]:port
    const size_t close = authority.find(']');
    if (close == std::string::npos) return BadUrl(url);
    t.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return BadUrl(url);
      t.port = authority.substr(close + 2);
    }
  } else {
    const size_t colon = authority.rfind(':');
    t.host = authority.substr(0, colon);
    if (colon != std::string::npos) t.port = authority.substr(colon + 1);
  }
  if (t.port.empty()) t.port = t.tls ? "443" : "80";
  if (t.host.empty() || t.host.find('@') != std::string::npos || t.port.size() > 5 ||
      t.port.find_first_not_of("0123456789") != std::string::npos) {
    return BadUrl(url);
  }
  std::ifstream in(token_file);
  if (!in) {
    return Error::Invalid("トークンのファイルを読めません: " + token_file,
                          "cannot read the token file");
  }
  std::getline(in, t.token);
  while (!t.token.empty() && (t.token.back() == '\r' || t.token.back() == ' ')) t.token.pop_back();
  if (t.token.empty() || t.token.size() > 200) {
    return Error::Invalid("トークンのファイルの1行目にトークンを書いてください: " + token_file,
                          "no token in the token file");
  }
  t.ca_file = ca_file;
  return t;
}

Result<json> PostEvidence(const EvidenceTarget& t, const json& body) {
  const std::string text = body.dump(-1, ' ', false, json::error_handler_t::replace);
  try {
    asio::io_context io;
    asio::ip::tcp::resolver resolver(io);
    const auto endpoints = resolver.resolve(t.host, t.port);
    if (!t.tls) {
      beast::tcp_stream stream(io);
      stream.expires_after(kTimeout);
      stream.connect(endpoints);
      auto r = Exchange(stream, t, text);
      beast::error_code ec;
      stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
      return r;
    }
    asio::ssl::context ctx(asio::ssl::context::tls_client);
    ctx.set_default_verify_paths();
    if (!t.ca_file.empty()) ctx.load_verify_file(t.ca_file);
    ctx.set_verify_mode(asio::ssl::verify_peer);
    ctx.set_options(asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
    beast::ssl_stream<beast::tcp_stream> stream(io, ctx);
    if (!SSL_set_tlsext_host_name(stream.native_handle(), t.host.c_str())) {
      return Error::Unavailable("TLS の接続を準備できません。", "SNI failed");
    }
    stream.set_verify_callback(asio::ssl::host_name_verification(t.host));
    beast::get_lowest_layer(stream).expires_after(kTimeout);
    beast::get_lowest_layer(stream).connect(endpoints);
    stream.handshake(asio::ssl::stream_base::client);
    auto r = Exchange(stream, t, text);
    beast::error_code ec;
    stream.shutdown(ec);
    return r;
  } catch (const std::exception& e) {
    return Error::Unavailable(
        "Mamori のサーバーに証跡を送れませんでした(" + t.host + ":" + t.port + "): " + e.what(),
        std::string("cannot reach the server: ") + e.what());
  }
}

}  // namespace mamori::cli
