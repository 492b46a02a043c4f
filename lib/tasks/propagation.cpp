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
at::Tensor normalize_rows(const at::Tensor& x) { return x / x.norm(2, {1}, /*keepdim=*/true).clamp_min(1e-12); }

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
  if (!labels.defined() || labels.dim() != 2 || labels.size(0) != patches ||
      !at::isFloatingType(labels.scalar_type())) {
    throw Error("reference labels must be float [grid_h * grid_w = " + std::to_string(patches) +
                ", classes] (soft_patch_labels of the annotation)" +
                (labels.defined() ? ", got " + c10::str(labels.sizes()) : std::string()));
  }
  if (labels.size(1) < 1 || labels.size(1) > 256) throw Error("reference labels must have 1..256 classes");
  grid_h_ = grid_h;
  grid_w_ = grid_w;
  reference_ = {normalize_rows(features.to(at::kFloat)).contiguous(),
                labels.to(features.device(), at::kFloat).contiguous()};
  queue_.clear();
}

// [rows, cols] bool: patch `first_query + i` and patch `first_key + j` are at
// most `radius` rows and columns apart (Chebyshev distance: the (2r+1) x (2r+1)
// square of restrict_neighborhood).
at::Tensor LabelPropagator::neighbourhood_mask(int64_t first_query, int64_t queries, int64_t first_key, int64_t keys,
                                               c10::Device device) const {
  const at::TensorOptions options = at::TensorOptions().device(device).dtype(at::kLong);
  const at::Tensor q = at::arange(first_query, first_query + queries, options);
  const at::Tensor k = at::arange(first_key, first_key + keys, options);
  const int64_t r = config_.neighborhood;
  return (q.div(grid_w_, "floor").unsqueeze(1) - k.div(grid_w_, "floor").unsqueeze(0)).abs().le(r) &
         (q.remainder(grid_w_).unsqueeze(1) - k.remainder(grid_w_).unsqueeze(0)).abs().le(r);
}

// queries [q, D] (normalised); keys: per context frame [Nb, D] (normalised,
// the band of rows the queries can see); key_labels [K * Nb, C]; allowed
// [q, Nb] or undefined (no neighbourhood) -> labels [q, C].
//
// The official code zeroes every affinity below the k-th largest over all
// context patches (ties with it are kept), then normalises the survivors.
// exp() is monotonic, so the threshold is taken on the cosines, and exp() is
// only evaluated on the few survivors; subtracting the best cosine before
// exp() changes nothing after normalisation and avoids overflow.
at::Tensor LabelPropagator::propagate_block(const at::Tensor& queries, const std::vector<at::Tensor>& keys,
                                            const at::Tensor& key_labels, const at::Tensor& allowed) const {
  const int64_t q = queries.size(0), contexts = int64_t(keys.size()), band = keys[0].size(0);
  at::Tensor cosine = at::empty({contexts, q, band}, queries.options());
  for (int64_t c = 0; c < contexts; ++c) {
    at::Tensor out = cosine[c];
    at::mm_out(out, queries, keys[c].t());
  }
  if (allowed.defined())
    cosine.masked_fill_(allowed.logical_not().unsqueeze(0), -std::numeric_limits<float>::infinity());
  // The k best over all contexts are among each context's k best.
  const int64_t k = std::min<int64_t>(config_.topk, contexts * band);
  const at::Tensor per_context = std::get<0>(cosine.topk(std::min(k, band), 2));  // [K, q, k']
  const at::Tensor merged = per_context.permute({1, 0, 2}).reshape({q, -1});      // [q, K * k']
  const at::Tensor best = std::get<0>(merged.topk(k, 1));                         // [q, k], descending
  const at::Tensor kth = best.select(1, k - 1).view({1, q, 1});
  const at::Tensor kept = cosine.ge(kth).view({-1}).nonzero().squeeze(1);  // flat [K, q, band] indices
  const at::Tensor context = kept.div(q * band, "floor"), row = kept.div(band, "floor").remainder(q);
  const at::Tensor key = context * band + kept.remainder(band);
  const at::Tensor weights =
      at::exp((cosine.view({-1}).index_select(0, kept) - best.select(1, 0).index_select(0, row)) / config_.temperature);
  const at::Tensor total = at::zeros({q}, weights.options()).index_add_(0, row, weights);
  at::Tensor labels = at::zeros({q, key_labels.size(1)}, weights.options());
  labels.index_add_(0, row, key_labels.index_select(0, key) * weights.unsqueeze(1));
  return labels / total.unsqueeze(1);
}

at::Tensor LabelPropagator::propagate(const at::Tensor& features) {
  c10::InferenceMode guard;
  if (!has_reference()) throw Error("propagate() before set_reference(): give the annotated frame first");
  const int64_t patches = int64_t(grid_h_) * grid_w_;
  check_frame_features(features, patches, "frame features");
  if (features.size(1) != reference_.first.size(1)) {
    throw Error("frame features have dimension " + std::to_string(features.size(1)) + " but the reference has " +
                std::to_string(reference_.first.size(1)) + " (use one model)");
  }
  const at::Tensor current = normalize_rows(features.to(reference_.first.device(), at::kFloat)).contiguous();
  std::vector<std::pair<at::Tensor, at::Tensor>> context{reference_};
  context.insert(context.end(), queue_.begin(), queue_.end());

  // Blocks of whole grid rows: with a neighbourhood, a block's queries only
  // see the key rows within the radius, so only that band is compared.
  const int64_t radius = config_.neighborhood, w = grid_w_;
  const int64_t rows_per_block = std::max<int64_t>(1, config_.query_block / w);
  at::Tensor labels = at::empty({patches, reference_.second.size(1)}, current.options());
  for (int64_t y0 = 0; y0 < grid_h_; y0 += rows_per_block) {
    const int64_t y1 = std::min<int64_t>(grid_h_, y0 + rows_per_block);
    const int64_t k0 = radius > 0 ? std::max<int64_t>(0, y0 - radius) : 0;
    const int64_t k1 = radius > 0 ? std::min<int64_t>(grid_h_, y1 + radius) : grid_h_;
    std::vector<at::Tensor> keys, key_labels;
    for (const auto& [f, l] : context) {
      keys.push_back(f.narrow(0, k0 * w, (k1 - k0) * w));
      key_labels.push_back(l.narrow(0, k0 * w, (k1 - k0) * w));
    }
    const at::Tensor allowed =
        radius > 0 ? neighbourhood_mask(y0 * w, (y1 - y0) * w, k0 * w, (k1 - k0) * w, current.device()) : at::Tensor();
    labels.narrow(0, y0 * w, (y1 - y0) * w)
        .copy_(propagate_block(current.narrow(0, y0 * w, (y1 - y0) * w), keys, at::cat(key_labels), allowed));
  }

  if (config_.context_frames > 0) {
    if (int(queue_.size()) == config_.context_frames) queue_.pop_front();
    queue_.emplace_back(current, labels);
  }
  return labels;
}

at::Tensor LabelPropagator::predict_mask(const at::Tensor& labels, int out_h, int out_w, bool rescale_per_class) const {
  if (!has_reference()) throw Error("predict_mask() before set_reference(): the patch grid is unknown");
  at::Tensor maps = upsample_grid_scores(labels, grid_h_, grid_w_, out_h, out_w);  // [C, H, W]
  if (rescale_per_class) maps = rescale_each_class(maps);
  return argmax_mask(maps);
}

}  // namespace dinoclip
