// Picture files (read_image: PNG of every colour type and depth, JPEG) and
// segmentation masks (read_label_png: palette and grey PNG) from the same
// bytes: both parsers see every input.
#include <cstdint>
#include <cstdlib>

#include "fuzz_util.h"
#include "io/image_file.h"

namespace {

void check_image(const dinoclip::Image& image, int channels) {
  if (image.channels != channels || image.width <= 0 || image.height <= 0 ||
      image.pixels.size() != size_t(image.width) * size_t(image.height) * size_t(channels)) {
    std::abort();  // a decoded image must be what its fields say
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const dinoclip::fuzz::ScratchPath file("input.img");
  file.write(data, size);
  dinoclip::fuzz::expect_result_or_error([&] { check_image(dinoclip::read_image(file.path()), 3); });
  dinoclip::fuzz::expect_result_or_error([&] { check_image(dinoclip::read_label_png(file.path()), 1); });
  return 0;
}
