// Drawing results onto pictures and video frames, in place: attention
// heatmaps, per-head strips, PCA colours, segmentation masks; and the
// notebook-style figures the CLI writes.
//
// Every function writes through a MutableImageView (RGB, BGR, RGBA, BGRA,
// RGBx, BGRx; stride honoured, alpha/padding bytes untouched), in one pass
// over the frame rows split over ATen's threads, with no full-size
// intermediate. Blends are fixed point: each byte within one level of
// round(b + alpha * (c - b)), equal for alpha 0, 1/2 and 1
// (docs/elements/attnoverlay.md, "Cost and precision"). alpha is clamped to [0, 1].
#pragma once

#include <ATen/core/Tensor.h>

#include <array>
#include <cstdint>
#include <vector>

#include "core/image.h"
#include "vision/colormap.h"

namespace dinoclip {

using Palette = std::vector<std::array<std::uint8_t, 3>>;

// [h, w] -> [out_h, out_w] float, bilinear with align_corners=false (F.interpolate).
at::Tensor upsample_bilinear(const at::Tensor& grid, int out_h, int out_w);

// out = (1 - alpha) * frame + alpha * colormap((heat - vmin) / (vmax - vmin)),
// the patch-grid map `heat` [h, w] upsampled bilinearly to the frame.
void blend_heatmap(MutableImageView frame, const at::Tensor& heat, Colormap cmap, float alpha, float vmin,
                   float vmax);

// A small RGB picture (e.g. PCA colours on the patch grid) stretched over the
// frame (nearest, or bilinear when `smooth`) and blended with `alpha`.
void blend_rgb_grid(MutableImageView frame, const Image& grid_rgb, float alpha, bool smooth);

// maps [H, h, w] -> float32, each map min-max normalised to [0, 1] (a flat
// map becomes 0), on the maps' device.
at::Tensor normalise_each_map(const at::Tensor& maps);

// heads [H, h, w]: each head min-max normalised, side by side in H equal tiles
// across the frame, blended with `alpha`.
void draw_head_strip(MutableImageView frame, const at::Tensor& heads, Colormap cmap, float alpha);

// class_map [mh, mw] integer ids (any size; nearest to the frame): class 0 is
// left untouched, class k blended with palette[k]; `contours` draws the
// class borders in full colour.
void blend_mask(MutableImageView frame, const at::Tensor& class_map, const Palette& palette, float alpha,
                bool contours);

// The DAVIS / PASCAL VOC palette: class 1 = (128, 0, 0), 2 = (0, 128, 0), ...
Palette davis_palette(int n = 256);

// Pictures side by side (same height required), with a `gap` of white pixels.
Image hstack(const std::vector<Image>& images, int gap = 0);

// heads [H, h, w] -> one row of colour-mapped maps, each min-max normalised
// and upscaled `scale` times (nearest, as the notebook's figures), 4 px apart.
Image heads_row_image(const at::Tensor& heads, int scale, Colormap cmap);

}  // namespace dinoclip
