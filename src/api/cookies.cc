#include "api/http.h"

namespace mamori::api {

std::string CookieValue(std::string_view header, std::string_view name) {
  // "a=1; b=2": names and values are ASCII tokens; the first match wins.
  size_t pos = 0;
  while (pos < header.size()) {
    size_t end = header.find(';', pos);
    if (end == std::string_view::npos) end = header.size();
    std::string_view pair = header.substr(pos, end - pos);
    while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
    const size_t eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == name) {
      std::string_view value = pair.substr(eq + 1);
      while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
        value = value.substr(1, value.size() - 2);
      }
      return value.size() <= 256 ? std::string(value) : std::string();
    }
    pos = end + 1;
  }
  return {};
}

}  // namespace mamori::api
