#include "monitor/checkpoint.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <vector>

#include "common/text.h"

namespace mamori::monitor {
namespace {

constexpr std::string_view kMagic = "mamori-monitor-checkpoint 1";

std::string PercentEncode(std::string_view path) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : path) {
    const auto u = static_cast<unsigned char>(c);
    if (u > ' ' && u < 0x7F && c != '%') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0xF]);
    }
  }
  return out;
}

std::optional<std::string> PercentDecode(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    const auto u = static_cast<unsigned char>(text[i]);
    if (u <= ' ' || u >= 0x7F) return std::nullopt;
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    if (i + 2 >= text.size()) return std::nullopt;
    const int hi = HexDigitValue(text[i + 1]);
    const int lo = HexDigitValue(text[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

std::optional<uint64_t> Decimal(std::string_view text) {
  if (text.empty() || text.size() > 20 || (text.size() > 1 && text[0] == '0')) return std::nullopt;
  uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::optional<uint64_t> Hex16(std::string_view text) {
  if (text.size() != 16) return std::nullopt;
  uint64_t value = 0;
  for (const char c : text) {
    const int d = HexDigitValue(c);
    if (d < 0 || (c >= 'A' && c <= 'F')) return std::nullopt;  // written in lower case
    value = value << 4 | static_cast<uint64_t>(d);
  }
  return value;
}

std::vector<std::string_view> Fields(std::string_view line) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  while (pos <= line.size()) {
    const size_t space = line.find(' ', pos);
    out.push_back(line.substr(pos, space == std::string_view::npos ? line.npos : space - pos));
    if (space == std::string_view::npos) break;
    pos = space + 1;
  }
  return out;
}

Error Bad(std::string_view name, uint64_t line, std::string_view ja, std::string_view en) {
  return Error::Invalid(
      Cat(name, ":", std::to_string(line), ": チェックポイントのファイルとして読めません: ", ja,
          "（別のファイルを指定していないか確かめてください。作り直すときはこのファイルを消してから"
          "起動してください）"),
      Cat(name, ":", std::to_string(line), ": not a valid checkpoint file: ", en,
          " (check the path; to start over, delete the file)"));
}

std::string ErrnoText() { return std::strerror(errno); }

}  // namespace

uint64_t HeadHash(std::string_view bytes) {
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (const char c : bytes) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

std::string CheckpointToText(const Checkpoint& checkpoint) {
  std::string out = Cat(kMagic, "\n");
  char hash[17];
  for (const auto& [path, p] : checkpoint.files) {
    std::snprintf(hash, sizeof hash, "%016llx", static_cast<unsigned long long>(p.head_hash));
    out += Cat("file ", std::to_string(p.device), " ", std::to_string(p.inode), " ",
               std::to_string(p.offset), " ", std::to_string(p.line), " ",
               std::to_string(p.head_bytes), " ", hash, " ", PercentEncode(path), "\n");
  }
  out += Cat("end ", std::to_string(checkpoint.files.size()), "\n");
  return out;
}

Result<Checkpoint> ParseCheckpoint(std::string_view text, std::string_view name) {
  if (text.size() > kMaxCheckpointBytes) {
    return Bad(name, 1, "大きすぎます", "too large");
  }
  Checkpoint checkpoint;
  uint64_t number = 0;
  bool ended = false;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    if (nl == std::string_view::npos) {
      return Bad(name, number + 1, "最後の行が途中で切れています", "the last line is cut");
    }
    const std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl + 1);
    ++number;
    if (ended) return Bad(name, number, "end の後に行があります", "lines after \"end\"");
    if (number == 1) {
      if (line != kMagic) {
        return Bad(name, number, "先頭が「mamori-monitor-checkpoint 1」ではありません",
                   "the first line is not \"mamori-monitor-checkpoint 1\"");
      }
      continue;
    }
    const std::vector<std::string_view> f = Fields(line);
    if (f[0] == "end") {
      const std::optional<uint64_t> count = f.size() == 2 ? Decimal(f[1]) : std::nullopt;
      if (!count || *count != checkpoint.files.size()) {
        return Bad(name, number, "end の件数が記録の数と合いません",
                   "the count after \"end\" does not match the records");
      }
      ended = true;
      continue;
    }
    if (f[0] != "file" || f.size() != 8) {
      return Bad(name, number, "file か end の行ではありません", "not a \"file\" or \"end\" line");
    }
    FilePosition p;
    const auto device = Decimal(f[1]), inode = Decimal(f[2]), offset = Decimal(f[3]),
               line_number = Decimal(f[4]), head_bytes = Decimal(f[5]);
    const auto head_hash = Hex16(f[6]);
    if (!device || !inode || !offset || !line_number || !head_bytes || !head_hash) {
      return Bad(name, number, "数が読めません", "unreadable number");
    }
    if (*head_bytes > kHeadBytes || *head_bytes > *offset || *line_number > *offset) {
      return Bad(name, number, "位置の値が矛盾しています", "inconsistent position");
    }
    p.device = *device;
    p.inode = *inode;
    p.offset = *offset;
    p.line = *line_number;
    p.head_bytes = static_cast<uint32_t>(*head_bytes);
    p.head_hash = *head_hash;
    std::optional<std::string> path = PercentDecode(f[7]);
    if (!path || path->empty()) return Bad(name, number, "パスが読めません", "unreadable path");
    if (checkpoint.files.size() >= kMaxCheckpointFiles) {
      return Bad(name, number, "記録が多すぎます", "too many records");
    }
    if (!checkpoint.files.emplace(std::move(*path), p).second) {
      return Bad(name, number, "同じパスが二度あります", "the same path twice");
    }
  }
  if (!ended) {
    return Bad(name, number + 1, "end の行がありません（途中で切れています）",
               "no \"end\" line (the file is cut)");
  }
  return checkpoint;
}

Result<std::optional<Checkpoint>> LoadCheckpoint(const std::string& path) {
  // O_NONBLOCK: a FIFO at the path must not block the start; only a regular file is read.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::optional<Checkpoint>();
    const std::string why = ErrnoText();
    return Error::Invalid(Cat("チェックポイントのファイルを読めません: ", path, ": ", why),
                          Cat("cannot read checkpoint file ", path, ": ", why));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Error::Invalid(Cat("チェックポイントが通常のファイルではありません: ", path),
                          Cat("checkpoint is not a regular file: ", path));
  }
  std::string text;
  char buffer[65536];
  while (true) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const std::string why = ErrnoText();
      ::close(fd);
      return Error::Invalid(Cat("チェックポイントのファイルを読めません: ", path, ": ", why),
                            Cat("cannot read checkpoint file ", path, ": ", why));
    }
    if (n == 0) break;
    text.append(buffer, static_cast<size_t>(n));
    if (text.size() > kMaxCheckpointBytes) break;
  }
  ::close(fd);
  MAMORI_ASSIGN_OR_RETURN(Checkpoint checkpoint, ParseCheckpoint(text, path));
  return std::optional<Checkpoint>(std::move(checkpoint));
}

Status SaveCheckpoint(const std::string& path, const Checkpoint& checkpoint) {
  const std::string text = CheckpointToText(checkpoint);
  const std::string temp = path + ".tmp";
  auto fail = [&](std::string_view what) {
    const std::string why = ErrnoText();
    return Error::Unavailable(Cat("チェックポイントを書けません（", what, "）: ", path, ": ", why),
                              Cat("cannot write checkpoint (", what, "): ", path, ": ", why));
  };
  // A new file of our own: whatever was at the temporary name (a symlink someone planted, a
  // file they own and could edit later) is removed, and the open refuses to follow or reuse one
  // that appears in between.
  if (::unlink(temp.c_str()) != 0 && errno != ENOENT) return fail("unlink");
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return fail("open");
  auto abandon = [&](std::string_view what) {
    Error e = fail(what);
    ::close(fd);
    ::unlink(temp.c_str());
    return e;
  };
  size_t written = 0;
  while (written < text.size()) {
    const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return abandon("write");
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) return abandon("fsync");
  if (::close(fd) != 0) {
    Error e = fail("close");
    ::unlink(temp.c_str());
    return e;
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    Error e = fail("rename");
    ::unlink(temp.c_str());
    return e;
  }
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "."
                          : slash == 0               ? "/"
                                                     : path.substr(0, slash);
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {  // makes the rename durable; a file system without it still renamed
    (void)::fsync(dir_fd);
    ::close(dir_fd);
  }
  return {};
}

}  // namespace mamori::monitor
