// The public meta library on its own: payload layouts, sharing, transforms.
#include <gst/dinoclip/dinoclip-meta.h>
#include <gst/video/video.h>
#include <gtest/gtest.h>

#include <numeric>
#include <vector>

namespace {

class GstEnvironment : public ::testing::Environment {
 public:
  void SetUp() override { gst_init(nullptr, nullptr); }
};
::testing::Environment* const gst_environment = ::testing::AddGlobalTestEnvironment(new GstEnvironment);

// grid 2x3, dim 4, 2 heads: tokens[i] = i, attention[i] = 1000 + i.
struct SmallResult {
  GstDinoclipFeaturesShape shape{2, 3, 4, 2, 8, 24, 16};
  std::vector<gfloat> tokens = std::vector<gfloat>((1 + 6) * 4);
  std::vector<gfloat> attention = std::vector<gfloat>(2 * 6);
  SmallResult() {
    std::iota(tokens.begin(), tokens.end(), 0.0f);
    std::iota(attention.begin(), attention.end(), 1000.0f);
  }
};

struct BufferDeleter {
  void operator()(GstBuffer* b) const { gst_buffer_unref(b); }
};
using Buffer = std::unique_ptr<GstBuffer, BufferDeleter>;

TEST(FeaturesPayload, CopiesArraysWithDocumentedLayout) {
  SmallResult r;
  GstDinoclipFeatures* f = gst_dinoclip_features_new(&r.shape, r.tokens.data(), r.attention.data());
  ASSERT_NE(f, nullptr);
  r.tokens[0] = -1.0f;  // the payload owns a copy
  gsize n = 0;
  const gfloat* tokens = gst_dinoclip_features_get_tokens(f, &n);
  EXPECT_EQ(n, 28u);
  EXPECT_EQ(tokens[0], 0.0f);
  EXPECT_EQ(gst_dinoclip_features_get_cls_token(f, &n)[3], 3.0f);
  EXPECT_EQ(n, 4u);
  const gfloat* patches = gst_dinoclip_features_get_patch_tokens(f, &n);
  EXPECT_EQ(n, 24u);
  EXPECT_EQ(patches[0], 4.0f);                 // patch (0, 0) is token 1
  EXPECT_EQ(patches[(1 * 3 + 2) * 4], 24.0f);  // patch (1, 2) is token 1 + 1*3 + 2 = 6
  EXPECT_EQ(gst_dinoclip_features_get_cls_attention(f, &n)[0], 1000.0f);
  EXPECT_EQ(n, 12u);
  EXPECT_EQ(gst_dinoclip_features_get_head_attention(f, 1)[0], 1006.0f);
  EXPECT_EQ(gst_dinoclip_features_get_head_attention(f, 2), nullptr);
  gst_dinoclip_features_unref(f);
}

TEST(FeaturesPayload, WrappedArraysAreNotCopiedAndNotifyRunsOnLastUnref) {
  SmallResult r;
  static int notified = 0;
  notified = 0;
  GstDinoclipFeatures* f = gst_dinoclip_features_new_wrapped(&r.shape, r.tokens.data(), r.attention.data(), &r,
                                                             [](gpointer) { ++notified; });
  EXPECT_EQ(gst_dinoclip_features_get_tokens(f, nullptr), r.tokens.data());
  EXPECT_EQ(gst_dinoclip_features_get_cls_attention(f, nullptr), r.attention.data());
  gst_dinoclip_features_ref(f);
  gst_dinoclip_features_unref(f);
  EXPECT_EQ(notified, 0);
  gst_dinoclip_features_unref(f);
  EXPECT_EQ(notified, 1);
}

TEST(FeaturesPayload, DeferredTransferRunsOnceOnFirstRead) {
  SmallResult r;
  struct Source {
    SmallResult* result;
    int calls = 0;
  } source{&r};
  auto to_host = [](gpointer data, const gfloat** tokens, const gfloat** attention) -> gboolean {
    auto* s = static_cast<Source*>(data);
    ++s->calls;
    *tokens = s->result->tokens.data();
    *attention = s->result->attention.data();
    return TRUE;
  };
  GstDinoclipFeatures* f = gst_dinoclip_features_new_deferred(&r.shape, to_host, &source, nullptr);
  EXPECT_EQ(source.calls, 0);
  EXPECT_EQ(gst_dinoclip_features_get_patch_tokens(f, nullptr)[0], 4.0f);
  EXPECT_EQ(gst_dinoclip_features_get_head_attention(f, 0)[5], 1005.0f);
  EXPECT_EQ(source.calls, 1);
  gst_dinoclip_features_unref(f);
}

TEST(FeaturesPayload, FailedDeferredTransferGivesNullNotGarbage) {
  SmallResult r;
  auto failing = [](gpointer, const gfloat**, const gfloat**) -> gboolean { return FALSE; };
  GstDinoclipFeatures* f = gst_dinoclip_features_new_deferred(&r.shape, failing, nullptr, nullptr);
  gsize n = 99;
  EXPECT_EQ(gst_dinoclip_features_get_tokens(f, &n), nullptr);
  EXPECT_EQ(n, 0u);
  EXPECT_EQ(gst_dinoclip_features_get_cls_attention(f, nullptr), nullptr);
  gst_dinoclip_features_unref(f);
}

TEST(FeaturesPayload, WithoutAttentionReturnsNullAttention) {
  SmallResult r;
  r.shape.n_heads = 0;
  GstDinoclipFeatures* f = gst_dinoclip_features_new(&r.shape, r.tokens.data(), nullptr);
  EXPECT_NE(gst_dinoclip_features_get_tokens(f, nullptr), nullptr);
  EXPECT_EQ(gst_dinoclip_features_get_cls_attention(f, nullptr), nullptr);
  EXPECT_EQ(gst_dinoclip_features_get_head_attention(f, 0), nullptr);
  gst_dinoclip_features_unref(f);
}

TEST(FeaturesPayload, RejectsEmptyGrid) {
  SmallResult r;
  r.shape.grid_width = 0;
  EXPECT_EQ(gst_dinoclip_features_new(&r.shape, r.tokens.data(), r.attention.data()), nullptr);
}

TEST(FeaturesMeta, RegistersApiWithVideoTags) {
  const GType api = GST_DINOCLIP_FEATURES_META_API_TYPE;
  EXPECT_TRUE(gst_meta_api_type_has_tag(api, g_quark_from_string(GST_META_TAG_VIDEO_STR)));
  EXPECT_TRUE(gst_meta_api_type_has_tag(api, g_quark_from_string(GST_META_TAG_VIDEO_SIZE_STR)));
  EXPECT_TRUE(gst_meta_api_type_has_tag(api, g_quark_from_string(GST_META_TAG_VIDEO_ORIENTATION_STR)));
  EXPECT_FALSE(gst_meta_api_type_has_tag(api, g_quark_from_string(GST_META_TAG_VIDEO_COLORSPACE_STR)));
  EXPECT_EQ(GST_DINOCLIP_FEATURES_META_INFO->api, api);
  EXPECT_STREQ(g_type_name(GST_DINOCLIP_FEATURES_META_INFO->type), "GstDinoclipFeaturesMeta");
}

TEST(FeaturesMeta, BufferCopySharesThePayload) {
  SmallResult r;
  GstDinoclipFeatures* f = gst_dinoclip_features_new(&r.shape, r.tokens.data(), r.attention.data());
  Buffer buffer(gst_buffer_new_allocate(nullptr, 64, nullptr));
  gst_buffer_add_dinoclip_features_meta(buffer.get(), f, TRUE, 5 * GST_SECOND);
  gst_dinoclip_features_unref(f);  // the meta holds its own reference

  Buffer copy(gst_buffer_copy(buffer.get()));
  GstDinoclipFeaturesMeta* meta = gst_buffer_get_dinoclip_features_meta(copy.get());
  ASSERT_NE(meta, nullptr);
  EXPECT_EQ(meta->features, gst_buffer_get_dinoclip_features_meta(buffer.get())->features);
  EXPECT_TRUE(meta->carried);
  EXPECT_EQ(meta->source_pts, 5 * GST_SECOND);
  buffer.reset();  // the copy keeps the payload alive
  EXPECT_EQ(gst_dinoclip_features_get_tokens(meta->features, nullptr)[27], 27.0f);
}

TEST(FeaturesMeta, RegionCopyDropsTheMeta) {
  SmallResult r;
  GstDinoclipFeatures* f = gst_dinoclip_features_new(&r.shape, r.tokens.data(), r.attention.data());
  Buffer buffer(gst_buffer_new_allocate(nullptr, 64, nullptr));
  gst_buffer_add_dinoclip_features_meta(buffer.get(), f, FALSE, 0);
  gst_dinoclip_features_unref(f);
  Buffer part(gst_buffer_copy_region(buffer.get(), GST_BUFFER_COPY_ALL, 8, 16));
  EXPECT_EQ(gst_buffer_get_dinoclip_features_meta(part.get()), nullptr);
}

TEST(FeaturesMeta, ScaleTransformKeepsThePayloadOtherTransformsDrop) {
  SmallResult r;
  GstDinoclipFeatures* f = gst_dinoclip_features_new(&r.shape, r.tokens.data(), r.attention.data());
  Buffer buffer(gst_buffer_new_allocate(nullptr, 64, nullptr));
  GstDinoclipFeaturesMeta* meta = gst_buffer_add_dinoclip_features_meta(buffer.get(), f, FALSE, 0);
  gst_dinoclip_features_unref(f);

  GstVideoInfo in, out;
  gst_video_info_set_format(&in, GST_VIDEO_FORMAT_RGB, 64, 48);
  gst_video_info_set_format(&out, GST_VIDEO_FORMAT_RGB, 32, 24);
  GstVideoMetaTransform scale{&in, &out};
  Buffer scaled(gst_buffer_new());
  ASSERT_TRUE(meta->meta.info->transform_func(scaled.get(), &meta->meta, buffer.get(),
                                              gst_video_meta_transform_scale_get_quark(), &scale));
  EXPECT_EQ(gst_buffer_get_dinoclip_features_meta(scaled.get())->features, meta->features);

  Buffer other(gst_buffer_new());
  EXPECT_FALSE(meta->meta.info->transform_func(other.get(), &meta->meta, buffer.get(),
                                               g_quark_from_string("gst-video-rotate"), nullptr));
  EXPECT_EQ(gst_buffer_get_dinoclip_features_meta(other.get()), nullptr);
}

TEST(SegmentationPayload, KeepsMapPaletteAndSurvivesCopy) {
  const guint8 map[6] = {0, 1, 2, 2, 1, 0};
  const guint8 palette[9] = {0, 0, 0, 128, 0, 0, 0, 128, 0};
  GstDinoclipSegmentation* s = gst_dinoclip_segmentation_new(3, 2, 3, map, palette);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(gst_dinoclip_segmentation_get_width(s), 3u);
  EXPECT_EQ(gst_dinoclip_segmentation_get_height(s), 2u);
  EXPECT_EQ(gst_dinoclip_segmentation_get_n_classes(s), 3u);
  EXPECT_EQ(gst_dinoclip_segmentation_get_class_map(s)[3], 2);
  EXPECT_EQ(gst_dinoclip_segmentation_get_palette(s)[3], 128);

  Buffer buffer(gst_buffer_new_allocate(nullptr, 16, nullptr));
  gst_buffer_add_dinoclip_segmentation_meta(buffer.get(), s, TRUE);
  gst_dinoclip_segmentation_unref(s);
  Buffer copy(gst_buffer_copy(buffer.get()));
  GstDinoclipSegmentationMeta* meta = gst_buffer_get_dinoclip_segmentation_meta(copy.get());
  ASSERT_NE(meta, nullptr);
  EXPECT_TRUE(meta->carried);
  EXPECT_EQ(meta->segmentation, gst_buffer_get_dinoclip_segmentation_meta(buffer.get())->segmentation);
}

TEST(SegmentationPayload, WithoutPaletteReturnsNull) {
  const guint8 map[4] = {0, 1, 1, 0};
  GstDinoclipSegmentation* s = gst_dinoclip_segmentation_new(2, 2, 2, map, nullptr);
  EXPECT_EQ(gst_dinoclip_segmentation_get_palette(s), nullptr);
  gst_dinoclip_segmentation_unref(s);
}

TEST(SegmentationPayload, RejectsClassIdsBeyondNClasses) {
  const guint8 map[4] = {0, 1, 5, 0};
  EXPECT_EQ(gst_dinoclip_segmentation_new(2, 2, 3, map, nullptr), nullptr);
}

TEST(ClassificationPayload, RanksTopKByScoreTiesInLabelOrder) {
  const gchar* labels[] = {"cat", "dog", "bird", "fish"};
  const gfloat scores[] = {0.2f, 0.5f, 0.2f, 0.1f};
  GstDinoclipClassification* c = gst_dinoclip_classification_new(labels, scores, 4, 3);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(gst_dinoclip_classification_get_n_labels(c), 4u);
  EXPECT_EQ(gst_dinoclip_classification_get_top_k(c), 3u);
  guint index;
  const gchar* label;
  gfloat score;
  ASSERT_TRUE(gst_dinoclip_classification_get_ranked(c, 0, &index, &label, &score));
  EXPECT_EQ(index, 1u);
  EXPECT_STREQ(label, "dog");
  EXPECT_FLOAT_EQ(score, 0.5f);
  ASSERT_TRUE(gst_dinoclip_classification_get_ranked(c, 1, &index, nullptr, nullptr));
  EXPECT_EQ(index, 0u);  // cat before bird: same score, earlier label
  ASSERT_TRUE(gst_dinoclip_classification_get_ranked(c, 2, &index, nullptr, nullptr));
  EXPECT_EQ(index, 2u);
  EXPECT_FALSE(gst_dinoclip_classification_get_ranked(c, 3, nullptr, nullptr, nullptr));
  EXPECT_STREQ(gst_dinoclip_classification_get_label(c, 3), "fish");
  EXPECT_EQ(gst_dinoclip_classification_get_label(c, 4), nullptr);
  gst_dinoclip_classification_unref(c);
}

TEST(ClassificationPayload, TopKZeroRanksAll) {
  const gchar* labels[] = {"a", "b"};
  const gfloat scores[] = {1.0f, 2.0f};
  GstDinoclipClassification* c = gst_dinoclip_classification_new(labels, scores, 2, 0);
  EXPECT_EQ(gst_dinoclip_classification_get_top_k(c), 2u);
  gst_dinoclip_classification_unref(c);
}

TEST(ClassificationMeta, SurvivesScaleAndCopyWithVideoTagOnly) {
  const GType api = GST_DINOCLIP_CLASSIFICATION_META_API_TYPE;
  EXPECT_TRUE(gst_meta_api_type_has_tag(api, g_quark_from_string(GST_META_TAG_VIDEO_STR)));
  EXPECT_FALSE(gst_meta_api_type_has_tag(api, g_quark_from_string(GST_META_TAG_VIDEO_SIZE_STR)));
  const gchar* labels[] = {"a"};
  const gfloat scores[] = {1.0f};
  GstDinoclipClassification* c = gst_dinoclip_classification_new(labels, scores, 1, 1);
  Buffer buffer(gst_buffer_new_allocate(nullptr, 16, nullptr));
  gst_buffer_add_dinoclip_classification_meta(buffer.get(), c, FALSE);
  gst_dinoclip_classification_unref(c);
  Buffer copy(gst_buffer_copy(buffer.get()));
  ASSERT_NE(gst_buffer_get_dinoclip_classification_meta(copy.get()), nullptr);
  EXPECT_STREQ(
      gst_dinoclip_classification_get_label(gst_buffer_get_dinoclip_classification_meta(copy.get())->classification, 0),
      "a");
}

TEST(ClassificationPayload, RejectsNoLabels) {
  const gfloat scores[] = {1.0f};
  const gchar* labels[] = {nullptr};
  EXPECT_EQ(gst_dinoclip_classification_new(labels, scores, 0, 1), nullptr);
  EXPECT_EQ(gst_dinoclip_classification_new(labels, scores, 1, 1), nullptr);
}

TEST(BoxedTypes, AreRegisteredForBindings) {
  EXPECT_TRUE(G_TYPE_IS_BOXED(GST_TYPE_DINOCLIP_FEATURES));
  EXPECT_TRUE(G_TYPE_IS_BOXED(GST_TYPE_DINOCLIP_SEGMENTATION));
  EXPECT_TRUE(G_TYPE_IS_BOXED(GST_TYPE_DINOCLIP_CLASSIFICATION));
}

}  // namespace
