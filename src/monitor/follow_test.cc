// Follow mode and its checkpoint on real files in a temporary directory: growth with partial
// lines, rotation, truncation, and restarts from a checkpoint (also across a rotation or a
// copytruncate while stopped). Every event is recorded with its file, line and destination
// port, so "no loss, no duplicates" is checked event by event.
#include "monitor/follow.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "monitor/checkpoint.h"

namespace mamori::monitor {
namespace {

namespace fs = std::filesystem;

struct Seen {
  std::string file;
  uint64_t line;
  uint16_t dport;
  bool operator==(const Seen&) const = default;
};

class Recorder final : public Detector {
 public:
  explicit Recorder(std::vector<Seen>& seen) : seen_(seen) {}
  void OnEvent(const Event& e, AlertSink&) override {
    seen_.push_back({std::string(e.file), e.line, e.dport});
  }

 private:
  std::vector<Seen>& seen_;
};

struct Discard final : AlertOutput {
  void Write(const Alert&) override {}
};

// A netfilter LOG line whose destination port identifies it.
std::string Line(int port) {
  return "2024-05-01T00:00:00Z fw kernel: FWD IN=eth0 OUT=eth1 SRC=10.1.0.1 DST=10.2.0.1 "
         "LEN=60 PROTO=TCP SPT=1 DPT=" +
         std::to_string(port) + "\n";
}

std::string Lines(int from, int to) {
  std::string out;
  for (int p = from; p <= to; ++p) out += Line(p);
  return out;
}

void Append(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::app);
  out << text;
}

class FollowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/mamori-follow-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
    path_ = dir_ + "/fw.log";
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A fresh pipeline (a restart), recording into seen_.
  void Restart() {
    follower_.reset();
    monitor_.reset();
    std::vector<std::unique_ptr<Detector>> detectors;
    detectors.push_back(std::make_unique<Recorder>(seen_));
    monitor_ = std::make_unique<Monitor>(MonitorOptions{}, std::move(detectors), discard_);
    follower_ = std::make_unique<FileFollower>(
        *monitor_, [this](const std::string& ja, const std::string&) { notices_.push_back(ja); });
  }
  void Poll(int times = 1) {
    for (int i = 0; i < times; ++i) {
      const PollResult r = follower_->Poll();
      for (const Error& e : r.errors) ADD_FAILURE() << e.message_en;
    }
  }
  // Stops and returns the checkpoint, through its text form as a restart would read it.
  Checkpoint Stop() {
    follower_->Stop();
    monitor_->Finish();
    Checkpoint cp;
    cp.files = follower_->Positions();
    auto parsed = ParseCheckpoint(CheckpointToText(cp), "cp");
    EXPECT_TRUE(parsed.ok());
    return *parsed;
  }
  std::vector<int> Ports() const {
    std::vector<int> out;
    for (const Seen& s : seen_) out.push_back(s.dport);
    return out;
  }
  static std::vector<int> Range(int from, int to) {
    std::vector<int> out;
    for (int p = from; p <= to; ++p) out.push_back(p);
    return out;
  }

  std::string dir_, path_;
  Discard discard_;
  std::vector<Seen> seen_;
  std::vector<std::string> notices_;
  std::unique_ptr<Monitor> monitor_;
  std::unique_ptr<FileFollower> follower_;
};

TEST_F(FollowTest, GrowingFileWithPartialLines) {
  Append(path_, Lines(1, 2));
  const std::string third = Line(3);
  Append(path_, third.substr(0, 10));
  Restart();
  ASSERT_TRUE(follower_->Add(path_, std::nullopt).ok());
  Poll();
  EXPECT_EQ(Ports(), Range(1, 2));
  EXPECT_EQ(follower_->Positions().at(path_).offset, Lines(1, 2).size());
  Append(path_, third.substr(10));
  Poll();
  EXPECT_EQ(Ports(), Range(1, 3));
  EXPECT_EQ(seen_.back(), (Seen{path_, 3, 3}));
  // A last line without a line break is left for later, and not in the checkpoint.
  Append(path_, Line(4).substr(0, 20));
  Poll();
  const Checkpoint cp = Stop();
  EXPECT_EQ(Ports(), Range(1, 3));
  EXPECT_EQ(cp.files.at(path_).offset, Lines(1, 3).size());
  EXPECT_EQ(cp.files.at(path_).line, 3u);
}

TEST_F(FollowTest, RotationFinishesTheOldFileThenReadsTheNewOne) {
  Append(path_, Lines(1, 3));
  Restart();
  ASSERT_TRUE(follower_->Add(path_, std::nullopt).ok());
  Poll();
  fs::rename(path_, path_ + ".1");
  Append(path_ + ".1", Lines(4, 5));  // the writer still writes to the old file for a moment
  Append(path_, Lines(6, 7));         // the new file
  Poll();
  EXPECT_EQ(Ports(), Range(1, 5));  // not yet switched: one quiet poll first
  Poll();
  EXPECT_EQ(Ports(), Range(1, 7));
  EXPECT_EQ(seen_[4], (Seen{path_, 5, 5}));  // the old file's lines keep their numbers
  EXPECT_EQ(seen_[5], (Seen{path_, 1, 6}));  // the new file starts at line 1
  ASSERT_FALSE(notices_.empty());
  EXPECT_NE(notices_[0].find("ローテーション"), std::string::npos);
  // Moved away without a new file yet: finished, then waits for the path to come back.
  fs::rename(path_, path_ + ".2");
  Poll(3);
  Append(path_, Lines(8, 8));
  Poll();
  EXPECT_EQ(Ports(), Range(1, 8));
}

TEST_F(FollowTest, TruncationStartsAgainFromTheStart) {
  Append(path_, Lines(1, 3));
  Restart();
  ASSERT_TRUE(follower_->Add(path_, std::nullopt).ok());
  Poll();
  fs::resize_file(path_, 0);  // copytruncate
  Append(path_, Lines(4, 4));
  Poll();
  EXPECT_EQ(Ports(), Range(1, 4));
  EXPECT_EQ(seen_.back().line, 1u);
  ASSERT_EQ(notices_.size(), 1u);
  EXPECT_NE(notices_[0].find("切り詰め"), std::string::npos);
  // Truncated and grown past the old offset between two polls: the first bytes tell.
  fs::resize_file(path_, 0);
  Append(path_, Lines(5, 9));
  Poll();
  EXPECT_EQ(Ports(), Range(1, 9));
  EXPECT_EQ(notices_.size(), 2u);
}

TEST_F(FollowTest, RestartResumesWithoutLossOrRepeat) {
  Append(path_, Lines(1, 3));
  Restart();
  ASSERT_TRUE(follower_->Add(path_, std::nullopt).ok());
  Poll();
  Append(path_, Line(4).substr(0, 7));  // half a line at the stop
  Poll();
  Checkpoint cp = Stop();
  Append(path_, Line(4).substr(7) + Lines(5, 6));  // written while stopped
  Restart();
  ASSERT_TRUE(follower_->Add(path_, cp.files.at(path_)).ok());
  Poll();
  EXPECT_EQ(Ports(), Range(1, 6));
  EXPECT_EQ(seen_.back(), (Seen{path_, 6, 6}));  // numbering continues
  EXPECT_TRUE(notices_.empty());
}

TEST_F(FollowTest, RotatedWhileStoppedFinishesTheSiblingFirst) {
  Append(path_, Lines(1, 3));
  Restart();
  ASSERT_TRUE(follower_->Add(path_, std::nullopt).ok());
  Poll();
  Checkpoint cp = Stop();
  Append(path_, Lines(4, 5));
  fs::rename(path_, path_ + "-20240501");
  Append(path_ + ".2.gz", "not read");  // compressed siblings are left alone
  Append(path_, Lines(6, 7));
  Restart();
  ASSERT_TRUE(follower_->Add(path_, cp.files.at(path_)).ok());
  Poll(3);
  EXPECT_EQ(Ports(), Range(1, 7));
  EXPECT_EQ(seen_[3], (Seen{path_ + "-20240501", 4, 4}));
  EXPECT_EQ(seen_[5], (Seen{path_, 1, 6}));
  ASSERT_EQ(notices_.size(), 1u);
  EXPECT_NE(notices_[0].find("停止中にローテーション"), std::string::npos);
  // And once more: the checkpoint now names the new file.
  cp = Stop();
  EXPECT_EQ(cp.files.at(path_).line, 2u);
  Append(path_, Lines(8, 8));
  Restart();
  ASSERT_TRUE(follower_->Add(path_, cp.files.at(path_)).ok());
  Poll();
  EXPECT_EQ(Ports(), Range(1, 8));
}

TEST_F(FollowTest, RotatedTwiceWhileStoppedSaysWhichFileIsNotRead) {
  Append(path_, Lines(1, 3));
  Restart();
  ASSERT_TRUE(follower_->Add(path_, std::nullopt).ok());
  Poll();
  Checkpoint cp = Stop();
  fs::rename(path_, path_ + ".1");
  Append(path_, Lines(4, 5));
  fs::rename(path_ + ".1", path_ + ".2");
  fs::rename(path_, path_ + ".1");
  Append(path_, Lines(6, 7));
  Restart();
  ASSERT_TRUE(follower_->Add(path_, cp.files.at(path_)).ok());
  Poll(3);
  EXPECT_EQ(Ports(), (std::vector<int>{1, 2, 3, 6, 7}));
  ASSERT_EQ(notices_.size(), 2u);
  EXPECT_NE(notices_[1].find("次のファイルは読みません: " + path_ + ".1"), std::string::npos)
      << notices_[1];
}

TEST_F(FollowTest, CopytruncateWhileStoppedFindsTheCopyByItsFirstBytes) {
  Append(path_, Lines(1, 3));
  Restart();
  ASSERT_TRUE(follower_->Add(path_, std::nullopt).ok());
  Poll();
  Checkpoint cp = Stop();
  Append(path_, Lines(4, 5));
  fs::copy_file(path_, path_ + ".1");  // a new inode with the same bytes
  fs::resize_file(path_, 0);
  Append(path_, Lines(6, 12));  // longer than before: only the first bytes tell
  Restart();
  ASSERT_TRUE(follower_->Add(path_, cp.files.at(path_)).ok());
  Poll(3);
  EXPECT_EQ(Ports(), Range(1, 12));
  EXPECT_EQ(seen_[3].file, path_ + ".1");
}

TEST_F(FollowTest, ARotatedCopyIsNeverASymlinkNorTakenByAShortHead) {
  // A symbolic link beside the log is not a rotated copy, even to a file with the same bytes.
  Append(path_, Lines(1, 3));
  Restart();
  ASSERT_TRUE(follower_->Add(path_, std::nullopt).ok());
  Poll();
  Checkpoint cp = Stop();
  fs::copy_file(path_, dir_ + "/elsewhere.log");
  fs::resize_file(path_, 0);
  fs::create_symlink(dir_ + "/elsewhere.log", path_ + ".1");
  Append(path_, Lines(6, 9));
  Restart();
  ASSERT_TRUE(follower_->Add(path_, cp.files.at(path_)).ok());
  Poll(3);
  EXPECT_EQ(Ports(), (std::vector<int>{1, 2, 3, 6, 7, 8, 9}));
  ASSERT_EQ(notices_.size(), 1u);
  EXPECT_NE(notices_[0].find("見つかりません"), std::string::npos);

  // A checkpoint that hashed fewer than 256 bytes does not pick a copy by its first bytes.
  const std::string small = dir_ + "/small.log";
  Append(small, Line(1));  // one line: fewer than 256 bytes
  Restart();
  ASSERT_TRUE(follower_->Add(small, std::nullopt).ok());
  Poll();
  cp = Stop();
  ASSERT_GT(cp.files.at(small).head_bytes, 0u);
  ASSERT_LT(cp.files.at(small).head_bytes, 256u);
  fs::copy_file(small, small + ".1");
  fs::resize_file(small, 0);
  Restart();
  ASSERT_TRUE(follower_->Add(small, cp.files.at(small)).ok());
  Poll();
  ASSERT_FALSE(notices_.empty());
  EXPECT_NE(notices_.back().find("見つかりません"), std::string::npos) << notices_.back();
}

TEST_F(FollowTest, LostCheckpointFileIsSaidAndTheNewFileReadFromTheStart) {
  Append(path_, Lines(1, 3));
  Restart();
  ASSERT_TRUE(follower_->Add(path_, std::nullopt).ok());
  Poll();
  Checkpoint cp = Stop();
  fs::remove(path_);
  Append(path_, Lines(4, 5));
  Restart();
  ASSERT_TRUE(follower_->Add(path_, cp.files.at(path_)).ok());
  Poll();
  EXPECT_EQ(Ports(), Range(1, 5));
  ASSERT_EQ(notices_.size(), 1u);
  EXPECT_NE(notices_[0].find("見つかりません"), std::string::npos);
}

TEST_F(FollowTest, UnreadableFileIsAnErrorNamingIt) {
  Restart();
  const Status st = follower_->Add(dir_ + "/missing.log", std::nullopt);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("missing.log"), std::string::npos);
}

TEST_F(FollowTest, ZeekTsvResumedMidFileKeepsItsHeader) {
  const std::string header =
      "#separator \\x09\n#path\tconn\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\t"
      "id.resp_p\tproto\n#types\ttime\tstring\taddr\tport\taddr\tport\tenum\n";
  auto row = [](int port) {
    return "1714525200.0\tC" + std::to_string(port) + "\t10.1.0.1\t1\t10.2.0.1\t" +
           std::to_string(port) + "\ttcp\n";
  };
  Append(path_, header + row(1) + row(2));
  Restart();
  ASSERT_TRUE(follower_->Add(path_, std::nullopt).ok());
  Poll();
  Checkpoint cp = Stop();
  Append(path_, row(3));
  Restart();
  ASSERT_TRUE(follower_->Add(path_, cp.files.at(path_)).ok());
  Poll();
  EXPECT_EQ(Ports(), Range(1, 3));
  EXPECT_EQ(seen_.back(), (Seen{path_, 7, 3}));
  EXPECT_EQ(monitor_->summary().malformed, 0u);
  EXPECT_EQ(monitor_->summary().inputs.at(0).format, InputFormat::kZeek);
}

// --- checkpoint file ------------------------------------------------------------------------

TEST(CheckpointTest, RoundTripWithAnyPath) {
  Checkpoint cp;
  cp.files["/var/log/fw.log"] = {2049, 1234567, 5000, 42, 1024, 0x0123456789abcdefULL};
  cp.files["/tmp/a b%c\n\xff.log"] = {1, 2, 3, 1, 3, HeadHash("abc")};
  cp.files["rel.log"] = {};
  const std::string text = CheckpointToText(cp);
  EXPECT_NE(text.find("a%20b%25c%0A%FF.log"), std::string::npos);
  auto parsed = ParseCheckpoint(text, "cp");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message_en;
  EXPECT_EQ(parsed->files, cp.files);
}

TEST(CheckpointTest, ForeignCutOrEditedFilesAreErrorsNamingFileAndLine) {
  const std::string good = "mamori-monitor-checkpoint 1\nfile 1 2 30 3 30 " +
                           std::string("00000000000000aa") + " /x.log\nend 1\n";
  ASSERT_TRUE(ParseCheckpoint(good, "cp").ok());
  struct Case {
    std::string text;
    std::string where;
  };
  const std::vector<Case> cases = {
      {"", "cp:1:"},
      {"[zones.a]\nnetworks = []\n", "cp:1:"},
      {"mamori-monitor-checkpoint 2\nend 0\n", "cp:1:"},
      {good.substr(0, good.size() - 1), "cp:3:"},   // cut: no final line break
      {good.substr(0, good.find("end")), "cp:3:"},  // no end
      {"mamori-monitor-checkpoint 1\nend 1\n", "cp:2:"},
      {"mamori-monitor-checkpoint 1\nfile 1 2 30 3 31 00000000000000aa /x\nend 1\n", "cp:2:"},
      {"mamori-monitor-checkpoint 1\nfile 1 2 30 31 3 00000000000000aa /x\nend 1\n", "cp:2:"},
      {"mamori-monitor-checkpoint 1\nfile 1 2 30 3 3 00000000000000AA /x\nend 1\n", "cp:2:"},
      {"mamori-monitor-checkpoint 1\nfile 1 2 -30 3 3 00000000000000aa /x\nend 1\n", "cp:2:"},
      {"mamori-monitor-checkpoint 1\nfile 1 2 99999999999999999999 3 3 00000000000000aa /x\nend "
       "1\n",
       "cp:2:"},
      {"mamori-monitor-checkpoint 1\nfile 1 2 30 3 3 00000000000000aa /x%2\nend 1\n", "cp:2:"},
      {"mamori-monitor-checkpoint 1\nfile 1 2 30 3 3 00000000000000aa /x\nfile 1 2 30 3 3 "
       "00000000000000aa /x\nend 2\n",
       "cp:3:"},
      {good + "file 1 2 3 1 1 0000000000000000 /y\n", "cp:4:"},
  };
  for (const Case& c : cases) {
    auto parsed = ParseCheckpoint(c.text, "cp");
    ASSERT_FALSE(parsed.ok()) << c.text;
    EXPECT_EQ(parsed.error().message.rfind(c.where, 0), 0u) << parsed.error().message;
    EXPECT_NE(parsed.error().message_en.find("not a valid checkpoint file"), std::string::npos);
  }
}

TEST(CheckpointTest, SaveIsAtomicAndLoadReadsItBack) {
  char pattern[] = "/tmp/mamori-cp-XXXXXX";
  ASSERT_NE(::mkdtemp(pattern), nullptr);
  const std::string path = std::string(pattern) + "/cp";
  auto missing = LoadCheckpoint(path);
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
  Checkpoint cp;
  cp.files["/a.log"] = {1, 2, 3, 1, 3, 7};
  ASSERT_TRUE(SaveCheckpoint(path, cp).ok());
  cp.files["/a.log"].offset = 9;
  ASSERT_TRUE(SaveCheckpoint(path, cp).ok());
  EXPECT_FALSE(fs::exists(path + ".tmp"));
  auto loaded = LoadCheckpoint(path);
  ASSERT_TRUE(loaded.ok());
  ASSERT_TRUE(loaded->has_value());
  EXPECT_EQ((*loaded)->files, cp.files);
  std::ofstream(path) << "something else\n";
  auto foreign = LoadCheckpoint(path);
  ASSERT_FALSE(foreign.ok());
  EXPECT_NE(foreign.error().message.find(path + ":1:"), std::string::npos);
  fs::remove_all(pattern);
}

}  // namespace
}  // namespace mamori::monitor
