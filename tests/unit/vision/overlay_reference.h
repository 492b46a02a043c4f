// The overlays as they were drawn before the row-by-row rewrite (per pixel,
// through at::upsample_bilinear2d and a float mix with lround): the
// reference that test_overlay_reference compares lib/vision/overlay.h with,
// and the "before" column of bench_overlay. Not used by the library.
#pragma once

#include <ATen/core/Tensor.h>

#include "core/image.h"
#include "vision/colormap.h"
#include "vision/overlay.h"

namespace dinoclip::reference {

void blend_heatmap(MutableImageView frame, const at::Tensor& heat, Colormap cmap, float alpha, float vmin,
                   float vmax);
void blend_rgb_grid(MutableImageView frame, const Image& grid_rgb, float alpha, bool smooth);
void draw_head_strip(MutableImageView frame, const at::Tensor& heads, Colormap cmap, float alpha);
void blend_mask(MutableImageView frame, const at::Tensor& class_map, const Palette& palette, float alpha,
                bool contours);

}  // namespace dinoclip::reference
