#include "tasks/ground_truth.h"

#include <algorithm>

#include "core/error.h"
#include "io/file_util.h"
#include "io/image_file.h"
#include "tasks/label_grid.h"

namespace dinoclip {
namespace {

// Class ids are 8-bit: every id a mask can hold has a slot.
constexpr int kAllClassIds = 256;

void check_folder(const std::string& setting, const FramePattern& pattern) {
  const std::string example = pattern.path(0);
  const size_t slash = example.find_last_of('/');
  const std::string folder = slash == std::string::npos ? "." : example.substr(0, std::max<size_t>(slash, 1));
  if (!directory_exists(folder)) {
    throw Error("ground-truth '" + setting + "': the folder '" + folder +
                "' does not exist: point ground-truth at "
                "the folder of the per-frame masks (e.g. DAVIS/Annotations/480p/dog/%05d.png)");
  }
}

}  // namespace

GroundTruthScorer::GroundTruthScorer(const std::string& pattern) : pattern_(FramePattern::parse(pattern)) {
  check_folder(pattern, pattern_);
}

std::optional<FrameIou> GroundTruthScorer::score(int64_t frame, const at::Tensor& mask) {
  const std::string file = pattern_.path(frame);
  if (!file_exists(file)) return std::nullopt;
  const Image truth = read_label_png(file);
  const Image predicted = mask_tensor_to_image(mask);
  FrameIou result;
  result.mean = mean_iou(predicted, truth);
  result.per_class = per_class_iou(predicted, truth, kAllClassIds);
  series_.add(frame, result.mean);
  return result;
}

}  // namespace dinoclip
