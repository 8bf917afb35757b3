#include "auth/permissions.h"

#include <algorithm>
#include <array>
#include <sstream>

#include <toml++/toml.h>
#include <nlohmann/json.hpp>

#include "registers/definition.h"

namespace mamori::auth {

using nlohmann::json;
using registers::Action;
using registers::Actor;
using registers::RegisterDef;

namespace {

// Resources that are not registers: never implied by "*".
constexpr std::array<std::string_view, 4> kResources = {"audit_log", "credentials", "settings",
                                                        "service_accounts"};

constexpr Action kAllActions[] = {Action::kView,    Action::kCreate,          Action::kUpdate,
                                  Action::kArchive, Action::kApprove,         Action::kExport,
                                  Action::kImport,  Action::kViewConfidential};

bool ParseAction(std::string_view s, Action& out) {
  for (Action a : kAllActions) {
    if (s == registers::ActionName(a)) {
      out = a;
      return true;
    }
  }
  return false;
}

Error Bad(std::string_view name, const toml::source_region& where, const std::string& ja,
          const std::string& en) {
  const std::string at = std::string(name) + ":" + std::to_string(where.begin.line) + ": ";
  return Error::Invalid(at + ja, at + en);
}

Error Denied() { return Error::Denied("この操作を行う権限がありません。", "permission denied"); }

bool IsConfidential(const RegisterDef& d, const json& rec) {
  if (d.confidential_field.empty() || !rec.contains(d.confidential_field)) return false;
  const json& v = rec[d.confidential_field];
  return v.is_string() && std::find(d.confidential_values.begin(), d.confidential_values.end(),
                                    v.get<std::string>()) != d.confidential_values.end();
}

// Whether a scoped grant held through `role` covers `record` of `def`.
bool InScope(const registers::RoleGrant& role, const RegisterDef& def, const json* record) {
  if (role.scope_kind == "body") return true;
  if (def.org_field.empty() || record == nullptr) return true;  // not scoped data
  if (!record->contains(def.org_field)) return false;
  const json& unit = (*record)[def.org_field];
  if (!unit.is_number_integer()) return false;
  return std::find(role.units.begin(), role.units.end(), unit.get<int64_t>()) != role.units.end();
}

}  // namespace

Result<PermissionTable> PermissionTable::Parse(std::string_view text, std::string_view name) {
  if (text.size() > (1u << 20)) {
    return Error::TooLarge(std::string(name) + " が大きすぎます。", "permission table too large");
  }
  toml::table tbl;
  try {
    tbl = toml::parse(text, name);
  } catch (const toml::parse_error& e) {
    return Bad(name, e.source(), "書式が正しくありません (" + std::string(e.description()) + ")",
               std::string(e.description()));
  }
  PermissionTable t;
  for (auto&& [top_key, top_node] : tbl) {
    if (top_key.str() != "roles" || !top_node.is_table()) {
      return Bad(name, top_node.source(), "不明な設定です: " + std::string(top_key.str()),
                 "unknown key " + std::string(top_key.str()));
    }
    for (auto&& [role_key, role_node] : *top_node.as_table()) {
      const auto* role = role_node.as_table();
      if (role == nullptr) {
        return Bad(name, role_node.source(), "役割は表で書いてください。", "role must be a table");
      }
      RoleInfo info{std::string(role_key.str()), "", ""};
      auto& grants = t.grants_[info.key];
      for (auto&& [k, v] : *role) {
        const std::string key(k.str());
        if (key == "label" && v.is_string()) {
          info.label_ja = v.as_string()->get();
        } else if (key == "label_en" && v.is_string()) {
          info.label_en = v.as_string()->get();
        } else if (key == "grants" && v.is_table()) {
          for (auto&& [res, list] : *v.as_table()) {
            if (!list.is_string()) {
              return Bad(name, list.source(), "権限は空白区切りの文字列で書いてください。",
                         "grants must be a space-separated string");
            }
            // An empty list is a grant of nothing: it overrides "*" for that register.
            auto& actions = grants[std::string(res.str())];
            std::istringstream words(list.as_string()->get());
            std::string word;
            while (words >> word) {
              const size_t colon = word.find(':');
              const bool scoped = colon != std::string::npos;
              if (scoped && word.substr(colon) != ":scope") {
                return Bad(name, list.source(), "範囲の指定は :scope だけです: " + word,
                           "only :scope is allowed: " + word);
              }
              Action a;
              if (!ParseAction(word.substr(0, colon), a)) {
                return Bad(name, list.source(), "不明な操作です: " + word,
                           "unknown action " + word);
              }
              actions[a] = scoped;
            }
          }
        } else {
          return Bad(name, v.source(), "不明な設定です: " + key, "unknown key " + key);
        }
      }
      if (info.label_ja.empty()) {
        return Bad(name, role_node.source(), "役割 " + info.key + " に label がありません。",
                   "role " + info.key + " has no label");
      }
      if (info.label_en.empty()) info.label_en = info.label_ja;
      t.roles_.push_back(std::move(info));
    }
  }
  if (t.roles_.empty())
    return Error::Invalid(std::string(name) + ": 役割がありません。", "no roles");
  return t;
}

const RoleInfo* PermissionTable::Role(std::string_view key) const {
  for (const auto& r : roles_) {
    if (r.key == key) return &r;
  }
  return nullptr;
}

PermissionTable::Grant PermissionTable::Lookup(std::string_view role, std::string_view resource,
                                               Action action) const {
  auto r = grants_.find(role);
  if (r == grants_.end()) return {};
  auto res = r->second.find(resource);
  // "*" stands for every register; the resources that are not registers are never implied.
  if (res == r->second.end() &&
      std::find(kResources.begin(), kResources.end(), resource) == kResources.end()) {
    res = r->second.find("*");
  }
  if (res == r->second.end()) return {};
  auto a = res->second.find(action);
  if (a == res->second.end()) return {};
  return {true, a->second};
}

Status RoleAuthorizer::Check(const Actor& actor, const RegisterDef& def, Action action,
                             const json* record) const {
  bool allowed = false;
  for (const auto& role : actor.roles) {
    const auto g = table_.Lookup(role.role, def.key, action);
    if (g.allowed && (!g.scoped || InScope(role, def, record))) {
      allowed = true;
      break;
    }
  }
  if (!allowed) return Denied();
  if (record != nullptr && action == Action::kView && IsConfidential(def, *record)) {
    for (const auto& role : actor.roles) {
      const auto g = table_.Lookup(role.role, def.key, Action::kViewConfidential);
      if (g.allowed && (!g.scoped || InScope(role, def, record))) return {};
    }
    // Need to know: the record is not shown, and its existence is not confirmed.
    return Error::NotFound("記録が見つかりません。", "not found");
  }
  return {};
}

Result<registers::RowFilter> RoleAuthorizer::ListFilter(const Actor& actor,
                                                        const RegisterDef& def) const {
  registers::RowFilter f;
  f.all_units = false;
  bool any = false;
  bool conf_all = false;
  for (const auto& role : actor.roles) {
    const auto g = table_.Lookup(role.role, def.key, Action::kView);
    if (g.allowed) {
      any = true;
      if (!g.scoped || role.scope_kind == "body" || def.org_field.empty()) {
        f.all_units = true;
      } else {
        f.units.insert(f.units.end(), role.units.begin(), role.units.end());
      }
    }
    const auto c = table_.Lookup(role.role, def.key, Action::kViewConfidential);
    if (c.allowed && (!c.scoped || role.scope_kind == "body" || def.org_field.empty())) {
      conf_all = true;
    } else if (c.allowed) {
      f.confidential_units.insert(f.confidential_units.end(), role.units.begin(), role.units.end());
    }
  }
  if (!any) return Denied();
  if (f.all_units) f.units.clear();
  std::sort(f.units.begin(), f.units.end());
  f.units.erase(std::unique(f.units.begin(), f.units.end()), f.units.end());
  // Scoped confidential grants show the confidential records of their units only.
  f.hide_confidential = !def.confidential_field.empty() && !conf_all;
  if (f.hide_confidential) {
    std::sort(f.confidential_units.begin(), f.confidential_units.end());
    f.confidential_units.erase(
        std::unique(f.confidential_units.begin(), f.confidential_units.end()),
        f.confidential_units.end());
  } else {
    f.confidential_units.clear();
  }
  return f;
}

Status RoleAuthorizer::CheckResource(const Actor& actor, std::string_view resource,
                                     Action action) const {
  for (const auto& role : actor.roles) {
    if (table_.Lookup(role.role, resource, action).allowed) return {};
  }
  return Denied();
}

void RoleAuthorizer::Describe(const Actor& actor, const registers::Registry& registry,
                              json& out) const {
  out = json::object();
  std::vector<std::string> resources(kResources.begin(), kResources.end());
  for (const auto& d : registry.all()) resources.push_back(d.key);
  for (const auto& res : resources) {
    json actions = json::array();
    for (Action a : kAllActions) {
      for (const auto& role : actor.roles) {
        if (table_.Lookup(role.role, res, a).allowed) {
          actions.push_back(registers::ActionName(a));
          break;
        }
      }
    }
    out[res] = std::move(actions);
  }
}

}  // namespace mamori::auth
