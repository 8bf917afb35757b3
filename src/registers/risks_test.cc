#include "registers/risks.h"

#include <gtest/gtest.h>

namespace mamori::registers {
namespace {}  // namespace
}  // namespace mamori::registers
