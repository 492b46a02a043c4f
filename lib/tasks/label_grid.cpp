#include "tasks/label_grid.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/error.h"

namespace dinoclip {
namespace {

std::string size_text(int width, int height) { return std::to_string(width) + "x" + std::to_string(height); }

void check_grid(int grid_h, int grid_w, int num_classes) {
  if (grid_h <= 0 || grid_w <= 0) {
    throw Error("patch grid " + std::to_string(grid_w) + "x" + std::to_string(grid_h) + " must be at least 1x1");
  }
  if (num_classes < 1 || num_classes > 256) {
    throw Error("num_classes " + std::to_string(num_classes) + " must be in 1..256 (masks hold uint8 ids)");
  }
}

// [cells, pixels] float64: overlap of pixel p's span [p, p+1) with cell i's
// span [i*pixels/cells, (i+1)*pixels/cells), divided by the cell's length, so
// each row sums to 1.
at::Tensor coverage_weights(int cells, int pixels) {
  at::Tensor weights = at::zeros({cells, pixels}, at::kDouble);
  auto w = weights.accessor<double, 2>();
  const double cell = double(pixels) / cells;
  for (int i = 0; i < cells; ++i) {
    const double begin = i * cell, end = (i + 1) * cell;
    const int first = int(std::floor(begin)), last = std::min(pixels - 1, int(std::ceil(end)) - 1);
    for (int p = first; p <= last; ++p) {
      const double overlap = std::min(end, p + 1.0) - std::max(begin, double(p));
      if (overlap > 0) w[i][p] = overlap / cell;
    }
  }
  return weights;
}

}  // namespace

void check_mask(const Image& mask, const std::string& what) {
  if (mask.width <= 0 || mask.height <= 0) throw Error(what + " is empty (0x0 mask)");
  if (mask.channels != 1) {
    throw Error(what + " has " + std::to_string(mask.channels) +
                " channels; a mask must be 1 channel of class ids (read PNG annotations as palette indices)");
  }
  if (mask.pixels.size() != size_t(mask.width) * mask.height) {
    throw Error(what + ": pixel buffer holds " + std::to_string(mask.pixels.size()) + " bytes, not " +
                std::to_string(size_t(mask.width) * mask.height) + " for " + size_text(mask.width, mask.height));
  }
}

void check_mask(const Image& mask, int width, int height, int num_classes, const std::string& what) {
  check_mask(mask, what);
  if (mask.width != width || mask.height != height) {
    throw Error(what + " is " + size_text(mask.width, mask.height) + " but the frame is " + size_text(width, height) +
                "; give the annotation of this frame at the frame's size");
  }
  const auto largest = *std::max_element(mask.pixels.begin(), mask.pixels.end());
  if (largest >= num_classes) {
    throw Error(what + " holds class id " + std::to_string(largest) + ", but only ids below " +
                std::to_string(num_classes) + " (num_classes) are allowed; raise num_classes or fix the mask");
  }
}

int count_classes(const Image& mask) {
  check_mask(mask, "the mask");
  return int(*std::max_element(mask.pixels.begin(), mask.pixels.end())) + 1;
}

at::Tensor soft_patch_labels(const Image& mask, int grid_h, int grid_w, int num_classes) {
  check_grid(grid_h, grid_w, num_classes);
  check_mask(mask, mask.width, mask.height, num_classes, "the mask");
  const at::Tensor ids = mask_image_to_tensor(mask).to(at::kLong);
  const at::Tensor one_hot = at::one_hot(ids, num_classes).to(at::kDouble);  // [H, W, C]
  const at::Tensor rows = coverage_weights(grid_h, mask.height);             // [gh, H]
  const at::Tensor cols = coverage_weights(grid_w, mask.width);              // [gw, W]
  // fractions[i, j, c] = sum_y sum_x rows[i, y] * cols[j, x] * one_hot[y, x, c]
  const at::Tensor fractions = at::einsum("iy,yxc,jx->ijc", {rows, one_hot, cols});
  return fractions.reshape({int64_t(grid_h) * grid_w, num_classes}).to(at::kFloat).contiguous();
}

at::Tensor majority_patch_labels(const Image& mask, int grid_h, int grid_w, int num_classes) {
  // at::argmax returns the first maximum, i.e. the lowest id on ties. Taken on
  // the float32 fractions, so two areas that differ only by float64 rounding
  // of the weights (e.g. thirds of pixels) count as a tie.
  return soft_patch_labels(mask, grid_h, grid_w, num_classes).argmax(1);
}

at::Tensor upsample_grid_scores(const at::Tensor& scores, int grid_h, int grid_w, int out_h, int out_w) {
  if (!scores.defined() || scores.dim() != 2 || scores.size(0) != int64_t(grid_h) * grid_w) {
    throw Error("per-patch scores must be [grid_h * grid_w = " + std::to_string(int64_t(grid_h) * grid_w) +
                ", classes]" + (scores.defined() ? ", got " + c10::str(scores.sizes()) : std::string()));
  }
  if (scores.size(1) < 1 || scores.size(1) > 256) {
    throw Error("per-patch scores have " + std::to_string(scores.size(1)) + " classes; 1..256 fit a uint8 mask");
  }
  if (out_h <= 0 || out_w <= 0) throw Error("output mask size " + size_text(out_w, out_h) + " must be positive");
  const at::Tensor maps = scores.to(at::kFloat).t().reshape({1, scores.size(1), grid_h, grid_w});
  return at::upsample_bilinear2d(maps, {out_h, out_w}, /*align_corners=*/false)[0];
}

at::Tensor argmax_mask(const at::Tensor& class_maps) {
  return class_maps.argmax(0).to(at::kByte).to(at::kCPU).contiguous();
}

at::Tensor grid_scores_to_mask(const at::Tensor& scores, int grid_h, int grid_w, int out_h, int out_w) {
  return argmax_mask(upsample_grid_scores(scores, grid_h, grid_w, out_h, out_w));
}

Image mask_tensor_to_image(const at::Tensor& mask) {
  if (!mask.defined() || mask.dim() != 2 || mask.scalar_type() != at::kByte) {
    throw Error("a class mask tensor must be [height, width] uint8");
  }
  const at::Tensor cpu = mask.to(at::kCPU).contiguous();
  Image image(int(cpu.size(1)), int(cpu.size(0)), 1);
  std::copy_n(cpu.data_ptr<uint8_t>(), image.pixels.size(), image.pixels.begin());
  return image;
}

at::Tensor mask_image_to_tensor(const Image& mask) {
  check_mask(mask, "the mask");
  return at::from_blob(const_cast<uint8_t*>(mask.pixels.data()), {mask.height, mask.width}, at::kByte).clone();
}

}  // namespace dinoclip
