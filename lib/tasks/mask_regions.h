// Where each class of a class map lies: its bounding box and area. What a
// generic reader (a GstVideoRegionOfInterestMeta per class, a JSON line) needs
// from a segmentation, computed once here for the elements and the publisher.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace dinoclip {

// One class present in a class map, in the map's own cells.
struct ClassRegion {
  int class_id = 0;
  int x_min = 0;      // first column holding the class
  int y_min = 0;      // first row holding the class
  int x_max = 0;      // one past the last column (exclusive, so width = x_max - x_min)
  int y_max = 0;      // one past the last row
  std::int64_t area = 0;  // cells holding the class
};

// Every class id that occurs in `class_map` (width x height ids, row-major,
// `stride` bytes between rows), ascending by id. Ids are 0..255; a class with
// no cell is left out. Throws dinoclip::Error on a null map, a non-positive
// size or a stride shorter than a row.
std::vector<ClassRegion> class_regions(const std::uint8_t* class_map, int width, int height, std::ptrdiff_t stride);

// A region's box in another grid covering the same frame (the frame itself,
// when the class map has another resolution): cell edges scaled by
// to_width / width and to_height / height, rounded outward so the box still
// holds every pixel of every cell.
struct PixelBox {
  int x = 0;
  int y = 0;
  int width = 0;
  int height = 0;
};
PixelBox scale_region(const ClassRegion& region, int width, int height, int to_width, int to_height);

}  // namespace dinoclip
