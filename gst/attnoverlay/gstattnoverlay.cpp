// attnoverlay: picks the meta to show, then one lib/vision drawing call per
// frame, on the CPU (overlay.h; yuv_overlay_canvas.h on I420/NV12) or on a
// device (device_overlay.h) as the `device` property says. No maths here:
// upsampling, colour maps, PCA and masks are lib/.
#include "attnoverlay/gstattnoverlay.h"

#include <ATen/ATen.h>
#include <gst/dinoclip/dinoclip-meta.h>

#include <cstdio>
#include <exception>
#include <mutex>
#include <optional>
#include <string>

#include "attnoverlay/attnoverlay_device.h"
#include "common/cuda_caps.h"
#include "common/frame_planes_map.h"
#include "common/enums.h"
#if defined(DINOCLIP_WITH_GST_CUDA)
#include "common/cuda_frame.h"
#endif
#include "common/frame_convert.h"
#include "common/meta_tensors.h"
#include "common/param_flags.h"
#include "common/refused_property.h"
#include "core/error.h"
#include "core/user_message.h"
#include "dinofeatures/dinofeatures_payload.h"
#include "tasks/attention_heads.h"
#include "vision/device_overlay.h"
#include "vision/overlay.h"
#include "vision/overlay_canvas.h"
#include "vision/pca.h"
#include "vision/text_render.h"
#include "vision/yuv_overlay_canvas.h"

GST_DEBUG_CATEGORY_STATIC(attn_overlay_debug);
#define GST_CAT_DEFAULT attn_overlay_debug

namespace {

using namespace dinoclip;

enum {
  PROP_0,
  PROP_MODE,
  PROP_HEAD,
  PROP_COLORMAP,
  PROP_ALPHA,
  PROP_PCA_REFIT,
  PROP_PCA_REFIT_INTERVAL,
  PROP_CONTOURS,
  PROP_DEVICE,
};

struct Settings {
  GstDinoclipAttnoverlayMode mode = GST_DINOCLIP_ATTNOVERLAY_MODE_AUTO;
  gint head = -1;  // -1: mean of the heads
  GstDinoclipColormap colormap = GST_DINOCLIP_COLORMAP_INFERNO;
  gdouble alpha = 0.5;
  GstDinoclipAttnoverlayPcaRefit pca_refit = GST_DINOCLIP_ATTNOVERLAY_PCA_REFIT_FIRST;
  guint pca_refit_interval = 30;
  bool contours = true;
  GstDinoclipAttnoverlayDevice device = GST_DINOCLIP_ATTNOVERLAY_DEVICE_AUTO;
};

// Streaming state: the PCA basis and its last picture, the label font, the
// GPU device=gpu draws system-memory frames on when their features are not on one.
struct State {
  std::optional<PcaBasis> basis;
  guint results_since_fit = 0;
  GstDinoclipFeatures* pca_source = nullptr;  // the result pca_grid shows (ref held)
  at::Tensor pca_grid;                        // [h, w, 3] uint8, on the device it was drawn for
  c10::Device fallback_gpu = c10::Device(c10::kCPU);
  std::optional<TextRenderer> text;
  bool warned_missing = false;
  bool warned_font = false;
  bool warned_pca = false;

  State() = default;
  State(const State&) = delete;
  State& operator=(const State&) = delete;
  ~State() { forget_pca_picture(); }

  void forget_pca_picture() {
    if (pca_source) gst_dinoclip_features_unref(pca_source);
    pca_source = nullptr;
  }
};

struct Private {
  std::mutex settings_lock;
  Settings settings;
  bool started = false;  // between start and stop (under settings_lock): `device` is fixed
  State state;           // streaming thread only
};

}  // namespace

struct _GstAttnOverlay {
  GstVideoFilter parent;
  Private* priv;
};

G_DEFINE_TYPE(GstAttnOverlay, gst_attn_overlay, GST_TYPE_VIDEO_FILTER)
GST_ELEMENT_REGISTER_DEFINE(attnoverlay, "attnoverlay", GST_RANK_NONE, GST_TYPE_ATTN_OVERLAY)

namespace {

GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE(
    "sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS(DINOCLIP_VIDEO_CAPS(DINOCLIP_FRAME_FORMATS)));
GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE(
    "src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS(DINOCLIP_VIDEO_CAPS(DINOCLIP_FRAME_FORMATS)));

void gst_attn_overlay_set_property(GObject* object, guint prop_id, const GValue* value, GParamSpec* pspec) {
  auto* self = GST_ATTN_OVERLAY(object);
  std::lock_guard<std::mutex> lock(self->priv->settings_lock);
  Settings& s = self->priv->settings;
  switch (prop_id) {
    case PROP_MODE:
      s.mode = GstDinoclipAttnoverlayMode(g_value_get_enum(value));
      break;
    case PROP_HEAD:
      s.head = g_value_get_int(value);
      break;
    case PROP_COLORMAP:
      s.colormap = GstDinoclipColormap(g_value_get_enum(value));
      break;
    case PROP_ALPHA:
      s.alpha = g_value_get_double(value);
      break;
    case PROP_PCA_REFIT:
      s.pca_refit = GstDinoclipAttnoverlayPcaRefit(g_value_get_enum(value));
      break;
    case PROP_PCA_REFIT_INTERVAL:
      s.pca_refit_interval = g_value_get_uint(value);
      break;
    case PROP_CONTOURS:
      s.contours = g_value_get_boolean(value);
      break;
    case PROP_DEVICE:
      if (self->priv->started) {
        dinoclip::gst::warn_refused_property(GST_ELEMENT(self), GST_CAT_DEFAULT, "device");
        break;
      }
      s.device = GstDinoclipAttnoverlayDevice(g_value_get_enum(value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      break;
  }
}

void gst_attn_overlay_get_property(GObject* object, guint prop_id, GValue* value, GParamSpec* pspec) {
  auto* self = GST_ATTN_OVERLAY(object);
  std::lock_guard<std::mutex> lock(self->priv->settings_lock);
  const Settings& s = self->priv->settings;
  switch (prop_id) {
    case PROP_MODE:
      g_value_set_enum(value, s.mode);
      break;
    case PROP_HEAD:
      g_value_set_int(value, s.head);
      break;
    case PROP_COLORMAP:
      g_value_set_enum(value, s.colormap);
      break;
    case PROP_ALPHA:
      g_value_set_double(value, s.alpha);
      break;
    case PROP_PCA_REFIT:
      g_value_set_enum(value, s.pca_refit);
      break;
    case PROP_PCA_REFIT_INTERVAL:
      g_value_set_uint(value, s.pca_refit_interval);
      break;
    case PROP_CONTOURS:
      g_value_set_boolean(value, s.contours);
      break;
    case PROP_DEVICE:
      g_value_set_enum(value, s.device);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      break;
  }
}

Settings settings_snapshot(GstAttnOverlay* self) {
  std::lock_guard<std::mutex> lock(self->priv->settings_lock);
  return self->priv->settings;
}

// device=gpu without a GPU to draw on stops here, saying why and what to choose.
gboolean gst_attn_overlay_start(GstBaseTransform* trans) {
  auto* self = GST_ATTN_OVERLAY(trans);
  const Settings settings = settings_snapshot(self);  // no lock held while posting: bus handlers may read properties
  if (settings.device == GST_DINOCLIP_ATTNOVERLAY_DEVICE_GPU) {
    const std::string reason = dinoclip::gst::gpu_unavailable_reason();
    if (!reason.empty()) {
      GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS,
                        ("attnoverlay: device=gpu draws on a CUDA GPU, but %s; %s", reason.c_str(),
                         dinoclip::gst::gpu_unavailable_advice()),
                        (nullptr));
      return FALSE;
    }
    self->priv->state.fallback_gpu = c10::Device(c10::kCUDA, 0);  // checked above: there is one
  }
  std::lock_guard<std::mutex> lock(self->priv->settings_lock);
  self->priv->started = true;
  return TRUE;
}

gboolean gst_attn_overlay_stop(GstBaseTransform* trans) {
  auto* self = GST_ATTN_OVERLAY(trans);
  {
    std::lock_guard<std::mutex> lock(self->priv->settings_lock);
    self->priv->started = false;
  }
  State& state = self->priv->state;
  state.pca_grid = at::Tensor();
  state.basis.reset();
  state.results_since_fit = 0;
  state.forget_pca_picture();
  state.warned_missing = false;
  state.warned_font = false;
  state.warned_pca = false;
  return TRUE;
}

/* ---- one drawing per mode ---- */

// Says once per run that the buffers lack what `mode` draws.
void warn_missing(GstAttnOverlay* self, const char* what) {
  if (self->priv->state.warned_missing) return;
  self->priv->state.warned_missing = true;
  GST_ELEMENT_WARNING(self, STREAM, FORMAT, ("attnoverlay: the frames carry no %s; they pass unchanged", what),
                      ("put the element that attaches it upstream (dinofeatures for features and attention)"));
}

// Where a frame is drawn: the CPU drawing on the mapped frame, or a
// DeviceOverlay; on a device the features' own tensors are used where they
// are (a GPU's: no host copy).
struct Target {
  OverlayCanvas& canvas;
  bool on_device;
};

// [heads, h, w]; undefined when the features have no attention.
at::Tensor attention_of(GstDinoclipFeaturesMeta* meta, bool on_device) {
  if (!meta) return at::Tensor();
  if (on_device) {
    const at::Tensor resident = dinoclip::gst::resident_attention(meta->features);
    const GstDinoclipFeaturesShape* shape = gst_dinoclip_features_get_shape(meta->features);
    if (resident.defined()) return resident.reshape({-1, shape->grid_height, shape->grid_width});
  }
  return dinoclip::gst::attention_maps(meta->features);
}

// [h * w, D] patch tokens; undefined when they cannot be read.
at::Tensor patch_tokens_of(GstDinoclipFeaturesMeta* meta, bool on_device) {
  if (on_device) {
    const at::Tensor resident = dinoclip::gst::resident_tokens(meta->features);
    const GstDinoclipFeaturesShape* shape = gst_dinoclip_features_get_shape(meta->features);
    if (resident.defined()) return resident.narrow(0, 1, int64_t(shape->grid_height) * shape->grid_width);
  }
  return dinoclip::gst::patch_tokens(meta->features);
}

bool draw_attention(Target target, GstBuffer* buffer, const Settings& s) {
  const at::Tensor maps = attention_of(gst_buffer_get_dinoclip_features_meta(buffer), target.on_device);
  if (!maps.defined()) return false;
  const at::Tensor heat = select_attention_heads(maps, AttentionHeads::from_property(s.head));  // [1, h, w]
  // One tile = the whole frame, min-max normalised per frame as DINO's figures.
  target.canvas.head_strip(heat, dinoclip::gst::to_colormap(s.colormap), float(s.alpha));
  return true;
}

bool draw_heads(Target target, GstBuffer* buffer, const Settings& s) {
  const at::Tensor maps = attention_of(gst_buffer_get_dinoclip_features_meta(buffer), target.on_device);
  if (!maps.defined()) return false;
  target.canvas.head_strip(maps, dinoclip::gst::to_colormap(s.colormap), float(s.alpha));
  return true;
}

bool basis_is_due(const State& state, const Settings& s, const at::Tensor& tokens) {
  if (!state.basis || state.basis->mean.size(0) != tokens.size(1)) return true;  // none yet, or another model
  switch (s.pca_refit) {
    case GST_DINOCLIP_ATTNOVERLAY_PCA_REFIT_PER_FRAME:
      return true;
    case GST_DINOCLIP_ATTNOVERLAY_PCA_REFIT_EVERY_N:
      return state.results_since_fit >= s.pca_refit_interval;
    case GST_DINOCLIP_ATTNOVERLAY_PCA_REFIT_FIRST:
      break;
  }
  return false;
}

// A grid too small for PCA colours (one patch): this frame passes undrawn,
// with one warning per run; the stream goes on.
bool skip_pca(GstAttnOverlay* self, const at::Tensor& tokens) {
  GST_DEBUG_OBJECT(self, "no PCA colours for %" G_GINT64_FORMAT " patches", tokens.size(0));
  State& state = self->priv->state;
  if (!state.warned_pca) {
    state.warned_pca = true;
    GST_ELEMENT_WARNING(self, STREAM, FORMAT,
                        ("attnoverlay: mode=pca needs at least 2 patches with %" G_GINT64_FORMAT
                         "-dimensional features; frames with %" G_GINT64_FORMAT " pass without colours",
                         tokens.size(1), tokens.size(0)),
                        ("raise dinofeatures' input-size so that the frame covers more than one patch"));
  }
  return true;
}

bool draw_pca(GstAttnOverlay* self, Target target, GstBuffer* buffer, const Settings& s) {
  GstDinoclipFeaturesMeta* meta = gst_buffer_get_dinoclip_features_meta(buffer);
  if (!meta) return false;
  State& state = self->priv->state;
  if (meta->features != state.pca_source) {  // a new result (carried ones reuse the picture)
    const at::Tensor tokens = patch_tokens_of(meta, target.on_device);
    if (!tokens.defined()) return false;
    if (basis_is_due(state, s, tokens) && !pca_fit_possible(tokens, 3)) return skip_pca(self, tokens);
    if (basis_is_due(state, s, tokens)) {
      state.basis = fit_pca(tokens, 3);  // on the CPU, in float64 (the tokens are copied there)
      state.results_since_fit = 0;
      GST_DEBUG_OBJECT(self, "PCA basis fitted on %" G_GINT64_FORMAT " patch tokens", tokens.size(0));
    }
    ++state.results_since_fit;
    const GstDinoclipFeaturesShape* shape = gst_dinoclip_features_get_shape(meta->features);
    state.pca_grid = pca_rgb_grid(tokens, shape->grid_height, shape->grid_width, *state.basis);  // where the tokens are
    state.forget_pca_picture();
    state.pca_source = gst_dinoclip_features_ref(meta->features);
  }
  target.canvas.rgb_grid(state.pca_grid, float(s.alpha), /*smooth=*/false);
  return true;
}

bool draw_mask(Target target, GstBuffer* buffer, const Settings& s) {
  GstDinoclipSegmentationMeta* meta = gst_buffer_get_dinoclip_segmentation_meta(buffer);
  if (!meta) return false;
  target.canvas.mask(dinoclip::gst::class_map(meta->segmentation),
                     dinoclip::gst::segmentation_palette(meta->segmentation), float(s.alpha), s.contours);
  return true;
}

bool draw_label(GstAttnOverlay* self, Target target, GstBuffer* buffer) {
  GstDinoclipClassificationMeta* meta = gst_buffer_get_dinoclip_classification_meta(buffer);
  const gchar* label = nullptr;
  gfloat score = 0.0f;
  if (!meta || !gst_dinoclip_classification_get_ranked(meta->classification, 0, nullptr, &label, &score)) return false;
  State& state = self->priv->state;
  if (!state.text) state.text.emplace();  // throws, naming the font, when it is missing
  char text[512];
  std::snprintf(text, sizeof text, "%s %.2f", label, score);
  TextStyle style;
  style.pixel_height = std::max(12, target.canvas.height() / 18);
  style.x = style.y = style.pixel_height / 2;
  style.colour = {255, 255, 255};
  style.background = {0, 0, 0};
  style.background_alpha = 0.6f;
  target.canvas.text(*state.text, text, style);
  return true;
}

// auto: the mask if there is one, else the attention, else the PCA colours;
// then the label on top (without a font, auto warns once and goes on).
bool draw_auto(GstAttnOverlay* self, Target target, GstBuffer* buffer, const Settings& s) {
  bool drawn = draw_mask(target, buffer, s) || draw_attention(target, buffer, s) || draw_pca(self, target, buffer, s);
  if (!gst_buffer_get_dinoclip_classification_meta(buffer)) return drawn;
  try {
    return draw_label(self, target, buffer) || drawn;
  } catch (const Error& e) {
    if (!self->priv->state.warned_font) {
      self->priv->state.warned_font = true;
      GST_ELEMENT_WARNING(self, RESOURCE, NOT_FOUND, ("attnoverlay: labels not drawn: %s", e.what()), (nullptr));
    }
    return drawn;
  }
}

// Draws what `s.mode` asks for; false when the buffer lacks its meta.
bool draw(GstAttnOverlay* self, Target target, GstBuffer* buffer, const Settings& s) {
  switch (s.mode) {
    case GST_DINOCLIP_ATTNOVERLAY_MODE_ATTENTION:
      return draw_attention(target, buffer, s);
    case GST_DINOCLIP_ATTNOVERLAY_MODE_HEADS:
      return draw_heads(target, buffer, s);
    case GST_DINOCLIP_ATTNOVERLAY_MODE_PCA:
      return draw_pca(self, target, buffer, s);
    case GST_DINOCLIP_ATTNOVERLAY_MODE_MASK:
      return draw_mask(target, buffer, s);
    case GST_DINOCLIP_ATTNOVERLAY_MODE_LABEL:
      return draw_label(self, target, buffer);
    case GST_DINOCLIP_ATTNOVERLAY_MODE_AUTO:
      break;
  }
  return draw_auto(self, target, buffer, s);
}

// The CPU drawing, in place: packed frames in RGB, decoders' I420/NV12 in Y'CbCr.
bool draw_on_cpu(GstAttnOverlay* self, GstVideoFrame& frame, const Settings& s) {
  if (dinoclip::gst::is_planar_yuv(GST_VIDEO_FRAME_FORMAT(&frame))) {
    YuvOverlayCanvas canvas(dinoclip::gst::frame_yuv_planes(frame));
    return draw(self, {canvas, false}, frame.buffer, s);
  }
  HostOverlayCanvas canvas(dinoclip::gst::frame_mutable_view(frame));
  return draw(self, {canvas, false}, frame.buffer, s);
}

// The device drawing on `device`: the frame's planes uploaded once when they
// are elsewhere, drawn there, written back when something was drawn.
bool draw_on_device(GstAttnOverlay* self, FramePlanes planes, const c10::Device& device, GstBuffer* buffer,
                    const Settings& s) {
  // Nothing to draw: no upload or conversion either.
  if (!gst_buffer_get_dinoclip_features_meta(buffer) && !gst_buffer_get_dinoclip_segmentation_meta(buffer) &&
      !gst_buffer_get_dinoclip_classification_meta(buffer)) {
    return false;
  }
  GST_LOG_OBJECT(self, "drawing on %s", device.str().c_str());
  DeviceOverlay canvas(std::move(planes), device);
  const bool drawn = draw(self, {canvas, true}, buffer, s);
  if (drawn) canvas.finish();
  return drawn;
}

const char* missing_meta_name(GstDinoclipAttnoverlayMode mode) {
  switch (mode) {
    case GST_DINOCLIP_ATTNOVERLAY_MODE_ATTENTION:
    case GST_DINOCLIP_ATTNOVERLAY_MODE_HEADS:
      return "DINO attention (GstDinoclipFeaturesMeta with attention=true)";
    case GST_DINOCLIP_ATTNOVERLAY_MODE_PCA:
      return "DINO features (GstDinoclipFeaturesMeta)";
    case GST_DINOCLIP_ATTNOVERLAY_MODE_MASK:
      return "segmentation (GstDinoclipSegmentationMeta)";
    case GST_DINOCLIP_ATTNOVERLAY_MODE_LABEL:
      return "classification (GstDinoclipClassificationMeta)";
    case GST_DINOCLIP_ATTNOVERLAY_MODE_AUTO:
      break;
  }
  return "dinoclip meta";
}

// One frame, in whichever memory: `draw(settings)` draws and says whether
// anything was; errors become the element's error, nothing drawn a warning.
template <typename Draw>
GstFlowReturn draw_frame(GstAttnOverlay* self, const GstVideoInfo& info, Draw&& draw) {
  try {
    const Settings settings = settings_snapshot(self);
    if (settings.alpha <= 0.0 && settings.mode != GST_DINOCLIP_ATTNOVERLAY_MODE_LABEL) return GST_FLOW_OK;
    if (!draw(settings)) warn_missing(self, missing_meta_name(settings.mode));
    return GST_FLOW_OK;
  } catch (const std::exception& e) {
    GST_ELEMENT_ERROR(self, STREAM, FAILED, ("attnoverlay: %s", dinoclip::user_message(e).c_str()),
                      ("frame %dx%d %s", GST_VIDEO_INFO_WIDTH(&info), GST_VIDEO_INFO_HEIGHT(&info),
                       GST_VIDEO_INFO_NAME(&info)));
    return GST_FLOW_ERROR;
  }
}

GstFlowReturn gst_attn_overlay_transform_frame_ip(GstVideoFilter* filter, GstVideoFrame* frame) {
  auto* self = GST_ATTN_OVERLAY(filter);
  return draw_frame(self, frame->info, [&](const Settings& settings) {
    const std::optional<c10::Device> device = dinoclip::gst::drawing_device(
        settings.device, c10::Device(c10::kCPU), frame->buffer, self->priv->state.fallback_gpu);
    return device ? draw_on_device(self, dinoclip::gst::mapped_frame_planes(*frame), *device, frame->buffer, settings)
                  : draw_on_cpu(self, *frame, settings);
  });
}

#if defined(DINOCLIP_WITH_GST_CUDA)
// GstVideoFilter's transform_ip: maps system memory (and would download CUDA memory).
GstFlowReturn (*video_filter_transform_ip)(GstBaseTransform*, GstBuffer*) = nullptr;

// CUDA-memory frames are drawn in place on their GPU, mapped with GST_MAP_CUDA
// (GstVideoFilter's own map would download them). device=cpu on such frames
// takes the host mapping, counted as a host copy.
GstFlowReturn gst_attn_overlay_transform_ip(GstBaseTransform* trans, GstBuffer* buffer) {
  auto* self = GST_ATTN_OVERLAY(trans);
  if (!dinoclip::gst::is_cuda_buffer(buffer)) return video_filter_transform_ip(trans, buffer);
  const GstVideoInfo& info = GST_VIDEO_FILTER(trans)->in_info;
  bool on_host = false;
  const GstFlowReturn result = draw_frame(self, info, [&](const Settings& settings) {
    FramePlanes planes =
        dinoclip::gst::map_cuda_frame_planes(buffer, info, GstMapFlags(GST_MAP_READ | GST_MAP_WRITE));
    const std::optional<c10::Device> device =
        dinoclip::gst::drawing_device(settings.device, planes.device(), buffer, self->priv->state.fallback_gpu);
    if (!device) {
      on_host = true;  // drawn below, after this mapping is released
      return true;
    }
    return draw_on_device(self, std::move(planes), *device, buffer, settings);
  });
  if (!on_host) return result;
  dinoclip::gst::note_host_map(buffer);
  return video_filter_transform_ip(trans, buffer);
}
#endif

// CUDA-memory caps leave the answers on a build or machine that cannot take
// them, and forced ones are refused with an error saying why (as the
// inference elements do).
GstCaps* gst_attn_overlay_transform_caps(GstBaseTransform* trans, GstPadDirection direction, GstCaps* caps,
                                         GstCaps* filter) {
  return dinoclip::gst::caps_usable_here(
      GST_BASE_TRANSFORM_CLASS(gst_attn_overlay_parent_class)->transform_caps(trans, direction, caps, filter));
}

gboolean gst_attn_overlay_accept_caps(GstBaseTransform* trans, GstPadDirection direction, GstCaps* caps) {
  if (!dinoclip::gst::check_cuda_memory_caps(GST_ELEMENT(trans), caps)) return FALSE;
  return GST_BASE_TRANSFORM_CLASS(gst_attn_overlay_parent_class)->accept_caps(trans, direction, caps);
}

void gst_attn_overlay_finalize(GObject* object) {
  delete GST_ATTN_OVERLAY(object)->priv;
  G_OBJECT_CLASS(gst_attn_overlay_parent_class)->finalize(object);
}

using dinoclip::gst::kParamAnyTime;

void install_properties(GObjectClass* gobject_class) {
  g_object_class_install_property(
      gobject_class, PROP_MODE,
      g_param_spec_enum(
          "mode", "Mode",
          "What to draw: attention, heads, pca (need dinofeatures upstream), mask (segmentation meta), label "
          "(classification meta) or auto (whatever is attached). Frames without the meta pass unchanged, with "
          "one warning. May change while PLAYING",
          GST_TYPE_DINOCLIP_ATTNOVERLAY_MODE, GST_DINOCLIP_ATTNOVERLAY_MODE_AUTO, kParamAnyTime));
  g_object_class_install_property(
      gobject_class, PROP_HEAD,
      g_param_spec_int(
          "head", "Head",
          "mode=attention: the attention head to show, 0..heads-1, or -1 for the mean over heads; a head the model "
          "does not have is a stream error. May change while PLAYING",
          -1, 1023, -1, kParamAnyTime));
  g_object_class_install_property(
      gobject_class, PROP_COLORMAP,
      g_param_spec_enum(
          "colormap", "Colour map",
          "Colour map of the attention and heads heatmaps (each map min-max normalised per frame). May change "
          "while PLAYING",
          GST_TYPE_DINOCLIP_COLORMAP, GST_DINOCLIP_COLORMAP_INFERNO, kParamAnyTime));
  g_object_class_install_property(
      gobject_class, PROP_ALPHA,
      g_param_spec_double(
          "alpha", "Alpha",
          "Opacity of the overlay, 0.0 (invisible: frames untouched) to 1.0 (overlay only); labels always show. "
          "May change while PLAYING",
          0.0, 1.0, 0.5, kParamAnyTime));
  g_object_class_install_property(
      gobject_class, PROP_PCA_REFIT,
      g_param_spec_enum(
          "pca-refit", "PCA refit",
          "mode=pca: when to fit the 3 principal components: first (once, stable colours), per-frame (every new "
          "result; carried results reuse it) or every-n (every pca-refit-interval new results). May change while "
          "PLAYING",
          GST_TYPE_DINOCLIP_ATTNOVERLAY_PCA_REFIT, GST_DINOCLIP_ATTNOVERLAY_PCA_REFIT_FIRST, kParamAnyTime));
  g_object_class_install_property(
      gobject_class, PROP_PCA_REFIT_INTERVAL,
      g_param_spec_uint(
          "pca-refit-interval", "PCA refit interval",
          "pca-refit=every-n: new results (not frames) between two fits, 1-100000. May change while PLAYING", 1, 100000,
          30, kParamAnyTime));
  g_object_class_install_property(
      gobject_class, PROP_CONTOURS,
      g_param_spec_boolean(
          "contours", "Contours",
          "mode=mask: draw class borders in full colour on top of the alpha-blended classes. May change while "
          "PLAYING",
          TRUE, kParamAnyTime));
  g_object_class_install_property(
      gobject_class, PROP_DEVICE,
      g_param_spec_enum(
          "device", "Device",
          "Where to draw: auto (follows the negotiated memory: the GPU for video/x-raw(memory:CUDAMemory) frames, "
          "the CPU for system memory), cpu, or gpu (system-memory frames are uploaded once to the GPU that holds "
          "their DINO features, else GPU 0, drawn there and copied back; an error at start in a build or on a "
          "machine without a CUDA GPU). Read in READY",
          GST_TYPE_DINOCLIP_ATTNOVERLAY_DEVICE, GST_DINOCLIP_ATTNOVERLAY_DEVICE_AUTO, dinoclip::gst::kParamLoadTime));
}

}  // namespace

static void gst_attn_overlay_class_init(GstAttnOverlayClass* klass) {
  auto* gobject_class = G_OBJECT_CLASS(klass);
  auto* element_class = GST_ELEMENT_CLASS(klass);
  GST_DEBUG_CATEGORY_INIT(attn_overlay_debug, "attnoverlay", 0, "dinoclip overlay element");

  gobject_class->set_property = gst_attn_overlay_set_property;
  gobject_class->get_property = gst_attn_overlay_get_property;
  gobject_class->finalize = gst_attn_overlay_finalize;
  install_properties(gobject_class);

  gst_element_class_set_static_metadata(
      element_class, "DINO attention overlay", "Filter/Effect/Video",
      "Draws dinoclip results onto the frames they are attached to: DINO CLS attention heatmaps, per-head strips, "
      "PCA colours of the patch tokens, segmentation masks and labels",
      "dinoclip contributors");
  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_add_static_pad_template(element_class, &src_template);
  gst_type_mark_as_plugin_api(GST_TYPE_DINOCLIP_ATTNOVERLAY_MODE, GstPluginAPIFlags(0));
  gst_type_mark_as_plugin_api(GST_TYPE_DINOCLIP_ATTNOVERLAY_PCA_REFIT, GstPluginAPIFlags(0));
  gst_type_mark_as_plugin_api(GST_TYPE_DINOCLIP_COLORMAP, GstPluginAPIFlags(0));
  gst_type_mark_as_plugin_api(GST_TYPE_DINOCLIP_ATTNOVERLAY_DEVICE, GstPluginAPIFlags(0));

  GST_BASE_TRANSFORM_CLASS(klass)->start = gst_attn_overlay_start;
  GST_BASE_TRANSFORM_CLASS(klass)->stop = gst_attn_overlay_stop;
  GST_BASE_TRANSFORM_CLASS(klass)->transform_caps = gst_attn_overlay_transform_caps;
  GST_BASE_TRANSFORM_CLASS(klass)->accept_caps = gst_attn_overlay_accept_caps;
  GST_VIDEO_FILTER_CLASS(klass)->transform_frame_ip = gst_attn_overlay_transform_frame_ip;
#if defined(DINOCLIP_WITH_GST_CUDA)
  video_filter_transform_ip = GST_BASE_TRANSFORM_CLASS(klass)->transform_ip;
  GST_BASE_TRANSFORM_CLASS(klass)->transform_ip = gst_attn_overlay_transform_ip;
#endif
}

static void gst_attn_overlay_init(GstAttnOverlay* self) {
  self->priv = new Private;
  gst_base_transform_set_in_place(GST_BASE_TRANSFORM(self), TRUE);
  // Like dinofeatures' skip-late, never drop frames: drawing costs little.
  gst_base_transform_set_qos_enabled(GST_BASE_TRANSFORM(self), FALSE);
}
