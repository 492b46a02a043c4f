#include "vision/synthetic.h"

#include <algorithm>
#include <cmath>
#include <random>

namespace dinoclip {
namespace {

uint8_t clamp_u8(double v) { return uint8_t(std::clamp(std::lround(v), 0L, 255L)); }

// Smooth low-frequency colour field plus fine noise: a background that is not
// flat, so features and attention have something to tell apart.
Image make_background(int width, int height, std::mt19937_64& rng) {
  Image bg(width, height, 3);
  std::uniform_real_distribution<double> phase(0.0, 6.283);
  std::normal_distribution<double> noise(0.0, 6.0);
  const double p[3] = {phase(rng), phase(rng), phase(rng)};
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      const double u = double(x) / width, v = double(y) / height;
      for (int c = 0; c < 3; ++c) {
        const double field = 0.5 + 0.25 * std::sin(6.0 * u + p[c]) * std::cos(4.0 * v + 2 * p[c]);
        bg.at(x, y, c) = clamp_u8(60 + 110 * field + noise(rng));
      }
    }
  }
  return bg;
}

}  // namespace

SyntheticScene::SyntheticScene(int width, int height, int objects, uint64_t seed)
    : width_(width), height_(height), seed_(seed) {
  std::mt19937_64 rng(seed);
  background_ = make_background(width, height, rng);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  const double size = std::min(width, height);
  for (int i = 0; i < objects; ++i) {
    Object o;
    o.disc = i % 2 == 0;
    o.rx = size * (0.12 + 0.08 * unit(rng));
    o.ry = o.disc ? o.rx : size * (0.10 + 0.08 * unit(rng));
    o.cx = o.rx + unit(rng) * (width - 2 * o.rx);
    o.cy = o.ry + unit(rng) * (height - 2 * o.ry);
    const double speed = size * 0.01, angle = unit(rng) * 6.283;
    o.vx = speed * std::cos(angle);
    o.vy = speed * std::sin(angle);
    for (int c = 0; c < 3; ++c) {
      o.base[c] = uint8_t(40 + 200 * unit(rng));
      o.stripe[c] = uint8_t(255 - o.base[c]);
    }
    o.stripe_period = 6 + 6 * unit(rng);
    objects_.push_back(o);
  }
}

SyntheticFrame SyntheticScene::render(int index) const {
  SyntheticFrame frame{background_, Image(width_, height_, 1)};
  for (size_t k = 0; k < objects_.size(); ++k) {
    const Object& o = objects_[k];
    // Bounce off the borders so objects stay in view for long sequences.
    auto bounce = [](double start, double velocity, double half, double extent, int t) {
      const double span = std::max(1.0, extent - 2 * half);
      double pos = std::fmod(start - half + velocity * t, 2 * span);
      if (pos < 0) pos += 2 * span;
      return half + (pos > span ? 2 * span - pos : pos);
    };
    const double cx = bounce(o.cx, o.vx, o.rx, width_, index), cy = bounce(o.cy, o.vy, o.ry, height_, index);
    const int x0 = std::max(0, int(cx - o.rx)), x1 = std::min(width_ - 1, int(cx + o.rx));
    const int y0 = std::max(0, int(cy - o.ry)), y1 = std::min(height_ - 1, int(cy + o.ry));
    for (int y = y0; y <= y1; ++y) {
      for (int x = x0; x <= x1; ++x) {
        const double dx = (x + 0.5 - cx) / o.rx, dy = (y + 0.5 - cy) / o.ry;
        const bool inside = o.disc ? dx * dx + dy * dy <= 1.0 : std::max(std::abs(dx), std::abs(dy)) <= 1.0;
        if (!inside) continue;
        // Diagonal stripes in object coordinates: the texture moves with the object.
        const bool stripe = std::fmod(std::abs((x - cx) + (y - cy)), o.stripe_period) < o.stripe_period / 2;
        for (int c = 0; c < 3; ++c) frame.rgb.at(x, y, c) = stripe ? o.stripe[c] : o.base[c];
        frame.mask.at(x, y) = uint8_t(k + 1);
      }
    }
  }
  return frame;
}

}  // namespace dinoclip
