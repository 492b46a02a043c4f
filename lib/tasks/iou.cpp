#include "tasks/iou.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "core/error.h"
#include "tasks/label_grid.h"

namespace dinoclip {
namespace {

void check_pair(const Image& pred, const Image& truth, int num_classes) {
  check_mask(truth, "the ground-truth mask");
  check_mask(pred, truth.width, truth.height, num_classes, "the predicted mask");
  check_mask(truth, truth.width, truth.height, num_classes, "the ground-truth mask");
}

}  // namespace

std::vector<double> per_class_iou(const Image& pred, const Image& truth, int num_classes) {
  if (num_classes < 1 || num_classes > 256) {
    throw Error("num_classes " + std::to_string(num_classes) + " must be in 1..256 (masks hold uint8 ids)");
  }
  check_pair(pred, truth, num_classes);
  std::vector<long> intersection(num_classes, 0), in_pred(num_classes, 0), in_truth(num_classes, 0);
  for (size_t i = 0; i < truth.pixels.size(); ++i) {
    const int p = pred.pixels[i], t = truth.pixels[i];
    ++in_pred[p];
    ++in_truth[t];
    if (p == t) ++intersection[p];
  }
  std::vector<double> iou(num_classes, std::numeric_limits<double>::quiet_NaN());
  for (int c = 0; c < num_classes; ++c) {
    const long union_size = in_pred[c] + in_truth[c] - intersection[c];
    if (union_size > 0) iou[c] = double(intersection[c]) / double(union_size);
  }
  return iou;
}

double mean_iou(const Image& pred, const Image& truth, const MeanIouOptions& options) {
  check_mask(truth, "the ground-truth mask");
  check_mask(pred, "the predicted mask");
  const int num_classes = std::max(count_classes(pred), count_classes(truth));
  const std::vector<double> iou = per_class_iou(pred, truth, num_classes);
  double sum = 0;
  int counted = 0;
  for (int c = options.exclude_background ? 1 : 0; c < num_classes; ++c) {
    if (std::isnan(iou[c])) continue;
    sum += iou[c];
    ++counted;
  }
  return counted > 0 ? sum / counted : std::numeric_limits<double>::quiet_NaN();
}

void IouSeries::add(int64_t frame, double iou) {
  if (!std::isnan(iou)) by_frame_[frame] = iou;
}

IouSummary IouSeries::summary() const {
  IouSummary out;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  out.frames = int64_t(by_frame_.size());
  if (by_frame_.empty()) {
    out.mean = out.first = out.last = nan;
    return out;
  }
  double sum = 0;
  for (const auto& [frame, iou] : by_frame_) sum += iou;
  out.mean = sum / double(out.frames);
  out.first_frame = by_frame_.begin()->first;
  out.first = by_frame_.begin()->second;
  out.last_frame = by_frame_.rbegin()->first;
  out.last = by_frame_.rbegin()->second;
  return out;
}

}  // namespace dinoclip
