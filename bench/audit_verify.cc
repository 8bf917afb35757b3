// Benchmark (issue 3): verifying the audit trail's hash chain, side by side with sha256sum
// over the same bytes (the canonical form of every entry, concatenated).
//
//   build/release/bench/audit_verify [entries] [work-dir]
//
// Prints a Markdown table: the time to append the entries, to verify the chain
// (AuditLog::Verify: read every row from SQLite, recompute one SHA-256 per entry), and
// sha256sum's time over the canonical bytes (one SHA-256 over the whole file), best of 3.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "auth/audit.h"
#include "auth/credentials.h"
#include "common/clock.h"
#include "store/store.h"

using namespace mamori;

namespace {

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

}  // namespace

int main(int argc, char** argv) {
  const int64_t n = argc > 1 ? std::atoll(argv[1]) : 200'000;
  const std::filesystem::path dir = argc > 2
                                        ? std::filesystem::path(argv[2])
                                        : std::filesystem::temp_directory_path() /
                                              ("mamori-audit-bench-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  if (!auth::InitCrypto().ok()) return 3;
  auto store = store::OpenSqlite({.path = (dir / "audit.db").string(), .synchronous_full = false});
  if (!store.ok()) return 3;
  if (!(*store)->Migrate(auth::AuditMigrations()).ok()) return 3;
  SystemClock clock;
  auth::AuditLog audit(**store, clock);

  // Entries shaped like real ones: a login, an update with a field change.
  const auto t0 = std::chrono::steady_clock::now();
  for (int64_t done = 0; done < n;) {
    const Status st = (*store)->Write([&](store::Connection& c) -> Status {
      for (int k = 0; k < 10'000 && done < n; ++k, ++done) {
        registers::Actor actor{
            "user" + std::to_string(done % 300), "10.1.2." + std::to_string(done % 250), 0, {}};
        nlohmann::json detail = {{"changes",
                                  {{{"field", "name"},
                                    {"label", "名称"},
                                    {"from", "総務課"},
                                    {"to", "総務企画課" + std::to_string(done)}}}}};
        MAMORI_TRY(audit.Append(c, actor, done % 5 ? "update" : "login",
                                "org_units/" + std::to_string(done % 5000), detail));
      }
      return {};
    });
    if (!st.ok()) {
      std::fprintf(stderr, "append failed: %s\n", st.error().message_en.c_str());
      return 3;
    }
  }
  const double append_s = Seconds(t0);

  // The same bytes for sha256sum: every canonical entry, in order.
  const std::string bytes_path = (dir / "canonical.bin").string();
  int64_t bytes = 0;
  {
    std::ofstream out(bytes_path, std::ios::binary);
    const Status st = (*store)->Read([&](store::Connection& c) -> Status {
      MAMORI_ASSIGN_OR_RETURN(auto rows, c.Query("SELECT seq, at, actor, address, action, target, "
                                                 "detail FROM audit_log ORDER BY seq",
                                                 {}, 100'000'000));
      for (const auto& r : rows) {
        const std::string e = auth::CanonicalEntry(
            store::AsInt(r[0]), store::AsText(r[1]), store::AsText(r[2]), store::AsText(r[3]),
            store::AsText(r[4]), store::AsText(r[5]), store::AsText(r[6]));
        out << e;
        bytes += static_cast<int64_t>(e.size());
      }
      return {};
    });
    if (!st.ok()) return 3;
  }

  double verify_best = 1e9, sha_best = 1e9;
  for (int run = 0; run < 3; ++run) {
    const auto v0 = std::chrono::steady_clock::now();
    auto r = audit.Verify();
    verify_best = std::min(verify_best, Seconds(v0));
    if (!r.ok() || !r->ok || r->entries != n) {
      std::fprintf(stderr, "verify failed\n");
      return 1;
    }
    const auto s0 = std::chrono::steady_clock::now();
    const std::string cmd = "sha256sum " + bytes_path + " > /dev/null";
    if (std::system(cmd.c_str()) != 0) return 3;
    sha_best = std::min(sha_best, Seconds(s0));
  }
  std::printf("%lld entries, %.1f MB canonical bytes\n\n", static_cast<long long>(n), bytes / 1e6);
  std::printf("| step | seconds | entries/s | MB/s |\n|---|---|---|---|\n");
  std::printf("| append (batches of 10,000 per transaction) | %.3f | %.0f | |\n", append_s,
              n / append_s);
  std::printf("| mamori admin verify-audit (AuditLog::Verify) | %.3f | %.0f | %.1f |\n",
              verify_best, n / verify_best, bytes / 1e6 / verify_best);
  std::printf("| sha256sum over the same bytes | %.3f | | %.1f |\n", sha_best,
              bytes / 1e6 / sha_best);
  std::printf("\nverify / sha256sum time = %.1fx\n", verify_best / sha_best);
  std::filesystem::remove_all(dir);
  return 0;
}
