#include "dino_inference.h"

#include <ATen/ATen.h>

#include "core/error.h"
#include "features_payload.h"
#include "io/image_file.h"
#include "vision/preprocess.h"

namespace dinoclip::gst {
namespace {

// Where a frame of this size goes in the model: the input size, and for
// "native" the top-left crop to whole patches (as DINO's visualize_attention.py).
struct Placement {
  ResolvedSize size;
  bool crop = false;
};

Placement place(const DinoFrameSettings& settings, int width, int height, int patch) {
  Placement placement;
  placement.size = resolve_input_size(settings.input_size, width, height, patch);
  placement.crop = settings.input_size.kind == InputSize::Kind::kNative;
  return placement;
}

MakeInput make_dino_input(const Placement& placement) {
  return [placement](ImageView view) {
    if (placement.crop) {
      view.width = placement.size.width;
      view.height = placement.size.height;
    }
    return dino_input(view, placement.size.height, placement.size.width);
  };
}

DinoForwardOptions forward_options(const DinoFrameSettings& settings) {
  DinoForwardOptions options;
  options.cls_attention = settings.attention;
  return options;
}

}  // namespace

DinoInference::DinoInference(std::shared_ptr<runtime::DinoInstance> instance)
    : instance_(std::move(instance)), client_(instance_->new_client()) {}

DinoInference::~DinoInference() {
  instance_->cancel_pending(client_);
  forget_latest();
}

InferenceTicket DinoInference::submit(GstBuffer* buffer, bool in_worker) {
  const int patch = instance_->config().patch_size;
  try {
    const Placement placement =
        place(frame_, GST_VIDEO_INFO_WIDTH(&info_), GST_VIDEO_INFO_HEIGHT(&info_), patch);
    const MakeInput make = make_dino_input(placement);
    at::Tensor input;
    std::function<at::Tensor()> prepare;
    if (in_worker) {
      prepare = deferred_input(buffer, info_, make);
    } else {
      input = input_from_frame(buffer, info_, make);
    }
    runtime::DinoPending pending = instance_->submit(client_, placement.size.height, placement.size.width,
                                                     forward_options(frame_), input, std::move(prepare));
    const GstClockTime pts = GST_BUFFER_PTS(buffer);
    InferenceTicket ticket;
    ticket.outputs = pending.take_future();
    ticket.publish = [this, pts, patch, grid_h = placement.size.height / patch,
                      grid_w = placement.size.width / patch](runtime::BatchOutputs outputs) {
      GstDinoFeatures* features = make_features_payload(runtime::dino_output(outputs, grid_h, grid_w), patch);
      forget_latest();
      latest_ = features;
      latest_pts_ = pts;
    };
    return ticket;
  } catch (const std::exception& e) {
    throw Error(std::string("DINO inference failed: ") + e.what() + " (frame " +
                std::to_string(GST_VIDEO_INFO_WIDTH(&info_)) + "x" + std::to_string(GST_VIDEO_INFO_HEIGHT(&info_)) +
                " " + GST_VIDEO_INFO_NAME(&info_) + ", input-size " + frame_.input_size.to_string() + ")");
  }
}

void DinoInference::attach_latest(GstBuffer* buffer, bool fresh) {
  if (!latest_) return;  // async mode before the first result
  gst_buffer_add_dino_features_meta(buffer, latest_, !fresh, latest_pts_);
}

void DinoInference::forget_latest() {
  if (latest_) gst_dino_features_unref(latest_);
  latest_ = nullptr;
  latest_pts_ = GST_CLOCK_TIME_NONE;
}

GstDinoFeatures* features_of_picture(runtime::DinoInstance& instance, runtime::ClientId client,
                                     const std::string& path, const DinoFrameSettings& settings) {
  const Image picture = read_image(path);
  const int patch = instance.config().patch_size;
  const Placement placement = place(settings, picture.width, picture.height, patch);
  const at::Tensor input = make_dino_input(placement)(picture.view());
  DinoOutput output = instance.submit(client, placement.size.height, placement.size.width,
                                      forward_options(settings), input).get();
  return make_features_payload(std::move(output), patch);
}

}  // namespace dinoclip::gst
