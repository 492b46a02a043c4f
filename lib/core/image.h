// Plain image types shared by the core, the elements and the CLI.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace dinoclip {

// Packed 8-bit layouts the core reads directly (GStreamer's RGB, BGR, RGBA, ...).
enum class PixelFormat { kRGB, kBGR, kRGBA, kBGRA, kRGBx, kBGRx, kGray };

int bytes_per_pixel(PixelFormat format);

// A non-owning view of packed 8-bit pixels. stride is in bytes.
struct ImageView {
  const std::uint8_t* data = nullptr;
  int width = 0;
  int height = 0;
  std::ptrdiff_t stride = 0;
  PixelFormat format = PixelFormat::kRGB;
};

// Throws dinoclip::Error "<who>: empty image (WxH)" or "<who>: row stride ..."
// when `view` cannot be read as it claims.
void check_image_view(const ImageView& view, const char* who);

// An owned, tightly packed image (stride = width * channels).
struct Image {
  int width = 0;
  int height = 0;
  int channels = 3;  // 1 (grey / class ids) or 3 (RGB)
  std::vector<std::uint8_t> pixels;

  Image() = default;
  Image(int w, int h, int c) : width(w), height(h), channels(c), pixels(std::size_t(w) * h * c, 0) {}

  std::uint8_t* row(int y) { return pixels.data() + std::size_t(y) * width * channels; }
  const std::uint8_t* row(int y) const { return pixels.data() + std::size_t(y) * width * channels; }
  std::uint8_t& at(int x, int y, int c = 0) { return row(y)[x * channels + c]; }
  std::uint8_t at(int x, int y, int c = 0) const { return row(y)[x * channels + c]; }

  ImageView view() const {
    return ImageView{pixels.data(), width, height, std::ptrdiff_t(width) * channels,
                     channels == 1 ? PixelFormat::kGray : PixelFormat::kRGB};
  }
};

}  // namespace dinoclip

namespace dinoclip {

// A writable view, for drawing in place on a mapped video frame.
struct MutableImageView {
  std::uint8_t* data = nullptr;
  int width = 0;
  int height = 0;
  std::ptrdiff_t stride = 0;
  PixelFormat format = PixelFormat::kRGB;

  ImageView view() const { return ImageView{data, width, height, stride, format}; }
};

}  // namespace dinoclip
