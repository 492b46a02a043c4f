// dinofeatures' side of the inference driver: frames to DINO requests on the
// shared instance (lib/runtime), results to GstDinoclipFeatures payloads, and the
// features of a picture for dinoseg's annotation-image query. No maths:
// preprocessing is lib/vision, the model runs on the instance's worker.
#pragma once

#include <gst/dinoclip/features-meta.h>
#include <gst/video/video.h>

#include <memory>
#include <string>

#include "inference/inference_driver.h"
#include "inference/inference_properties.h"
#include "runtime/dino_instance.h"
#include "vision/input_size.h"

namespace dinoclip::gst {

// Per-frame settings (may change while PLAYING).
struct DinoFrameSettings {
  InputSize input_size;
  bool attention = true;
};

class DinoInference : public InferenceClient {
 public:
  // Frames are preprocessed with settings' scale-method, resolved for the instance's device.
  DinoInference(std::shared_ptr<runtime::DinoInstance> instance, const InferenceSettings& settings);
  ~DinoInference() override;

  void set_info(const GstVideoInfo& info) override { info_ = info; }
  int cuda_device() const override { return cuda_index_of(instance_->device()); }
  const GstVideoInfo& info() const { return info_; }
  void set_frame_settings(const DinoFrameSettings& settings) { frame_ = settings; }

  InferenceTicket submit(GstBuffer* buffer, bool in_worker) override;
  void attach_latest(GstBuffer* buffer, bool fresh) override;
  void cancel_pending() override { instance_->cancel_pending(client_); }
  void hurry_pending() override { instance_->hurry(client_); }
  void forget_latest() override;

 private:
  MakeInput make_exact_input() const;
  // The mapped (CPU model) or staged (GPU model) frame, cropped for "native".
  FramePlanes frame_for_model(GstBuffer* buffer, const ResolvedSize& size) const;

  std::shared_ptr<runtime::DinoInstance> instance_;
  const runtime::ClientId client_;
  const ScaleMethod scale_method_;
  GstVideoInfo info_{};
  DinoFrameSettings frame_;
  GstDinoclipFeatures* latest_ = nullptr;
  GstClockTime latest_pts_ = GST_CLOCK_TIME_NONE;
};

// The features of a picture (PNG/JPEG) at `settings`' input size, resized
// with `scale` (as the element's frames), computed on the instance's worker:
// safe from any thread. Throws dinoclip::Error.
GstDinoclipFeatures* features_of_picture(runtime::DinoInstance& instance, runtime::ClientId client,
                                         const std::string& path, const DinoFrameSettings& settings,
                                         const InferenceSettings& scale);

}  // namespace dinoclip::gst
