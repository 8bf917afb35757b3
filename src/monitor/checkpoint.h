// The checkpoint of `mamori monitor --follow --checkpoint FILE`: for each followed path, how far
// its file has been consumed, so that a restart neither loses nor repeats a line.
//
// A position names the file by device and inode and by a hash of its first bytes (an inode
// reused by a new file has other first bytes), and says where the next line starts: the offset
// just after the line break of the last line whose event reached every detector, and that
// line's number. The file is text, one record per line:
//
//   mamori-monitor-checkpoint 1
//   file DEVICE INODE OFFSET LINE HEAD_BYTES HEAD_HASH PATH
//   end COUNT
//
// (decimal numbers; HEAD_HASH is 16 hexadecimal digits, the FNV-1a 64 hash of the file's first
// HEAD_BYTES bytes, HEAD_BYTES = min(OFFSET, kHeadBytes); PATH is percent-encoded: bytes outside
// '!'..'~' and '%' as %XX). "end" with the number of records guards against a cut file.
//
// ParseCheckpoint is pure and fuzzed; LoadCheckpoint and SaveCheckpoint do the file I/O (the
// save is atomic: a temporary file in the same directory, fsync, rename, fsync of the directory).
// All functions are thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace mamori::monitor {

inline constexpr size_t kHeadBytes = 1024;                       // bytes the head hash covers
inline constexpr size_t kMaxCheckpointBytes = size_t{16} << 20;  // a larger file is refused
inline constexpr size_t kMaxCheckpointFiles = 10000;             // records

struct FilePosition {
  uint64_t device = 0;
  uint64_t inode = 0;
  uint64_t offset = 0;  // the next unread line starts here
  uint64_t line = 0;    // the number of the last line consumed (0: none yet)
  uint32_t head_bytes = 0;
  uint64_t head_hash = 0;

  bool operator==(const FilePosition&) const = default;
};

struct Checkpoint {
  std::map<std::string, FilePosition> files;  // by the path as given on the command line
};

// FNV-1a 64: recognizes a file by its first bytes (not a security measure).
uint64_t HeadHash(std::string_view bytes);

std::string CheckpointToText(const Checkpoint& checkpoint);
// kInvalidInput naming `name` and the line ("name:3: …") for anything but the exact format above:
// another file given by mistake, a cut or edited one, a newer version.
Result<Checkpoint> ParseCheckpoint(std::string_view text, std::string_view name);

// nullopt when `path` does not exist (the first run); errors: unreadable (kInvalidInput), too
// large or malformed (kInvalidInput naming the file).
Result<std::optional<Checkpoint>> LoadCheckpoint(const std::string& path);
// Atomic replace of `path` (kUnavailable on failure, naming the file).
Status SaveCheckpoint(const std::string& path, const Checkpoint& checkpoint);

}  // namespace mamori::monitor
