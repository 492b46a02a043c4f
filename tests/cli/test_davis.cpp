// dinoclip make-sequence and davis as a user runs them: a generated DAVIS
// layout (exact masks, DAVIS palette), the layout and argument errors, and
// the whole pipeline (multifilesrc ! jpegdec ! dinofeatures ! dinoseg) on a
// tiny model, down to the frames of the mp4 it writes.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "io/file_util.h"
#include "io/image_file.h"
#include "app/frame_reader.h"
#include "core/device.h"
#include "cli_runner.h"
#include "test_support.h"
#include "vision/overlay.h"
#include "vision/synthetic.h"

using namespace dinoclip;
namespace fs = std::filesystem;

namespace {

using dinoclip::testing::CliRun;
using dinoclip::testing::dinoclip_cli;

std::string frame_file(const std::string& root, const char* kind, int index, const char* extension) {
  char name[16];
  std::snprintf(name, sizeof(name), "%05d.%s", index, extension);
  return root + "/" + kind + "/480p/synthetic/" + name;
}

// The PLTE chunk of a PNG, as RGB triplets (empty if it has none).
Palette png_palette(const std::string& path) {
  const std::string bytes = read_file(path);
  Palette palette;
  for (size_t at = 8; at + 12 <= bytes.size();) {
    const auto u8 = [&](size_t i) { return uint32_t(uint8_t(bytes[i])); };
    const uint32_t length = u8(at) << 24 | u8(at + 1) << 16 | u8(at + 2) << 8 | u8(at + 3);
    if (bytes.compare(at + 4, 4, "PLTE") == 0) {
      for (uint32_t i = 0; i + 2 < length; i += 3) {
        palette.push_back({uint8_t(u8(at + 8 + i)), uint8_t(u8(at + 9 + i)), uint8_t(u8(at + 10 + i))});
      }
    }
    at += 12 + length;
  }
  return palette;
}

double mean_abs_diff(const Image& a, const Image& b) {
  double sum = 0;
  for (size_t i = 0; i < a.pixels.size(); ++i) sum += std::abs(int(a.pixels[i]) - int(b.pixels[i]));
  return sum / double(a.pixels.size());
}

// The last line of the output that is a JSON object.
nlohmann::json json_line(const std::string& output) {
  size_t end = output.size();
  while (end > 0) {
    const size_t start = output.rfind('\n', end - 1);
    const size_t from = start == std::string::npos ? 0 : start + 1;
    if (output.compare(from, 1, "{") == 0) return nlohmann::json::parse(output.substr(from, end - from));
    if (start == std::string::npos) break;
    end = start;
  }
  return nullptr;
}

TEST(MakeSequence, WritesTheDavisLayoutWithExactPaletteMasks) {
  const std::string root = dinoclip::testing::temp_dir() + "/davis";
  CliRun run = dinoclip_cli("make-sequence --out " + root + " --frames 3 --size 64x48 --objects 2 --seed 5");
  ASSERT_EQ(run.status, 0) << run.output;
  const SyntheticScene scene(64, 48, 2, 5);
  for (int i = 0; i < 3; ++i) {
    const SyntheticFrame expected = scene.render(i);
    const Image mask = read_label_png(frame_file(root, "Annotations", i, "png"));
    ASSERT_EQ(mask.width, 64);
    ASSERT_EQ(mask.height, 48);
    EXPECT_EQ(mask.pixels, expected.mask.pixels) << "frame " << i;  // masks are exact, not re-quantised
    const Image jpeg = read_image(frame_file(root, "JPEGImages", i, "jpg"));
    ASSERT_EQ(jpeg.width, 64);
    EXPECT_LT(mean_abs_diff(jpeg, expected.rgb), 10.0) << "frame " << i;  // JPEG q95, 4:2:0 on fine stripes: ~6.5
  }
  EXPECT_FALSE(fs::exists(frame_file(root, "JPEGImages", 3, "jpg")));
  // Both objects and the background appear: three classes to segment.
  const Image first = read_label_png(frame_file(root, "Annotations", 0, "png"));
  for (uint8_t id : {0, 1, 2}) {
    EXPECT_NE(std::find(first.pixels.begin(), first.pixels.end(), id), first.pixels.end()) << "class " << int(id);
  }
  // DAVIS masks carry the 256-entry VOC palette: 1 = dark red, 2 = dark green.
  const Palette palette = png_palette(frame_file(root, "Annotations", 0, "png"));
  ASSERT_EQ(palette.size(), 256u);
  EXPECT_EQ(palette[0], (std::array<uint8_t, 3>{0, 0, 0}));
  EXPECT_EQ(palette[1], (std::array<uint8_t, 3>{128, 0, 0}));
  EXPECT_EQ(palette[2], (std::array<uint8_t, 3>{0, 128, 0}));
  EXPECT_EQ(palette[255], davis_palette(256)[255]);
}

TEST(MakeSequence, RejectsOverwritingUnlessForced) {
  const std::string root = dinoclip::testing::temp_dir() + "/davis";
  ASSERT_EQ(dinoclip_cli("make-sequence --out " + root + " --frames 4 --size 32x32").status, 0);
  CliRun again = dinoclip_cli("make-sequence --out " + root + " --frames 2 --size 32x32");
  EXPECT_EQ(again.status, 1);
  EXPECT_NE(again.output.find("00000.jpg exists"), std::string::npos) << again.output;
  EXPECT_NE(again.output.find("pass --force"), std::string::npos) << again.output;
  EXPECT_TRUE(fs::exists(frame_file(root, "JPEGImages", 3, "jpg")));  // untouched
  // --force replaces the whole sequence: no stale frames from the longer one.
  ASSERT_EQ(dinoclip_cli("make-sequence --out " + root + " --frames 2 --size 32x32 --force").status, 0);
  EXPECT_TRUE(fs::exists(frame_file(root, "Annotations", 1, "png")));
  EXPECT_FALSE(fs::exists(frame_file(root, "JPEGImages", 2, "jpg")));
  EXPECT_FALSE(fs::exists(frame_file(root, "Annotations", 3, "png")));
  CliRun size = dinoclip_cli("make-sequence --out " + root + "/b --size 854");
  EXPECT_EQ(size.status, 1);
  EXPECT_NE(size.output.find("--size 854: give WxH"), std::string::npos) << size.output;
}

class Davis : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = dinoclip::testing::temp_dir() + "/davis";
    const CliRun made = dinoclip_cli("make-sequence --out " + root_ + " --frames 3 --size 64x48");
    ASSERT_EQ(made.status, 0) << made.output;
    weights_ = dinoclip::testing::fixture_path("dino_tiny/dino_tiny.pth");
    if (weights_.empty()) weights_ = root_ + "/weights.pth";  // the errors below come before any model load
    if (!fs::exists(weights_)) std::ofstream(weights_) << "not a model";
  }
  CliRun davis(const std::string& more) {
    return dinoclip_cli("davis --weights " + weights_ + " --heads 4 --input-size 64x48 " + more);
  }
  std::string root_, weights_;
};

TEST_F(Davis, RejectsAMissingOrIncompleteLayoutNamingWhatIsMissing) {
  const std::string out = " --out " + root_ + "/r.mp4";
  CliRun no_root = davis("--root " + root_ + "/nowhere --sequence synthetic" + out);
  EXPECT_EQ(no_root.status, 1);
  EXPECT_NE(no_root.output.find(root_ + "/nowhere: no such folder"), std::string::npos) << no_root.output;
  EXPECT_NE(no_root.output.find("JPEGImages/480p/NAME/00000.jpg"), std::string::npos) << no_root.output;

  CliRun no_sequence = davis("--root " + root_ + " --sequence bear" + out);
  EXPECT_EQ(no_sequence.status, 1);
  EXPECT_NE(no_sequence.output.find("JPEGImages/480p/bear: no such sequence folder"), std::string::npos)
      << no_sequence.output;
  EXPECT_NE(no_sequence.output.find("1 sequence(s): synthetic"), std::string::npos) << no_sequence.output;

  fs::remove(frame_file(root_, "Annotations", 1, "png"));
  CliRun no_mask = davis("--root " + root_ + " --sequence synthetic --train-frame 0" + out);
  EXPECT_EQ(no_mask.status, 1);
  EXPECT_NE(no_mask.output.find("Annotations/480p/synthetic/00001.png: missing"), std::string::npos) << no_mask.output;

  fs::remove(frame_file(root_, "JPEGImages", 1, "jpg"));
  CliRun gap = davis("--root " + root_ + " --sequence synthetic --train-frame 0" + out);
  EXPECT_EQ(gap.status, 1);
  EXPECT_NE(gap.output.find("JPEGImages/480p/synthetic/00001.jpg: missing, but later frames exist"), std::string::npos)
      << gap.output;
  EXPECT_FALSE(fs::exists(root_ + "/r.mp4"));
}

TEST_F(Davis, RejectsBadArgumentsBeforeRunningAnything) {
  const std::string sequence = "--root " + root_ + " --sequence synthetic ";
  CliRun beyond = davis(sequence + "--train-frame 3 --out " + root_ + "/r.mp4");
  EXPECT_EQ(beyond.status, 1);
  EXPECT_NE(beyond.output.find("--train-frame 3 is beyond the sequence: synthetic has 3 frames (0..2)"),
            std::string::npos)
      << beyond.output;

  std::ofstream(root_ + "/taken.mp4") << "keep me";
  CliRun taken = davis(sequence + "--train-frame 0 --out " + root_ + "/taken.mp4");
  EXPECT_EQ(taken.status, 1);
  EXPECT_NE(taken.output.find("taken.mp4 exists: pass --force"), std::string::npos) << taken.output;
  EXPECT_EQ(read_file(root_ + "/taken.mp4"), "keep me");

  CliRun not_mp4 = davis(sequence + "--out " + root_ + "/r.avi");
  EXPECT_NE(not_mp4.output.find("name it *.mp4"), std::string::npos) << not_mp4.output;
  CliRun method = davis(sequence + "--method knn --out " + root_ + "/r.mp4");
  EXPECT_NE(method.output.find("--method knn: use head or propagation"), std::string::npos) << method.output;
  CliRun weights = dinoclip_cli("davis " + sequence + "--weights /nonexistent/dino.pth --out " + root_ + "/r.mp4");
  EXPECT_EQ(weights.status, 1);
  EXPECT_NE(weights.output.find("--weights /nonexistent/dino.pth: no such file"), std::string::npos) << weights.output;
  CliRun size = davis(sequence + "--input-size big --out " + root_ + "/r.mp4");
  EXPECT_EQ(size.status, 1);
  EXPECT_FALSE(fs::exists(root_ + "/r.mp4"));
}

// A truncated JPEG mid-sequence: an error naming the frame, before any work,
// never a mean IoU over other frames than the summary says.
TEST_F(Davis, RejectsATruncatedFrameMidSequenceNamingIt) {
  const std::string frame = frame_file(root_, "JPEGImages", 1, "jpg");
  const std::string bytes = read_file(frame);
  std::ofstream(frame, std::ios::binary | std::ios::trunc) << bytes.substr(0, bytes.size() / 2);
  const CliRun run = davis("--root " + root_ + " --sequence synthetic --train-frame 0 --out " + root_ + "/r.mp4");
  EXPECT_EQ(run.status, 1) << run.output;
  EXPECT_NE(run.output.find("frame 1 of synthetic cannot be decoded"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("00001.jpg"), std::string::npos) << run.output;
  EXPECT_FALSE(fs::exists(root_ + "/r.mp4"));
}

// One run of the real pipeline on a tiny model; checks the numbers printed
// and the video written.
TEST(DavisPipeline, SegmentsAGeneratedSequenceAndWritesTheSideBySideVideo) {
  DINOCLIP_REQUIRE_FIXTURE(weights, "dino_tiny/dino_tiny.pth");
  // A space in the path: the pipeline's properties must survive gst-launch parsing.
  const std::string root = dinoclip::testing::temp_dir() + "/my davis";
  constexpr int kFrames = 10, kTrain = 3, kWidth = 160, kHeight = 96;
  const std::string length = " --frames " + std::to_string(kFrames);
  ASSERT_EQ(dinoclip_cli("make-sequence --out '" + root + "'" + length + " --size 160x96").status, 0);
  const std::string out = root + "/result.mp4";
  CliRun run = dinoclip_cli("davis --root '" + root + "' --sequence synthetic --weights " + weights +
                            " --heads 4 --input-size 160x96 --train-frame 3 --iters 100 --out '" + out + "'");
  ASSERT_EQ(run.status, 0) << run.output;
  // The printed line is one a shell can run: the path with the space is quoted.
  EXPECT_NE(run.output.find("pipeline: gst-launch-1.0 multifilesrc 'location=" + root), std::string::npos)
      << run.output;
  EXPECT_NE(run.output.find("! dinoseg 'annotation=" + root), std::string::npos) << run.output;
  EXPECT_EQ(run.output.find("warning"), std::string::npos) << run.output;

  const nlohmann::json summary = json_line(run.output);
  ASSERT_TRUE(summary.is_object()) << run.output;
  const auto per_frame = summary.at("iou_per_frame").get<std::vector<double>>();
  ASSERT_EQ(per_frame.size(), size_t(kFrames));
  double sum = 0;
  for (double iou : per_frame) {
    EXPECT_GE(iou, 0.0);
    EXPECT_LE(iou, 1.0);
    sum += iou;
  }
  EXPECT_DOUBLE_EQ(summary.at("iou_first").get<double>(), per_frame.front());
  EXPECT_DOUBLE_EQ(summary.at("iou_train").get<double>(), per_frame[kTrain]);
  EXPECT_DOUBLE_EQ(summary.at("iou_last").get<double>(), per_frame.back());
  EXPECT_NEAR(summary.at("iou_mean").get<double>(), sum / kFrames, 1e-12);
  // dinoseg's own dinoseg-iou messages give the same numbers as its class maps.
  EXPECT_EQ(summary.at("element_iou_agrees"), true);
  EXPECT_NE(run.output.find("IoU training frame (3): "), std::string::npos) << run.output;

  // The video: every frame, ground truth | prediction at twice the width.
  gstapp::VideoFrameReader reader(out);
  gstapp::VideoFrame frame;
  int frames = 0;
  while (reader.next(frame)) {
    ASSERT_EQ(frame.rgb.width, 2 * kWidth);
    ASSERT_EQ(frame.rgb.height, kHeight);
    if (frames == kTrain) {
      // The left half is the frame with the ground-truth mask blended in.
      Image expected = read_image(frame_file(root, "JPEGImages", kTrain, "jpg"));
      const Image truth = read_label_png(frame_file(root, "Annotations", kTrain, "png"));
      MutableImageView view{expected.pixels.data(), kWidth, kHeight, kWidth * 3, PixelFormat::kRGB};
      blend_mask(view, at::from_blob(const_cast<uint8_t*>(truth.pixels.data()), {kHeight, kWidth}, at::kByte),
                 davis_palette(256), 0.5f, true);
      Image left(kWidth, kHeight, 3);
      for (int y = 0; y < kHeight; ++y) std::copy_n(frame.rgb.row(y), kWidth * 3, left.row(y));
      EXPECT_LT(mean_abs_diff(left, expected), 8.0);  // H.264 4:2:0 at x264's default quality
    }
    ++frames;
  }
  EXPECT_EQ(frames, kFrames);
}

// Without --input-size the model input is the notebook's 480x480 rounded to
// the model's patch: 476x476 for DINOv2's patch 14 (480x480 would be refused
// by dinofeatures), 480x480 for DINO v1's patch 8.
TEST(DavisPipeline, DefaultInputSizeFollowsTheModelsPatch) {
  DINOCLIP_REQUIRE_FIXTURE(v2, "dinov2_tiny/dinov2_tiny.pth");
  DINOCLIP_REQUIRE_FIXTURE(v1, "dino_tiny/dino_tiny.pth");
  const std::string root = dinoclip::testing::temp_dir() + "/davis-default-size";
  ASSERT_EQ(dinoclip_cli("make-sequence --out '" + root + "' --frames 2 --size 64x48").status, 0);
  const std::pair<std::string, std::string> cases[] = {{v2, "476x476"}, {v1, "480x480"}};
  for (const auto& [weights, expected] : cases) {
    CliRun run = dinoclip_cli("davis --root '" + root + "' --sequence synthetic --weights " + weights +
                              " --heads 4 --train-frame 0 --iters 2 --force --out '" + root + "/r.mp4'");
    ASSERT_EQ(run.status, 0) << weights << "\n" << run.output;
    EXPECT_NE(run.output.find("input-size=" + expected), std::string::npos) << run.output;
    const nlohmann::json summary = json_line(run.output);
    ASSERT_TRUE(summary.is_object()) << run.output;
    EXPECT_EQ(summary.at("input_size"), expected) << weights;
  }
  const CliRun help = dinoclip_cli("davis --help");
  EXPECT_NE(help.output.find("476x476 at DINOv2's patch 14"), std::string::npos) << help.output;
}

// precision=bf16 for dinofeatures must not change what dinoseg segments: on
// the same generated sequence, the mean IoU with bf16 features stays within
// 0.01 of fp32's (the bound; measured difference: see docs/performance.md).
TEST(DavisPipeline, Bf16FeaturesKeepTheMeanIouOfFp32) {
  if (!cpu_has_native_bf16()) GTEST_SKIP() << "this CPU has no AVX512_BF16/AMX: precision=bf16 is refused here";
  DINOCLIP_REQUIRE_FIXTURE(weights, "dino_tiny/dino_tiny.pth");
  const std::string root = dinoclip::testing::temp_dir() + "/davis-bf16";
  ASSERT_EQ(dinoclip_cli("make-sequence --out '" + root + "' --frames 10 --size 160x96").status, 0);
  double mean_iou[2] = {0, 0};
  const char* precisions[2] = {"fp32", "bf16"};
  for (int i = 0; i < 2; ++i) {
    const std::string out = root + "/result-" + precisions[i] + ".mp4";
    CliRun run = dinoclip_cli("davis --root '" + root + "' --sequence synthetic --weights " + weights +
                              " --heads 4 --input-size 160x96 --train-frame 3 --iters 100 --precision " +
                              precisions[i] + " --out '" + out + "'");
    ASSERT_EQ(run.status, 0) << run.output;
    if (i == 1) {
      EXPECT_NE(run.output.find("precision=bf16"), std::string::npos) << run.output;
    }
    const nlohmann::json summary = json_line(run.output);
    ASSERT_TRUE(summary.is_object()) << run.output;
    mean_iou[i] = summary.at("iou_mean").get<double>();
  }
  EXPECT_GT(mean_iou[0], 0.1) << "fp32 segmentation failed outright: nothing to compare bf16 with";
  EXPECT_NEAR(mean_iou[1], mean_iou[0], 0.01);
}

}  // namespace
