// The built UI (web/dist), read into memory once at start-up and served with long caching for
// hashed assets. Only files below the folder are served; there is no directory listing.
//
// Immutable after construction; thread-safe.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "api/http.h"

namespace mamori::api {

class StaticFiles {
 public:
  explicit StaticFiles(const std::string& dir);  // missing dir: serves nothing
  bool empty() const { return files_.empty(); }
  // The response for GET `path` ("/" serves index.html), or nullopt.
  std::optional<HttpResponse> Get(std::string_view path) const;

 private:
  struct File {
    std::string content;
    std::string type;
    bool immutable = false;  // under /assets/: content-hashed names
  };
  std::map<std::string, File, std::less<>> files_;  // "/index.html" -> file
};

}  // namespace mamori::api
