#include "vision/pca.h"

#include <ATen/ATen.h>

#include <cmath>

#include "core/error.h"

namespace dinoclip {

bool pca_fit_possible(const at::Tensor& tokens, int k) {
  return tokens.dim() == 2 && tokens.size(0) >= 2 && k >= 1 && k <= tokens.size(1);
}

PcaBasis fit_pca(const at::Tensor& tokens, int k) {
  if (tokens.dim() != 2 || tokens.size(0) < 2) throw Error("PCA colours need at least 2 patches, the features have " +
                std::to_string(tokens.dim() == 2 ? tokens.size(0) : 0) +
                " (use a larger input size, so that the frame covers more than one patch)");
  if (k < 1 || k > tokens.size(1)) {
    throw Error("PCA colours: " + std::to_string(k) + " principal components asked of " +
                std::to_string(tokens.size(1)) + "-dimensional features");
  }
  at::Tensor x = tokens.to(at::kCPU, at::kDouble);
  PcaBasis basis;
  basis.mean = x.mean(0);
  at::Tensor centred = x - basis.mean;
  // Eigenvectors of the D x D covariance, largest eigenvalues last.
  at::Tensor covariance = at::mm(centred.t(), centred) / double(x.size(0) - 1);
  at::Tensor vectors = std::get<1>(at::linalg_eigh(covariance));
  at::Tensor components = vectors.narrow(1, vectors.size(1) - k, k).flip(1).t().contiguous();  // [k, D]
  // Eigenvector signs are arbitrary: fix them so refits keep the colours.
  at::Tensor largest = components.abs().argmax(1, true);
  at::Tensor signs = components.gather(1, largest).sign();
  signs.masked_fill_(signs == 0, 1);
  components.mul_(signs);
  at::Tensor projected = at::mm(centred, components.t());
  basis.components = components;
  basis.lo = std::get<0>(projected.min(0));
  basis.hi = std::get<0>(projected.max(0));
  return basis;
}

namespace {

// project_pca on `device`: the tokens and the basis are moved there.
at::Tensor project_on(const PcaBasis& basis, const at::Tensor& tokens, const c10::Device& device) {
  if (tokens.dim() != 2 || tokens.size(1) != basis.mean.size(0)) {
    throw Error("PCA colours: the features have " + std::to_string(tokens.size(-1)) +
                " dimensions but the colours were fitted on " + std::to_string(basis.mean.size(0)) +
                "-dimensional ones (another model)");
  }
  const auto on_device = [&](const at::Tensor& t) { return t.to(device, at::kDouble); };
  at::Tensor projected = at::mm(on_device(tokens) - on_device(basis.mean), on_device(basis.components).t());
  at::Tensor lo = on_device(basis.lo), range = (on_device(basis.hi) - lo).clamp_min(1e-12);
  return ((projected - lo) / range).clamp_(0.0, 1.0).to(at::kFloat);
}

}  // namespace

at::Tensor project_pca(const PcaBasis& basis, const at::Tensor& tokens) {
  return project_on(basis, tokens, at::kCPU);
}

at::Tensor pca_rgb_grid(const at::Tensor& tokens, int grid_h, int grid_w, const PcaBasis& basis) {
  if (basis.components.size(0) < 3) throw Error("PCA colours need 3 principal components");
  if (tokens.size(0) != int64_t(grid_h) * grid_w) throw Error("PCA colours: the feature count does not match the patch grid");
  const at::Tensor projected = project_on(basis, tokens, tokens.device());
  return (projected.narrow(1, 0, 3) * 255.0f).round_().to(at::kByte).view({grid_h, grid_w, 3});
}

Image pca_rgb_image(const at::Tensor& tokens, int grid_h, int grid_w, const PcaBasis& basis) {
  const at::Tensor rgb = pca_rgb_grid(tokens.to(at::kCPU), grid_h, grid_w, basis).contiguous();
  Image out(grid_w, grid_h, 3);
  std::copy(rgb.data_ptr<uint8_t>(), rgb.data_ptr<uint8_t>() + rgb.numel(), out.pixels.begin());
  return out;
}

}  // namespace dinoclip
