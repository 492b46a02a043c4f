// clipzeroshot's side of the inference driver: frames to CLIP image requests on
// the shared instance (lib/runtime), embeddings to scores (lib/tasks), scores
// to the classification meta, the per-frame message and query events. Text
// encodings run as jobs on the same instance worker. No maths here.
#pragma once

#include <gst/dinoclip/classification-meta.h>
#include <gst/video/video.h>

#include <memory>
#include <mutex>
#include <string>

#include "clipzeroshot/clipzeroshot_results.h"
#include "inference/inference_driver.h"
#include "inference/inference_properties.h"
#include "runtime/clip_instance.h"
#include "tasks/frame_zeroshot.h"
#include "tasks/query_trigger.h"
#include "tasks/zeroshot_texts_worker.h"

namespace dinoclip {
class BpeTokenizer;
}

namespace dinoclip::gst {

// Per-frame settings (may change while PLAYING).
struct ClipFrameSettings {
  ClipCrop crop = ClipCrop::kCenter;
  guint top_k = 5;
  double unknown_threshold = 0.0;
  double query_threshold = 0.25;
  double hysteresis = 0.02;
};

// A texts encoder running on `instance`'s worker (for ZeroShotTextsWorker).
ZeroShotTextsWorker::Encoder texts_encoder(std::shared_ptr<runtime::ClipInstance> instance,
                                           std::shared_ptr<const BpeTokenizer> tokenizer);

class ClipInference : public InferenceClient {
 public:
  // Frames are preprocessed with settings' scale-method, resolved for the instance's device.
  // `embedding_model`: the model's description (index_model_to_json) attached with each image embedding.
  ClipInference(GstBaseTransform* element, std::shared_ptr<runtime::ClipInstance> instance,
                std::shared_ptr<ZeroShotTextsWorker> texts, const InferenceSettings& settings,
                std::string embedding_model);
  ~ClipInference() override;

  void set_info(const GstVideoInfo& info) override { info_ = info; }
  int cuda_device() const override { return cuda_index_of(instance_->device()); }
  const GstVideoInfo& info() const { return info_; }
  void set_frame_settings(const ClipFrameSettings& settings) { frame_ = settings; }

  bool needs_fresh_result() override;  // the labels or query changed since the last inference
  InferenceTicket submit(GstBuffer* buffer, bool in_worker) override;
  void attach_latest(GstBuffer* buffer, bool fresh) override;
  void cancel_pending() override { instance_->cancel_pending(client_); }
  void hurry_pending() override { instance_->hurry(client_); }
  void forget_latest() override;

 private:
  void publish(const std::shared_ptr<const ZeroShotTexts>& texts, const FrameScores& scores,
               const ClipFrameSettings& settings, GstClockTime pts, const FrameTimes& times);

  GstBaseTransform* element_;
  std::shared_ptr<runtime::ClipInstance> instance_;
  std::shared_ptr<ZeroShotTextsWorker> texts_;
  const runtime::ClientId client_;
  const ScaleMethod scale_method_;
  const std::string embedding_model_;
  GstVideoInfo info_{};
  ClipFrameSettings frame_;
  std::shared_ptr<const ZeroShotTexts> submitted_texts_;  // the set of the last request
  std::shared_ptr<const ZeroShotTexts> latest_texts_;     // the set of the latest result
  GstDinoclipClassification* latest_ = nullptr;
  GstClockTime latest_pts_ = GST_CLOCK_TIME_NONE;
  QueryTrigger trigger_{0.25, 0.02};
};

}  // namespace dinoclip::gst
