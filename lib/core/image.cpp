#include "core/image.h"

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

}  // namespace dinoclip
