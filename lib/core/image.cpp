#include "core/image.h"

#include <string>

#include "core/error.h"

namespace dinoclip {

int bytes_per_pixel(PixelFormat format) {
  switch (format) {
    case PixelFormat::kRGB:
    case PixelFormat::kBGR:
      return 3;
    case PixelFormat::kRGBA:
    case PixelFormat::kBGRA:
    case PixelFormat::kRGBx:
    case PixelFormat::kBGRx:
      return 4;
    case PixelFormat::kGray:
      return 1;
  }
  return 0;
}

void check_image_view(const ImageView& view, const char* who) {
  const int bpp = bytes_per_pixel(view.format);
  if (view.width <= 0 || view.height <= 0 || view.data == nullptr) {
    throw Error(std::string(who) + ": empty image (" + std::to_string(view.width) + "x" + std::to_string(view.height) +
                ")");
  }
  if (view.stride < std::ptrdiff_t(view.width) * bpp) {
    throw Error(std::string(who) + ": row stride " + std::to_string(view.stride) + " is smaller than width " +
                std::to_string(view.width) + " x " + std::to_string(bpp) + " bytes per pixel");
  }
}

}  // namespace dinoclip
