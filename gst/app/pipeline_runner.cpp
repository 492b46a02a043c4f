#include "app/pipeline_runner.h"

#include <gst/app/gstappsink.h>

#include <cctype>
#include <cstring>
#include <filesystem>

#include "app/bus_error.h"
#include "core/error.h"

#ifndef DINOCLIP_GST_PLUGIN_DIR
#define DINOCLIP_GST_PLUGIN_DIR ""
#endif

namespace dinoclip::gstapp {
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

bool have_elements(const std::vector<std::string>& names) {
  for (const auto& name : names) {
    GstElementFactory* factory = gst_element_factory_find(name.c_str());
    if (!factory) return false;
    gst_object_unref(factory);
  }
  return true;
}

std::string joined(const std::vector<std::string>& names) {
  std::string text;
  for (const auto& name : names) text += (text.empty() ? "" : ", ") + name;
  return text;
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

}  // namespace

std::string launch_line(const LaunchArgs& args) {
  std::string line = "gst-launch-1.0";
  for (const auto& arg : args) line += " " + shell_quote(arg);
  return line;
}

void require_dinoclip_elements(const std::vector<std::string>& elements) {
  gst_init(nullptr, nullptr);
  if (have_elements(elements)) return;
  const std::string installed = DINOCLIP_GST_PLUGIN_DIR;
  if (!installed.empty() && std::filesystem::is_directory(installed)) {
    gst_registry_scan_path(gst_registry_get(), installed.c_str());
    if (have_elements(elements)) return;
  }
  throw Error("the dinoclip GStreamer plugin (" + joined(elements) + ") was not found" +
              (installed.empty() ? std::string() : " in GStreamer's plugin path nor in " + installed) +
              ": install it (meson install), or point GStreamer at a build, e.g. GST_PLUGIN_PATH=build/gst "
              "(check with: gst-inspect-1.0 " +
              elements.back() + ")");
}

guint uint_property_default(const std::string& factory_name, const std::string& property) {
  gst_init(nullptr, nullptr);
  GstElementFactory* factory = gst_element_factory_find(factory_name.c_str());
  if (!factory) throw Error("no GStreamer element " + factory_name + " (is its plugin installed?)");
  GstPluginFeature* loaded = gst_plugin_feature_load(GST_PLUGIN_FEATURE(factory));
  gst_object_unref(factory);
  if (!loaded) throw Error("cannot load the plugin of element " + factory_name);
  const GType type = gst_element_factory_get_element_type(GST_ELEMENT_FACTORY(loaded));
  gst_object_unref(loaded);
  auto* klass = static_cast<GObjectClass*>(g_type_class_ref(type));
  GParamSpec* spec = g_object_class_find_property(klass, property.c_str());
  const bool is_uint = spec && G_IS_PARAM_SPEC_UINT(spec);
  const guint value = is_uint ? G_PARAM_SPEC_UINT(spec)->default_value : 0;
  g_type_class_unref(klass);
  if (!is_uint) throw Error(factory_name + " has no unsigned integer property " + property);
  return value;
}

struct PipelineRunner::Impl {
  GstElement* pipeline = nullptr;
  GstElement* sink = nullptr;
  std::function<void(const ElementMessage&)> on_message;

  ~Impl() {
    if (!pipeline) return;
    gst_element_set_state(pipeline, GST_STATE_NULL);
    if (sink) gst_object_unref(sink);
    gst_object_unref(pipeline);
  }
};

PipelineRunner::PipelineRunner(const LaunchArgs& args) : impl_(std::make_unique<Impl>()) {
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
    drain_bus();
    throw Error("the pipeline did not start: " + launch_line(args));
  }
}

PipelineRunner::~PipelineRunner() = default;

void PipelineRunner::on_message(std::function<void(const ElementMessage&)> callback) {
  impl_->on_message = std::move(callback);
}

void PipelineRunner::drain_bus() {
  GstBus* bus = gst_element_get_bus(impl_->pipeline);
  while (GstMessage* msg = gst_bus_pop_filtered(bus, GstMessageType(GST_MESSAGE_ERROR | GST_MESSAGE_ELEMENT))) {
    if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
      const std::string text = bus_error_text(msg, /*name_source=*/true);
      gst_message_unref(msg);
      gst_object_unref(bus);
      throw Error(text);
    }
    const GstStructure* s = gst_message_get_structure(msg);
    if (s && impl_->on_message) {
      ElementMessage message{GST_OBJECT_NAME(GST_MESSAGE_SRC(msg)), gst_structure_get_name(s), {}};
      gst_structure_foreach(s, collect_number, &message.numbers);
      impl_->on_message(message);
    }
    gst_message_unref(msg);
  }
  gst_object_unref(bus);
}

SamplePtr PipelineRunner::next_sample() {
  GstAppSink* sink = GST_APP_SINK(impl_->sink);
  GstSample* sample = nullptr;
  while (!(sample = gst_app_sink_try_pull_sample(sink, 100 * GST_MSECOND))) {
    drain_bus();
    if (gst_app_sink_is_eos(sink)) {
      drain_bus();  // the messages posted at EOS
      return SamplePtr(nullptr, gst_sample_unref);
    }
  }
  return SamplePtr(sample, gst_sample_unref);
}

void run_to_eos(const std::string& description, GstClockTime timeout) {
  gst_init(nullptr, nullptr);
  GError* error = nullptr;
  GstElement* pipeline = gst_parse_launch(description.c_str(), &error);
  if (!pipeline || error) {
    const std::string msg = error ? error->message : "cannot build the pipeline";
    g_clear_error(&error);
    if (pipeline) gst_object_unref(pipeline);
    throw Error(msg + " in: " + description);
  }
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  GstBus* bus = gst_element_get_bus(pipeline);
  GstMessage* msg = gst_bus_timed_pop_filtered(bus, timeout, GstMessageType(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  std::string failure = msg ? "" : "no end of stream within " + std::to_string(timeout / GST_SECOND) + " s";
  if (msg && GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) failure = bus_error_text(msg, /*name_source=*/true);
  if (msg) gst_message_unref(msg);
  gst_object_unref(bus);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(pipeline);
  if (!failure.empty()) throw Error(failure + " in: " + description);
}

}  // namespace dinoclip::gstapp
