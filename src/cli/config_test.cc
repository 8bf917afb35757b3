#include "cli/config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace mamori::cli {
namespace {

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = std::filesystem::temp_directory_path() /
            ("mamori-config-test-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".toml");
  }
  void TearDown() override { std::filesystem::remove(path_); }

  Result<Config> Load(const std::string& text) {
    std::ofstream(path_) << text;
    return LoadConfig(path_.string(), /*required=*/true);
  }

  std::filesystem::path path_;
};

TEST_F(ConfigTest, ReadsServerSettings) {
  const auto config = Load(
      "[server]\n"
      "listen = \"[::1]:9090\"\n"
      "max_connections = 64\n"
      "rate_limit_per_second = 2.5\n"
      "request_timeout_seconds = 5\n");
  ASSERT_TRUE(config.ok()) << config.error().message_en;
  EXPECT_EQ(config->server.address, "::1");
  EXPECT_EQ(config->server.port, 9090);
  EXPECT_EQ(config->server.max_connections, 64);
  EXPECT_EQ(config->server.rate_limit_per_second, 2.5);
  EXPECT_EQ(config->server.request_timeout, std::chrono::seconds(5));
}

TEST_F(ConfigTest, ReadsSessionAndTlsSettings) {
  const auto config = Load(
      "[auth]\n"
      "session_idle_minutes = 15\n"
      "session_absolute_hours = 8\n"
      "[server]\n"
      "tls_cert = \"/etc/mamori/tls.crt\"\n"
      "tls_key = \"/etc/mamori/tls.key\"\n"
      "allow_plain_http = false\n");
  ASSERT_TRUE(config.ok()) << config.error().message_en;
  EXPECT_EQ(config->session_idle_minutes, 15);
  EXPECT_EQ(config->session_absolute_hours, 8);
  EXPECT_EQ(config->server.tls_cert, "/etc/mamori/tls.crt");
  EXPECT_FALSE(Load("[auth]\nsession_idle_minutes = 0\n").ok());
  EXPECT_FALSE(Load("[server]\nallow_plain_http = \"yes\"\n").ok());
}

TEST_F(ConfigTest, DefaultsWhenTheFileIsMissing) {
  const auto config = LoadConfig((path_.string() + ".missing"), /*required=*/false);
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->server.max_connections, 1024);
}

// TOML allows nan and inf; nan compares false with both bounds of a range check.
TEST_F(ConfigTest, NonFiniteNumbersAreRefusedNamingTheLine) {
  for (const std::string value : {"nan", "+nan", "-nan", "inf", "+inf", "-inf"}) {
    for (const std::string key : {"rate_limit_per_second", "threads", "max_connections"}) {
      const auto config = Load("[server]\n# comment\n" + key + " = " + value + "\n");
      ASSERT_FALSE(config.ok()) << key << " = " << value;
      EXPECT_EQ(config.error().code, ErrorCode::kInvalidInput);
      EXPECT_NE(config.error().message_en.find(path_.string() + ":3: "), std::string::npos)
          << config.error().message_en;
      EXPECT_NE(config.error().message_en.find("finite"), std::string::npos)
          << config.error().message_en;
    }
  }
}

TEST_F(ConfigTest, OutOfRangeAndUnknownKeysNameTheLine) {
  const auto zero = Load("[server]\nmax_connections = 0\n");
  ASSERT_FALSE(zero.ok());
  EXPECT_NE(zero.error().message_en.find(":2: max_connections out of range"), std::string::npos)
      << zero.error().message_en;
  const auto unknown = Load("[server]\n\nmax_connection = 10\n");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().message_en.find(":3: unknown setting"), std::string::npos)
      << unknown.error().message_en;
}

}  // namespace
}  // namespace mamori::cli
