#include "dinoseg/dinoseg_state.h"

#include <exception>
#include <string>

#include "core/device.h"
#include "core/error.h"
#include "io/file_util.h"
#include "io/image_file.h"

namespace dinoclip::gst {
namespace {

VideoSegmenterConfig segmenter_config(const DinosegSettings& s) {
  VideoSegmenterConfig config;
  config.method = to_seg_method(s.method);
  config.num_classes = int(s.num_classes);
  config.head.kind = to_head_kind(s.head);
  config.head.hidden = s.hidden_size;
  config.head.num_iters = s.num_iters;
  config.head.learning_rate = s.learning_rate;
  config.head.weight_decay = s.weight_decay;
  config.head.seed = s.seed;
  config.head.labels = to_label_mode(s.patch_labels);
  config.propagation.context_frames = s.context_frames;
  config.propagation.topk = s.topk;
  config.propagation.neighborhood = s.neighborhood;
  config.propagation.temperature = s.temperature;
  return config;
}

// Contradictory or missing settings, as one message saying what to change.
void check_settings(const DinosegSettings& s) {
  const bool propagation = s.method == GST_DINOCLIP_DINOSEG_METHOD_PROPAGATION;
  if (!s.load_head.empty()) {
    if (!s.annotation.empty() || !s.annotation_image.empty()) {
      throw Error("set either load-head (a trained head) or annotation (train a new one), not both");
    }
    if (propagation) throw Error("load-head needs method=head; propagation has no head (set annotation instead)");
    if (!s.save_head.empty()) throw Error("load-head and save-head together would only copy the file: drop save-head");
    return;
  }
  if (s.annotation.empty()) {
    throw Error(
        "nothing to segment with: set annotation=MASK.png (the mask of frame annotation-frame, or of "
        "annotation-image) or load-head=HEAD.safetensors");
  }
  if (propagation && !s.save_head.empty()) throw Error("save-head needs method=head; propagation trains no head");
  if (!s.save_head.empty() && file_exists(s.save_head)) {
    throw Error("save-head '" + s.save_head +
                "' already exists and would be overwritten: remove it, choose "
                "another path, or reuse it with load-head");
  }
}

}  // namespace

std::unique_ptr<DinosegState> prepare_dinoseg_state(const DinosegSettings& settings) {
  check_settings(settings);
  auto state = std::make_unique<DinosegState>();
  state->settings = settings;
  state->config = segmenter_config(settings);
  state->wait = AnnotatedFrameWait(settings.annotation_frame, settings.max_held_frames);
  if (settings.method == GST_DINOCLIP_DINOSEG_METHOD_PROPAGATION) LabelPropagator check(state->config.propagation);
  if (settings.device != GST_DINOCLIP_DEVICE_AUTO) {
    state->fixed_device = resolve_device(to_device_choice(settings.device));
  }
  if (!settings.ground_truth.empty()) state->ground_truth.emplace(settings.ground_truth);
  if (!settings.load_head.empty()) {
    // device=auto: read on the CPU now (a bad file fails here), moved to the
    // features' device at the first frame (place_segmenter).
    state->segmenter =
        VideoSegmenter::from_head(SegHead::load(settings.load_head, state->fixed_device.value_or(c10::kCPU)));
    return state;
  }
  try {
    state->annotation = read_label_png(settings.annotation);
  } catch (const std::exception& e) {
    throw Error(std::string("cannot use annotation: ") + e.what() +
                " (a DAVIS palette PNG or an 8-bit grey PNG of class ids)");
  }
  return state;
}

}  // namespace dinoclip::gst
