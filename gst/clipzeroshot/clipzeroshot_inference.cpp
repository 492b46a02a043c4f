#include "clipzeroshot/clipzeroshot_inference.h"

#include <ATen/ATen.h>

#include "common/frame_planes_map.h"
#include "common/roi_params.h"
#include "core/error.h"
#include "core/user_message.h"
#include "tasks/zeroshot_texts.h"
#include "vision/preprocess.h"

namespace dinoclip::gst {

ZeroShotTextsWorker::Encoder texts_encoder(std::shared_ptr<runtime::ClipInstance> instance,
                                           std::shared_ptr<const BpeTokenizer> tokenizer) {
  const runtime::ClientId client = instance->new_client();
  return [instance, tokenizer, client](const ZeroShotTextSpec& spec) {
    return instance
        ->call(client,
               [&spec, &tokenizer](const ClipModel& model) { return encode_zero_shot_texts(model, *tokenizer, spec); })
        .get();  // waits here (the texts worker's thread), so the references stay valid
  };
}

ClipInference::ClipInference(GstBaseTransform* element, std::shared_ptr<runtime::ClipInstance> instance,
                             std::shared_ptr<ZeroShotTextsWorker> texts, const InferenceSettings& settings,
                             std::string embedding_model)
    : element_(element),
      instance_(std::move(instance)),
      texts_(std::move(texts)),
      client_(instance_->new_client()),
      scale_method_(settings.scale_method_on(instance_->device())),
      embedding_model_(std::move(embedding_model)) {}

ClipInference::~ClipInference() {
  instance_->cancel_pending(client_);
  forget_latest();
}

bool ClipInference::needs_fresh_result() { return texts_->current() != submitted_texts_; }

InferenceTicket ClipInference::submit(GstBuffer* buffer, bool in_worker) {
  // One snapshot per request: the whole old set or the whole new one.
  const std::shared_ptr<const ZeroShotTexts> texts = texts_->current();
  const ClipFrameSettings settings = frame_;
  const int resolution = instance_->config().image_resolution;
  InferenceTicket ticket;
  try {
    if (scale_method_ == ScaleMethod::kFast) {
      // Mapped (CPU model, CUDA memory) or staged in pinned memory (GPU model)
      // here; the worker prepares the whole batch in one pass on the model's device.
      ticket.outputs =
          instance_->encode_frame(client_, frame_for_device(buffer, info_, instance_->device()), settings.crop);
    } else {
      const MakeInput make = [resolution, crop = settings.crop, device = instance_->device()](const ImageView& view) {
        return clip_frame_input(view, resolution, crop, ScaleMethod::kExact, device);
      };
      ticket.outputs = in_worker ? instance_->encode_image(client_, at::Tensor(), deferred_input(buffer, info_, make))
                                 : instance_->encode_image(client_, input_from_frame(buffer, info_, make));
    }
  } catch (const std::exception& e) {
    throw Error(std::string("CLIP zero-shot classification failed: ") + user_message(e));
  }
  submitted_texts_ = texts;
  const GstClockTime pts = GST_BUFFER_PTS(buffer);
  const FrameTimes times = frame_times(element_->segment, buffer);
  ticket.publish = [this, texts, settings, pts, times](runtime::BatchOutputs outputs) {
    FrameScores scores;
    try {
      // Read on this (streaming) thread's stream: after the worker's writes.
      const at::Tensor& embedding = runtime::ready_on_current_stream(outputs.ready, outputs.at(0));
      scores = score_image_embedding(*texts, embedding, settings.top_k, settings.unknown_threshold);
    } catch (const std::exception& e) {
      throw Error(std::string("CLIP zero-shot classification failed: ") + user_message(e));
    }
    publish(texts, scores, settings, pts, times);
  };
  return ticket;
}

void ClipInference::publish(const std::shared_ptr<const ZeroShotTexts>& texts, const FrameScores& scores,
                            const ClipFrameSettings& settings, GstClockTime pts, const FrameTimes& times) {
  if (latest_texts_ && latest_texts_->query != texts->query) trigger_.reset();  // no event open yet
  if (latest_) gst_dinoclip_classification_unref(latest_);
  latest_ = nullptr;
  latest_pts_ = pts;
  latest_texts_ = texts;
  GstElement* element = GST_ELEMENT(element_);
  if (scores.result) {
    latest_ = make_classification(*texts, scores, settings.top_k, settings.unknown_threshold, embedding_model_);
    gst_element_post_message(
        element, gst_message_new_element(GST_OBJECT(element), classification_structure(*texts, scores, times)));
  }
  if (scores.query_similarity) {
    trigger_.set_thresholds(settings.query_threshold, settings.hysteresis);
    if (auto event = trigger_.update(*scores.query_similarity, gint64(times.timestamp))) {
      gst_element_post_message(
          element,
          gst_message_new_element(GST_OBJECT(element),
                                  query_event_structure(texts->query, *event, settings.query_threshold, times)));
    }
  }
}

void ClipInference::attach_latest(GstBuffer* buffer, bool fresh) {
  if (!latest_) return;  // async mode before the first result
  gst_buffer_add_dinoclip_classification_meta_full(buffer, latest_, !fresh, latest_pts_);
  add_classification_roi(buffer, latest_, GST_VIDEO_INFO_WIDTH(&info_), GST_VIDEO_INFO_HEIGHT(&info_));
}

void ClipInference::forget_latest() {
  if (latest_) gst_dinoclip_classification_unref(latest_);
  latest_ = nullptr;
  latest_pts_ = GST_CLOCK_TIME_NONE;
  latest_texts_.reset();
  submitted_texts_.reset();
  trigger_.reset();
}

}  // namespace dinoclip::gst
