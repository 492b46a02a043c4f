#include "inference/inference_driver.h"

#include <chrono>
#include <exception>
#include <memory>
#include <string>

#include "core/error.h"
#include "core/user_message.h"
#include "common/frame_convert.h"
#include "common/frame_planes_map.h"
#include "runtime/frame_upload.h"
#if defined(DINOCLIP_WITH_GST_CUDA)
#include "common/cuda_frame.h"
#endif

GST_DEBUG_CATEGORY_STATIC(inference_driver_debug);
#define GST_CAT_DEFAULT inference_driver_debug

namespace dinoclip::gst {
namespace {

// How often a waiting streaming thread looks for a flush.
constexpr auto kFlushPoll = std::chrono::milliseconds(10);

void init_debug() {
  static gsize done = 0;
  if (g_once_init_enter(&done)) {
    GST_DEBUG_CATEGORY_INIT(inference_driver_debug, "dinoclip-inference", 0,
                            "dinoclip inference elements: cadence, batching, async results");
    g_once_init_leave(&done, 1);
  }
}

bool is_ready(const InferenceTicket& ticket) {
  return ticket.outputs.valid() && ticket.outputs.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
}

}  // namespace

gboolean add_latency_to(GstPad* sinkpad, GstQuery* query, GstClockTime added);

// From the pad's current caps; 0 when it has none or a variable frame rate.
GstClockTime frame_duration(GstPad* sinkpad) {
  GstClockTime frame = 0;
  if (GstCaps* caps = gst_pad_get_current_caps(sinkpad)) {
    GstVideoInfo info;
    if (gst_video_info_from_caps(&info, caps) && info.fps_n > 0) {
      frame = gst_util_uint64_scale_int(GST_SECOND, info.fps_d, info.fps_n);
    }
    gst_caps_unref(caps);
  }
  return frame;
}

/* ---- QoS ---- */

void LateFrames::on_qos(GstEvent* event) {
  gdouble proportion;
  GstClockTimeDiff diff;
  GstClockTime timestamp;
  gst_event_parse_qos(event, nullptr, &proportion, &diff, &timestamp);
  std::lock_guard<std::mutex> lock(mutex_);
  // As GstBaseTransform does: a frame at or before this running time is late.
  earliest_ = GST_CLOCK_TIME_IS_VALID(timestamp) ? timestamp + diff : GST_CLOCK_TIME_NONE;
}

void LateFrames::reset() {
  std::lock_guard<std::mutex> lock(mutex_);
  earliest_ = GST_CLOCK_TIME_NONE;
}

bool LateFrames::is_late(const GstSegment& segment, GstBuffer* buffer) const {
  if (segment.format != GST_FORMAT_TIME) return false;  // no time segment (yet, or after a flush): not late
  const GstClockTime running_time = gst_segment_to_running_time(&segment, GST_FORMAT_TIME, GST_BUFFER_PTS(buffer));
  std::lock_guard<std::mutex> lock(mutex_);
  return GST_CLOCK_TIME_IS_VALID(running_time) && GST_CLOCK_TIME_IS_VALID(earliest_) && running_time <= earliest_;
}

/* ---- frames in, frames out ---- */

bool InferenceDriver::want_inference(GstBuffer* buffer, const InferenceSettings& settings) {
  init_debug();
  if (client_->needs_fresh_result()) {
    cadence_.reset();
    primed_ = false;  // nothing may be carried: infer now, and start the interval again
  }
  const bool late = settings.skip_late && late_.is_late(element_->segment, buffer);
  switch (cadence_.decide(settings.cadence(), primed_, late)) {
    case runtime::InferenceCadence::Decision::kInfer:
      return true;
    case runtime::InferenceCadence::Decision::kSkipLate:
      ++skipped_;
      GST_DEBUG_OBJECT(element_, "frame %" GST_TIME_FORMAT " is late (QoS): inference skipped, %" G_GUINT64_FORMAT
                       " so far", GST_TIME_ARGS(GST_BUFFER_PTS(buffer)), skipped_.load());
      return false;
    case runtime::InferenceCadence::Decision::kCarry:
      return false;
  }
  return false;
}

GstFlowReturn InferenceDriver::on_frame(GstBuffer* buffer, const InferenceSettings& settings) {
  if (flushing_) {  // a frame already on its way when FLUSH_START came: no new request
    gst_buffer_unref(buffer);
    return GST_FLOW_FLUSHING;
  }
  // Both paths either keep `buffer`, unref it and return, or throw before
  // keeping it (an allocation failure): then it is unreffed here.
  try {
    return settings.async ? async_frame(buffer, settings) : sync_frame(buffer, settings);
  } catch (...) {
    gst_buffer_unref(buffer);
    throw;
  }
}

GstFlowReturn InferenceDriver::sync_frame(GstBuffer* buffer, const InferenceSettings& settings) {
  Held held;
  held.buffer = buffer;
  if (want_inference(buffer, settings)) {
    GST_LOG_OBJECT(element_, "frame %" GST_TIME_FORMAT ": fresh inference", GST_TIME_ARGS(GST_BUFFER_PTS(buffer)));
    try {
      held.ticket = client_->submit(buffer, /*in_worker=*/false);
      held.inferred = true;
      primed_ = true;
    } catch (const std::exception& e) {
      gst_buffer_unref(buffer);
      GST_ELEMENT_ERROR(element_, STREAM, FAILED, ("%s", user_message(e).c_str()), (nullptr));
      return GST_FLOW_ERROR;
    }
  }
  held_.push_back(std::move(held));
  return GST_FLOW_OK;
}

GstFlowReturn InferenceDriver::async_frame(GstBuffer* buffer, const InferenceSettings& settings) {
  // Finished results, oldest first (a client's requests finish in order).
  while (!running_.empty() && is_ready(running_.front())) {
    const GstFlowReturn ret = collect(running_.front(), /*wait=*/false);
    running_.pop_front();
    if (ret == GST_FLOW_ERROR) {
      gst_buffer_unref(buffer);
      return ret;
    }
  }
  if (want_inference(buffer, settings)) {
    GST_LOG_OBJECT(element_, "frame %" GST_TIME_FORMAT ": fresh inference", GST_TIME_ARGS(GST_BUFFER_PTS(buffer)));
    client_->cancel_pending();  // the newest waiting frame replaces older waiting ones
    try {
      running_.push_back(client_->submit(buffer, /*in_worker=*/true));
      primed_ = true;
    } catch (const std::exception& e) {
      gst_buffer_unref(buffer);
      GST_ELEMENT_ERROR(element_, STREAM, FAILED, ("%s", user_message(e).c_str()), (nullptr));
      return GST_FLOW_ERROR;
    }
  }
  Held held;
  held.buffer = buffer;  // leaves at once, with whatever result is latest
  held_.push_back(std::move(held));
  return GST_FLOW_OK;
}

// Publishes a finished ticket; FLUSHING when it was cancelled (or a flush
// interrupted the wait), ERROR (posted) when the model failed.
GstFlowReturn InferenceDriver::collect(InferenceTicket& ticket, bool wait) {
  if (wait) {
    while (ticket.outputs.wait_for(kFlushPoll) != std::future_status::ready) {
      if (flushing_) return GST_FLOW_FLUSHING;
    }
  }
  try {
    ticket.publish(ticket.outputs.get());
    ++inferences_;
    return GST_FLOW_OK;
  } catch (const runtime::RequestCancelled&) {
    return GST_FLOW_FLUSHING;
  } catch (const std::exception& e) {
    GST_ELEMENT_ERROR(element_, STREAM, FAILED, ("%s", user_message(e).c_str()), (nullptr));
    return GST_FLOW_ERROR;
  }
}

size_t InferenceDriver::in_flight() const {
  size_t count = 0;
  for (const Held& held : held_) count += held.inferred ? 1 : 0;
  return count;
}

GstBuffer* InferenceDriver::finish(GstBuffer* buffer, bool fresh) {
  buffer = gst_buffer_make_writable(buffer);
  client_->attach_latest(buffer, fresh);
  return buffer;
}

GstFlowReturn InferenceDriver::next_output(GstBuffer** out, const InferenceSettings& settings) {
  *out = nullptr;
  if (held_.empty()) return GST_FLOW_OK;
  Held& front = held_.front();
  if (front.inferred) {
    const bool must_wait = in_flight() >= settings.batch_size;
    if (!must_wait && !is_ready(front.ticket)) return GST_FLOW_OK;  // more frames may join its batch
    const GstFlowReturn ret = collect(front.ticket, /*wait=*/true);
    if (ret != GST_FLOW_OK) return ret;
  }
  Held leaving = std::move(front);
  held_.pop_front();
  *out = finish(leaving.buffer, leaving.inferred);
  return GST_FLOW_OK;
}

GstFlowReturn InferenceDriver::drain(const InferenceSettings& settings) {
  if (held_.empty()) return GST_FLOW_OK;
  client_->hurry_pending();  // never wait for other streams to fill a batch
  InferenceSettings all_at_once = settings;
  all_at_once.batch_size = 1;  // wait for every result
  while (!held_.empty()) {
    GstBuffer* out = nullptr;
    const GstFlowReturn ret = next_output(&out, all_at_once);
    if (ret != GST_FLOW_OK) return ret;
    if (out) {
      const GstFlowReturn pushed = gst_pad_push(element_->srcpad, out);
      if (pushed != GST_FLOW_OK) return pushed;
    }
  }
  return GST_FLOW_OK;
}

void InferenceDriver::drain_before_event(const InferenceSettings& settings) {
  const GstFlowReturn ret = drain(settings);
  if (ret != GST_FLOW_OK) GST_DEBUG_OBJECT(element_, "held frames not all pushed: %s", gst_flow_get_name(ret));
}

void InferenceDriver::flush_start() {
  flushing_ = true;
  client_->cancel_pending();
}

void InferenceDriver::flush_stop() {
  client_->cancel_pending();  // submitted after flush_start() by a frame that was already on its way
  clear();
  cadence_.reset();
  late_.reset();
  primed_ = false;
  client_->forget_latest();
  flushing_ = false;
}

void InferenceDriver::restart() {
  if (!running_.empty()) {
    client_->cancel_pending();
    running_.clear();  // their futures go unread: never published
  }
  cadence_.reset();
  primed_ = false;
  client_->forget_latest();
}

void InferenceDriver::clear() {
  for (Held& held : held_) gst_buffer_unref(held.buffer);
  held_.clear();
  running_.clear();
}

int cuda_index_of(const c10::Device& device) {
  if (!device.is_cuda()) return -1;
  return device.has_index() ? device.index() : 0;
}

FramePlanes map_frame_for_model(GstBuffer* buffer, const GstVideoInfo& info, const c10::Device& device) {
#if defined(DINOCLIP_WITH_GST_CUDA)
  if (device.is_cuda() && is_cuda_buffer(buffer)) return map_cuda_frame_planes(buffer, info, GST_MAP_READ);
  note_host_map(buffer);  // a frame in CUDA memory for a CPU model is downloaded here: counted
#endif
  return map_frame_planes(buffer, info, GST_MAP_READ);
}

FramePlanes frame_for_device(GstBuffer* buffer, const GstVideoInfo& info, const c10::Device& device) {
  return runtime::staged_for_device(map_frame_for_model(buffer, info, device), device);
}

at::Tensor input_from_frame(GstBuffer* buffer, const GstVideoInfo& info, const MakeInput& make) {
#if defined(DINOCLIP_WITH_GST_CUDA)
  note_host_map(buffer);  // a frame in CUDA memory is downloaded here: counted
#endif
  GstVideoFrame frame;
  if (!gst_video_frame_map(&frame, &info, buffer, GST_MAP_READ)) {
    throw Error("could not map a " + std::to_string(GST_VIDEO_INFO_WIDTH(&info)) + "x" +
                std::to_string(GST_VIDEO_INFO_HEIGHT(&info)) + " video frame for reading");
  }
  try {
    at::Tensor input = make(frame_image(frame).view);
    gst_video_frame_unmap(&frame);
    return input;
  } catch (...) {
    gst_video_frame_unmap(&frame);
    throw;
  }
}

std::function<at::Tensor()> deferred_input(GstBuffer* buffer, const GstVideoInfo& info, MakeInput make) {
  std::shared_ptr<GstBuffer> held(gst_buffer_ref(buffer), gst_buffer_unref);
  return [held, info, make = std::move(make)] { return input_from_frame(held.get(), info, make); };
}

gboolean add_inference_latency(GstBaseTransform* trans, GstQuery* query, const InferenceSettings& settings) {
  const GstClockTime added =
      settings.async ? 0
                     : (settings.batch_size - 1) * frame_duration(trans->sinkpad) + settings.batch_timeout_ms * GST_MSECOND;
  return add_latency_to(trans->sinkpad, query, added);
}

gboolean add_held_frames_latency(GstPad* sinkpad, GstQuery* query, guint frames) {
  return add_latency_to(sinkpad, query, frames * frame_duration(sinkpad));
}

gboolean add_latency_to(GstPad* sinkpad, GstQuery* query, GstClockTime added) {
  if (!gst_pad_peer_query(sinkpad, query)) return FALSE;
  gboolean live;
  GstClockTime min, max;
  gst_query_parse_latency(query, &live, &min, &max);
  gst_query_set_latency(query, live, min + added, GST_CLOCK_TIME_IS_VALID(max) ? max + added : max);
  return TRUE;
}

}  // namespace dinoclip::gst
