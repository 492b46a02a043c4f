#include "tasks/mask_regions.h"

#include <algorithm>
#include <array>
#include <string>

#include "core/error.h"

namespace dinoclip {

std::vector<ClassRegion> class_regions(const std::uint8_t* class_map, int width, int height, std::ptrdiff_t stride) {
  if (!class_map) throw Error("class_regions: no class map given");
  if (width <= 0 || height <= 0) {
    throw Error("class_regions: the class map is " + std::to_string(width) + "x" + std::to_string(height) +
                ", it must have at least one cell");
  }
  if (stride < width) {
    throw Error("class_regions: stride " + std::to_string(stride) + " is shorter than a row of " +
                std::to_string(width) + " cells");
  }
  std::array<ClassRegion, 256> found{};
  for (ClassRegion& region : found) {
    region.x_min = width;  // empty until a cell widens it
    region.y_min = height;
  }
  for (int y = 0; y < height; ++y) {
    const std::uint8_t* row = class_map + std::ptrdiff_t(y) * stride;
    for (int x = 0; x < width; ++x) {
      ClassRegion& region = found[row[x]];
      ++region.area;
      region.x_min = std::min(region.x_min, x);
      region.x_max = std::max(region.x_max, x + 1);
      region.y_min = std::min(region.y_min, y);
      region.y_max = std::max(region.y_max, y + 1);
    }
  }
  std::vector<ClassRegion> present;
  for (int id = 0; id < 256; ++id) {
    if (found[id].area == 0) continue;
    found[id].class_id = id;
    present.push_back(found[id]);
  }
  return present;
}

namespace {

// floor(a * b / c) and ceil(a * b / c) in integers (no rounding surprises).
int scale_down(int a, int b, int c) { return int(std::int64_t(a) * b / c); }
int scale_up(int a, int b, int c) { return int((std::int64_t(a) * b + c - 1) / c); }

}  // namespace

PixelBox scale_region(const ClassRegion& region, int width, int height, int to_width, int to_height) {
  if (width <= 0 || height <= 0 || to_width <= 0 || to_height <= 0) {
    throw Error("scale_region: sizes must be positive (" + std::to_string(width) + "x" + std::to_string(height) +
                " to " + std::to_string(to_width) + "x" + std::to_string(to_height) + ")");
  }
  const int x0 = scale_down(region.x_min, to_width, width);
  const int y0 = scale_down(region.y_min, to_height, height);
  const int x1 = scale_up(region.x_max, to_width, width);
  const int y1 = scale_up(region.y_max, to_height, height);
  return PixelBox{x0, y0, x1 - x0, y1 - y0};
}

}  // namespace dinoclip
