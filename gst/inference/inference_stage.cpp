#include "inference/inference_stage.h"

#include <gst/video/video.h>

#include <exception>
#include <utility>

#include "core/user_message.h"
#include "inference/inference_driver.h"

namespace dinoclip::gst {

struct InferenceStage::Running {
  GstBaseTransform* element = nullptr;
  std::unique_ptr<InferenceClient> client;
  std::unique_ptr<InferenceDriver> driver;  // after `client`: goes first
  ApplyFrameSettings apply_frame;
  ReadInferenceSettings read_inference;
};

InferenceStage::InferenceStage() = default;
InferenceStage::~InferenceStage() = default;

void InferenceStage::start(GstBaseTransform* element, std::unique_ptr<InferenceClient> client,
                           ApplyFrameSettings apply_frame, ReadInferenceSettings read_inference) {
  auto running = std::make_unique<Running>();
  running->element = element;
  running->client = std::move(client);
  running->driver = std::make_unique<InferenceDriver>(element, running->client.get());
  running->apply_frame = std::move(apply_frame);
  running->read_inference = std::move(read_inference);
  std::lock_guard<std::mutex> lock(mutex_);
  running_ = std::move(running);
}

void InferenceStage::stop() {
  std::unique_ptr<Running> running;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    running = std::move(running_);
  }
  running.reset();  // outside the lock: a QoS event never waits for the cancellations
}

gboolean InferenceStage::set_caps(GstCaps* caps) {
  GstVideoInfo info;
  if (!running_ || !gst_video_info_from_caps(&info, caps)) {
    if (running_) GST_ERROR_OBJECT(running_->element, "cannot use caps %" GST_PTR_FORMAT, caps);
    return FALSE;
  }
  running_->client->set_info(info);
  running_->client->forget_latest();  // a new size or format: the old result no longer matches
  return TRUE;
}

// No exception crosses into GStreamer (allocation failures and the like):
// each becomes a stream error naming the element.
GstFlowReturn InferenceStage::fenced(const std::function<GstFlowReturn(Running&)>& step) {
  if (!running_) return GST_FLOW_FLUSHING;
  GstElement* element = GST_ELEMENT(running_->element);
  try {
    return step(*running_);
  } catch (const std::exception& e) {
    GstElementFactory* factory = gst_element_get_factory(element);
    const char* name = factory ? GST_OBJECT_NAME(factory) : G_OBJECT_TYPE_NAME(element);
    GST_ELEMENT_ERROR(element, STREAM, FAILED, ("%s: %s", name, user_message(e).c_str()), (nullptr));
    return GST_FLOW_ERROR;
  }
}

GstFlowReturn InferenceStage::submit_input_buffer(GstBuffer* buffer) {
  return fenced([buffer](Running& running) {
    const InferenceSettings settings = running.apply_frame();
    return running.driver->on_frame(buffer, settings);
  });
}

GstFlowReturn InferenceStage::generate_output(GstBuffer** out) {
  return fenced([out](Running& running) { return running.driver->next_output(out, running.read_inference()); });
}

void InferenceStage::on_sink_event(GstEvent* event) {
  if (running_) running_->driver->on_sink_event(event, running_->read_inference());
}

void InferenceStage::on_src_event(GstEvent* event) {
  if (GST_EVENT_TYPE(event) != GST_EVENT_QOS) return;
  std::lock_guard<std::mutex> lock(mutex_);  // from downstream's thread, maybe while stopping
  if (running_) running_->driver->late_frames().on_qos(event);
}

uint64_t InferenceStage::inferences() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return running_ ? running_->driver->inferences() : 0;
}

uint64_t InferenceStage::skipped() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return running_ ? running_->driver->skipped() : 0;
}

}  // namespace dinoclip::gst
