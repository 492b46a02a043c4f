// Frame rows split over ATen's threads, for the drawings that go over a frame
// row by row (overlay.cpp, yuv_overlay_canvas.cpp). at::parallel_for is
// OpenMP in Debian's LibTorch and inlined here: include this only from files
// built with OpenMP (lib/vision/meson.build's drawing library), or the rows
// run on the calling thread alone.
#pragma once

#include <ATen/Parallel.h>

#include <algorithm>
#include <cstdint>

namespace dinoclip {

// Pixels per parallel chunk (~0.5 ms of drawing on one core): below this
// waking a thread costs more than it saves; 720p frames go to 2 threads.
constexpr std::int64_t kMinPixelsPerTask = 1 << 18;

// body(begin, end) on rows [begin, end) of `rows` rows of `width` pixels, in
// chunks over ATen's threads; each chunk's rows must be independent.
template <typename Body>
void for_each_row_chunk(int width, int rows, const Body& body) {
  const std::int64_t grain = std::max<std::int64_t>(1, kMinPixelsPerTask / std::max(1, width));
  at::parallel_for(0, rows, grain, [&](std::int64_t begin, std::int64_t end) { body(int(begin), int(end)); });
}

}  // namespace dinoclip
