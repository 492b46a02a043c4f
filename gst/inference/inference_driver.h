// What an inference element does with its frames, written once for every
// inference element (dinofeatures, clipzeroshot): which frames get a fresh
// inference (inference-interval, skip-late from QoS), which carry the last
// result, and when each frame leaves.
//
// Synchronous (default): a frame leaves when its own result is ready, in
// order; with batch-size N up to N inferred frames of the stream are in flight
// at once, so consecutive frames can share a batch. Asynchronous: each frame
// leaves at once with the most recent finished result; the model works on the
// newest waiting frame, which replaces older waiting ones.
//
// The element supplies two things (InferenceClient): submitting a frame (a
// future of the model's outputs and how to publish them as the latest result)
// and attaching the latest result to a frame. The driver runs on the streaming
// thread, except flush_start() and flush_stop(), which may come from any
// thread while the element holds its running lock (gstdinoclipinference.cpp):
// one of them at a time, never overlapping the driver's destruction.
#pragma once

#include <gst/base/gstbasetransform.h>
#include <gst/video/video.h>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <atomic>
#include <deque>
#include <functional>
#include <future>
#include <mutex>

#include "core/image.h"
#include "inference/inference_properties.h"
#include "runtime/inference_cadence.h"
#include "runtime/model_worker.h"
#include "vision/frame_planes.h"

namespace dinoclip::gst {

// A fresh inference on its way.
struct InferenceTicket {
  std::future<runtime::BatchOutputs> outputs;
  // Makes the outputs the element's latest result (streaming thread); may throw.
  std::function<void(runtime::BatchOutputs)> publish;
};

class InferenceClient {
 public:
  virtual ~InferenceClient() = default;
  // The caps frames are mapped with from now on.
  virtual void set_info(const GstVideoInfo& info) = 0;
  // Starts an inference on `buffer` (mapped with the current caps). `in_worker`:
  // do as little as possible here (async mode: copy, preprocess on the worker).
  // Throws dinoclip::Error with a message for the user.
  virtual InferenceTicket submit(GstBuffer* buffer, bool in_worker) = 0;
  // Attaches the latest result (if any) to the writable `buffer`. `fresh`: it
  // was computed on this very frame.
  virtual void attach_latest(GstBuffer* buffer, bool fresh) = 0;
  // Drops this element's requests that have not started.
  virtual void cancel_pending() = 0;
  // This element's waiting requests run without waiting for their batch to fill.
  virtual void hurry_pending() = 0;
  // A result-less start (flush, new caps, a restart).
  virtual void forget_latest() = 0;
  // This frame must be inferred whatever the cadence (e.g. the labels changed).
  virtual bool needs_fresh_result() { return false; }
  // The index of the GPU the model runs on, -1 on the CPU: the element shares
  // that GPU's CUDA context and proposes CUDA buffers on it (gpu.md).
  virtual int cuda_device() const { return -1; }
};

// `device`'s CUDA index (0 for a bare "cuda"), or -1 for a CPU device.
int cuda_index_of(const c10::Device& device);

// QoS: the running time before which downstream reports frames late.
class LateFrames {
 public:
  void on_qos(GstEvent* event);
  void reset();
  bool is_late(const GstSegment& segment, GstBuffer* buffer) const;

 private:
  mutable std::mutex mutex_;
  GstClockTime earliest_ = GST_CLOCK_TIME_NONE;
};

class InferenceDriver {
 public:
  InferenceDriver(GstBaseTransform* element, InferenceClient* client) : element_(element), client_(client) {}
  ~InferenceDriver() { clear(); }

  // From submit_input_buffer: takes `buffer`, on every path (an exception
  // included: it is unreffed before the exception leaves). During a flush it
  // is dropped (FLUSHING) without a request.
  GstFlowReturn on_frame(GstBuffer* buffer, const InferenceSettings& settings);
  // From generate_output: the next frame ready to leave, or none yet.
  GstFlowReturn next_output(GstBuffer** out, const InferenceSettings& settings);
  // Before a serialized event (caps, segment, EOS, ...): every held frame leaves first.
  GstFlowReturn drain(const InferenceSettings& settings);

  // A serialized sink event other than FLUSH_STOP, before the base class
  // sees it: held frames leave first (caps, segment, EOS, ...).
  void drain_before_event(const InferenceSettings& settings);

  void flush_start();  // wakes a waiting streaming thread, cancels queued work
  // Drops held frames and results, and cancels what a frame already on its way
  // when the flush started submitted after flush_start() (it must not run).
  void flush_stop();
  // New caps: the next frame is inferred whatever the cadence, and async
  // results still running on frames of the old caps are dropped unpublished.
  void restart();
  void clear();

  LateFrames& late_frames() { return late_; }
  uint64_t inferences() const { return inferences_; }
  uint64_t skipped() const { return skipped_; }
  void reset_counters() { inferences_ = 0, skipped_ = 0; }


 private:
  struct Held {
    GstBuffer* buffer = nullptr;
    bool inferred = false;
    InferenceTicket ticket;
  };
  bool want_inference(GstBuffer* buffer, const InferenceSettings& settings);
  GstFlowReturn collect(InferenceTicket& ticket, bool wait);
  GstFlowReturn sync_frame(GstBuffer* buffer, const InferenceSettings& settings);
  GstFlowReturn async_frame(GstBuffer* buffer, const InferenceSettings& settings);
  GstBuffer* finish(GstBuffer* buffer, bool fresh);
  size_t in_flight() const;

  GstBaseTransform* element_;
  InferenceClient* client_;
  runtime::InferenceCadence cadence_;
  LateFrames late_;
  std::deque<Held> held_;                  // sync: frames waiting to leave, in order
  std::deque<InferenceTicket> running_;    // async: inferences not yet collected
  bool primed_ = false;                    // a result exists or is on its way
  std::atomic<bool> flushing_{false};
  std::atomic<uint64_t> inferences_{0};
  std::atomic<uint64_t> skipped_{0};
};

// A model input made from a frame's pixels (the mapped frame as the core sees it).
using MakeInput = std::function<at::Tensor(const ImageView& frame)>;

// The frame's planes for a model on `device`, with no host copy where its
// memory allows: CUDA memory (CUDA builds) mapped in place on its GPU for a
// GPU model, system memory mapped in place (a CUDA frame for a CPU model is
// downloaded, and counted). keep_alive holds the mapping. Throws
// dinoclip::Error when the frame cannot be mapped.
FramePlanes map_frame_for_model(GstBuffer* buffer, const GstVideoInfo& info, const c10::Device& device);

// A frame on its way to a model on `device` (submit_frame / encode_frame):
// map_frame_for_model, then a host frame for a GPU model staged in pinned
// memory (runtime/frame_upload.h), so the streaming thread only pays a copy.
FramePlanes frame_for_device(GstBuffer* buffer, const GstVideoInfo& info, const c10::Device& device);

// Now, on this thread. Throws dinoclip::Error when the frame cannot be mapped.
at::Tensor input_from_frame(GstBuffer* buffer, const GstVideoInfo& info, const MakeInput& make);

// Later, wherever it is called (the model's worker): keeps a reference to the
// buffer until then, so the streaming thread only pays for a ref.
std::function<at::Tensor()> deferred_input(GstBuffer* buffer, const GstVideoInfo& info, MakeInput make);

// The LATENCY query answered by upstream, plus what an inference element adds:
// a synchronous stream holds up to batch-size frames in flight and waits for a
// batch to fill, (batch-size - 1) frame durations + batch-timeout; 0 in async
// mode (results ride on later frames instead). Safe from any thread (the frame
// rate comes from the sink pad's current caps).
gboolean add_inference_latency(GstBaseTransform* trans, GstQuery* query, const InferenceSettings& settings);

// The LATENCY query answered upstream of `sinkpad`, plus `frames` frame
// durations at its current caps' frame rate (dinoseg's holding).
gboolean add_held_frames_latency(GstPad* sinkpad, GstQuery* query, guint frames);

}  // namespace dinoclip::gst
