/* GstDinoclipSegmentation (a per-pixel class map) and GstDinoclipSegmentationMeta.
 *
 * The class map is guint8 [height, width], C order, one class id per cell
 * (0 = background by convention, ids < n_classes). Its grid covers the whole
 * frame, whatever its own resolution: cell (y, x) maps to the frame rectangle
 * [x, x+1) * frame_width / width, [y, y+1) * frame_height / height.
 * Refcounted and immutable, like GstDinoclipFeatures. */
#pragma once

#include <gst/dinoclip/meta-prelude.h>

G_BEGIN_DECLS

typedef struct _GstDinoclipSegmentation GstDinoclipSegmentation;

#define GST_TYPE_DINOCLIP_SEGMENTATION (gst_dinoclip_segmentation_get_type())
GST_DINOCLIP_API GType gst_dinoclip_segmentation_get_type(void);

/**
 * gst_dinoclip_segmentation_new: (skip)
 * Copies class_map (width * height bytes) and palette (n_classes RGB
 * triplets; NULL lets the consumer choose, attnoverlay uses the DAVIS
 * palette). Returns NULL (with a g_critical) if a class id >= n_classes,
 * n_classes > 256 or a size is 0.
 */
GST_DINOCLIP_API GstDinoclipSegmentation* gst_dinoclip_segmentation_new(guint width, guint height, guint n_classes,
                                                                        const guint8* class_map, const guint8* palette);

GST_DINOCLIP_API GstDinoclipSegmentation* gst_dinoclip_segmentation_ref(GstDinoclipSegmentation* segmentation);
GST_DINOCLIP_API void gst_dinoclip_segmentation_unref(GstDinoclipSegmentation* segmentation);

GST_DINOCLIP_API guint gst_dinoclip_segmentation_get_width(const GstDinoclipSegmentation* segmentation);
GST_DINOCLIP_API guint gst_dinoclip_segmentation_get_height(const GstDinoclipSegmentation* segmentation);
GST_DINOCLIP_API guint gst_dinoclip_segmentation_get_n_classes(const GstDinoclipSegmentation* segmentation);
/**
 * gst_dinoclip_segmentation_get_class_map: (skip)
 * width * height class ids, row-major (bindings: get_class_map_bytes).
 */
GST_DINOCLIP_API const guint8* gst_dinoclip_segmentation_get_class_map(const GstDinoclipSegmentation* segmentation);
/**
 * gst_dinoclip_segmentation_get_palette: (skip)
 * n_classes * 3 bytes (RGB), or NULL when the producer gave none.
 */
GST_DINOCLIP_API const guint8* gst_dinoclip_segmentation_get_palette(const GstDinoclipSegmentation* segmentation);
/**
 * gst_dinoclip_segmentation_get_class_map_bytes:
 * The class map as GBytes (no copy: holds a reference to `segmentation`), for
 * bindings: numpy.frombuffer(b.get_data(), numpy.uint8).reshape(height, width).
 *
 * Returns: (transfer full): width * height class ids, row-major
 */
GST_DINOCLIP_API GBytes* gst_dinoclip_segmentation_get_class_map_bytes(GstDinoclipSegmentation* segmentation);

typedef struct {
  GstMeta meta;
  GstDinoclipSegmentation* segmentation; /* the meta holds a reference */
  gboolean carried;                      /* TRUE: computed on an earlier frame and reused */
} GstDinoclipSegmentationMeta;

#define GST_DINOCLIP_SEGMENTATION_META_API_TYPE (gst_dinoclip_segmentation_meta_api_get_type())
#define GST_DINOCLIP_SEGMENTATION_META_INFO (gst_dinoclip_segmentation_meta_get_info())

GST_DINOCLIP_API GType gst_dinoclip_segmentation_meta_api_get_type(void);
GST_DINOCLIP_API const GstMetaInfo* gst_dinoclip_segmentation_meta_get_info(void);

/**
 * gst_buffer_add_dinoclip_segmentation_meta:
 * Returns: (transfer none) (nullable): the meta
 */
GST_DINOCLIP_API GstDinoclipSegmentationMeta* gst_buffer_add_dinoclip_segmentation_meta(
    GstBuffer* buffer, GstDinoclipSegmentation* segmentation, gboolean carried);

/**
 * gst_buffer_get_dinoclip_segmentation_meta:
 * Returns: (transfer none) (nullable): the buffer's segmentation meta
 */
GST_DINOCLIP_API GstDinoclipSegmentationMeta* gst_buffer_get_dinoclip_segmentation_meta(GstBuffer* buffer);

G_END_DECLS
