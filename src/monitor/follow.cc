#include "monitor/follow.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <tuple>

#include "common/text.h"

namespace mamori::monitor {
namespace {

constexpr size_t kReadBytes = size_t{256} << 10;
constexpr size_t kHeaderBytes = size_t{64} << 10;  // where a resumed file's header is looked for
// A rotated copy is recognized by its first bytes only when at least this many were hashed.
constexpr uint32_t kMinContentMatchBytes = 256;

std::string ErrnoText() { return std::strerror(errno); }

// Reads up to `size` bytes at `offset` (fewer only at the end of the file); -1 on error.
ssize_t PreadFull(int fd, char* buffer, size_t size, uint64_t offset) {
  size_t done = 0;
  while (done < size) {
    const ssize_t n = ::pread(fd, buffer + done, size - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return static_cast<ssize_t>(done);
}

// The file's first `size` bytes, or nullopt when it is shorter or unreadable.
std::optional<std::string> Head(int fd, size_t size) {
  std::string head(size, '\0');
  if (PreadFull(fd, head.data(), size, 0) != static_cast<ssize_t>(size)) return std::nullopt;
  return head;
}

// Whether the open file is the one at `at`: first bytes as hashed, at least `at.offset` long.
bool Matches(int fd, const struct stat& st, const FilePosition& at) {
  if (static_cast<uint64_t>(st.st_size) < at.offset) return false;
  const std::optional<std::string> head = Head(fd, at.head_bytes);
  return head && HeadHash(*head) == at.head_hash;
}

bool Compressed(std::string_view name) {
  for (std::string_view ext : {".gz", ".bz2", ".xz", ".zst", ".lz4", ".Z", ".zip"}) {
    if (name.size() > ext.size() && name.substr(name.size() - ext.size()) == ext) return true;
  }
  return false;
}

// The rotated siblings of `path` in its directory ("fw.log.1", "fw.log-20240501", "fw.log_old"),
// sorted by name; compressed ones left out (they cannot be read as text).
std::vector<std::string> Siblings(const std::string& path) {
  namespace fs = std::filesystem;
  const fs::path p(path);
  const std::string base = p.filename().string();
  const fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
  std::vector<std::string> out;
  std::error_code ec;
  fs::directory_iterator it(dir, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() <= base.size() || name.compare(0, base.size(), base) != 0) continue;
    const char next = name[base.size()];
    if (next != '.' && next != '-' && next != '_') continue;
    // A symbolic link is never a rotated log (and could point the monitor at any file).
    if (Compressed(name) || !fs::is_regular_file(it->symlink_status(ec))) continue;
    out.push_back((p.has_parent_path() ? (dir / name) : fs::path(name)).string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

struct FileFollower::Reading {
  int fd = -1;
  uint64_t device = 0;
  uint64_t inode = 0;
  std::string name;  // the input's name: the path, or the rotated sibling being finished
  InputId input = 0;
  uint64_t base_offset = 0;  // the file offset of the input's first byte
  uint64_t read_offset = 0;  // the file offset read up to
  std::string head;          // the file's first min(read_offset, kHeadBytes) bytes
  bool fed = false;          // any byte given to the input

  ~Reading() {
    if (fd >= 0) ::close(fd);
  }
};

struct FileFollower::Watched {
  std::string path;
  std::unique_ptr<Reading> reading;
  bool rotated = false;  // the path names another file: finish this one, then switch
  bool failed = false;
  std::optional<FilePosition> last;  // the position when no file is being read
};

FileFollower::FileFollower(Monitor& monitor, NoticeFn notice)
    : monitor_(monitor), notice_(std::move(notice)) {}

FileFollower::~FileFollower() = default;

Status FileFollower::Start(Watched& w, const std::string& file_path, int fd, uint64_t offset,
                           uint64_t line, bool successor_pending) {
  // `fd` becomes the Reading's only when Start succeeds; on failure the caller still owns it
  // (and closes it): one owner, never a double close.
  auto r = std::make_unique<Reading>();
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const std::string why = ErrnoText();
    return Error::Invalid(Cat("ログを読めません: ", file_path, ": ", why),
                          Cat("cannot read log ", file_path, ": ", why));
  }
  r->device = st.st_dev;
  r->inode = st.st_ino;
  r->name = file_path;
  r->base_offset = offset;
  r->read_offset = offset;
  if (offset > 0) {
    std::optional<std::string> head = Head(fd, std::min<uint64_t>(offset, kHeadBytes));
    if (!head) {
      return Error::Invalid(Cat("ログを読めません: ", file_path),
                            Cat("cannot read log ", file_path));
    }
    r->head = std::move(*head);
  }
  r->fd = fd;
  r->input = monitor_.OpenInput(file_path, std::nullopt, line);
  if (offset > 0) {
    // Resumed mid-file: the header lines at its start (Zeek TSV) still shape its parser.
    std::string start(std::min<uint64_t>(offset, kHeaderBytes), '\0');
    const ssize_t n = PreadFull(fd, start.data(), start.size(), 0);
    start.resize(n > 0 ? static_cast<size_t>(n) : 0);
    size_t end = 0;
    while (end < start.size() && start[end] == '#') {
      const size_t nl = start.find('\n', end);
      if (nl == std::string::npos) break;
      end = nl + 1;
    }
    (void)monitor_.Prime(r->input, std::string_view(start).substr(0, end));
  }
  w.reading = std::move(r);
  w.rotated = successor_pending;  // rotated long ago: switch once it is read
  return {};
}

Status FileFollower::Add(const std::string& path, const std::optional<FilePosition>& resume) {
  auto w = std::make_unique<Watched>();
  w->path = path;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 && !(resume && errno == ENOENT)) {
    const std::string why = ErrnoText();
    return Error::Invalid(Cat("ログを読めません: ", path, ": ", why),
                          Cat("cannot read log ", path, ": ", why));
  }
  if (!resume) {
    MAMORI_TRY(Start(*w, path, fd, 0, 0, false));
  } else {
    Resume(*w, fd, *resume);
  }
  watched_.push_back(std::move(w));
  return {};
}

// Where to start `w` from its checkpoint position `at` (see the header). `fd` is the path's
// file (-1 when the path does not exist now); it is closed or kept.
void FileFollower::Resume(Watched& w, int fd, const FilePosition& at) {
  if (fd >= 0) {
    struct stat st {};
    if (::fstat(fd, &st) == 0 && static_cast<uint64_t>(st.st_dev) == at.device &&
        static_cast<uint64_t>(st.st_ino) == at.inode && Matches(fd, st, at)) {
      if (Start(w, w.path, fd, at.offset, at.line, false).ok()) return;
    }
  }
  // From here `fd` (if any) is still ours: Start took it only when it succeeded.
  // Rotated (or truncated) while nothing was reading it: find the file among the siblings.
  std::string found;
  int found_fd = -1;
  const std::vector<std::string> siblings = Siblings(w.path);
  for (int pass = 0; pass < 2 && found_fd < 0; ++pass) {
    if (pass == 1 && at.head_bytes < kMinContentMatchBytes) break;  // too little to tell by
    for (const std::string& sibling : siblings) {
      // Not blocking on a FIFO swapped in after the listing; only a regular file counts.
      const int sfd = ::open(sibling.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
      if (sfd < 0) continue;
      struct stat st {};
      if (::fstat(sfd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(sfd);
        continue;
      }
      const bool same_inode = static_cast<uint64_t>(st.st_dev) == at.device &&
                              static_cast<uint64_t>(st.st_ino) == at.inode;
      if ((pass == 1 || same_inode) && Matches(sfd, st, at)) {
        found = sibling;
        found_fd = sfd;
        break;
      }
      ::close(sfd);
    }
  }
  if (found_fd >= 0 && !Start(w, found, found_fd, at.offset, at.line, true).ok()) {
    ::close(found_fd);
    found_fd = -1;
  }
  if (found_fd >= 0) {
    notice_(Cat(w.path, ": 停止中にローテーションされていました。", found, " を ",
                std::to_string(at.line), " 行目の後から最後まで読み、そのあと新しい ", w.path,
                " を先頭から読みます。"),
            Cat(w.path, ": rotated while stopped; reading ", found, " after line ",
                std::to_string(at.line), " to its end, then the new ", w.path, " from the start."));
    // Rotated more than once while stopped: the files in between are not read; say which.
    struct stat found_st {};
    std::string skipped;
    if (::stat(found.c_str(), &found_st) == 0) {
      for (const std::string& sibling : siblings) {
        struct stat st {};
        if (sibling == found || ::stat(sibling.c_str(), &st) != 0) continue;
        if (std::tie(st.st_mtim.tv_sec, st.st_mtim.tv_nsec) >
            std::tie(found_st.st_mtim.tv_sec, found_st.st_mtim.tv_nsec)) {
          skipped += Cat(skipped.empty() ? "" : ", ", sibling);
        }
      }
    }
    if (!skipped.empty()) {
      notice_(
          Cat(w.path, ": 停止中に 2 回以上ローテーションされたようです。次のファイルは読みません: ",
              skipped),
          Cat(w.path, ": rotated more than once while stopped; not reading: ", skipped));
    }
    if (fd >= 0) ::close(fd);
    return;
  }
  notice_(Cat(w.path, ": チェックポイントのファイル（", std::to_string(at.line),
              " 行目まで読んだもの）が見つかりません（ローテーションで消えたか圧縮されました）。"
              "その続きの行は読めません。",
              fd >= 0 ? "今のファイルを先頭から読みます。" : "ファイルができるのを待ちます。"),
          Cat(w.path, ": the checkpoint's file (read up to line ", std::to_string(at.line),
              ") is gone (rotated away or compressed); its unread lines are lost. ",
              fd >= 0 ? "Reading the current file from the start." : "Waiting for the file."));
  if (fd >= 0 && !Start(w, w.path, fd, 0, 0, false).ok()) ::close(fd);
}

bool FileFollower::CheckTruncated(Watched& w) {
  Reading& r = *w.reading;
  struct stat st {};
  if (::fstat(r.fd, &st) != 0) return false;
  bool replaced = static_cast<uint64_t>(st.st_size) < r.read_offset;
  if (!replaced && !r.head.empty()) {
    const std::optional<std::string> head = Head(r.fd, r.head.size());
    replaced = !head || *head != r.head;
  }
  if (!replaced) return false;
  notice_(Cat(r.name, ": ファイルが切り詰められたか書き換えられました。先頭から読み直します。"),
          Cat(r.name, ": file truncated or rewritten; reading again from the start."));
  (void)monitor_.CloseInput(r.input, InputEnd::kStopped);
  r.input = monitor_.OpenInput(r.name, std::nullopt, 0);
  r.base_offset = 0;
  r.read_offset = 0;
  r.head.clear();
  r.fed = false;
  return true;
}

bool FileFollower::ReadAvailable(Watched& w, PollResult& result) {
  Reading& r = *w.reading;
  if (buffer_.empty()) buffer_.resize(kReadBytes);
  bool got = false;
  bool at_end = false;
  uint64_t budget = kMaxBytesPerPoll;
  auto fail = [&](Error e) {
    result.errors.push_back(std::move(e));
    w.last = std::nullopt;
    (void)monitor_.CloseInput(r.input, InputEnd::kStopped);
    w.reading.reset();
    w.failed = true;
  };
  while (budget > 0) {
    const ssize_t n = ::pread(r.fd, buffer_.data(), std::min<uint64_t>(buffer_.size(), budget),
                              static_cast<off_t>(r.read_offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const std::string why = ErrnoText();
      fail(Error::Unavailable(Cat(r.name, ": 読み込みに失敗しました: ", why),
                              Cat(r.name, ": read failed: ", why)));
      return got;
    }
    if (n == 0) {
      at_end = true;
      break;
    }
    const std::string_view bytes(buffer_.data(), static_cast<size_t>(n));
    if (r.read_offset < kHeadBytes) r.head.append(bytes.substr(0, kHeadBytes - r.read_offset));
    r.read_offset += static_cast<uint64_t>(n);
    budget -= static_cast<uint64_t>(n);
    result.bytes += static_cast<uint64_t>(n);
    got = true;
    r.fed = true;
    if (Status st = monitor_.Feed(r.input, bytes); !st.ok()) {
      fail(st.error());
      return got;
    }
  }
  if (at_end) {
    if (Status st = monitor_.Settle(r.input); !st.ok()) fail(st.error());
  }
  return got;
}

void FileFollower::Finish(Watched& w, PollResult& result) {
  Reading& r = *w.reading;
  // A file that never had a byte has no format to detect: nothing to end.
  const Status st = monitor_.CloseInput(r.input, r.fed ? InputEnd::kEndOfData : InputEnd::kStopped);
  if (!st.ok()) result.errors.push_back(st.error());
  const uint64_t offset = r.base_offset + monitor_.consumed(r.input);
  const size_t head_bytes = std::min<uint64_t>({offset, kHeadBytes, r.head.size()});
  w.last = FilePosition{r.device,
                        r.inode,
                        offset,
                        monitor_.line_number(r.input),
                        static_cast<uint32_t>(head_bytes),
                        HeadHash(std::string_view(r.head).substr(0, head_bytes))};
  w.reading.reset();
  w.rotated = false;
}

PollResult FileFollower::Poll() {
  PollResult result;
  for (auto& owned : watched_) {
    Watched& w = *owned;
    for (int round = 0; round < 2 && !w.failed; ++round) {
      if (!w.reading) {
        const int fd = ::open(w.path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) break;  // not there again yet
        if (Status st = Start(w, w.path, fd, 0, 0, false); !st.ok()) {
          ::close(fd);
          break;
        }
      }
      Reading& r = *w.reading;
      bool just_rotated = false;  // the writer may still add to the old file: one more poll
      if (!w.rotated) {
        struct stat st {};
        const bool gone = ::stat(w.path.c_str(), &st) != 0;
        if (gone || static_cast<uint64_t>(st.st_dev) != r.device ||
            static_cast<uint64_t>(st.st_ino) != r.inode) {
          w.rotated = true;
          just_rotated = true;
          notice_(
              Cat(w.path, ": ローテーションされました。古いファイルを最後まで読んでから",
                  gone ? "、新しいファイルができるのを待ちます。" : "新しいファイルを読みます。"),
              Cat(w.path, ": rotated; finishing the old file, then ",
                  gone ? "waiting for the new one." : "reading the new one."));
        } else {
          CheckTruncated(w);
        }
      }
      const bool got = ReadAvailable(w, result);
      if (!w.reading) break;  // failed
      if (!w.rotated || got || just_rotated) break;
      Finish(w, result);  // nothing more came since the rotation: on to the new file
    }
  }
  return result;
}

void FileFollower::Stop() {
  for (auto& w : watched_) {
    if (!w->reading) continue;
    Reading& r = *w->reading;
    (void)monitor_.CloseInput(r.input, InputEnd::kStopped);
  }
}

std::map<std::string, FilePosition> FileFollower::Positions() const {
  std::map<std::string, FilePosition> out;
  for (const auto& w : watched_) {
    if (w->reading) {
      const Reading& r = *w->reading;
      const uint64_t offset = r.base_offset + monitor_.consumed(r.input);
      const size_t head_bytes = std::min<uint64_t>({offset, kHeadBytes, r.head.size()});
      out[w->path] = FilePosition{r.device,
                                  r.inode,
                                  offset,
                                  monitor_.line_number(r.input),
                                  static_cast<uint32_t>(head_bytes),
                                  HeadHash(std::string_view(r.head).substr(0, head_bytes))};
    } else if (w->last) {
      out[w->path] = *w->last;
    }
  }
  return out;
}

}  // namespace mamori::monitor
