// Principal components of DINO patch tokens, shown as RGB (the notebook's
// PCA figure), with a basis that can be fitted once and reused per frame so
// colours do not flicker.
#pragma once

#include <ATen/core/Tensor.h>

#include "core/image.h"

namespace dinoclip {

struct PcaBasis {
  at::Tensor mean;        // [D]
  at::Tensor components;  // [k, D], unit rows, sign fixed (largest-|x| entry positive)
  at::Tensor lo, hi;      // [k] min / max of the fitted projections (min-max scaling)
};

// tokens [N, D], 1 <= k <= D. Throws dinoclip::Error for N < 2 (one patch
// has no principal components); pca_fit_possible says so beforehand.
bool pca_fit_possible(const at::Tensor& tokens, int k = 3);
PcaBasis fit_pca(const at::Tensor& tokens, int k = 3);

// [N, k] projections scaled to [0, 1] with the basis's lo/hi, clamped.
at::Tensor project_pca(const PcaBasis& basis, const at::Tensor& tokens);

// tokens [h*w, D] -> [h, w, 3] uint8 RGB from the first three components,
// computed on the tokens' device (float64, as project_pca; the basis is
// copied there): attnoverlay's PCA colours on a GPU without a host copy.
at::Tensor pca_rgb_grid(const at::Tensor& tokens, int grid_h, int grid_w, const PcaBasis& basis);

// The same on the CPU, as an h x w RGB picture.
Image pca_rgb_image(const at::Tensor& tokens, int grid_h, int grid_w, const PcaBasis& basis);

}  // namespace dinoclip
