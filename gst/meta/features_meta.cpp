// GstDinoclipFeatures payload and GstDinoclipFeaturesMeta.
#include <gst/dinoclip/features-meta.h>
#include <gst/video/video.h>

#include <algorithm>
#include <mutex>
#include <vector>

#include "meta_common.h"

struct _GstDinoclipFeatures {
  dinoclip_meta::RefCount refs;
  GstDinoclipFeaturesShape shape{};

  // Copies made by gst_dinoclip_features_new().
  std::vector<gfloat> owned_tokens;
  std::vector<gfloat> owned_attention;

  // Host arrays, set at creation or by the deferred transfer.
  const gfloat* tokens = nullptr;
  const gfloat* attention = nullptr;

  GstDinoclipFeaturesToHostFunc to_host = nullptr;
  std::once_flag to_host_once;
  gboolean host_ok = TRUE;

  gpointer user_data = nullptr;
  GDestroyNotify notify = nullptr;

  ~_GstDinoclipFeatures() {
    if (notify) notify(user_data);
  }
};

G_DEFINE_BOXED_TYPE(GstDinoclipFeatures, gst_dinoclip_features, gst_dinoclip_features_ref, gst_dinoclip_features_unref)

GST_DEBUG_CATEGORY_STATIC(dino_features_meta_debug);
#define GST_CAT_DEFAULT dino_features_meta_debug

namespace {

gsize n_patches(const GstDinoclipFeaturesShape& shape) { return gsize(shape.grid_height) * shape.grid_width; }
gsize n_token_floats(const GstDinoclipFeaturesShape& shape) { return (1 + n_patches(shape)) * shape.dim; }
gsize n_attention_floats(const GstDinoclipFeaturesShape& shape) { return gsize(shape.n_heads) * n_patches(shape); }

bool shape_is_valid(const GstDinoclipFeaturesShape* shape) {
  return shape && shape->grid_height > 0 && shape->grid_width > 0 && shape->dim > 0;
}

void ensure_debug_category() {
  static gsize done = 0;
  if (g_once_init_enter(&done)) {
    GST_DEBUG_CATEGORY_INIT(dino_features_meta_debug, "dinofeaturesmeta", 0, "DINO features payload and meta");
    g_once_init_leave(&done, 1);
  }
}

GstDinoclipFeatures* new_features(const GstDinoclipFeaturesShape* shape) {
  ensure_debug_category();
  auto* features = new GstDinoclipFeatures;
  features->shape = *shape;
  return features;
}

// Runs the deferred transfer once; false when there are no host floats.
bool ensure_host(GstDinoclipFeatures* features) {
  if (features->to_host) {
    std::call_once(features->to_host_once, [features] {
      const gfloat* tokens = nullptr;
      const gfloat* attention = nullptr;
      features->host_ok = features->to_host(features->user_data, &tokens, &attention) && tokens;
      if (!features->host_ok) GST_WARNING("deferred DINO features transfer to host memory failed");
      features->tokens = tokens;
      features->attention = attention;
    });
  }
  return features->host_ok && features->tokens;
}

const gfloat* with_count(const gfloat* data, gsize count, gsize* n_floats) {
  if (n_floats) *n_floats = data ? count : 0;
  return data;
}

}  // namespace

GstDinoclipFeatures* gst_dinoclip_features_new(const GstDinoclipFeaturesShape* shape, const gfloat* tokens,
                                               const gfloat* cls_attention) {
  g_return_val_if_fail(shape_is_valid(shape), nullptr);
  g_return_val_if_fail(tokens != nullptr, nullptr);
  g_return_val_if_fail(shape->n_heads == 0 || cls_attention != nullptr, nullptr);
  GstDinoclipFeatures* features = new_features(shape);
  features->owned_tokens.assign(tokens, tokens + n_token_floats(*shape));
  features->tokens = features->owned_tokens.data();
  if (shape->n_heads > 0) {
    features->owned_attention.assign(cls_attention, cls_attention + n_attention_floats(*shape));
    features->attention = features->owned_attention.data();
  }
  return features;
}

GstDinoclipFeatures* gst_dinoclip_features_new_wrapped(const GstDinoclipFeaturesShape* shape, const gfloat* tokens,
                                                       const gfloat* cls_attention, gpointer user_data,
                                                       GDestroyNotify notify) {
  g_return_val_if_fail(shape_is_valid(shape), nullptr);
  g_return_val_if_fail(tokens != nullptr, nullptr);
  g_return_val_if_fail(shape->n_heads == 0 || cls_attention != nullptr, nullptr);
  GstDinoclipFeatures* features = new_features(shape);
  features->tokens = tokens;
  features->attention = shape->n_heads > 0 ? cls_attention : nullptr;
  features->user_data = user_data;
  features->notify = notify;
  return features;
}

GstDinoclipFeatures* gst_dinoclip_features_new_deferred(const GstDinoclipFeaturesShape* shape,
                                                        GstDinoclipFeaturesToHostFunc to_host, gpointer user_data,
                                                        GDestroyNotify notify) {
  g_return_val_if_fail(shape_is_valid(shape), nullptr);
  g_return_val_if_fail(to_host != nullptr, nullptr);
  GstDinoclipFeatures* features = new_features(shape);
  features->to_host = to_host;
  features->user_data = user_data;
  features->notify = notify;
  return features;
}

GstDinoclipFeatures* gst_dinoclip_features_ref(GstDinoclipFeatures* features) {
  g_return_val_if_fail(features != nullptr, nullptr);
  features->refs.ref();
  return features;
}

void gst_dinoclip_features_unref(GstDinoclipFeatures* features) {
  g_return_if_fail(features != nullptr);
  if (features->refs.unref()) delete features;
}

gpointer gst_dinoclip_features_get_producer_data(GstDinoclipFeatures* features, GDestroyNotify notify) {
  g_return_val_if_fail(features != nullptr, nullptr);
  return notify != nullptr && features->notify == notify ? features->user_data : nullptr;
}

const GstDinoclipFeaturesShape* gst_dinoclip_features_get_shape(const GstDinoclipFeatures* features) {
  g_return_val_if_fail(features != nullptr, nullptr);
  return &features->shape;
}

const gfloat* gst_dinoclip_features_get_tokens(GstDinoclipFeatures* features, gsize* n_floats) {
  g_return_val_if_fail(features != nullptr, nullptr);
  const gfloat* data = ensure_host(features) ? features->tokens : nullptr;
  return with_count(data, n_token_floats(features->shape), n_floats);
}

const gfloat* gst_dinoclip_features_get_cls_token(GstDinoclipFeatures* features, gsize* n_floats) {
  g_return_val_if_fail(features != nullptr, nullptr);
  const gfloat* data = ensure_host(features) ? features->tokens : nullptr;
  return with_count(data, features->shape.dim, n_floats);
}

const gfloat* gst_dinoclip_features_get_patch_tokens(GstDinoclipFeatures* features, gsize* n_floats) {
  g_return_val_if_fail(features != nullptr, nullptr);
  const gfloat* data = ensure_host(features) ? features->tokens + features->shape.dim : nullptr;
  return with_count(data, n_patches(features->shape) * features->shape.dim, n_floats);
}

const gfloat* gst_dinoclip_features_get_cls_attention(GstDinoclipFeatures* features, gsize* n_floats) {
  g_return_val_if_fail(features != nullptr, nullptr);
  const gfloat* data = features->shape.n_heads > 0 && ensure_host(features) ? features->attention : nullptr;
  return with_count(data, n_attention_floats(features->shape), n_floats);
}

const gfloat* gst_dinoclip_features_get_head_attention(GstDinoclipFeatures* features, guint head) {
  g_return_val_if_fail(features != nullptr, nullptr);
  if (head >= features->shape.n_heads) return nullptr;
  const gfloat* all = gst_dinoclip_features_get_cls_attention(features, nullptr);
  return all ? all + head * n_patches(features->shape) : nullptr;
}

/* ---- the meta ---- */

namespace {

gboolean features_meta_init(GstMeta* meta, gpointer, GstBuffer*) {
  auto* m = reinterpret_cast<GstDinoclipFeaturesMeta*>(meta);
  m->features = nullptr;
  m->carried = FALSE;
  m->source_pts = GST_CLOCK_TIME_NONE;
  return TRUE;
}

void features_meta_free(GstMeta* meta, GstBuffer*) {
  auto* m = reinterpret_cast<GstDinoclipFeaturesMeta*>(meta);
  if (m->features) gst_dinoclip_features_unref(m->features);
  m->features = nullptr;
}

gboolean features_meta_transform(GstBuffer* dest, GstMeta* meta, GstBuffer*, GQuark type, gpointer data) {
  if (!dinoclip_meta::whole_frame_payload_survives(type, data)) return FALSE;
  auto* m = reinterpret_cast<GstDinoclipFeaturesMeta*>(meta);
  return gst_buffer_add_dinoclip_features_meta(dest, m->features, m->carried, m->source_pts) != nullptr;
}

}  // namespace

GType gst_dinoclip_features_meta_api_get_type(void) {
  static GType type = 0;
  static const gchar* tags[] = {GST_META_TAG_VIDEO_STR, GST_META_TAG_VIDEO_ORIENTATION_STR, GST_META_TAG_VIDEO_SIZE_STR,
                                nullptr};
  if (g_once_init_enter(&type)) {
    GType api = gst_meta_api_type_register("GstDinoclipFeaturesMetaAPI", tags);
    g_once_init_leave(&type, api);
  }
  return type;
}

const GstMetaInfo* gst_dinoclip_features_meta_get_info(void) {
  static const GstMetaInfo* info = nullptr;
  if (g_once_init_enter(&info)) {
    const GstMetaInfo* registered = gst_meta_register(GST_DINOCLIP_FEATURES_META_API_TYPE, "GstDinoclipFeaturesMeta",
                                                      sizeof(GstDinoclipFeaturesMeta), features_meta_init,
                                                      features_meta_free, features_meta_transform);
    g_once_init_leave(&info, registered);
  }
  return info;
}

GstDinoclipFeaturesMeta* gst_buffer_add_dinoclip_features_meta(GstBuffer* buffer, GstDinoclipFeatures* features,
                                                               gboolean carried, GstClockTime source_pts) {
  g_return_val_if_fail(GST_IS_BUFFER(buffer), nullptr);
  g_return_val_if_fail(features != nullptr, nullptr);
  auto* meta =
      reinterpret_cast<GstDinoclipFeaturesMeta*>(gst_buffer_add_meta(buffer, GST_DINOCLIP_FEATURES_META_INFO, nullptr));
  if (!meta) return nullptr;
  meta->features = gst_dinoclip_features_ref(features);
  meta->carried = carried;
  meta->source_pts = source_pts;
  return meta;
}

GstDinoclipFeaturesMeta* gst_buffer_get_dinoclip_features_meta(GstBuffer* buffer) {
  g_return_val_if_fail(GST_IS_BUFFER(buffer), nullptr);
  return reinterpret_cast<GstDinoclipFeaturesMeta*>(gst_buffer_get_meta(buffer, GST_DINOCLIP_FEATURES_META_API_TYPE));
}

namespace {

// Bytes over a payload's floats that keep the payload alive (no copy).
GBytes* bytes_of(GstDinoclipFeatures* features, const gfloat* data, gsize n_floats) {
  if (!data) return nullptr;
  return g_bytes_new_with_free_func(data, n_floats * sizeof(gfloat),
                                    reinterpret_cast<GDestroyNotify>(gst_dinoclip_features_unref),
                                    gst_dinoclip_features_ref(features));
}

}  // namespace

GBytes* gst_dinoclip_features_get_tokens_bytes(GstDinoclipFeatures* features) {
  gsize n = 0;
  const gfloat* data = gst_dinoclip_features_get_tokens(features, &n);
  return bytes_of(features, data, n);
}

GBytes* gst_dinoclip_features_get_cls_attention_bytes(GstDinoclipFeatures* features) {
  gsize n = 0;
  const gfloat* data = gst_dinoclip_features_get_cls_attention(features, &n);
  return bytes_of(features, data, n);
}
