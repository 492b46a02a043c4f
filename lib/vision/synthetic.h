// Synthetic scenes: textured shapes moving over a textured background, with
// exact per-pixel class masks. Used for the demo picture and sequence when no
// real video is at hand, and by the tests (known answers, no downloads).
#pragma once

#include <cstdint>
#include <vector>

#include "core/image.h"

namespace dinoclip {

struct SyntheticFrame {
  Image rgb;   // 3 channels
  Image mask;  // 1 channel: 0 = background, k = object k (1-based)
};

class SyntheticScene {
 public:
  // `objects` textured shapes (discs and rounded boxes alternate), placed and
  // moving deterministically from `seed`.
  SyntheticScene(int width, int height, int objects, uint64_t seed);

  // Frame `index` of the sequence: objects move along smooth paths.
  SyntheticFrame render(int index) const;

  int width() const { return width_; }
  int height() const { return height_; }

 private:
  struct Object {
    bool disc;
    double cx, cy;        // centre at frame 0, in pixels
    double vx, vy;        // pixels per frame
    double rx, ry;        // half sizes
    uint8_t base[3];      // colour
    uint8_t stripe[3];    // texture colour
    double stripe_period; // pixels
  };
  int width_, height_;
  uint64_t seed_;
  std::vector<Object> objects_;
  Image background_;
};

}  // namespace dinoclip
