#include "monitor/live.h"

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>

#include "common/text.h"

namespace mamori::monitor {
namespace {

volatile std::sig_atomic_t g_stop = 0;

void OnStopSignal(int) { g_stop = 1; }

// Blocks SIGINT and SIGTERM and installs OnStopSignal for them; restores both when destroyed.
class StopSignals {
 public:
  StopSignals() {
    g_stop = 0;
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigprocmask(SIG_BLOCK, &block, &waiting_mask_);
    struct sigaction action {};
    action.sa_handler = OnStopSignal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, &old_int_);
    sigaction(SIGTERM, &action, &old_term_);
    sigdelset(&waiting_mask_, SIGINT);
    sigdelset(&waiting_mask_, SIGTERM);
  }
  ~StopSignals() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
    sigset_t unblock;
    sigemptyset(&unblock);
    sigaddset(&unblock, SIGINT);
    sigaddset(&unblock, SIGTERM);
    sigprocmask(SIG_UNBLOCK, &unblock, nullptr);
  }
  // The mask while waiting: the old one with SIGINT and SIGTERM let through.
  const sigset_t* waiting_mask() const { return &waiting_mask_; }
  bool stopped() const { return g_stop != 0; }

 private:
  sigset_t waiting_mask_;
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
};

std::string Url(const SyslogEndpoint& e, uint16_t port) {
  return Cat(e.transport == SyslogTransport::kUdp ? "udp://" : "tcp://",
             e.address.find(':') != std::string::npos ? Cat("[", e.address, "]") : e.address, ":",
             std::to_string(port));
}

}  // namespace

Status RunLive(Monitor& monitor, const LiveOptions& options, const LiveHooks& hooks) {
  using Clock = std::chrono::steady_clock;
  StopSignals signals;

  FileFollower follower(monitor, hooks.notice);
  Checkpoint checkpoint;
  if (options.checkpoint) checkpoint = *options.checkpoint;
  for (const std::string& path : options.follow) {
    std::optional<FilePosition> resume;
    if (const auto it = checkpoint.files.find(path); it != checkpoint.files.end()) {
      resume = it->second;
    }
    MAMORI_TRY(follower.Add(path, resume));
  }
  std::unique_ptr<SyslogServer> server;
  if (!options.syslog.empty()) {
    MAMORI_ASSIGN_OR_RETURN(server, SyslogServer::Create(options.syslog, monitor, hooks.notice));
    std::vector<std::string> urls;
    for (size_t i = 0; i < options.syslog.size(); ++i) {
      urls.push_back(Url(options.syslog[i], server->ports()[i]));
    }
    if (hooks.listening) hooks.listening(urls);
  }
  std::optional<InputId> stdin_input;
  if (options.read_stdin) stdin_input = monitor.OpenInput("(stdin)");
  std::vector<char> stdin_buffer(options.read_stdin ? size_t{256} << 10 : 0);

  Status checkpoint_status;
  std::map<std::string, FilePosition> saved = checkpoint.files;
  auto save_checkpoint = [&](bool force) {
    if (options.checkpoint_path.empty()) return;
    std::map<std::string, FilePosition> now = follower.Positions();
    for (auto& [path, position] : now) checkpoint.files[path] = position;
    if (!force && checkpoint.files == saved) return;
    hooks.flush();  // the alerts written so far are out before the lines behind them count
    if (Status st = SaveCheckpoint(options.checkpoint_path, checkpoint); !st.ok()) {
      if (checkpoint_status.ok()) hooks.error(st.error());  // once, not every interval
      checkpoint_status = st;
      return;
    }
    saved = checkpoint.files;
  };
  if (!options.checkpoint_path.empty()) {
    // Nothing is read yet: a checkpoint that cannot be written stops the run now, not later.
    if (Status st = SaveCheckpoint(options.checkpoint_path, checkpoint); !st.ok()) {
      return Error::Invalid(st.error().message, st.error().message_en);
    }
  }

  auto next_poll = Clock::now();
  auto next_checkpoint = Clock::now() + options.checkpoint_interval;
  auto next_tick = Clock::now() + options.tick_interval;
  std::vector<pollfd> fds;
  while (!signals.stopped()) {
    const auto now = Clock::now();
    if (!options.follow.empty() && now >= next_poll) {
      PollResult polled = follower.Poll();
      for (const Error& e : polled.errors) hooks.error(e);
      // A large backlog: read on at once instead of sleeping.
      next_poll = polled.bytes > 0 ? now : now + options.poll_interval;
    }
    if (Clock::now() >= next_checkpoint) {
      save_checkpoint(false);
      next_checkpoint = Clock::now() + options.checkpoint_interval;
    }
    if (Clock::now() >= next_tick) {
      if (hooks.tick) hooks.tick();
      next_tick = Clock::now() + options.tick_interval;
    }
    fds.clear();
    if (server) fds = server->fds();
    const bool wait_stdin = stdin_input && monitor.is_open(*stdin_input);
    if (wait_stdin) fds.push_back({STDIN_FILENO, POLLIN, 0});
    if (options.follow.empty() && !server && !wait_stdin) break;  // nothing left to wait for
    auto wake = options.follow.empty() ? Clock::now() + std::chrono::seconds(1) : next_poll;
    wake = std::min({wake, next_checkpoint, next_tick});
    const auto wait = std::max<Clock::duration>(wake - Clock::now(), Clock::duration::zero());
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(wait).count();
    const timespec timeout{static_cast<time_t>(ns / 1000000000),
                           static_cast<long>(ns % 1000000000)};
    const int ready = ::ppoll(fds.data(), fds.size(), &timeout, signals.waiting_mask());
    if (ready < 0) {
      if (errno == EINTR) continue;
      const std::string why = std::strerror(errno);
      return Error::Unavailable(Cat("待ち受けに失敗しました: ", why), Cat("poll failed: ", why));
    }
    if (ready == 0) continue;
    if (server) server->Handle(fds);
    if (wait_stdin && fds.back().revents != 0) {
      const ssize_t n = ::read(STDIN_FILENO, stdin_buffer.data(), stdin_buffer.size());
      if (n > 0) {
        if (Status st = monitor.Feed(*stdin_input,
                                     std::string_view(stdin_buffer.data(), static_cast<size_t>(n)));
            !st.ok()) {
          hooks.error(st.error());
          (void)monitor.CloseInput(*stdin_input, InputEnd::kStopped);
        }
      } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        if (Status st = monitor.CloseInput(*stdin_input, InputEnd::kEndOfData); !st.ok()) {
          hooks.error(st.error());
        }
      }
    }
  }
  follower.Stop();
  if (server) server->Stop();
  if (stdin_input) (void)monitor.CloseInput(*stdin_input, InputEnd::kStopped);
  monitor.Finish();
  hooks.flush();
  save_checkpoint(true);
  return checkpoint_status;
}

}  // namespace mamori::monitor
