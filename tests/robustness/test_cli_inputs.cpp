// The bad-input matrix, rows for weights, pictures and sizes, as a user hits
// them through `dinoclip` (docs/bad-input.md): one test per row, each ending
// in exit status 1 and a message naming the file, the cause and the fix, or
// in correct output. Every run reads at most a few kilobytes (devices are
// refused, not read).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "cli_runner.h"
#include "core/image.h"
#include "io/file_util.h"
#include "io/image_file.h"
#include "test_support.h"

namespace dinoclip::testing {
namespace {

namespace fs = std::filesystem;

constexpr const char* kDino = "dino_tiny/dino_tiny.safetensors";
constexpr const char* kPicture = "dino_tiny/img2_96x96.png";

std::string scratch(const std::string& name) { return temp_dir() + "/" + name; }

std::string write_bytes(const std::string& name, const std::string& bytes) {
  const std::string path = scratch(name);
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

// `dinoclip dino-features` on `weights` and `image`: exit status 1 and every fragment in the output.
void expect_features_error(const std::string& weights, const std::string& image, const std::string& more,
                           std::initializer_list<std::string> fragments) {
  const CliRun run =
      dinoclip_cli("dino-features --weights '" + weights + "' --image '" + image + "' --out " + scratch("out") + more);
  EXPECT_EQ(run.status, 1) << run.output;
  for (const std::string& fragment : fragments) {
    EXPECT_NE(run.output.find(fragment), std::string::npos) << "missing '" << fragment << "' in: " << run.output;
  }
  EXPECT_EQ(run.output.find("terminate called"), std::string::npos) << run.output;
  EXPECT_EQ(run.output.find("alloc_cpu"), std::string::npos) << run.output;
}

class BadWeights : public ::testing::Test {
 protected:
  void SetUp() override {
    weights_ = fixture_path(kDino);
    picture_ = fixture_path(kPicture);
    if (weights_.empty() || picture_.empty()) {
      if (running_in_ci()) FAIL() << "fixtures missing under CI=true: " << kDino;
      GTEST_SKIP() << "fixture missing: " << kDino;
    }
  }
  std::string good() const { return read_file(weights_); }
  std::string weights_, picture_;
};

TEST_F(BadWeights, Missing) { expect_features_error("/nonexistent/w.safetensors", picture_, "", {"cannot open"}); }

TEST_F(BadWeights, Empty) {
  expect_features_error(write_bytes("empty.pth", ""), picture_, "", {"empty.pth", "the file is empty"});
}

TEST_F(BadWeights, TruncatedTo1KB) {
  expect_features_error(write_bytes("cut1k.safetensors", good().substr(0, 1024)), picture_, "",
                        {"cut1k.safetensors", "truncated"});
}

TEST_F(BadWeights, TruncatedToHalf) {
  const std::string bytes = good();
  expect_features_error(write_bytes("half.safetensors", bytes.substr(0, bytes.size() / 2)), picture_, "",
                        {"half.safetensors", "outside"});
}

TEST_F(BadWeights, RandomBytes) {
  std::string bytes(4096, '\0');
  uint32_t state = 12345;
  for (char& c : bytes) c = char((state = state * 1664525u + 1013904223u) >> 24);
  expect_features_error(write_bytes("random.pth", bytes), picture_, "", {"random.pth", "not a checkpoint"});
}

TEST_F(BadWeights, ADirectory) { expect_features_error(temp_dir(), picture_, "", {"is a directory"}); }

TEST_F(BadWeights, DevZeroAndDevUrandomAreRefusedNotRead) {
  expect_features_error("/dev/zero", picture_, "", {"/dev/zero", "is a device"});
  expect_features_error("/dev/urandom", picture_, "", {"/dev/urandom", "is a device"});
}

TEST_F(BadWeights, ClipWeightsGivenToDino) {
  DINOCLIP_REQUIRE_FIXTURE(clip, "clip_tiny/clip_tiny_state.pth");
  expect_features_error(clip, picture_, "", {"not a DINO ViT checkpoint"});
}

TEST_F(BadWeights, SafetensorsWithACorruptHeader) {
  std::string bytes = good();
  bytes[8] = '#';
  expect_features_error(write_bytes("header.safetensors", bytes), picture_, "",
                        {"damaged safetensors file", "starts with byte 0x23"});
}

TEST_F(BadWeights, SafetensorsWithOffsetsPastTheEnd) {
  const std::string bytes = good();
  expect_features_error(write_bytes("short.safetensors", bytes.substr(0, bytes.size() - 100)), picture_, "",
                        {"short.safetensors", "lie outside"});
}

TEST_F(BadWeights, NegativeHeadCount) {
  expect_features_error(weights_, picture_, " --heads -1", {"heads -1: the head count must be 1 or more"});
}

/* ---- pictures ---- */

using BadPictures = BadWeights;

TEST_F(BadPictures, ZeroBytes) {
  expect_features_error(weights_, write_bytes("zero.png", ""), "", {"zero.png", "empty file"});
}

TEST_F(BadPictures, Truncated) {
  const std::string bytes = read_file(picture_);
  expect_features_error(weights_, write_bytes("cut.png", bytes.substr(0, bytes.size() / 2)), "",
                        {"cut.png", "truncated"});
}

TEST_F(BadPictures, ADirectory) { expect_features_error(weights_, temp_dir(), "", {"is a directory"}); }

TEST_F(BadPictures, DevZeroAndDevUrandomAreRefusedNotRead) {
  expect_features_error(weights_, "/dev/zero", "", {"is a device"});
  expect_features_error(weights_, "/dev/urandom", "", {"is a device"});
}

// A PNG chunk: length, type, data, CRC-32 of type + data.
std::string png_chunk(const std::string& type, const std::string& data) {
  const std::string body = type + data;
  uint32_t crc = 0xffffffffu;
  for (unsigned char c : body) {
    crc ^= c;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
  }
  crc = ~crc;
  std::string out;
  for (int i = 3; i >= 0; --i) out += char((uint32_t(data.size()) >> (8 * i)) & 0xff);
  out += body;
  for (int i = 3; i >= 0; --i) out += char((crc >> (8 * i)) & 0xff);
  return out;
}

TEST_F(BadPictures, HeaderDeclaring100000x100000IsRefusedBeforeAllocating) {
  // A valid header declaring 100000 x 100000 RGB (30 GB decoded), then an empty IDAT.
  const std::string png = std::string("\x89PNG\r\n\x1a\n", 8) +
                          png_chunk("IHDR", std::string("\x00\x01\x86\xa0\x00\x01\x86\xa0\x08\x02\x00\x00\x00", 13)) +
                          png_chunk("IDAT", "") + png_chunk("IEND", "");
  expect_features_error(weights_, write_bytes("huge.png", png), "",
                        {"huge.png", "declares 100000x100000 pixels", "16384x16384"});
}

// A 1x1 picture: resized to a fixed input size it works; native is smaller than a patch.
TEST_F(BadPictures, OneByOnePicture) {
  Image one(1, 1, 3);
  one.pixels = {200, 100, 50};
  const std::string path = scratch("one.png");
  write_png(path, one);
  const CliRun ok = dinoclip_cli("dino-features --weights " + weights_ + " --image " + path + " --size 16x16 --out " +
                                 scratch("one_out"));
  EXPECT_EQ(ok.status, 0) << ok.output;
  EXPECT_TRUE(fs::exists(scratch("one_out") + "/tokens.npy"));
  expect_features_error(weights_, path, " --size native", {"smaller than one 8-pixel patch"});
}

TEST_F(BadPictures, AttentionAsJpegWritesJpegBytes) {
  const std::string out = scratch("heat.jpg");
  const CliRun run =
      dinoclip_cli("attention --weights " + weights_ + " --image " + picture_ + " --size 32x32 -o " + out);
  ASSERT_EQ(run.status, 0) << run.output;
  EXPECT_EQ(read_file(out).substr(0, 3), "\xff\xd8\xff");
  const CliRun gif = dinoclip_cli("attention --weights " + weights_ + " --image " + picture_ + " -o " +
                                  scratch("heat.gif"));
  EXPECT_EQ(gif.status, 1);
  EXPECT_NE(gif.output.find("name the file *.png or *.jpg"), std::string::npos) << gif.output;
}

/* ---- sizes ---- */

using BadSizes = BadWeights;

TEST_F(BadSizes, ZeroByZero) { expect_features_error(weights_, picture_, " --size 0x0", {"expected WIDTHxHEIGHT"}); }

TEST_F(BadSizes, SevenBySevenIsNotAMultipleOfThePatch) {
  expect_features_error(weights_, picture_, " --size 7x7", {"not a multiple of the model's patch size 8", "8x8"});
}

TEST_F(BadSizes, NotANumber) { expect_features_error(weights_, picture_, " --size abc", {"input size 'abc'"}); }

TEST_F(BadSizes, AbsurdlyLarge) {
  expect_features_error(weights_, picture_, " --size 16384x16384", {"above the limit of 16384 patches", "480x480"});
  expect_features_error(weights_, picture_, " --size 100000x100000", {"16384-pixel limit"});
}

}  // namespace
}  // namespace dinoclip::testing
