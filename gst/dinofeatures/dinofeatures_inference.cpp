#include "dinofeatures/dinofeatures_inference.h"

#include <ATen/ATen.h>

#include "core/error.h"
#include "core/user_message.h"
#include "dinofeatures/dinofeatures_payload.h"
#include "io/image_file.h"
#include "tasks/dino_image.h"

namespace dinoclip::gst {
namespace {

// The frame's model input through the one lib/ entry point the CLI uses too
// (size resolution, native crop, resize by `method`, normalisation), made on
// the model's device.
MakeInput make_dino_input(const InputSize& input_size, int patch, ScaleMethod method, const c10::Device& device) {
  return [input_size, patch, method, device](const ImageView& view) {
    return dino_image_input(view, input_size, patch, method, device).input;
  };
}

DinoForwardOptions forward_options(const DinoFrameSettings& settings) {
  DinoForwardOptions options;
  options.cls_attention = settings.attention;
  return options;
}

}  // namespace

DinoInference::DinoInference(std::shared_ptr<runtime::DinoInstance> instance, const InferenceSettings& settings)
    : instance_(std::move(instance)),
      client_(instance_->new_client()),
      scale_method_(settings.scale_method_on(instance_->device())) {}

DinoInference::~DinoInference() {
  instance_->cancel_pending(client_);
  forget_latest();
}

InferenceTicket DinoInference::submit(GstBuffer* buffer, bool in_worker) {
  const int patch = instance_->config().patch_size;
  try {
    const ResolvedSize size =
        resolve_input_size(frame_.input_size, GST_VIDEO_INFO_WIDTH(&info_), GST_VIDEO_INFO_HEIGHT(&info_), patch);
    const MakeInput make = make_dino_input(frame_.input_size, patch, scale_method_, instance_->device());
    at::Tensor input;
    std::function<at::Tensor()> prepare;
    if (in_worker) {
      prepare = deferred_input(buffer, info_, make);
    } else {
      input = input_from_frame(buffer, info_, make);
    }
    runtime::DinoPending pending = instance_->submit(client_, size.height, size.width,
                                                     forward_options(frame_), input, std::move(prepare));
    const GstClockTime pts = GST_BUFFER_PTS(buffer);
    InferenceTicket ticket;
    ticket.outputs = pending.take_future();
    ticket.publish = [this, pts, patch, grid_h = size.height / patch, grid_w = size.width / patch](runtime::BatchOutputs outputs) {
      GstDinoFeatures* features = make_features_payload(runtime::dino_output(outputs, grid_h, grid_w), patch);
      forget_latest();
      latest_ = features;
      latest_pts_ = pts;
    };
    return ticket;
  } catch (const std::exception& e) {
    throw Error(std::string("DINO inference failed: ") + user_message(e) + " (frame " +
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
                                     const std::string& path, const DinoFrameSettings& settings,
                                     const InferenceSettings& scale) {
  const Image picture = read_image(path);
  const int patch = instance.config().patch_size;
  const DinoImageInput prepared = dino_image_input(picture.view(), settings.input_size, patch,
                                                   scale.scale_method_on(instance.device()), instance.device());
  DinoOutput output = instance.submit(client, prepared.size.height, prepared.size.width,
                                      forward_options(settings), prepared.input).get();
  return make_features_payload(std::move(output), patch);
}

}  // namespace dinoclip::gst
