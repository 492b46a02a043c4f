// The streaming half every inference element (dinofeatures, clipzeroshot)
// shares: between start() and stop() its client (frames to model requests,
// results to metas: DinoInference, ClipInference) and the InferenceDriver
// (cadence, batching, order), with the GstBaseTransform callbacks that only
// forward to them written once, each behind the exception fence. The element
// keeps its properties, its model's lifetime and its per-frame settings.
//
// Threads: start(), stop() and the frame/caps/sink-event callbacks run on the
// streaming thread or while it is stopped (as GstBaseTransform guarantees);
// QoS events and the counters may come from any thread and take the lock.
#pragma once

#include <gst/base/gstbasetransform.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <utility>

#include "inference/inference_properties.h"

namespace dinoclip::gst {

class InferenceClient;
class InferenceDriver;

class InferenceStage {
 public:
  // Streaming thread, once per frame: hands the client the element's
  // per-frame settings and returns its inference settings, both from one
  // snapshot of its properties.
  using ApplyFrameSettings = std::function<InferenceSettings()>;
  // Any thread: the element's inference settings now.
  using ReadInferenceSettings = std::function<InferenceSettings()>;

  InferenceStage();
  ~InferenceStage();
  InferenceStage(const InferenceStage&) = delete;
  InferenceStage& operator=(const InferenceStage&) = delete;

  // From the element's start(), once its model is loaded.
  void start(GstBaseTransform* element, std::unique_ptr<InferenceClient> client, ApplyFrameSettings apply_frame,
             ReadInferenceSettings read_inference);
  // The same for an element whose settings snapshot (`snapshot()`) has
  // frame() (what `client` takes in set_frame_settings) and inference.
  template <typename Client, typename Snapshot>
  void start(GstBaseTransform* element, std::unique_ptr<Client> client, Snapshot snapshot) {
    Client* frames = client.get();  // owned by this stage, which calls back only while running
    start(
        element, std::move(client),
        [snapshot, frames] {
          const auto settings = snapshot();
          frames->set_frame_settings(settings.frame());
          return settings.inference;
        },
        [snapshot] { return snapshot().inference; });
  }
  // From stop(): cancels this element's waiting requests; never waits for
  // other elements' work on a shared instance.
  void stop();

  // GstBaseTransform::set_caps: the client reads frames with these caps, and
  // a result computed on the old ones is forgotten.
  gboolean set_caps(GstCaps* caps);
  // GstBaseTransform::submit_input_buffer / generate_output.
  GstFlowReturn submit_input_buffer(GstBuffer* buffer);
  GstFlowReturn generate_output(GstBuffer** out);
  // Before the base class's sink_event: flushes, and held frames leave before
  // any other serialized event.
  void on_sink_event(GstEvent* event);
  // Before the base class's src_event (any thread): QoS for skip-late.
  void on_src_event(GstEvent* event);

  // Any thread; 0 when stopped.
  uint64_t inferences() const;
  uint64_t skipped() const;

 private:
  struct Running;
  GstFlowReturn fenced(const std::function<GstFlowReturn(Running&)>& step);

  mutable std::mutex mutex_;          // guards running_ against the threads that are not the stream's
  std::unique_ptr<Running> running_;  // between start() and stop()
};

}  // namespace dinoclip::gst
