// A segmentation's class map stretched over a frame, and what a mask drawing
// does on each frame row, for every frame layout it is drawn on (packed RGB in
// overlay.cpp, Y'CbCr planes in yuv_overlay_canvas.cpp): runs of one class
// > 0 are blended (class 0 and below are never touched), and with contours
// the border pixels between classes are drawn in full colour.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <utility>
#include <vector>

namespace dinoclip {

// Nearest: frame pixel (x, y) shows class (x * mw / W, y * mh / H).
class StretchedMask {
 public:
  // class_map [mh, mw] integer ids (any device; copied to the host). Throws
  // dinoclip::Error "<who>: ..." on an empty map or frame.
  StretchedMask(const at::Tensor& class_map, int width, int height, const char* who);

  int width() const { return width_; }
  int height() const { return height_; }
  // The mask row frame row y shows.
  int mask_row(int y) const;
  // Mask row `my` stretched over the frame's width: width() class ids.
  void expand(int my, std::int64_t* classes) const;

 private:
  at::Tensor ids_;  // [mh, mw] int64, contiguous, on the host
  int mh_, mw_, width_, height_;
  std::vector<int> column_;  // the mask column of each frame column
};

// One thread's walk down a frame's rows (any order, best downwards): what
// each row draws, recomputed only when the row shows another mask row.
class MaskRowWalker {
 public:
  explicit MaskRowWalker(const StretchedMask& mask);

  // Moves to frame row y; true when it shows another mask row than the last
  // call's (classes() and runs() changed).
  bool seek(int y);
  // The row's class ids, width() of them.
  const std::int64_t* classes() const { return classes_.data(); }
  // Runs [first, last) of one class > 0 along the row.
  const std::vector<std::pair<int, int>>& runs() const { return runs_; }
  // The row's border pixels (contours): run ends next to another class along
  // the row, and run pixels whose upper or lower neighbour shows another
  // class. A pixel may be listed twice.
  const std::vector<int>& contour_pixels();

 private:
  const StretchedMask& mask_;
  int y_ = -1, mask_row_ = -1;
  std::vector<std::int64_t> classes_, neighbour_;
  std::vector<std::pair<int, int>> runs_;
  std::vector<int> row_borders_, contours_;
};

}  // namespace dinoclip
