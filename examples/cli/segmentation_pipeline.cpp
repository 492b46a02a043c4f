#include "segmentation_pipeline.h"

#include <gst/app/gstappsink.h>
#include <gst/dinoclip/segmentation-meta.h>
#include <gst/gst.h>
#include <gst/video/video.h>

#include <cstring>
#include <filesystem>

#include "core/error.h"

#ifndef DINOCLIP_GST_PLUGIN_DIR
#define DINOCLIP_GST_PLUGIN_DIR ""
#endif

namespace dinoclip::cli {
namespace {

bool shell_safe(const std::string& text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || std::strchr("!_./:%,=+-@", c))) return false;
  }
  return true;
}

std::string shell_quote(const std::string& text) {
  if (shell_safe(text)) return text;
  std::string quoted = "'";
  for (char c : text) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

bool have_elements() {
  for (const char* name : {"dinofeatures", "dinoseg"}) {
    GstElementFactory* factory = gst_element_factory_find(name);
    if (!factory) return false;
    gst_object_unref(factory);
  }
  return true;
}

// Numeric fields of an element message as doubles (the rest is skipped).
gboolean collect_number(GQuark field, const GValue* value, gpointer user_data) {
  auto* numbers = static_cast<std::map<std::string, double>*>(user_data);
  const GType type = G_VALUE_TYPE(value);
  double number;
  if (type == G_TYPE_DOUBLE)
    number = g_value_get_double(value);
  else if (type == G_TYPE_FLOAT)
    number = g_value_get_float(value);
  else if (type == G_TYPE_INT)
    number = g_value_get_int(value);
  else if (type == G_TYPE_UINT)
    number = g_value_get_uint(value);
  else if (type == G_TYPE_INT64)
    number = double(g_value_get_int64(value));
  else if (type == G_TYPE_UINT64)
    number = double(g_value_get_uint64(value));
  else
    return TRUE;
  (*numbers)[g_quark_to_string(field)] = number;
  return TRUE;
}

Image copy_rgb(GstSample* sample) {
  GstVideoInfo info;
  GstCaps* caps = gst_sample_get_caps(sample);
  GstVideoFrame mapped;
  if (!caps || !gst_video_info_from_caps(&info, caps) || GST_VIDEO_INFO_FORMAT(&info) != GST_VIDEO_FORMAT_RGB ||
      !gst_video_frame_map(&mapped, &info, gst_sample_get_buffer(sample), GST_MAP_READ)) {
    throw Error("the pipeline's appsink delivered a frame that is not readable RGB video");
  }
  Image rgb(GST_VIDEO_FRAME_WIDTH(&mapped), GST_VIDEO_FRAME_HEIGHT(&mapped), 3);
  const auto* src = static_cast<const uint8_t*>(GST_VIDEO_FRAME_PLANE_DATA(&mapped, 0));
  const int stride = GST_VIDEO_FRAME_PLANE_STRIDE(&mapped, 0);
  for (int y = 0; y < rgb.height; ++y) std::memcpy(rgb.row(y), src + size_t(y) * stride, size_t(rgb.width) * 3);
  gst_video_frame_unmap(&mapped);
  return rgb;
}

Image copy_classes(GstBuffer* buffer, int64_t index) {
  const GstDinoSegmentationMeta* meta = gst_buffer_get_dino_segmentation_meta(buffer);
  if (!meta || !meta->segmentation) {
    throw Error("frame " + std::to_string(index) +
                " came out of the pipeline without a segmentation (is dinoseg in it?)");
  }
  const GstDinoSegmentation* segmentation = meta->segmentation;
  Image classes(int(gst_dino_segmentation_get_width(segmentation)), int(gst_dino_segmentation_get_height(segmentation)),
                1);
  std::memcpy(classes.pixels.data(), gst_dino_segmentation_get_class_map(segmentation), classes.pixels.size());
  return classes;
}

}  // namespace

std::string launch_line(const LaunchArgs& args) {
  std::string line = "gst-launch-1.0";
  for (const auto& arg : args) line += " " + shell_quote(arg);
  return line;
}

void require_dinoclip_plugin() {
  gst_init(nullptr, nullptr);
  if (have_elements()) return;
  const std::string installed = DINOCLIP_GST_PLUGIN_DIR;
  if (!installed.empty() && std::filesystem::is_directory(installed)) {
    gst_registry_scan_path(gst_registry_get(), installed.c_str());
    if (have_elements()) return;
  }
  throw Error("the dinoclip GStreamer plugin (dinofeatures, dinoseg) was not found" +
              (installed.empty() ? std::string() : " in GStreamer's plugin path nor in " + installed) +
              ": install it (meson install), or point GStreamer at a build, e.g. GST_PLUGIN_PATH=build/gst "
              "(check with: gst-inspect-1.0 dinoseg)");
}

struct SegmentationPipeline::Impl {
  GstElement* pipeline = nullptr;
  GstElement* sink = nullptr;
  std::function<void(const ElementMessage&)> on_message;
  int64_t next_index = 0;

  ~Impl() {
    if (!pipeline) return;
    gst_element_set_state(pipeline, GST_STATE_NULL);
    if (sink) gst_object_unref(sink);
    gst_object_unref(pipeline);
  }

  // Hands element messages to the callback; throws on an error message.
  void drain_bus() {
    GstBus* bus = gst_element_get_bus(pipeline);
    while (GstMessage* msg = gst_bus_pop_filtered(bus, GstMessageType(GST_MESSAGE_ERROR | GST_MESSAGE_ELEMENT))) {
      if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
        GError* error = nullptr;
        gchar* debug = nullptr;
        gst_message_parse_error(msg, &error, &debug);
        std::string text =
            std::string(GST_OBJECT_NAME(GST_MESSAGE_SRC(msg))) + ": " + (error ? error->message : "unknown error");
        if (debug) text += std::string(" (") + debug + ")";
        g_clear_error(&error);
        g_free(debug);
        gst_message_unref(msg);
        gst_object_unref(bus);
        throw Error(text);
      }
      const GstStructure* s = gst_message_get_structure(msg);
      if (s && on_message) {
        ElementMessage message{GST_OBJECT_NAME(GST_MESSAGE_SRC(msg)), gst_structure_get_name(s), {}};
        gst_structure_foreach(s, collect_number, &message.numbers);
        on_message(message);
      }
      gst_message_unref(msg);
    }
    gst_object_unref(bus);
  }
};

SegmentationPipeline::SegmentationPipeline(const LaunchArgs& args) : impl_(std::make_unique<Impl>()) {
  gst_init(nullptr, nullptr);
  std::vector<const gchar*> argv;
  for (const auto& arg : args) argv.push_back(arg.c_str());
  argv.push_back(nullptr);
  GError* error = nullptr;
  impl_->pipeline = gst_parse_launchv(argv.data(), &error);
  if (!impl_->pipeline || error) {
    const std::string msg = error ? error->message : "cannot build the pipeline";
    g_clear_error(&error);
    throw Error(msg + " in: " + launch_line(args) +
                " (are gstreamer1.0-plugins-base/good and the dinoclip plugin installed?)");
  }
  impl_->sink = gst_bin_get_by_name(GST_BIN(impl_->pipeline), "sink");
  if (!impl_->sink || !GST_IS_APP_SINK(impl_->sink)) throw Error("the pipeline has no appsink named 'sink'");
  if (gst_element_set_state(impl_->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    impl_->drain_bus();
    throw Error("the pipeline did not start: " + launch_line(args));
  }
}

SegmentationPipeline::~SegmentationPipeline() = default;

void SegmentationPipeline::on_message(std::function<void(const ElementMessage&)> callback) {
  impl_->on_message = std::move(callback);
}

bool SegmentationPipeline::next(SegmentedFrame& frame) {
  GstAppSink* sink = GST_APP_SINK(impl_->sink);
  GstSample* sample = nullptr;
  // No overall timeout: dinoseg may hold frames for as long as training takes.
  while (!(sample = gst_app_sink_try_pull_sample(sink, 100 * GST_MSECOND))) {
    impl_->drain_bus();
    if (gst_app_sink_is_eos(sink)) {
      impl_->drain_bus();  // the messages posted at EOS (dinoseg-summary)
      return false;
    }
  }
  try {
    frame.index = impl_->next_index++;
    GstBuffer* buffer = gst_sample_get_buffer(sample);
    frame.pts_ns = GST_BUFFER_PTS_IS_VALID(buffer) ? int64_t(GST_BUFFER_PTS(buffer)) : -1;
    frame.rgb = copy_rgb(sample);
    frame.classes = copy_classes(buffer, frame.index);
  } catch (...) {
    gst_sample_unref(sample);
    throw;
  }
  gst_sample_unref(sample);
  impl_->drain_bus();
  return true;
}

}  // namespace dinoclip::cli
