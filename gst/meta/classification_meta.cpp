// GstDinoclipClassification payload and GstDinoclipClassificationMeta.
#include <gst/dinoclip/classification-meta.h>
#include <gst/video/video.h>

#include <algorithm>
#include <numeric>
#include <string>
#include <vector>

#include "meta_common.h"

struct _GstDinoclipClassification {
  dinoclip_meta::RefCount refs;
  std::vector<std::string> labels;
  std::vector<gfloat> scores;
  std::vector<guint> ranked;  // label indices, best first (top-k of them)
  std::vector<gfloat> embedding;  // the image embedding, empty when not set
  std::string embedding_model;    // its model (JSON), empty when not set
};

G_DEFINE_BOXED_TYPE(GstDinoclipClassification, gst_dinoclip_classification, gst_dinoclip_classification_ref,
                    gst_dinoclip_classification_unref)

namespace {

// The top_k label indices by descending score; stable, so ties keep label order.
std::vector<guint> rank_scores(const std::vector<gfloat>& scores, guint top_k) {
  std::vector<guint> order(scores.size());
  std::iota(order.begin(), order.end(), 0u);
  std::stable_sort(order.begin(), order.end(), [&](guint a, guint b) { return scores[a] > scores[b]; });
  if (top_k > 0 && top_k < order.size()) order.resize(top_k);
  return order;
}

}  // namespace

GstDinoclipClassification* gst_dinoclip_classification_new(const gchar* const* labels, const gfloat* scores,
                                                           guint n_labels, guint top_k) {
  g_return_val_if_fail(labels != nullptr && scores != nullptr, nullptr);
  g_return_val_if_fail(n_labels > 0, nullptr);
  for (guint i = 0; i < n_labels; ++i) g_return_val_if_fail(labels[i] != nullptr, nullptr);
  auto* classification = new GstDinoclipClassification;
  classification->labels.assign(labels, labels + n_labels);
  classification->scores.assign(scores, scores + n_labels);
  classification->ranked = rank_scores(classification->scores, top_k);
  return classification;
}

GstDinoclipClassification* gst_dinoclip_classification_ref(GstDinoclipClassification* classification) {
  g_return_val_if_fail(classification != nullptr, nullptr);
  classification->refs.ref();
  return classification;
}

void gst_dinoclip_classification_unref(GstDinoclipClassification* classification) {
  g_return_if_fail(classification != nullptr);
  if (classification->refs.unref()) delete classification;
}

guint gst_dinoclip_classification_get_n_labels(const GstDinoclipClassification* classification) {
  g_return_val_if_fail(classification != nullptr, 0);
  return classification->labels.size();
}

const gchar* gst_dinoclip_classification_get_label(const GstDinoclipClassification* classification, guint index) {
  g_return_val_if_fail(classification != nullptr, nullptr);
  return index < classification->labels.size() ? classification->labels[index].c_str() : nullptr;
}

gfloat gst_dinoclip_classification_get_score(const GstDinoclipClassification* classification, guint index) {
  g_return_val_if_fail(classification != nullptr, 0.0f);
  return index < classification->scores.size() ? classification->scores[index] : 0.0f;
}

guint gst_dinoclip_classification_get_top_k(const GstDinoclipClassification* classification) {
  g_return_val_if_fail(classification != nullptr, 0);
  return classification->ranked.size();
}

gboolean gst_dinoclip_classification_get_ranked(const GstDinoclipClassification* classification, guint rank,
                                                guint* index, const gchar** label, gfloat* score) {
  g_return_val_if_fail(classification != nullptr, FALSE);
  if (rank >= classification->ranked.size()) return FALSE;
  const guint i = classification->ranked[rank];
  if (index) *index = i;
  if (label) *label = classification->labels[i].c_str();
  if (score) *score = classification->scores[i];
  return TRUE;
}

void gst_dinoclip_classification_set_embedding(GstDinoclipClassification* classification, const gfloat* embedding,
                                               guint dim, const gchar* model) {
  g_return_if_fail(classification != nullptr);
  g_return_if_fail(embedding != nullptr || dim == 0);
  classification->embedding.assign(embedding, embedding + dim);
  classification->embedding_model = model ? model : "";
}

const gfloat* gst_dinoclip_classification_get_embedding(const GstDinoclipClassification* classification,
                                                        guint* dim) {
  if (dim) *dim = 0;
  g_return_val_if_fail(classification != nullptr, nullptr);
  if (classification->embedding.empty()) return nullptr;
  if (dim) *dim = classification->embedding.size();
  return classification->embedding.data();
}

const gchar* gst_dinoclip_classification_get_embedding_model(const GstDinoclipClassification* classification) {
  g_return_val_if_fail(classification != nullptr, nullptr);
  return classification->embedding_model.empty() ? nullptr : classification->embedding_model.c_str();
}

/* ---- the meta ---- */

namespace {

gboolean classification_meta_init(GstMeta* meta, gpointer, GstBuffer*) {
  auto* m = reinterpret_cast<GstDinoclipClassificationMeta*>(meta);
  m->classification = nullptr;
  m->carried = FALSE;
  m->source_pts = GST_CLOCK_TIME_NONE;
  return TRUE;
}

void classification_meta_free(GstMeta* meta, GstBuffer*) {
  auto* m = reinterpret_cast<GstDinoclipClassificationMeta*>(meta);
  if (m->classification) gst_dinoclip_classification_unref(m->classification);
  m->classification = nullptr;
}

// A label describes the whole picture: any full copy keeps it, whatever the
// size, orientation or colours of the frame become.
gboolean classification_meta_transform(GstBuffer* dest, GstMeta* meta, GstBuffer*, GQuark type, gpointer data) {
  if (GST_META_TRANSFORM_IS_COPY(type) && static_cast<GstMetaTransformCopy*>(data)->region) return FALSE;
  auto* m = reinterpret_cast<GstDinoclipClassificationMeta*>(meta);
  return gst_buffer_add_dinoclip_classification_meta_full(dest, m->classification, m->carried, m->source_pts) !=
         nullptr;
}

}  // namespace

GType gst_dinoclip_classification_meta_api_get_type(void) {
  static GType type = 0;
  static const gchar* tags[] = {GST_META_TAG_VIDEO_STR, nullptr};
  if (g_once_init_enter(&type)) {
    GType api = gst_meta_api_type_register("GstDinoclipClassificationMetaAPI", tags);
    g_once_init_leave(&type, api);
  }
  return type;
}

const GstMetaInfo* gst_dinoclip_classification_meta_get_info(void) {
  static const GstMetaInfo* info = nullptr;
  if (g_once_init_enter(&info)) {
    const GstMetaInfo* registered =
        gst_meta_register(GST_DINOCLIP_CLASSIFICATION_META_API_TYPE, "GstDinoclipClassificationMeta",
                          sizeof(GstDinoclipClassificationMeta), classification_meta_init, classification_meta_free,
                          classification_meta_transform);
    g_once_init_leave(&info, registered);
  }
  return info;
}

GstDinoclipClassificationMeta* gst_buffer_add_dinoclip_classification_meta(GstBuffer* buffer,
                                                                           GstDinoclipClassification* classification,
                                                                           gboolean carried) {
  return gst_buffer_add_dinoclip_classification_meta_full(buffer, classification, carried, GST_CLOCK_TIME_NONE);
}

GstDinoclipClassificationMeta* gst_buffer_add_dinoclip_classification_meta_full(
    GstBuffer* buffer, GstDinoclipClassification* classification, gboolean carried, GstClockTime source_pts) {
  g_return_val_if_fail(GST_IS_BUFFER(buffer), nullptr);
  g_return_val_if_fail(classification != nullptr, nullptr);
  auto* meta = reinterpret_cast<GstDinoclipClassificationMeta*>(
      gst_buffer_add_meta(buffer, GST_DINOCLIP_CLASSIFICATION_META_INFO, nullptr));
  if (!meta) return nullptr;
  meta->classification = gst_dinoclip_classification_ref(classification);
  meta->carried = carried;
  meta->source_pts = source_pts;
  return meta;
}

GstDinoclipClassificationMeta* gst_buffer_get_dinoclip_classification_meta(GstBuffer* buffer) {
  g_return_val_if_fail(GST_IS_BUFFER(buffer), nullptr);
  return reinterpret_cast<GstDinoclipClassificationMeta*>(
      gst_buffer_get_meta(buffer, GST_DINOCLIP_CLASSIFICATION_META_API_TYPE));
}
