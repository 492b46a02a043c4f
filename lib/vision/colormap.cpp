#include "vision/colormap.h"

#include <ATen/ATen.h>

#include <cmath>

#include "core/error.h"

namespace dinoclip {
namespace {

#include "vision/colormap_tables.inc"

std::array<std::array<std::uint8_t, 3>, 256> gray_table() {
  std::array<std::array<std::uint8_t, 3>, 256> table{};
  for (int i = 0; i < 256; ++i) table[i] = {std::uint8_t(i), std::uint8_t(i), std::uint8_t(i)};
  return table;
}

}  // namespace

Colormap parse_colormap(const std::string& name) {
  for (Colormap c : {Colormap::kInferno, Colormap::kViridis, Colormap::kMagma, Colormap::kPlasma, Colormap::kTurbo,
                     Colormap::kGray}) {
    if (name == colormap_name(c)) return c;
  }
  throw Error("unknown colour map '" + name + "': use inferno, viridis, magma, plasma, turbo or gray");
}

const char* colormap_name(Colormap cmap) {
  switch (cmap) {
    case Colormap::kInferno: return "inferno";
    case Colormap::kViridis: return "viridis";
    case Colormap::kMagma: return "magma";
    case Colormap::kPlasma: return "plasma";
    case Colormap::kTurbo: return "turbo";
    case Colormap::kGray: return "gray";
  }
  return "?";
}

const std::array<std::array<std::uint8_t, 3>, 256>& colormap_table(Colormap cmap) {
  static const auto gray = gray_table();
  switch (cmap) {
    case Colormap::kInferno: return kInfernoTable;
    case Colormap::kViridis: return kViridisTable;
    case Colormap::kMagma: return kMagmaTable;
    case Colormap::kPlasma: return kPlasmaTable;
    case Colormap::kTurbo: return kTurboTable;
    case Colormap::kGray: break;
  }
  return gray;
}

std::array<std::uint8_t, 3> colormap_rgb(Colormap cmap, float t) {
  if (!(t > 0.0f)) t = 0.0f;  // also NaN
  const int index = std::min(255, int(t * 256.0f));
  return colormap_table(cmap)[index];
}

void colormap_indices(const float* values, int n, float vmin, float scale, std::uint8_t* indices) {
  for (int x = 0; x < n; ++x) {
    float t = (values[x] - vmin) * scale;
    t = t > 0.0f ? (t < 255.0f ? t : 255.0f) : 0.0f;
    indices[x] = std::uint8_t(int(t));
  }
}

Image colorize(const at::Tensor& map, Colormap cmap, float vmin, float vmax) {
  if (map.dim() != 2) throw Error("colorize: expected a [height, width] map");
  at::Tensor values = map.to(at::kFloat).contiguous();
  const int h = int(values.size(0)), w = int(values.size(1));
  const float* v = values.data_ptr<float>();
  const float scale = vmax > vmin ? 1.0f / (vmax - vmin) : 0.0f;
  Image out(w, h, 3);
  for (int64_t i = 0; i < int64_t(h) * w; ++i) {
    const auto rgb = colormap_rgb(cmap, (v[i] - vmin) * scale);
    std::copy(rgb.begin(), rgb.end(), out.pixels.begin() + i * 3);
  }
  return out;
}

}  // namespace dinoclip
