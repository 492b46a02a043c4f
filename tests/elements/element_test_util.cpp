#include "element_test_util.h"

#include <cstring>

#include "models/dino.h"
#include "vision/color_convert.h"
#include "vision/preprocess.h"
#include "vision/synthetic.h"

namespace dinoclip::testing {
namespace {

// gst_init once for every test of the executable.
class GstEnvironment : public ::testing::Environment {
 public:
  void SetUp() override { gst_init(nullptr, nullptr); }
};
::testing::Environment* const gst_environment = ::testing::AddGlobalTestEnvironment(new GstEnvironment);

GstVideoInfo info_from(const std::string& caps_text) {
  GstCaps* caps = gst_caps_from_string(caps_text.c_str());
  GstVideoInfo info;
  const bool ok = caps && gst_video_info_from_caps(&info, caps);
  if (caps) gst_caps_unref(caps);
  if (!ok) throw std::runtime_error("bad test caps " + caps_text);
  return info;
}

PixelFormat packed_format(GstVideoFormat format) {
  switch (format) {
    case GST_VIDEO_FORMAT_RGB:
      return PixelFormat::kRGB;
    case GST_VIDEO_FORMAT_BGR:
      return PixelFormat::kBGR;
    case GST_VIDEO_FORMAT_RGBA:
      return PixelFormat::kRGBA;
    case GST_VIDEO_FORMAT_BGRA:
      return PixelFormat::kBGRA;
    case GST_VIDEO_FORMAT_RGBx:
      return PixelFormat::kRGBx;
    case GST_VIDEO_FORMAT_BGRx:
      return PixelFormat::kBGRx;
    default:
      throw std::runtime_error(std::string("no packed layout for ") + gst_video_format_to_string(format));
  }
}

}  // namespace

std::string caps_string(GstVideoFormat format, int width, int height) {
  return std::string("video/x-raw,format=") + gst_video_format_to_string(format) + ",width=" + std::to_string(width) +
         ",height=" + std::to_string(height) + ",framerate=30/1";
}

GstBuffer* make_frame(const Image& rgb, GstVideoFormat format, GstClockTime pts, GstClockTime duration) {
  const GstVideoInfo in_info = info_from(caps_string(GST_VIDEO_FORMAT_RGB, rgb.width, rgb.height));
  const GstVideoInfo out_info = info_from(caps_string(format, rgb.width, rgb.height));
  GstBuffer* in = gst_buffer_new_allocate(nullptr, GST_VIDEO_INFO_SIZE(&in_info), nullptr);
  GstBuffer* out = gst_buffer_new_allocate(nullptr, GST_VIDEO_INFO_SIZE(&out_info), nullptr);
  GstVideoFrame in_frame, out_frame;
  gst_video_frame_map(&in_frame, &in_info, in, GST_MAP_WRITE);
  for (int y = 0; y < rgb.height; ++y) {
    auto* row =
        static_cast<guint8*>(GST_VIDEO_FRAME_PLANE_DATA(&in_frame, 0)) + y * GST_VIDEO_FRAME_PLANE_STRIDE(&in_frame, 0);
    std::copy(rgb.row(y), rgb.row(y) + rgb.width * 3, row);
  }
  gst_video_frame_map(&out_frame, &out_info, out, GST_MAP_WRITE);
  GstVideoConverter* converter = gst_video_converter_new(&in_info, &out_info, nullptr);
  gst_video_converter_frame(converter, &in_frame, &out_frame);
  gst_video_converter_free(converter);
  gst_video_frame_unmap(&in_frame);
  gst_video_frame_unmap(&out_frame);
  gst_buffer_unref(in);
  GST_BUFFER_PTS(out) = pts;
  GST_BUFFER_DURATION(out) = duration;
  return out;
}

Image scene_frame(int width, int height, int index) {
  return SyntheticScene(width, height, /*objects=*/2, /*seed=*/7).render(index).rgb;
}

at::Tensor meta_tokens(GstDinoclipFeatures* features) {
  const GstDinoclipFeaturesShape* shape = gst_dinoclip_features_get_shape(features);
  gsize n = 0;
  const gfloat* data = gst_dinoclip_features_get_tokens(features, &n);
  if (!data) return at::Tensor();
  return at::from_blob(const_cast<gfloat*>(data), {int64_t(n / shape->dim), int64_t(shape->dim)}, at::kFloat).clone();
}

at::Tensor meta_attention(GstDinoclipFeatures* features) {
  const GstDinoclipFeaturesShape* shape = gst_dinoclip_features_get_shape(features);
  gsize n = 0;
  const gfloat* data = gst_dinoclip_features_get_cls_attention(features, &n);
  if (!data) return at::Tensor();
  return at::from_blob(const_cast<gfloat*>(data), {int64_t(shape->n_heads), int64_t(n / shape->n_heads)}, at::kFloat)
      .clone();
}

Image direct_rgb(GstBuffer* buffer, const std::string& caps) {
  const GstVideoInfo info = info_from(caps);
  GstVideoFrame frame;
  if (!gst_video_frame_map(&frame, &info, buffer, GST_MAP_READ)) throw std::runtime_error("cannot map frame");
  const int w = GST_VIDEO_INFO_WIDTH(&info), h = GST_VIDEO_INFO_HEIGHT(&info);
  auto plane = [&](int i) { return static_cast<const std::uint8_t*>(GST_VIDEO_FRAME_PLANE_DATA(&frame, i)); };
  auto stride = [&](int i) { return GST_VIDEO_FRAME_PLANE_STRIDE(&frame, i); };
  Image rgb;
  switch (GST_VIDEO_INFO_FORMAT(&info)) {
    case GST_VIDEO_FORMAT_I420:  // SD caps: BT.601, limited range
      rgb = i420_to_rgb(plane(0), stride(0), plane(1), stride(1), plane(2), stride(2), w, h, YuvMatrix::kBt601,
                        /*full_range=*/false);
      break;
    case GST_VIDEO_FORMAT_NV12:
      rgb = nv12_to_rgb(plane(0), stride(0), plane(1), stride(1), w, h, YuvMatrix::kBt601, /*full_range=*/false);
      break;
    default:
      rgb = to_rgb(ImageView{plane(0), w, h, stride(0), packed_format(GST_VIDEO_INFO_FORMAT(&info))});
      break;
  }
  gst_video_frame_unmap(&frame);
  return rgb;
}

DirectResult direct_dino(const std::string& model_path, GstBuffer* buffer, const std::string& caps, int input_w,
                         int input_h, ScaleMethod method) {
  const Image rgb = direct_rgb(buffer, caps);
  DinoLoadOptions options;
  options.num_heads = 4;  // dino_tiny (see tests/elements/test_dinofeatures.cpp)
  const DinoModel model = DinoModel::load(model_path, options);
  DinoOutput out = model.forward(dino_input(rgb.view(), input_h, input_w, method, c10::Device(c10::kCPU)));
  return {out.tokens[0], out.cls_attention[0]};
}

GstPtr<GstElement> harness_element(GstHarness* h, const char* factory) {
  return GstPtr<GstElement>(gst_harness_find_element(h, factory));
}

guint64 uint64_property(GstHarness* h, const char* factory, const char* name) {
  guint64 value = G_MAXUINT64;
  g_object_get(harness_element(h, factory).get(), name, &value, nullptr);
  return value;
}

std::vector<guint8> buffer_bytes(GstBuffer* buffer) {
  std::vector<guint8> bytes(gst_buffer_get_size(buffer));
  gst_buffer_extract(buffer, 0, bytes.data(), bytes.size());
  return bytes;
}

GstMessage* pop_error(GstBus* bus) { return gst_bus_timed_pop_filtered(bus, GST_SECOND, GST_MESSAGE_ERROR); }

std::string pop_error_message(GstBus* bus) {
  GstMessage* m = pop_error(bus);
  if (!m) return "";
  GError* error = nullptr;
  gst_message_parse_error(m, &error, nullptr);
  std::string text = error->message;
  g_error_free(error);
  gst_message_unref(m);
  return text;
}

StartResult start_element(const std::string& launch) {
  GError* parse_error = nullptr;
  GstPtr<GstElement> element(gst_parse_launch(launch.c_str(), &parse_error));
  EXPECT_EQ(parse_error, nullptr) << launch;
  if (!element) return StartResult{GST_STATE_CHANGE_FAILURE};
  GstPtr<GstBus> bus(gst_bus_new());
  gst_element_set_bus(element.get(), bus.get());
  StartResult result{gst_element_set_state(element.get(), GST_STATE_PAUSED)};
  if (GstMessage* message = pop_error(bus.get())) {
    gchar* debug = nullptr;
    gst_message_parse_error(message, &result.error, &debug);
    result.debug = debug ? debug : "";
    g_free(debug);
    gst_message_unref(message);
  }
  gst_element_set_state(element.get(), GST_STATE_NULL);
  gst_element_set_bus(element.get(), nullptr);
  return result;
}

void expect_useful_blurbs(GstElement* element) {
  guint n = 0;
  GParamSpec** specs = g_object_class_list_properties(G_OBJECT_GET_CLASS(element), &n);
  for (guint i = 0; i < n; ++i) {
    if (specs[i]->owner_type != G_OBJECT_TYPE(element)) continue;
    EXPECT_GE(strlen(g_param_spec_get_blurb(specs[i])), 40u) << specs[i]->name << ": blurb too short to be useful";
  }
  g_free(specs);
}

LogHook::LogHook(const char* category, GstDebugLevel level, std::string text, Hook hook)
    : category_(category), text_(std::move(text)), hook_(std::move(hook)) {
  GstDebugCategory* found = _gst_debug_get_category(category);
  previous_level_ = found ? gst_debug_category_get_threshold(found) : gst_debug_get_default_threshold();
  gst_debug_set_active(TRUE);
  gst_debug_remove_log_function(gst_debug_log_default);
  gst_debug_add_log_function(&LogHook::log, this, nullptr);
  gst_debug_set_threshold_for_name(category, level);
}

LogHook::~LogHook() {
  gst_debug_remove_log_function(&LogHook::log);
  gst_debug_unset_threshold_for_name(category_.c_str());
  if (GstDebugCategory* found = _gst_debug_get_category(category_.c_str())) {
    gst_debug_category_set_threshold(found, previous_level_);
  }
  gst_debug_add_log_function(gst_debug_log_default, nullptr, nullptr);
}

void LogHook::log(GstDebugCategory* category, GstDebugLevel, const gchar*, const gchar*, gint, GObject* object,
                  GstDebugMessage* message, gpointer user_data) {
  auto* self = static_cast<LogHook*>(user_data);
  if (self->category_ != gst_debug_category_get_name(category)) return;
  const gchar* text = gst_debug_message_get(message);
  if (!text || std::string(text).find(self->text_) == std::string::npos) return;
  ++self->calls_;
  self->hook_(object);
}

}  // namespace dinoclip::testing
