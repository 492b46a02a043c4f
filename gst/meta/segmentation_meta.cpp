// GstDinoclipSegmentation payload and GstDinoclipSegmentationMeta.
#include <gst/dinoclip/segmentation-meta.h>
#include <gst/video/video.h>

#include <algorithm>
#include <vector>

#include "meta_common.h"

struct _GstDinoclipSegmentation {
  dinoclip_meta::RefCount refs;
  guint width = 0;
  guint height = 0;
  guint n_classes = 0;
  std::vector<guint8> class_map;
  std::vector<guint8> palette;  // empty: none given
};

G_DEFINE_BOXED_TYPE(GstDinoclipSegmentation, gst_dinoclip_segmentation, gst_dinoclip_segmentation_ref,
                    gst_dinoclip_segmentation_unref)

GstDinoclipSegmentation* gst_dinoclip_segmentation_new(guint width, guint height, guint n_classes,
                                                       const guint8* class_map, const guint8* palette) {
  g_return_val_if_fail(width > 0 && height > 0, nullptr);
  g_return_val_if_fail(n_classes > 0 && n_classes <= 256, nullptr);
  g_return_val_if_fail(class_map != nullptr, nullptr);
  const gsize cells = gsize(width) * height;
  const guint8 largest = *std::max_element(class_map, class_map + cells);
  if (largest >= n_classes) {
    g_critical("gst_dinoclip_segmentation_new: class id %u in the map but n_classes is %u", largest, n_classes);
    return nullptr;
  }
  auto* segmentation = new GstDinoclipSegmentation;
  segmentation->width = width;
  segmentation->height = height;
  segmentation->n_classes = n_classes;
  segmentation->class_map.assign(class_map, class_map + cells);
  if (palette) segmentation->palette.assign(palette, palette + gsize(n_classes) * 3);
  return segmentation;
}

GstDinoclipSegmentation* gst_dinoclip_segmentation_ref(GstDinoclipSegmentation* segmentation) {
  g_return_val_if_fail(segmentation != nullptr, nullptr);
  segmentation->refs.ref();
  return segmentation;
}

void gst_dinoclip_segmentation_unref(GstDinoclipSegmentation* segmentation) {
  g_return_if_fail(segmentation != nullptr);
  if (segmentation->refs.unref()) delete segmentation;
}

guint gst_dinoclip_segmentation_get_width(const GstDinoclipSegmentation* segmentation) {
  g_return_val_if_fail(segmentation != nullptr, 0);
  return segmentation->width;
}

guint gst_dinoclip_segmentation_get_height(const GstDinoclipSegmentation* segmentation) {
  g_return_val_if_fail(segmentation != nullptr, 0);
  return segmentation->height;
}

guint gst_dinoclip_segmentation_get_n_classes(const GstDinoclipSegmentation* segmentation) {
  g_return_val_if_fail(segmentation != nullptr, 0);
  return segmentation->n_classes;
}

const guint8* gst_dinoclip_segmentation_get_class_map(const GstDinoclipSegmentation* segmentation) {
  g_return_val_if_fail(segmentation != nullptr, nullptr);
  return segmentation->class_map.data();
}

const guint8* gst_dinoclip_segmentation_get_palette(const GstDinoclipSegmentation* segmentation) {
  g_return_val_if_fail(segmentation != nullptr, nullptr);
  return segmentation->palette.empty() ? nullptr : segmentation->palette.data();
}

/* ---- the meta ---- */

namespace {

gboolean segmentation_meta_init(GstMeta* meta, gpointer, GstBuffer*) {
  auto* m = reinterpret_cast<GstDinoclipSegmentationMeta*>(meta);
  m->segmentation = nullptr;
  m->carried = FALSE;
  return TRUE;
}

void segmentation_meta_free(GstMeta* meta, GstBuffer*) {
  auto* m = reinterpret_cast<GstDinoclipSegmentationMeta*>(meta);
  if (m->segmentation) gst_dinoclip_segmentation_unref(m->segmentation);
  m->segmentation = nullptr;
}

gboolean segmentation_meta_transform(GstBuffer* dest, GstMeta* meta, GstBuffer*, GQuark type, gpointer data) {
  if (!dinoclip_meta::whole_frame_payload_survives(type, data)) return FALSE;
  auto* m = reinterpret_cast<GstDinoclipSegmentationMeta*>(meta);
  return gst_buffer_add_dinoclip_segmentation_meta(dest, m->segmentation, m->carried) != nullptr;
}

}  // namespace

GType gst_dinoclip_segmentation_meta_api_get_type(void) {
  static GType type = 0;
  static const gchar* tags[] = {GST_META_TAG_VIDEO_STR, GST_META_TAG_VIDEO_ORIENTATION_STR, GST_META_TAG_VIDEO_SIZE_STR,
                                nullptr};
  if (g_once_init_enter(&type)) {
    GType api = gst_meta_api_type_register("GstDinoclipSegmentationMetaAPI", tags);
    g_once_init_leave(&type, api);
  }
  return type;
}

const GstMetaInfo* gst_dinoclip_segmentation_meta_get_info(void) {
  static const GstMetaInfo* info = nullptr;
  if (g_once_init_enter(&info)) {
    const GstMetaInfo* registered = gst_meta_register(
        GST_DINOCLIP_SEGMENTATION_META_API_TYPE, "GstDinoclipSegmentationMeta", sizeof(GstDinoclipSegmentationMeta),
        segmentation_meta_init, segmentation_meta_free, segmentation_meta_transform);
    g_once_init_leave(&info, registered);
  }
  return info;
}

GstDinoclipSegmentationMeta* gst_buffer_add_dinoclip_segmentation_meta(GstBuffer* buffer,
                                                                       GstDinoclipSegmentation* segmentation,
                                                                       gboolean carried) {
  g_return_val_if_fail(GST_IS_BUFFER(buffer), nullptr);
  g_return_val_if_fail(segmentation != nullptr, nullptr);
  auto* meta = reinterpret_cast<GstDinoclipSegmentationMeta*>(
      gst_buffer_add_meta(buffer, GST_DINOCLIP_SEGMENTATION_META_INFO, nullptr));
  if (!meta) return nullptr;
  meta->segmentation = gst_dinoclip_segmentation_ref(segmentation);
  meta->carried = carried;
  return meta;
}

GstDinoclipSegmentationMeta* gst_buffer_get_dinoclip_segmentation_meta(GstBuffer* buffer) {
  g_return_val_if_fail(GST_IS_BUFFER(buffer), nullptr);
  return reinterpret_cast<GstDinoclipSegmentationMeta*>(
      gst_buffer_get_meta(buffer, GST_DINOCLIP_SEGMENTATION_META_API_TYPE));
}

GBytes* gst_dinoclip_segmentation_get_class_map_bytes(GstDinoclipSegmentation* segmentation) {
  g_return_val_if_fail(segmentation != nullptr, nullptr);
  return g_bytes_new_with_free_func(segmentation->class_map.data(), segmentation->class_map.size(),
                                    reinterpret_cast<GDestroyNotify>(gst_dinoclip_segmentation_unref),
                                    gst_dinoclip_segmentation_ref(segmentation));
}
