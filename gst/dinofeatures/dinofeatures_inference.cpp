#include "dinofeatures/dinofeatures_inference.h"

#include <ATen/ATen.h>

#include "common/frame_planes_map.h"
#include "core/error.h"
#include "core/user_message.h"
#include "dinofeatures/dinofeatures_payload.h"
#include "io/image_file.h"
#include "runtime/frame_upload.h"
#include "tasks/dino_image.h"

namespace dinoclip::gst {
namespace {

// The frame's model input through the one lib/ entry point the CLI uses too
// (size resolution, native crop, resize by `method`, normalisation), made on
// the model's device. (The fast method goes through submit_frame instead, so
// that a batch of frames is prepared in one pass on the model's device.)
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

MakeInput DinoInference::make_exact_input() const {
  return make_dino_input(frame_.input_size, instance_->config().patch_size, ScaleMethod::kExact, instance_->device());
}

FramePlanes DinoInference::frame_for_model(GstBuffer* buffer, const ResolvedSize& size) const {
  FramePlanes frame = map_frame_for_model(buffer, info_, instance_->device());
  // "native": the top-left whole patches, as dino_image_input crops (before
  // staging, so that only they are copied).
  if (frame_.input_size.kind == InputSize::Kind::kNative) frame = top_left_crop(frame, size.width, size.height);
  return runtime::staged_for_device(frame, instance_->device());
}

InferenceTicket DinoInference::submit(GstBuffer* buffer, bool in_worker) {
  const int patch = instance_->config().patch_size;
  try {
    const ResolvedSize size =
        resolve_input_size(frame_.input_size, GST_VIDEO_INFO_WIDTH(&info_), GST_VIDEO_INFO_HEIGHT(&info_), patch);
    runtime::DinoPending pending =
        scale_method_ == ScaleMethod::kFast
            ? instance_->submit_frame(client_, size.height, size.width, forward_options(frame_),
                                      frame_for_model(buffer, size))
            : instance_->submit(client_, size.height, size.width, forward_options(frame_),
                                in_worker ? at::Tensor() : input_from_frame(buffer, info_, make_exact_input()),
                                in_worker ? deferred_input(buffer, info_, make_exact_input()) : nullptr);
    const GstClockTime pts = GST_BUFFER_PTS(buffer);
    InferenceTicket ticket;
    ticket.outputs = pending.take_future();
    ticket.publish = [this, pts, patch, grid_h = size.height / patch,
                      grid_w = size.width / patch](runtime::BatchOutputs outputs) {
      GstDinoclipFeatures* features =
          make_features_payload(runtime::dino_output(outputs, grid_h, grid_w), patch, outputs.ready);
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
  gst_buffer_add_dinoclip_features_meta(buffer, latest_, !fresh, latest_pts_);
}

void DinoInference::forget_latest() {
  if (latest_) gst_dinoclip_features_unref(latest_);
  latest_ = nullptr;
  latest_pts_ = GST_CLOCK_TIME_NONE;
}

GstDinoclipFeatures* features_of_picture(runtime::DinoInstance& instance, runtime::ClientId client,
                                         const std::string& path, const DinoFrameSettings& settings,
                                         const InferenceSettings& scale) {
  const Image picture = read_image(path);
  const int patch = instance.config().patch_size;
  const DinoImageInput prepared = dino_image_input(picture.view(), settings.input_size, patch,
                                                   scale.scale_method_on(instance.device()), instance.device());
  runtime::BatchOutputs outputs =
      instance.submit(client, prepared.size.height, prepared.size.width, forward_options(settings), prepared.input)
          .take_future()
          .get();
  return make_features_payload(runtime::dino_output(outputs, prepared.size.height / patch, prepared.size.width / patch),
                               patch, outputs.ready);
}

}  // namespace dinoclip::gst
