// FramePlanes: a frame's planes as tensors, checked, and a batch of frames
// converted to RGB / model inputs in one pass (here on CPU tensors; the same
// ATen code runs on CUDA). References: color_convert.h's i420_to_rgb /
// nv12_to_rgb (kGStreamer) and the per-image fast path of device_preprocess.h.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <random>

#include "core/error.h"
#include "test_support.h"
#include "vision/color_convert.h"
#include "vision/device_preprocess.h"
#include "vision/frame_planes.h"

using dinoclip::testing::max_abs_diff;
using dinoclip::testing::message_of;

namespace dinoclip {
namespace {

const c10::Device kCpu(c10::kCPU);

// Random bytes in rows of `stride` (>= row_bytes), padding included.
std::vector<std::uint8_t> random_rows(int rows, int stride, std::mt19937& rng) {
  std::uniform_int_distribution<int> byte(0, 255);
  std::vector<std::uint8_t> bytes(std::size_t(rows) * stride);
  for (auto& b : bytes) b = std::uint8_t(byte(rng));
  return bytes;
}

// A YUV 4:2:0 frame in host memory with padded strides.
struct YuvFrame {
  int width, height;
  int y_stride, c_stride;
  std::vector<std::uint8_t> y, u, v, uv;
};

YuvFrame random_yuv(int width, int height, int padding, std::mt19937& rng) {
  YuvFrame f{width, height, width + padding, 2 * ((width + 1) / 2) + padding, {}, {}, {}, {}};
  const int ch = (height + 1) / 2;
  f.y = random_rows(height, f.y_stride, rng);
  f.u = random_rows(ch, f.c_stride, rng);
  f.v = random_rows(ch, f.c_stride, rng);
  f.uv = random_rows(ch, f.c_stride, rng);
  return f;
}

FramePlanes i420_of(const YuvFrame& f, YuvMatrix matrix, bool full) {
  return i420_frame_planes(f.y.data(), f.y_stride, f.u.data(), f.c_stride, f.v.data(), f.c_stride, f.width, f.height,
                           matrix, full);
}

FramePlanes nv12_of(const YuvFrame& f, YuvMatrix matrix, bool full) {
  return nv12_frame_planes(f.y.data(), f.y_stride, f.uv.data(), f.c_stride, f.width, f.height, matrix, full);
}

// [3, H, W] uint8 of a packed RGB Image.
at::Tensor chw(const Image& image) {
  return at::from_blob(const_cast<std::uint8_t*>(image.pixels.data()), {image.height, image.width, 3}, at::kByte)
      .permute({2, 0, 1})
      .clone();
}

struct Range {
  YuvMatrix matrix;
  bool full;
};
const Range kRanges[] = {
    {YuvMatrix::kBt601, false}, {YuvMatrix::kBt601, true}, {YuvMatrix::kBt709, false}, {YuvMatrix::kBt709, true}};

TEST(FramePlanes, I420BatchMatchesCpuConversionOnOddSizesAndPaddedStrides) {
  std::mt19937 rng(7);
  for (const Range& range : kRanges) {
    for (auto [w, h] : {std::pair{37, 23}, std::pair{64, 48}, std::pair{1, 1}, std::pair{17, 2}}) {
      std::vector<YuvFrame> yuv;
      for (int i = 0; i < 3; ++i) yuv.push_back(random_yuv(w, h, /*padding=*/5 + i, rng));
      std::vector<FramePlanes> frames;
      for (const YuvFrame& f : yuv) frames.push_back(i420_of(f, range.matrix, range.full));
      const at::Tensor rgb = frames_to_rgb(frames);
      ASSERT_EQ(rgb.sizes(), (std::vector<int64_t>{3, 3, h, w}));
      ASSERT_EQ(rgb.scalar_type(), at::kByte);
      for (int i = 0; i < 3; ++i) {
        const YuvFrame& f = yuv[size_t(i)];
        const Image expected = i420_to_rgb(f.y.data(), f.y_stride, f.u.data(), f.c_stride, f.v.data(), f.c_stride, w, h,
                                           range.matrix, range.full);
        // The same integer arithmetic: equal (the interface promises one level).
        EXPECT_EQ(max_abs_diff(rgb[i].to(at::kInt), chw(expected).to(at::kInt)), 0.0) << w << "x" << h;
      }
    }
  }
}

TEST(FramePlanes, Nv12BatchMatchesCpuConversionOnOddSizesAndPaddedStrides) {
  std::mt19937 rng(11);
  for (const Range& range : kRanges) {
    for (auto [w, h] : {std::pair{37, 23}, std::pair{32, 18}, std::pair{3, 5}}) {
      std::vector<YuvFrame> yuv;
      for (int i = 0; i < 2; ++i) yuv.push_back(random_yuv(w, h, /*padding=*/3 + 2 * i, rng));
      std::vector<FramePlanes> frames;
      for (const YuvFrame& f : yuv) frames.push_back(nv12_of(f, range.matrix, range.full));
      const at::Tensor rgb = frames_to_rgb(frames);
      for (int i = 0; i < 2; ++i) {
        const YuvFrame& f = yuv[size_t(i)];
        const Image expected =
            nv12_to_rgb(f.y.data(), f.y_stride, f.uv.data(), f.c_stride, w, h, range.matrix, range.full);
        EXPECT_EQ(max_abs_diff(rgb[i].to(at::kInt), chw(expected).to(at::kInt)), 0.0) << w << "x" << h;
      }
    }
  }
}

TEST(FramePlanes, PackedFormatsConvertExactly) {
  std::mt19937 rng(3);
  for (PixelFormat format : {PixelFormat::kRGB, PixelFormat::kBGR, PixelFormat::kRGBA, PixelFormat::kBGRA,
                             PixelFormat::kRGBx, PixelFormat::kBGRx, PixelFormat::kGray}) {
    const int w = 13, h = 7, stride = w * bytes_per_pixel(format) + 6;
    std::vector<std::vector<std::uint8_t>> pixels = {random_rows(h, stride, rng), random_rows(h, stride, rng)};
    std::vector<FramePlanes> frames;
    for (const auto& p : pixels) frames.push_back(frame_planes_of(ImageView{p.data(), w, h, stride, format}));
    const at::Tensor rgb = frames_to_rgb(frames);
    for (size_t i = 0; i < pixels.size(); ++i) {
      const Image expected = to_rgb(ImageView{pixels[i].data(), w, h, stride, format});
      EXPECT_TRUE(at::equal(rgb[int64_t(i)], chw(expected))) << int(format);
    }
  }
}

TEST(FramePlanes, BatchKeyNamesWhatMustMatch) {
  std::mt19937 rng(5);
  const YuvFrame a = random_yuv(16, 8, 0, rng), b = random_yuv(18, 8, 0, rng);
  EXPECT_EQ(i420_of(a, YuvMatrix::kBt601, false).batch_key(), i420_of(a, YuvMatrix::kBt601, false).batch_key());
  EXPECT_NE(i420_of(a, YuvMatrix::kBt601, false).batch_key(), i420_of(a, YuvMatrix::kBt709, false).batch_key());
  EXPECT_NE(i420_of(a, YuvMatrix::kBt601, false).batch_key(), i420_of(a, YuvMatrix::kBt601, true).batch_key());
  EXPECT_NE(i420_of(a, YuvMatrix::kBt601, false).batch_key(), nv12_of(a, YuvMatrix::kBt601, false).batch_key());
  EXPECT_NE(i420_of(a, YuvMatrix::kBt601, false).batch_key(), i420_of(b, YuvMatrix::kBt601, false).batch_key());
  EXPECT_EQ(i420_of(a, YuvMatrix::kBt601, false).device(), kCpu);
}

TEST(FramePlanes, RejectsMixedBatches) {
  std::mt19937 rng(9);
  const YuvFrame a = random_yuv(16, 8, 0, rng), b = random_yuv(18, 8, 0, rng);
  const std::string message = message_of([&] {
    frames_to_rgb({i420_of(a, YuvMatrix::kBt601, false), i420_of(b, YuvMatrix::kBt601, false)});
  });
  EXPECT_NE(message.find("frames_to_rgb: frames of one batch must share"), std::string::npos) << message;
  EXPECT_NE(message_of([] { frames_to_rgb({}); }).find("no frames"), std::string::npos);
}

TEST(FramePlanes, RejectsBadPlanesWithClearMessages) {
  std::mt19937 rng(13);
  const YuvFrame f = random_yuv(16, 8, 4, rng);
  auto message_for = [](FramePlanes frame) { return message_of([&] { check_frame_planes(frame, "who"); }); };

  FramePlanes missing = i420_of(f, YuvMatrix::kBt601, false);
  missing.planes.pop_back();
  EXPECT_NE(message_for(missing).find("who: a I420 frame has 3 plane(s), got 2"), std::string::npos)
      << message_for(missing);

  FramePlanes wrong_shape = i420_of(f, YuvMatrix::kBt601, false);
  wrong_shape.planes[1] = wrong_shape.planes[1].narrow(1, 0, 7);
  EXPECT_NE(message_for(wrong_shape).find("plane 1 of a 16x8 I420 frame must be [4, 8], got [4, 7]"), std::string::npos)
      << message_for(wrong_shape);

  FramePlanes wrong_dtype = nv12_of(f, YuvMatrix::kBt601, false);
  wrong_dtype.planes[0] = wrong_dtype.planes[0].to(at::kFloat);
  EXPECT_NE(message_for(wrong_dtype).find("plane 0 must be uint8"), std::string::npos) << message_for(wrong_dtype);

  FramePlanes strided_pairs = nv12_of(f, YuvMatrix::kBt601, false);
  strided_pairs.planes[1] = at::zeros({4, 8, 2, 2}, at::kByte).select(3, 0);  // pair stride 2
  EXPECT_NE(message_for(strided_pairs).find("innermost stride 1"), std::string::npos) << message_for(strided_pairs);

  FramePlanes empty;
  EXPECT_NE(message_for(empty).find("who: empty frame (0x0)"), std::string::npos);

  EXPECT_NE(message_of([&] {
              i420_frame_planes(f.y.data(), 15, f.u.data(), f.c_stride, f.v.data(), f.c_stride, 16, 8,
                                YuvMatrix::kBt601, false);
            }).find("plane stride too small"),
            std::string::npos);
  EXPECT_NE(message_of([&] {
              nv12_frame_planes(f.y.data(), 16, nullptr, 16, 16, 8, YuvMatrix::kBt601, false);
            }).find("missing plane"),
            std::string::npos);
  EXPECT_NE(message_of([] { frame_planes_of(ImageView{}); }).find("frame_planes_of"), std::string::npos);
}

// The batched model inputs against the per-image fast path on the same RGB.
TEST(FramePlanes, BatchedInputsEqualPerFrameFastPath) {
  std::mt19937 rng(17);
  const int w = 45, h = 31;
  std::vector<YuvFrame> yuv;
  std::vector<FramePlanes> frames;
  std::vector<Image> rgb;
  for (int i = 0; i < 3; ++i) {
    yuv.push_back(random_yuv(w, h, 2, rng));
  }
  for (const YuvFrame& f : yuv) {
    frames.push_back(i420_of(f, YuvMatrix::kBt709, false));
    rgb.push_back(i420_to_rgb(f.y.data(), f.y_stride, f.u.data(), f.c_stride, f.v.data(), f.c_stride, w, h,
                              YuvMatrix::kBt709, false));
  }
  const at::Tensor dino = dino_inputs_from_frames(frames, 28, 56);
  const at::Tensor center = clip_inputs_from_frames(frames, 24, ClipCrop::kCenter);
  const at::Tensor full = clip_inputs_from_frames(frames, 24, ClipCrop::kFullFrame);
  ASSERT_EQ(dino.sizes(), (std::vector<int64_t>{3, 3, 28, 56}));
  ASSERT_EQ(center.sizes(), (std::vector<int64_t>{3, 3, 24, 24}));
  ASSERT_EQ(full.scalar_type(), at::kFloat);
  for (int i = 0; i < 3; ++i) {
    const ImageView view = rgb[size_t(i)].view();
    EXPECT_TENSOR_NEAR(dino.narrow(0, i, 1), dino_input_on_device(view, 28, 56, kCpu), 1e-5);
    EXPECT_TENSOR_NEAR(center.narrow(0, i, 1), clip_input_on_device(view, 24, kCpu), 1e-5);
    EXPECT_TENSOR_NEAR(full.narrow(0, i, 1), clip_input_full_frame_on_device(view, 24, kCpu), 1e-5);
  }
  // No resize when the size already matches: the normalised pixels themselves.
  EXPECT_TENSOR_NEAR(dino_inputs_from_frames(frames, h, w).narrow(0, 1, 1),
                     dino_input_on_device(rgb[1].view(), h, w, kCpu), 1e-6);
}

TEST(FramePlanes, BatchedInputsRejectBadSizes) {
  std::mt19937 rng(19);
  const YuvFrame f = random_yuv(8, 8, 0, rng);
  const std::vector<FramePlanes> frames{i420_of(f, YuvMatrix::kBt601, false)};
  EXPECT_NE(message_of([&] { dino_inputs_from_frames(frames, 0, 8); }).find("must be positive"), std::string::npos);
  EXPECT_NE(message_of([&] { clip_inputs_from_frames(frames, 0, ClipCrop::kCenter); }).find("1..16384"),
            std::string::npos);
}

}  // namespace
}  // namespace dinoclip
