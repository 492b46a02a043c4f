/* GstDinoclipClassification (labels with scores, ranked) and
 * GstDinoclipClassificationMeta. Refcounted and immutable. A label describes the
 * whole frame, so the meta survives scaling, flipping and colour conversion. */
#pragma once

#include <gst/dinoclip/meta-prelude.h>

G_BEGIN_DECLS

typedef struct _GstDinoclipClassification GstDinoclipClassification;

#define GST_TYPE_DINOCLIP_CLASSIFICATION (gst_dinoclip_classification_get_type())
GST_DINOCLIP_API GType gst_dinoclip_classification_get_type(void);

/**
 * gst_dinoclip_classification_new:
 * @labels: (array length=n_labels): the labels
 * @scores: (array length=n_labels): their scores
 * Copies n_labels labels and scores (any scale: probabilities, cosine
 * similarities, ...) and ranks the best top_k (clamped to n_labels; 0 = all)
 * by descending score, ties in label order. Returns NULL (with a g_critical)
 * when n_labels is 0 or a label is NULL.
 *
 * Returns: (transfer full) (nullable): the classification
 */
GST_DINOCLIP_API GstDinoclipClassification* gst_dinoclip_classification_new(const gchar* const* labels,
                                                                            const gfloat* scores, guint n_labels,
                                                                            guint top_k);

GST_DINOCLIP_API GstDinoclipClassification* gst_dinoclip_classification_ref(GstDinoclipClassification* classification);
GST_DINOCLIP_API void gst_dinoclip_classification_unref(GstDinoclipClassification* classification);

GST_DINOCLIP_API guint gst_dinoclip_classification_get_n_labels(const GstDinoclipClassification* classification);
/* Label i in the order given to _new(); NULL when out of range. */
GST_DINOCLIP_API const gchar* gst_dinoclip_classification_get_label(const GstDinoclipClassification* classification,
                                                                    guint index);
GST_DINOCLIP_API gfloat gst_dinoclip_classification_get_score(const GstDinoclipClassification* classification,
                                                              guint index);
/* Number of ranked entries (top-k). */
GST_DINOCLIP_API guint gst_dinoclip_classification_get_top_k(const GstDinoclipClassification* classification);
/**
 * gst_dinoclip_classification_get_ranked:
 * @index: (out) (optional): the label's index
 * @label: (out) (optional) (transfer none): the label
 * @score: (out) (optional): its score
 * The rank-th best (0 = best). FALSE when rank >= top-k.
 */
GST_DINOCLIP_API gboolean gst_dinoclip_classification_get_ranked(const GstDinoclipClassification* classification,
                                                                 guint rank, guint* index, const gchar** label,
                                                                 gfloat* score);

/**
 * gst_dinoclip_classification_set_embedding:
 * @embedding: (array length=dim): the CLIP image embedding the scores came from (the projection's output, not
 *   normalised)
 * @model: (nullable): the model that made it, as one line of JSON (name, weights, embed_dim, fingerprint), so a
 *   consumer can refuse to mix embedding spaces
 * Copies both. clipzeroshot sets them on every result it computes; call before attaching the payload to a buffer
 * (a payload shared by metas is not changed afterwards).
 */
GST_DINOCLIP_API void gst_dinoclip_classification_set_embedding(GstDinoclipClassification* classification,
                                                                const gfloat* embedding, guint dim,
                                                                const gchar* model);
/**
 * gst_dinoclip_classification_get_embedding:
 * @dim: (out) (optional): its length (0 when none)
 * Returns: (transfer none) (nullable) (array length=dim): the image embedding, NULL when none was set.
 */
GST_DINOCLIP_API const gfloat* gst_dinoclip_classification_get_embedding(
    const GstDinoclipClassification* classification, guint* dim);
/* The model description given with the embedding (JSON), NULL when none. */
GST_DINOCLIP_API const gchar* gst_dinoclip_classification_get_embedding_model(
    const GstDinoclipClassification* classification);

typedef struct {
  GstMeta meta;
  GstDinoclipClassification* classification; /* the meta holds a reference */
  gboolean carried;                          /* TRUE: computed on an earlier frame and reused */
  GstClockTime source_pts;                   /* PTS of the frame it was computed on (GST_CLOCK_TIME_NONE: not
                                              * recorded); with async-inference an older frame than this one */
} GstDinoclipClassificationMeta;

#define GST_DINOCLIP_CLASSIFICATION_META_API_TYPE (gst_dinoclip_classification_meta_api_get_type())
#define GST_DINOCLIP_CLASSIFICATION_META_INFO (gst_dinoclip_classification_meta_get_info())

GST_DINOCLIP_API GType gst_dinoclip_classification_meta_api_get_type(void);
GST_DINOCLIP_API const GstMetaInfo* gst_dinoclip_classification_meta_get_info(void);

/**
 * gst_buffer_add_dinoclip_classification_meta:
 * Returns: (transfer none) (nullable): the meta
 */
GST_DINOCLIP_API GstDinoclipClassificationMeta* gst_buffer_add_dinoclip_classification_meta(
    GstBuffer* buffer, GstDinoclipClassification* classification, gboolean carried);

/**
 * gst_buffer_add_dinoclip_classification_meta_full:
 *
 * The same, recording the PTS of the frame the result was computed on.
 *
 * Returns: (transfer none) (nullable): the meta
 */
GST_DINOCLIP_API GstDinoclipClassificationMeta* gst_buffer_add_dinoclip_classification_meta_full(
    GstBuffer* buffer, GstDinoclipClassification* classification, gboolean carried, GstClockTime source_pts);

/**
 * gst_buffer_get_dinoclip_classification_meta:
 * Returns: (transfer none) (nullable): the buffer's classification meta
 */
GST_DINOCLIP_API GstDinoclipClassificationMeta* gst_buffer_get_dinoclip_classification_meta(GstBuffer* buffer);

G_END_DECLS
