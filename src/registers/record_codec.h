// Internal to the registers module: turning outside values into typed field values.
// API JSON is strict (a JSON string for text, a JSON integer for integers); spreadsheet cells
// are lenient in the ways staff type them (全角 digits, 有/無, enum labels).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "registers/definition.h"

namespace mamori::registers::internal {

// Converts a JSON value from the API into the stored form of field `f` (null for empty).
// On failure returns the error (without row/column).
std::optional<FieldError> CoerceApiValue(const FieldDef& f, const nlohmann::json& in,
                                         nlohmann::json& out);

// Converts a spreadsheet cell. For kRef the caller resolves the key afterwards: `out` is the
// trimmed key text (a JSON string).
std::optional<FieldError> CoerceCell(const FieldDef& f, std::string_view cell, nlohmann::json& out);

// The display form written to export files (enum label, 有/無, date as is).
std::string DisplayValue(const FieldDef& f, const nlohmann::json& v);

std::string ToLowerAscii(std::string_view s);

FieldError MakeFieldError(const FieldDef& f, std::string ja, std::string en);

}  // namespace mamori::registers::internal
