// Colour maps identical to matplotlib's (256-entry tables), for heatmaps.
#pragma once

#include <ATen/core/Tensor.h>

#include <array>
#include <cstdint>
#include <string>

#include "core/image.h"

namespace dinoclip {

enum class Colormap { kInferno, kViridis, kMagma, kPlasma, kTurbo, kGray };

// "inferno", "viridis", "magma", "plasma", "turbo", "gray"; error lists them.
Colormap parse_colormap(const std::string& name);
const char* colormap_name(Colormap cmap);

// The 256-entry RGB table.
const std::array<std::array<std::uint8_t, 3>, 256>& colormap_table(Colormap cmap);

// t in [0, 1] (clamped, NaN -> 0) to RGB, as matplotlib: index int(t * 256), at most 255.
std::array<std::uint8_t, 3> colormap_rgb(Colormap cmap, float t);

// The table index of each of n values: int((v - vmin) * scale) clamped to
// [0, 255], NaN to 0, where scale = 256 / (vmax - vmin) (0 for an empty
// range): colormap_rgb's index for t = (v - vmin) / (vmax - vmin), a row at a time.
void colormap_indices(const float* values, int n, float vmin, float scale, std::uint8_t* indices);

// [H, W] float map -> H x W RGB, values scaled from [vmin, vmax] to [0, 1].
// vmin == vmax gives the low end of the map everywhere.
Image colorize(const at::Tensor& map, Colormap cmap, float vmin, float vmax);

}  // namespace dinoclip
