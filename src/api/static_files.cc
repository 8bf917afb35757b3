#include "api/static_files.h"

#include <filesystem>
#include <fstream>
#include <sstream>

namespace mamori::api {

namespace {

std::string TypeFor(const std::filesystem::path& p) {
  const std::string ext = p.extension().string();
  if (ext == ".html") return "text/html; charset=utf-8";
  if (ext == ".js") return "text/javascript; charset=utf-8";
  if (ext == ".css") return "text/css; charset=utf-8";
  if (ext == ".svg") return "image/svg+xml";
  if (ext == ".png") return "image/png";
  if (ext == ".ico") return "image/x-icon";
  if (ext == ".json") return "application/json";
  if (ext == ".woff2") return "font/woff2";
  if (ext == ".txt") return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

}  // namespace

StaticFiles::StaticFiles(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (dir.empty() || !fs::is_directory(dir, ec)) return;
  const fs::path root = fs::canonical(dir, ec);
  if (ec) return;
  for (auto it = fs::recursive_directory_iterator(root, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file()) continue;
    std::ifstream in(it->path(), std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    const std::string rel = "/" + fs::relative(it->path(), root).generic_string();
    files_[rel] = File{ss.str(), TypeFor(it->path()), rel.rfind("/assets/", 0) == 0};
  }
}

std::optional<HttpResponse> StaticFiles::Get(std::string_view path) const {
  if (path == "/") path = "/index.html";
  auto it = files_.find(path);
  if (it == files_.end()) return std::nullopt;
  HttpResponse r;
  r.content_type = it->second.type;
  r.body = it->second.content;
  r.headers.emplace_back("Cache-Control",
                         it->second.immutable ? "public, max-age=31536000, immutable" : "no-cache");
  return r;
}

}  // namespace mamori::api
