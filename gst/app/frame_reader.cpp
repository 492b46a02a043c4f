#include "app/frame_reader.h"

#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <gst/video/video.h>

#include <algorithm>
#include <filesystem>

#include "app/bus_error.h"
#include "app/sample_image.h"
#include "core/error.h"
#include "io/regular_file.h"

namespace dinoclip::gstapp {
namespace {

std::string to_uri(const std::string& path_or_uri) {
  if (gst_uri_is_valid(path_or_uri.c_str())) return path_or_uri;
  if (!std::filesystem::exists(path_or_uri)) throw Error(path_or_uri + ": no such file");
  require_regular_file(path_or_uri);  // filesrc would wait forever on a FIFO
  GError* error = nullptr;
  gchar* uri = gst_filename_to_uri(path_or_uri.c_str(), &error);
  if (!uri) {
    std::string msg = error ? error->message : "invalid path";
    g_clear_error(&error);
    throw Error(path_or_uri + ": " + msg);
  }
  std::string out = uri;
  g_free(uri);
  return out;
}

}  // namespace

struct VideoFrameReader::Impl {
  GstElement* pipeline = nullptr;
  GstElement* sink = nullptr;
  std::string source;

  ~Impl() {
    if (pipeline) {
      gst_element_set_state(pipeline, GST_STATE_NULL);
      gst_object_unref(sink);
      gst_object_unref(pipeline);
    }
  }

  // Throws the first error message on the bus, if any.
  void check_bus() {
    GstBus* bus = gst_element_get_bus(pipeline);
    GstMessage* message = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
    gst_object_unref(bus);
    if (!message) return;
    GError* error = nullptr;
    gst_message_parse_error(message, &error, nullptr);
    // uridecodebin restricted to video says "missing a plug-in" when a file
    // has no stream it can decode to video.
    const bool no_video = error && g_error_matches(error, GST_CORE_ERROR, GST_CORE_ERROR_MISSING_PLUGIN);
    g_clear_error(&error);
    const std::string text = bus_error_text(message);
    gst_message_unref(message);
    if (no_video) {
      throw Error(source + ": no video stream to decode (an audio-only file, or a video codec whose GStreamer "
                           "plugin is not installed): " + text);
    }
    throw Error(source + ": cannot decode: " + text);
  }
};

VideoFrameReader::VideoFrameReader(const std::string& path_or_uri) : impl_(std::make_unique<Impl>()) {
  gst_init(nullptr, nullptr);
  impl_->source = path_or_uri;
  // caps=video/x-raw: only video streams are decoded; a file without one
  // fails at once instead of leaving an audio pad unlinked (which could stall
  // the pipeline before the error reached the bus).
  const std::string description = "uridecodebin caps=video/x-raw uri=\"" + to_uri(path_or_uri) +
                                  "\" ! videoconvert ! video/x-raw,format=RGB ! appsink name=sink sync=false "
                                  "max-buffers=4 emit-signals=false";
  GError* error = nullptr;
  impl_->pipeline = gst_parse_launch(description.c_str(), &error);
  if (!impl_->pipeline || error) {
    std::string msg = error ? error->message : "cannot build the decoding pipeline";
    g_clear_error(&error);
    if (impl_->pipeline) gst_object_unref(impl_->pipeline);
    impl_->pipeline = nullptr;
    throw Error(path_or_uri + ": " + msg + " (are gstreamer1.0-plugins-base/good/libav installed?)");
  }
  impl_->sink = gst_bin_get_by_name(GST_BIN(impl_->pipeline), "sink");
  if (gst_element_set_state(impl_->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    impl_->check_bus();
    throw Error(path_or_uri + ": cannot start decoding");
  }
}

VideoFrameReader::~VideoFrameReader() = default;

bool VideoFrameReader::next(VideoFrame& frame) {
  GstAppSink* sink = GST_APP_SINK(impl_->sink);
  GstSample* sample = nullptr;
  while (!sample) {
    sample = gst_app_sink_try_pull_sample(sink, 100 * GST_MSECOND);
    if (sample) break;
    impl_->check_bus();
    if (gst_app_sink_is_eos(sink)) return false;
  }
  if (!copy_sample_rgb(sample, &frame.rgb)) {
    gst_sample_unref(sample);
    throw Error(impl_->source + ": decoder produced an unreadable frame");
  }
  GstBuffer* buffer = gst_sample_get_buffer(sample);
  frame.pts_ns = GST_BUFFER_PTS_IS_VALID(buffer) ? int64_t(GST_BUFFER_PTS(buffer)) : -1;
  const GstSegment* segment = gst_sample_get_segment(sample);
  frame.stream_time_ns = -1;
  if (frame.pts_ns >= 0 && segment && segment->format == GST_FORMAT_TIME) {
    const guint64 stream_time = gst_segment_to_stream_time(segment, GST_FORMAT_TIME, guint64(frame.pts_ns));
    if (GST_CLOCK_TIME_IS_VALID(stream_time)) frame.stream_time_ns = int64_t(stream_time);
  }
  gst_sample_unref(sample);
  return true;
}

void VideoFrameReader::seek(int64_t stream_time_ns) {
  // A pipeline takes seeks once it has prerolled.
  if (gst_element_get_state(impl_->pipeline, nullptr, nullptr, 30 * GST_SECOND) == GST_STATE_CHANGE_FAILURE) {
    impl_->check_bus();
    throw Error(impl_->source + ": cannot start decoding");
  }
  const auto flags = GstSeekFlags(GST_SEEK_FLAG_FLUSH | GST_SEEK_FLAG_ACCURATE);
  if (!gst_element_seek_simple(impl_->pipeline, GST_FORMAT_TIME, flags, gint64(std::max<int64_t>(stream_time_ns, 0)))) {
    impl_->check_bus();
    throw Error(impl_->source + ": cannot seek to " + std::to_string(stream_time_ns) + " ns");
  }
}

}  // namespace dinoclip::gstapp
