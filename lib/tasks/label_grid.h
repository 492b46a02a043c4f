// Frame-size class masks <-> the ViT's patch grid: training targets for the
// segmentation head and the propagation's reference labels come from a mask;
// per-patch class scores go back to a frame-size mask.
//
// A mask is a 1-channel Image of class ids (0 = background, 1..C-1 = objects),
// as read from a DAVIS palette PNG.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>

#include "core/image.h"

namespace dinoclip {

// Throws dinoclip::Error unless `mask` is a non-empty 1-channel image.
// `what` names the mask in the message ("the annotation").
void check_mask(const Image& mask, const std::string& what);

// check_mask(), plus: the mask is width x height (a mask of another size than
// its frame is a user error, not something to resize silently) and every id is
// < num_classes. The message names the first bad id and the limit.
void check_mask(const Image& mask, int width, int height, int num_classes, const std::string& what);

// Largest class id + 1 (a mask with ids {0, 2} has 3 classes; id 1 is then a
// class with no pixels).
int count_classes(const Image& mask);

// [grid_h * grid_w, num_classes] float32, rows in patch order (row-major, as
// DINO's tokens): the fraction of each cell's area covered by each class.
//
// Cells split the frame into grid_h x grid_w equal rectangles in continuous
// coordinates (cell i spans rows [i*H/grid_h, (i+1)*H/grid_h)). When the frame
// is not a multiple of the grid, a pixel on a cell border counts for each cell
// in proportion to the part of its area inside that cell (exact area-weighted
// coverage; unlike adaptive average pooling, which counts border pixels whole
// in both cells). Every row sums to 1. When the frame is a multiple of the
// grid this is plain box averaging.
at::Tensor soft_patch_labels(const Image& mask, int grid_h, int grid_w, int num_classes);

// [grid_h * grid_w] int64: per cell, the class covering the largest area
// (argmax of soft_patch_labels; ties go to the lowest id).
at::Tensor majority_patch_labels(const Image& mask, int grid_h, int grid_w, int num_classes);

// Per-patch scores [grid_h * grid_w, C] (logits or soft labels) -> [C, out_h,
// out_w] float32 on the scores' device: each class's score map bilinearly
// upsampled to the frame (align_corners=false, as F.interpolate). C <= 256.
at::Tensor upsample_grid_scores(const at::Tensor& scores, int grid_h, int grid_w, int out_h, int out_w);

// [out_h, out_w] uint8 class map on the CPU: argmax per pixel of
// upsample_grid_scores (ties to the lowest id).
at::Tensor grid_scores_to_mask(const at::Tensor& scores, int grid_h, int grid_w, int out_h, int out_w);

// [C, H, W] scores -> [H, W] uint8 argmax on the CPU.
at::Tensor argmax_mask(const at::Tensor& class_maps);

// [H, W] uint8 tensor (any device) <-> 1-channel Image of class ids.
Image mask_tensor_to_image(const at::Tensor& mask);
at::Tensor mask_image_to_tensor(const Image& mask);

}  // namespace dinoclip
