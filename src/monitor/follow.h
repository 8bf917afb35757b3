// Follow mode: reads files as they grow and feeds their bytes to a Monitor (one input per file).
//
//   FileFollower follower(monitor, notice);
//   follower.Add("/var/log/fw.log", checkpoint_position);   // nullopt: from the start
//   while (running) { follower.Poll(); sleep(250 ms); }
//   follower.Stop();                                        // incomplete last lines stay unread
//   checkpoint.files = follower.Positions();
//
// Rotation: when the path names another file (rename and create, as logrotate does), the old
// file is read to its end and, after one more poll in which nothing was added to it, closed (a
// last line without a line break is still a line); then the new file is read from its start,
// its lines numbered from 1. Truncation (copytruncate): when the file is shorter than what was
// read, or its first bytes changed, it is read again from the start, and a notice says so.
//
// Resuming from a checkpoint: if the path still names the checkpoint's file (same device, inode
// and first bytes, not shorter than the offset), reading continues at the offset with the line
// numbers after it. Otherwise the file was rotated while nothing was reading it: it is looked
// for among the path's rotated siblings in the same directory ("fw.log.1", "fw.log-20240501",
// …; compressed ones cannot be read, symbolic links are never followed), first by device and
// inode, then, for a copy that copytruncate made, by its first bytes (only when the checkpoint
// hashed at least kMinContentMatchBytes of them: a shorter head could match an unrelated file);
// it is finished from the offset, then the new file is read from the start. If it cannot be
// found a notice says that its unread rest is lost.
//
// Bytes are read with pread at an offset the follower keeps; the input's consumed offset
// (Monitor::consumed) is what the checkpoint records, so lines still incomplete or waiting for
// format detection are never counted as read. At most kMaxBytesPerPoll are read from one file
// per Poll, so a large backlog does not starve the other inputs.
//
// Not thread-safe. The Monitor must outlive the follower.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "monitor/checkpoint.h"
#include "monitor/monitor.h"

namespace mamori::monitor {

inline constexpr size_t kMaxBytesPerPoll = size_t{32} << 20;

// Something for people to know (standard error): Japanese and English.
using NoticeFn = std::function<void(const std::string& ja, const std::string& en)>;

struct PollResult {
  uint64_t bytes = 0;         // bytes read from all files in this poll
  std::vector<Error> errors;  // files that can no longer be followed (reported once)
};

class FileFollower {
 public:
  FileFollower(Monitor& monitor, NoticeFn notice);
  ~FileFollower();
  FileFollower(const FileFollower&) = delete;
  FileFollower& operator=(const FileFollower&) = delete;

  // Opens `path` now (kInvalidInput naming it when it cannot be read) and decides where to start
  // (above). Nothing is read until Poll.
  Status Add(const std::string& path, const std::optional<FilePosition>& resume);
  // Reads what has arrived in every file; handles rotation and truncation.
  PollResult Poll();
  // Closes every input without its incomplete last line (InputEnd::kStopped).
  void Stop();
  // The position of every followed path, for the checkpoint: the file being read and what of it
  // has been consumed. A path whose file has not been opened again since its rotation keeps the
  // last position.
  std::map<std::string, FilePosition> Positions() const;

 private:
  struct Watched;
  struct Reading;

  Status Start(Watched& w, const std::string& file_path, int fd, uint64_t offset, uint64_t line,
               bool successor_pending);
  bool ReadAvailable(Watched& w, PollResult& result);
  void Finish(Watched& w, PollResult& result);
  bool CheckTruncated(Watched& w);
  void Resume(Watched& w, int fd, const FilePosition& at);

  Monitor& monitor_;
  NoticeFn notice_;
  std::vector<std::unique_ptr<Watched>> watched_;
  std::vector<char> buffer_;
};

}  // namespace mamori::monitor
