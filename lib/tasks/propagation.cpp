#include "tasks/propagation.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <limits>
#include <string>
#include <vector>

#include "core/error.h"
#include "tasks/label_grid.h"

namespace dinoclip {
namespace {

// F.normalize(x, dim=1, p=2): rows divided by max(||row||, 1e-12).
at::Tensor normalize_rows(const at::Tensor& x) {
  return x / x.norm(2, {1}, /*keepdim=*/true).clamp_min(1e-12);
}

void check_frame_features(const at::Tensor& features, int64_t patches, const std::string& what) {
  if (!features.defined() || features.dim() != 2 || !at::isFloatingType(features.scalar_type())) {
    throw Error(what + " must be a float tensor [patches, feature_dim]" +
                (features.defined() ? ", got " + c10::str(features.sizes()) : std::string(" (undefined)")));
  }
  if (features.size(0) != patches) {
    throw Error(what + " have " + std::to_string(features.size(0)) + " patches but the grid holds " +
                std::to_string(patches) + " (every frame must be given at the annotated frame's size)");
  }
}

// norm_mask: each class map with a positive maximum -> (map - min) / (max - min)
// over the frame. A flat map (max == min) would be 0/0 = NaN in the official
// code; it is left as it is here.
at::Tensor rescale_each_class(const at::Tensor& maps) {
  const at::Tensor flat = maps.reshape({maps.size(0), -1});
  const at::Tensor low = std::get<0>(flat.min(1, /*keepdim=*/true));
  const at::Tensor high = std::get<0>(flat.max(1, /*keepdim=*/true));
  const at::Tensor span = high - low;
  const at::Tensor rescaled = (flat - low) / span.clamp_min(1e-30);
  return at::where((high > 0) & (span > 0), rescaled, flat).reshape(maps.sizes());
}

}  // namespace

LabelPropagator::LabelPropagator() : LabelPropagator(Config{}) {}

LabelPropagator::LabelPropagator(const Config& config) : config_(config) {
  if (config.context_frames < 0) throw Error("context_frames must be >= 0");
  if (config.topk < 1) throw Error("topk must be >= 1, got " + std::to_string(config.topk));
  if (config.neighborhood < 0) throw Error("neighborhood must be >= 0 (0 = whole frame)");
  if (!(config.temperature > 0)) throw Error("temperature must be > 0");
  if (config.query_block < 1) throw Error("query_block must be >= 1");
}

void LabelPropagator::set_reference(const at::Tensor& features, const at::Tensor& labels, int grid_h, int grid_w) {
  if (grid_h <= 0 || grid_w <= 0) throw Error("the patch grid must be at least 1x1");
  const int64_t patches = int64_t(grid_h) * grid_w;
  check_frame_features(features, patches, "reference features");
  if (!labels.defined() || labels.dim() != 2 || labels.size(0) != patches || !at::isFloatingType(labels.scalar_type())) {
    throw Error("reference labels must be float [grid_h * grid_w = " + std::to_string(patches) +
                ", classes] (soft_patch_labels of the annotation)" +
                (labels.defined() ? ", got " + c10::str(labels.sizes()) : std::string()));
  }
  if (labels.size(1) < 1 || labels.size(1) > 256) throw Error("reference labels must have 1..256 classes");
  if (grid_h != grid_h_ || grid_w != grid_w_) neighbourhood_ = at::Tensor();
  grid_h_ = grid_h;
  grid_w_ = grid_w;
  reference_ = {normalize_rows(features.to(at::kFloat)), labels.to(features.device(), at::kFloat)};
  queue_.clear();
}

at::Tensor LabelPropagator::neighbourhood_mask() const {
  const int64_t patches = int64_t(grid_h_) * grid_w_;
  const at::TensorOptions options = at::TensorOptions().device(reference_.first.device()).dtype(at::kLong);
  const at::Tensor index = at::arange(patches, options);
  const at::Tensor row = index.div(grid_w_, "floor"), col = index.remainder(grid_w_);
  // Chebyshev distance <= r: restrict_neighborhood's (2r+1) x (2r+1) square.
  return (row.unsqueeze(1) - row.unsqueeze(0)).abs().le(config_.neighborhood) &
         (col.unsqueeze(1) - col.unsqueeze(0)).abs().le(config_.neighborhood);
}

// queries [q, D] (normalised), first = index of the block's first patch,
// keys [K*N, D] (normalised, context frames stacked), key_labels [K*N, C],
// allowed [N, N] or undefined -> labels [q, C].
at::Tensor LabelPropagator::propagate_block(const at::Tensor& queries, int64_t first, const at::Tensor& keys,
                                            const at::Tensor& key_labels, const at::Tensor& allowed) const {
  const int64_t q = queries.size(0), patches = int64_t(grid_h_) * grid_w_;
  const int64_t contexts = keys.size(0) / patches;
  at::Tensor cosine = at::mm(queries, keys.t());  // [q, K*N]
  if (allowed.defined()) {
    const at::Tensor block_allowed = allowed.narrow(0, first, q).repeat({1, contexts});
    cosine.masked_fill_(block_allowed.logical_not(), -std::numeric_limits<float>::infinity());
  }
  // The official code zeroes every affinity below the k-th largest of the
  // column (ties with it are kept), then normalises the survivors. exp() is
  // monotonic, so the threshold can be taken on the cosines; subtracting the
  // row maximum before exp() changes nothing after normalisation and avoids
  // overflow for small temperatures.
  const int64_t k = std::min<int64_t>(config_.topk, cosine.size(1));
  const at::Tensor kth = std::get<0>(cosine.topk(k, 1)).select(1, k - 1).unsqueeze(1);
  const at::Tensor row_max = std::get<0>(cosine.max(1, /*keepdim=*/true));
  at::Tensor weights = at::exp((cosine - row_max) / config_.temperature);
  weights.masked_fill_(cosine < kth, 0.0);
  weights = weights / weights.sum(1, /*keepdim=*/true);
  return at::mm(weights, key_labels);
}

at::Tensor LabelPropagator::propagate(const at::Tensor& features) {
  if (!has_reference()) throw Error("propagate() before set_reference(): give the annotated frame first");
  const int64_t patches = int64_t(grid_h_) * grid_w_;
  check_frame_features(features, patches, "frame features");
  if (features.size(1) != reference_.first.size(1)) {
    throw Error("frame features have dimension " + std::to_string(features.size(1)) +
                " but the reference has " + std::to_string(reference_.first.size(1)) + " (use one model)");
  }
  const at::Tensor current = normalize_rows(features.to(reference_.first.device(), at::kFloat));

  std::vector<at::Tensor> key_list{reference_.first}, label_list{reference_.second};
  for (const auto& [f, l] : queue_) {
    key_list.push_back(f);
    label_list.push_back(l);
  }
  const at::Tensor keys = at::cat(key_list), key_labels = at::cat(label_list);
  if (config_.neighborhood > 0 && !neighbourhood_.defined()) neighbourhood_ = neighbourhood_mask();
  const at::Tensor allowed = config_.neighborhood > 0 ? neighbourhood_ : at::Tensor();

  std::vector<at::Tensor> blocks;
  for (int64_t first = 0; first < patches; first += config_.query_block) {
    const int64_t q = std::min<int64_t>(config_.query_block, patches - first);
    blocks.push_back(propagate_block(current.narrow(0, first, q), first, keys, key_labels, allowed));
  }
  at::Tensor labels = at::cat(blocks);

  if (config_.context_frames > 0) {
    if (int(queue_.size()) == config_.context_frames) queue_.pop_front();
    queue_.emplace_back(current, labels);
  }
  return labels;
}

at::Tensor LabelPropagator::predict_mask(const at::Tensor& labels, int out_h, int out_w,
                                         bool rescale_per_class) const {
  if (!has_reference()) throw Error("predict_mask() before set_reference(): the patch grid is unknown");
  at::Tensor maps = upsample_grid_scores(labels, grid_h_, grid_w_, out_h, out_w);  // [C, H, W]
  if (rescale_per_class) maps = rescale_each_class(maps);
  return argmax_mask(maps);
}

}  // namespace dinoclip
