#include "vision/mask_rows.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <string>

#include "core/error.h"

namespace dinoclip {

StretchedMask::StretchedMask(const at::Tensor& class_map, int width, int height, const char* who)
    : width_(width), height_(height) {
  if (class_map.dim() != 2 || class_map.numel() == 0) {
    throw Error(std::string(who) + ": expected a non-empty [height, width] class map");
  }
  if (width <= 0 || height <= 0) throw Error(std::string(who) + ": empty frame");
  ids_ = class_map.to(at::kCPU, at::kLong).contiguous();
  mh_ = int(ids_.size(0));
  mw_ = int(ids_.size(1));
  column_.resize(width);
  for (int x = 0; x < width; ++x) column_[x] = std::min(mw_ - 1, int(std::int64_t(x) * mw_ / width));
}

int StretchedMask::mask_row(int y) const { return std::min(mh_ - 1, int(std::int64_t(y) * mh_ / height_)); }

void StretchedMask::expand(int my, std::int64_t* classes) const {
  const std::int64_t* ids_row = ids_.data_ptr<std::int64_t>() + std::int64_t(my) * mw_;
  for (int x = 0; x < width_; ++x) classes[x] = ids_row[column_[x]];
}

MaskRowWalker::MaskRowWalker(const StretchedMask& mask)
    : mask_(mask), classes_(mask.width()), neighbour_(mask.width()) {}

bool MaskRowWalker::seek(int y) {
  y_ = y;
  const int my = mask_.mask_row(y);
  if (my == mask_row_) return false;
  mask_row_ = my;
  mask_.expand(my, classes_.data());
  runs_.clear();
  row_borders_.clear();
  const int width = mask_.width();
  for (int x = 0; x < width;) {
    const std::int64_t k = classes_[x];
    int x1 = x + 1;
    while (x1 < width && classes_[x1] == k) ++x1;
    if (k > 0) {
      runs_.emplace_back(x, x1);
      // A run's ends border other classes, except at the frame's edges.
      if (x > 0) row_borders_.push_back(x);
      if (x1 < width && (x1 - 1 != x || x == 0)) row_borders_.push_back(x1 - 1);
    }
    x = x1;
  }
  return true;
}

const std::vector<int>& MaskRowWalker::contour_pixels() {
  contours_ = row_borders_;
  // Rows above and below show another mask row only at the mask's row borders.
  for (int other : {y_ - 1, y_ + 1}) {
    if (other < 0 || other >= mask_.height() || mask_.mask_row(other) == mask_row_) continue;
    mask_.expand(mask_.mask_row(other), neighbour_.data());
    for (const auto& [x0, x1] : runs_) {
      for (int x = x0; x < x1; ++x) {
        if (neighbour_[x] != classes_[x]) contours_.push_back(x);
      }
    }
  }
  return contours_;
}

}  // namespace dinoclip
