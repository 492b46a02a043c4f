/* GstDinoclipFeatures (a DINO result: patch tokens, CLS token, CLS attention)
 * and GstDinoclipFeaturesMeta (attaches one to a video buffer).
 *
 * The result is a refcounted, immutable payload; the meta holds a reference.
 * Carrying a result onto the next frames (dinofeatures' `interval`) adds a
 * meta that refs the same payload: no floats are copied.
 *
 * All arrays are host float32, C order:
 *   tokens         [1 + grid_height * grid_width, dim]  CLS first, then the
 *                  patches row-major (patch (y, x) is token 1 + y * grid_width + x)
 *   cls_attention  [n_heads, grid_height * grid_width]  last layer's softmax
 *                  attention from the CLS query to each patch (CLS key left
 *                  out, so a row sums to a little less than 1)
 * The patch grid covers the whole frame: patch (y, x) maps to the frame
 * rectangle [x, x+1) * width / grid_width, [y, y+1) * height / grid_height. */
#pragma once

#include <gst/dinoclip/meta-prelude.h>

G_BEGIN_DECLS

typedef struct {
  guint grid_height;  /* patch rows */
  guint grid_width;   /* patch columns */
  guint dim;          /* token width D (384 for ViT-S, 768 for ViT-B) */
  guint n_heads;      /* rows of cls_attention; 0 when attention was not computed */
  guint patch_size;   /* model input pixels per patch side (8 or 16; 14 for DINOv2) */
  guint input_width;  /* model input size in pixels = grid_width * patch_size */
  guint input_height; /* = grid_height * patch_size */
} GstDinoclipFeaturesShape;

typedef struct _GstDinoclipFeatures GstDinoclipFeatures;

/* Producer hook for results that live elsewhere (e.g. in GPU memory): called
 * at most once, on the first read, to get host pointers that stay valid until
 * `notify (user_data)`. cls_attention may be left NULL when n_heads is 0.
 * Returns FALSE (and the getters then return NULL) if the transfer failed. */
typedef gboolean (*GstDinoclipFeaturesToHostFunc)(gpointer user_data, const gfloat** tokens,
                                                  const gfloat** cls_attention);

#define GST_TYPE_DINOCLIP_FEATURES (gst_dinoclip_features_get_type())
GST_DINOCLIP_API GType gst_dinoclip_features_get_type(void);

/**
 * gst_dinoclip_features_new: (skip)
 * Copies the arrays (cls_attention may be NULL when shape->n_heads is 0).
 */
GST_DINOCLIP_API GstDinoclipFeatures* gst_dinoclip_features_new(const GstDinoclipFeaturesShape* shape,
                                                                const gfloat* tokens, const gfloat* cls_attention);

/**
 * gst_dinoclip_features_new_wrapped: (skip)
 * Wraps host arrays without copying; `notify (user_data)` runs when the last
 * reference goes. The arrays must not change afterwards.
 */
GST_DINOCLIP_API GstDinoclipFeatures* gst_dinoclip_features_new_wrapped(const GstDinoclipFeaturesShape* shape,
                                                                        const gfloat* tokens,
                                                                        const gfloat* cls_attention, gpointer user_data,
                                                                        GDestroyNotify notify);

/**
 * gst_dinoclip_features_new_deferred: (skip)
 * Defers the host transfer to the first read (see GstDinoclipFeaturesToHostFunc).
 */
GST_DINOCLIP_API GstDinoclipFeatures* gst_dinoclip_features_new_deferred(const GstDinoclipFeaturesShape* shape,
                                                                         GstDinoclipFeaturesToHostFunc to_host,
                                                                         gpointer user_data, GDestroyNotify notify);

/**
 * gst_dinoclip_features_get_producer_data: (skip)
 * The `user_data` given to _new_wrapped() or _new_deferred(), when `notify`
 * is the notify given there; NULL otherwise. Lets a producer recognise its own
 * payloads and reach what it keeps in them (dinofeatures: its tensors, on the
 * model's device) without a copy. The data lives as long as `features`.
 */
GST_DINOCLIP_API gpointer gst_dinoclip_features_get_producer_data(GstDinoclipFeatures* features,
                                                                  GDestroyNotify notify);

GST_DINOCLIP_API GstDinoclipFeatures* gst_dinoclip_features_ref(GstDinoclipFeatures* features);
GST_DINOCLIP_API void gst_dinoclip_features_unref(GstDinoclipFeatures* features);

GST_DINOCLIP_API const GstDinoclipFeaturesShape* gst_dinoclip_features_get_shape(const GstDinoclipFeatures* features);

/* Host floats (see the layouts above); valid while `features` is alive.
 * NULL when a deferred transfer failed, when asked for attention that was not
 * computed, or for a head index out of range. n_floats (nullable) receives the
 * number of floats. Thread-safe. */
/**
 * gst_dinoclip_features_get_tokens:
 * @n_floats: (out) (optional): number of floats
 *
 * Returns: (array length=n_floats) (transfer none) (nullable): [1 + grid_h * grid_w, dim] floats
 */
GST_DINOCLIP_API const gfloat* gst_dinoclip_features_get_tokens(GstDinoclipFeatures* features, gsize* n_floats);
/**
 * gst_dinoclip_features_get_cls_token:
 * @n_floats: (out) (optional): number of floats (dim)
 *
 * Returns: (array length=n_floats) (transfer none) (nullable): the CLS token
 */
GST_DINOCLIP_API const gfloat* gst_dinoclip_features_get_cls_token(GstDinoclipFeatures* features, gsize* n_floats);
/**
 * gst_dinoclip_features_get_patch_tokens:
 * @n_floats: (out) (optional): number of floats
 *
 * Returns: (array length=n_floats) (transfer none) (nullable): [grid_h * grid_w, dim] floats
 */
GST_DINOCLIP_API const gfloat* gst_dinoclip_features_get_patch_tokens(GstDinoclipFeatures* features, gsize* n_floats);
/**
 * gst_dinoclip_features_get_cls_attention:
 * @n_floats: (out) (optional): number of floats
 *
 * Returns: (array length=n_floats) (transfer none) (nullable): [n_heads, grid_h * grid_w] floats
 */
GST_DINOCLIP_API const gfloat* gst_dinoclip_features_get_cls_attention(GstDinoclipFeatures* features, gsize* n_floats);
/**
 * gst_dinoclip_features_get_head_attention: (skip)
 * One head's row of cls_attention: grid_height * grid_width floats.
 */
GST_DINOCLIP_API const gfloat* gst_dinoclip_features_get_head_attention(GstDinoclipFeatures* features, guint head);

/* The same arrays as GBytes (no copy: the bytes hold a reference to
 * `features`), for bindings: numpy.frombuffer(b.get_data(), numpy.float32).
 * NULL as for the pointer getters. */
/**
 * gst_dinoclip_features_get_tokens_bytes:
 * Returns: (transfer full) (nullable): the tokens, float32 [1 + grid_h * grid_w, dim]
 */
GST_DINOCLIP_API GBytes* gst_dinoclip_features_get_tokens_bytes(GstDinoclipFeatures* features);
/**
 * gst_dinoclip_features_get_cls_attention_bytes:
 * Returns: (transfer full) (nullable): the CLS attention, float32 [n_heads, grid_h * grid_w]
 */
GST_DINOCLIP_API GBytes* gst_dinoclip_features_get_cls_attention_bytes(GstDinoclipFeatures* features);

/* ---- the meta ---- */

typedef struct {
  GstMeta meta;
  GstDinoclipFeatures* features; /* the result (the meta holds a reference) */
  gboolean carried;              /* TRUE: computed on an earlier frame and reused */
  GstClockTime source_pts;       /* PTS of the frame the features were computed on */
} GstDinoclipFeaturesMeta;

#define GST_DINOCLIP_FEATURES_META_API_TYPE (gst_dinoclip_features_meta_api_get_type())
#define GST_DINOCLIP_FEATURES_META_INFO (gst_dinoclip_features_meta_get_info())

GST_DINOCLIP_API GType gst_dinoclip_features_meta_api_get_type(void);
GST_DINOCLIP_API const GstMetaInfo* gst_dinoclip_features_meta_get_info(void);

/**
 * gst_buffer_add_dinoclip_features_meta:
 * Adds a meta that takes a new reference to `features`.
 *
 * Returns: (transfer none) (nullable): the meta
 */
GST_DINOCLIP_API GstDinoclipFeaturesMeta* gst_buffer_add_dinoclip_features_meta(GstBuffer* buffer,
                                                                                GstDinoclipFeatures* features,
                                                                                gboolean carried,
                                                                                GstClockTime source_pts);

/**
 * gst_buffer_get_dinoclip_features_meta:
 * Returns: (transfer none) (nullable): the buffer's features meta
 */
GST_DINOCLIP_API GstDinoclipFeaturesMeta* gst_buffer_get_dinoclip_features_meta(GstBuffer* buffer);

G_END_DECLS
