#include "app/mp4_writer.h"

#include <gst/app/gstappsrc.h>
#include <gst/gst.h>

#include <cstdio>
#include <cstring>
#include <filesystem>

#include "app/bus_error.h"
#include "core/error.h"

namespace dinoclip::gstapp {

struct Mp4Writer::Impl {
  GstElement* pipeline = nullptr;
  GstElement* source = nullptr;
  std::string path, part;
  int width = 0, height = 0, fps = 0;
  int frames = 0;
  bool finished = false;

  ~Impl() {
    if (!pipeline) return;
    gst_element_set_state(pipeline, GST_STATE_NULL);
    gst_object_unref(source);
    gst_object_unref(pipeline);
    if (!finished) std::remove(part.c_str());
  }

  // Throws the first error on the bus; waits up to `timeout` for EOS when asked.
  void check_bus(GstClockTime timeout, bool wait_eos) {
    GstBus* bus = gst_element_get_bus(pipeline);
    const auto types = GstMessageType(GST_MESSAGE_ERROR | (wait_eos ? GST_MESSAGE_EOS : 0));
    GstMessage* msg = wait_eos ? gst_bus_timed_pop_filtered(bus, timeout, types) : gst_bus_pop_filtered(bus, types);
    gst_object_unref(bus);
    if (wait_eos && !msg) throw Error(path + ": the encoder did not finish the file in time");
    if (!msg) return;
    if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
      const std::string text = path + ": cannot encode: " + bus_error_text(msg);
      gst_message_unref(msg);
      throw Error(text);
    }
    gst_message_unref(msg);
  }
};

Mp4Writer::Mp4Writer(const std::string& path, int width, int height, int fps) : impl_(std::make_unique<Impl>()) {
  if (width <= 0 || height <= 0 || width % 2 || height % 2) {
    throw Error(path + ": the video size must be even for H.264, got " + std::to_string(width) + "x" +
                std::to_string(height));
  }
  gst_init(nullptr, nullptr);
  impl_->path = path;
  impl_->part = path + ".part";
  impl_->width = width;
  impl_->height = height;
  impl_->fps = fps;
  GstElement* pipeline = gst_pipeline_new("mp4-writer");
  GstElement* source = gst_element_factory_make("appsrc", nullptr);
  GstElement* convert = gst_element_factory_make("videoconvert", nullptr);
  GstElement* yuv420 = gst_element_factory_make("capsfilter", nullptr);
  GstElement* encoder = gst_element_factory_make("x264enc", nullptr);
  GstElement* muxer = gst_element_factory_make("mp4mux", nullptr);
  GstElement* sink = gst_element_factory_make("filesink", nullptr);
  if (!source || !convert || !yuv420 || !encoder || !muxer || !sink) {
    for (GstElement* e : {pipeline, source, convert, yuv420, encoder, muxer, sink}) {
      if (e) gst_object_unref(e);
    }
    throw Error(path +
                ": cannot make appsrc ! videoconvert ! x264enc ! mp4mux ! filesink (install "
                "gstreamer1.0-plugins-base, -good and -ugly)");
  }
  GstCaps* caps = gst_caps_new_simple("video/x-raw", "format", G_TYPE_STRING, "RGB", "width", G_TYPE_INT, width,
                                      "height", G_TYPE_INT, height, "framerate", GST_TYPE_FRACTION, fps, 1, nullptr);
  // block: back-pressure instead of queueing every frame in memory.
  g_object_set(source, "caps", caps, "format", GST_FORMAT_TIME, "block", TRUE, "max-bytes", guint64(64) << 20, nullptr);
  gst_caps_unref(caps);
  // 4:2:0, not the 4:4:4 x264enc would pick for RGB input: most players only decode 4:2:0.
  gst_util_set_object_arg(G_OBJECT(yuv420), "caps", "video/x-raw,format=I420");
  gst_util_set_object_arg(G_OBJECT(encoder), "speed-preset", "veryfast");
  g_object_set(sink, "location", impl_->part.c_str(), nullptr);
  gst_bin_add_many(GST_BIN(pipeline), source, convert, yuv420, encoder, muxer, sink, nullptr);
  impl_->pipeline = pipeline;
  impl_->source = GST_ELEMENT(gst_object_ref(source));
  if (!gst_element_link_many(source, convert, yuv420, encoder, muxer, sink, nullptr)) {
    throw Error(path + ": cannot link the encoding pipeline");
  }
  if (gst_element_set_state(pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    impl_->check_bus(0, false);
    throw Error(impl_->part + ": cannot open for writing");
  }
}

Mp4Writer::~Mp4Writer() = default;

void Mp4Writer::write(const Image& rgb) {
  if (rgb.width != impl_->width || rgb.height != impl_->height || rgb.channels != 3) {
    throw Error(impl_->path + ": frame " + std::to_string(impl_->frames) + " is " + std::to_string(rgb.width) + "x" +
                std::to_string(rgb.height) + ", the video is " + std::to_string(impl_->width) + "x" +
                std::to_string(impl_->height));
  }
  GstBuffer* buffer = gst_buffer_new_allocate(nullptr, rgb.pixels.size(), nullptr);
  gst_buffer_fill(buffer, 0, rgb.pixels.data(), rgb.pixels.size());
  GST_BUFFER_PTS(buffer) = gst_util_uint64_scale(impl_->frames, GST_SECOND, impl_->fps);
  GST_BUFFER_DURATION(buffer) = gst_util_uint64_scale(1, GST_SECOND, impl_->fps);
  const GstFlowReturn ret = gst_app_src_push_buffer(GST_APP_SRC(impl_->source), buffer);  // takes the buffer
  impl_->check_bus(0, false);
  if (ret != GST_FLOW_OK) throw Error(impl_->path + ": the encoder refused frame " + std::to_string(impl_->frames));
  ++impl_->frames;
}

int Mp4Writer::finish() {
  gst_app_src_end_of_stream(GST_APP_SRC(impl_->source));
  impl_->check_bus(120 * GST_SECOND, true);
  gst_element_set_state(impl_->pipeline, GST_STATE_NULL);
  std::error_code ec;
  std::filesystem::rename(impl_->part, impl_->path, ec);
  if (ec) throw Error(impl_->path + ": cannot move the finished video into place (" + ec.message() + ")");
  impl_->finished = true;
  return impl_->frames;
}

}  // namespace dinoclip::gstapp
