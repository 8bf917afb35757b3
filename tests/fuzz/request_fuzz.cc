// libFuzzer harness for what the API reads from a request before any storage: the request
// target (path and query), the Cookie header, the JSON body guard and parser (login, MFA and
// record bodies), list parameters, and the conversion of every field value (API JSON and
// spreadsheet cells) of a real register.
// Input: the first line is the request target, the rest is the body.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

#include "api/api.h"
#include "api/http.h"
#include "common/text.h"
#include "registers/org_units.h"
#include "registers/record_codec.h"
#include "registers/service.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace mamori;
  static const registers::RegisterDef def = registers::OrgUnitsRegister();
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const size_t nl = in.find('\n');
  const std::string_view target = in.substr(0, nl);
  const std::string_view body =
      nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);

  // The first line doubles as a Cookie header.
  for (const char* name : {"mamori_session", "mamori_csrf", "mamori_pre"}) {
    if (api::CookieValue(target, name).size() > 256) __builtin_trap();
  }
  auto t = api::ParseTarget(target);
  if (t.ok()) {
    if (t->path.empty() || t->path[0] != '/') __builtin_trap();
    if (!IsValidUtf8(t->path)) __builtin_trap();
    auto q = registers::ParseListQuery(def, t->query, {"format"});
    if (q.ok() && (q->limit < 1 || q->limit > 500 || q->offset < 0)) __builtin_trap();
  }
  (void)NormalizeForSearch(body);
  (void)TrimSpace(body);
  if (api::JsonDepth(body, 32) <= 32) {
    const auto j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (!j.is_discarded() && j.is_object()) {
      // Login and MFA bodies: the members are read only when they are strings.
      for (const char* m : {"login", "password", "new_password", "code", "recovery_code"}) {
        if (j.contains(m) && j[m].is_string()) (void)j[m].get<std::string>().size();
      }
      for (const auto& [name, value] : j.items()) {
        const registers::FieldDef* f = def.Field(name);
        if (f == nullptr) continue;
        nlohmann::json out;
        if (!registers::internal::CoerceApiValue(*f, value, out) && !out.is_null()) {
          (void)registers::internal::DisplayValue(*f, out);
        }
      }
    }
  }
  for (const auto& f : def.fields) {
    nlohmann::json out;
    if (!registers::internal::CoerceCell(f, body.substr(0, 512), out) && !out.is_null() &&
        f.type != registers::FieldType::kRef) {
      (void)registers::internal::DisplayValue(f, out);
    }
  }
  return 0;
}
