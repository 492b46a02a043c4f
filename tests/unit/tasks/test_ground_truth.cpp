// GroundTruthScorer: per-frame IoU against masks on disk, hand-computed.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "io/image_file.h"
#include "tasks/ground_truth.h"
#include "test_support.h"

namespace dinoclip {
namespace {

using testing::message_of;
using testing::temp_dir;

Image row_mask(const std::vector<int>& ids) {
  Image mask(int(ids.size()), 1, 1);
  for (size_t i = 0; i < ids.size(); ++i) mask.pixels[i] = uint8_t(ids[i]);
  return mask;
}

at::Tensor row_tensor(const std::vector<int>& ids) {
  at::Tensor mask = at::empty({1, int64_t(ids.size())}, at::kByte);
  for (size_t i = 0; i < ids.size(); ++i) mask[0][int64_t(i)] = ids[i];
  return mask;
}

// A folder with ground-truth masks for the given frames: gt/00000.png ...
std::string folder_with(const std::vector<std::pair<int, Image>>& frames) {
  static int count = 0;
  const std::string dir = temp_dir() + "/gt" + std::to_string(count++);
  std::filesystem::create_directories(dir);
  for (const auto& [frame, mask] : frames) {
    char name[32];
    std::snprintf(name, sizeof(name), "/%05d.png", frame);
    write_png(dir + name, mask);
  }
  return dir;
}

TEST(GroundTruthScorer, ScoresFramesWithAFileAndSkipsTheOthers) {
  const std::string dir = folder_with({{0, row_mask({0, 0, 1, 1})}, {2, row_mask({0, 1, 1, 1})}});
  GroundTruthScorer scorer(dir + "/%05d.png");
  const std::optional<FrameIou> first = scorer.score(0, row_tensor({0, 1, 1, 1}));
  ASSERT_TRUE(first.has_value());
  EXPECT_DOUBLE_EQ(first->mean, (1.0 / 2 + 2.0 / 3) / 2);
  ASSERT_EQ(first->per_class.size(), 256u);
  EXPECT_DOUBLE_EQ(first->per_class[0], 1.0 / 2);
  EXPECT_DOUBLE_EQ(first->per_class[1], 2.0 / 3);
  EXPECT_TRUE(std::isnan(first->per_class[2]));
  EXPECT_FALSE(scorer.score(1, row_tensor({0, 0, 0, 0})).has_value());
  const std::optional<FrameIou> third = scorer.score(2, row_tensor({0, 1, 1, 1}));
  ASSERT_TRUE(third.has_value());
  EXPECT_DOUBLE_EQ(third->mean, 1.0);

  const IouSummary summary = scorer.summary();
  EXPECT_EQ(summary.frames, 2);
  EXPECT_DOUBLE_EQ(summary.first, first->mean);
  EXPECT_DOUBLE_EQ(summary.last, 1.0);
  EXPECT_EQ(summary.first_frame, 0);
  EXPECT_EQ(summary.last_frame, 2);
  EXPECT_DOUBLE_EQ(summary.mean, (first->mean + 1.0) / 2);
}

TEST(GroundTruthScorer, AFrameScoredTwiceCountsOnce) {
  const std::string dir = folder_with({{0, row_mask({0, 1})}});
  GroundTruthScorer scorer(dir + "/%05d.png");
  scorer.score(0, row_tensor({1, 1}));
  scorer.score(0, row_tensor({0, 1}));
  EXPECT_EQ(scorer.summary().frames, 1);
  EXPECT_DOUBLE_EQ(scorer.summary().mean, 1.0);
}

TEST(GroundTruthScorer, RejectsAPatternInAFolderThatDoesNotExist) {
  const std::string message = message_of([] { GroundTruthScorer(temp_dir() + "/no-such-folder/%05d.png"); });
  EXPECT_NE(message.find("no-such-folder' does not exist"), std::string::npos) << message;
  EXPECT_NE(message.find("point ground-truth at the folder"), std::string::npos) << message;
}

TEST(GroundTruthScorer, RejectsAPatternWithoutOneIntegerConversion) {
  const std::string message = message_of([] { GroundTruthScorer(temp_dir() + "/%s.png"); });
  EXPECT_NE(message, "(no error)");
}

TEST(GroundTruthScorer, RejectsAGroundTruthOfAnotherSize) {
  const std::string dir = folder_with({{0, row_mask({0, 1, 1})}});
  GroundTruthScorer scorer(dir + "/%05d.png");
  EXPECT_NE(message_of([&] { scorer.score(0, row_tensor({0, 1})); }), "(no error)");
  EXPECT_EQ(scorer.summary().frames, 0);
}

}  // namespace
}  // namespace dinoclip
