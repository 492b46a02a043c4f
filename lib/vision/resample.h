// Resizing that reproduces Pillow 9.4's Image.resize(BILINEAR / BICUBIC) on RGB
// uint8 bit for bit, so model inputs match the Python references (torchvision
// Resize on a PIL image calls exactly that), plus torchvision's CenterCrop.
//
// Pillow's algorithm (src/libImaging/Resample.c): separable, horizontal pass
// first, then vertical; the filter support grows with the downscale factor
// (antialiasing); weights are normalised by their sum, turned into 22-bit
// fixed point, and every pass rounds and clips to uint8.
#pragma once

#include <cstdint>
#include <vector>

#include "core/image.h"

namespace dinoclip {

enum class ResampleFilter { kBilinear, kBicubic };

// One pass's weights: output sample i reads `count[i]` inputs from `first[i]`
// with the fixed-point weights `weights[i * taps_per_output ...]`.
struct ResampleTaps {
  int taps_per_output = 0;
  std::vector<int> first;
  std::vector<int> count;
  std::vector<std::int32_t> weights;
};

// The weights Pillow computes for resizing `in_size` samples to `out_size`.
ResampleTaps compute_resample_taps(int in_size, int out_size, ResampleFilter filter);

// Resizes any packed format (alpha ignored, grey replicated, as PIL's
// convert('RGB')) to an out_w x out_h RGB image. Keeps the weights for
// reuse, which matters when every video frame has the same size.
class Resampler {
 public:
  Resampler(int in_width, int in_height, int out_width, int out_height, ResampleFilter filter);

  // `src` must be in_width x in_height; throws dinoclip::Error otherwise.
  Image run(const ImageView& src) const;

  int in_width() const { return in_width_; }
  int in_height() const { return in_height_; }
  int out_width() const { return out_width_; }
  int out_height() const { return out_height_; }

 private:
  int in_width_, in_height_, out_width_, out_height_;
  ResampleTaps horizontal_, vertical_;
};

// One-shot Resampler(...).run(src). Same size: a plain RGB copy (PIL does the same).
Image resize(const ImageView& src, int out_w, int out_h, ResampleFilter filter);

// torchvision's Resize(int): the shorter side becomes `shorter`, the longer one
// int(shorter * long / short) (truncated). Returns {width, height}.
struct Size2D {
  int width = 0;
  int height = 0;
};
Size2D shorter_side_size(int width, int height, int shorter);

// torchvision's CenterCrop for a crop no larger than the image: the offset is
// int(round((size - crop) / 2)) with Python's half-to-even round (89 -> 64
// starts at 12). Works on 1- and 3-channel images; throws when the crop is
// larger than the image or not positive.
Image center_crop(const Image& image, int width, int height);

}  // namespace dinoclip
