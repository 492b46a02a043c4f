// dinofeatures, attnoverlay and dinoseg through GstHarness on the tiny
// DINOv2 (patch 14, 4 registers) and DINOv3 (patch 16, RoPE, 4 storage
// tokens) fixtures: the meta holds the official code's values, the overlay
// and the segmentation follow the meta exactly as lib/ computes them.
#include <gst/dinoclip/dinoclip-meta.h>

#include <string>

#include "element_test_util.h"
#include "io/image_file.h"
#include "io/npy.h"
#include "models/dino.h"
#include "tasks/label_grid.h"
#include "tasks/seg_head.h"
#include "vision/overlay.h"
#include "vision/synthetic.h"

namespace dinoclip::testing {
namespace {

constexpr double kGoldenTolerance = 1e-4;  // element vs the Python reference (same bound as dino_tiny's)
constexpr GstClockTime kFrame = GST_SECOND / 30;

struct Family {
  const char* name;
  const char* model;    // fixture path
  const char* picture;  // fixture picture, run at its own size
  int width, height, patch;
};

const Family kFamilies[] = {
    {"dinov2", "dinov2_tiny/dinov2_tiny.pth", "dinov2_tiny/img1_168x98", 168, 98, 14},
    {"dinov3", "dinov3_tiny/dinov3_tiny.pth", "dinov3_tiny/img1_240x160", 240, 160, 16},
};

Harness features_harness(const std::string& model, const std::string& properties, int width, int height) {
  // heads=4: the DINOv2 toy's head count is not derivable from its width (DINOv3's periods agree).
  const std::string launch = "dinofeatures model=\"" + model + "\" heads=4 " + properties;
  Harness h(gst_harness_new_parse(launch.c_str()));
  gst_harness_set_src_caps_str(h.get(), caps_string(GST_VIDEO_FORMAT_RGB, width, height).c_str());
  return h;
}

class DinoFamilyElements : public ::testing::TestWithParam<Family> {};

// The picture the reference was computed on, at its own size: the meta holds
// [CLS, patches] (registers left out) and the CLS attention over the patches.
TEST_P(DinoFamilyElements, FeaturesMetaMatchesPythonReference) {
  const Family& f = GetParam();
  DINOCLIP_REQUIRE_FIXTURE(model, f.model);
  DINOCLIP_REQUIRE_FIXTURE(png, std::string(f.picture) + ".png");
  const Image picture = read_image(png);
  ASSERT_EQ(picture.width, f.width);
  Harness h = features_harness(model, "input-size=" + std::to_string(f.width) + "x" + std::to_string(f.height),
                               f.width, f.height);
  ASSERT_EQ(gst_harness_push(h.get(), make_frame(picture, GST_VIDEO_FORMAT_RGB, 0, kFrame)), GST_FLOW_OK);
  Buffer out(gst_harness_pull(h.get()));
  GstDinoclipFeaturesMeta* meta = gst_buffer_get_dinoclip_features_meta(out.get());
  ASSERT_NE(meta, nullptr);
  const GstDinoclipFeaturesShape* shape = gst_dinoclip_features_get_shape(meta->features);
  EXPECT_EQ(shape->patch_size, guint(f.patch));
  EXPECT_EQ(shape->grid_width, guint(f.width / f.patch));
  EXPECT_EQ(shape->grid_height, guint(f.height / f.patch));
  EXPECT_EQ(shape->n_heads, 4u);
  const at::Tensor cls = read_npy(fixture_file(std::string(f.picture) + "_cls.npy"));
  const at::Tensor patches = read_npy(fixture_file(std::string(f.picture) + "_patch_tokens.npy"));
  const at::Tensor attention = read_npy(fixture_file(std::string(f.picture) + "_attn_cls.npy"));
  EXPECT_TENSOR_NEAR(meta_tokens(meta->features), at::cat({cls.unsqueeze(0), patches}, 0), kGoldenTolerance);
  EXPECT_TENSOR_NEAR(meta_attention(meta->features), attention, kGoldenTolerance);
}

// attnoverlay draws the mean CLS attention of a 14- or 16-pixel patch grid
// exactly as lib/vision does from the meta.
TEST_P(DinoFamilyElements, AttentionOverlayEqualsLibDrawing) {
  const Family& f = GetParam();
  DINOCLIP_REQUIRE_FIXTURE(model, f.model);
  const int width = 6 * f.patch, height = 4 * f.patch;  // a 6x4 grid at the frame's own size
  const std::string launch = "dinofeatures model=\"" + model + "\" heads=4 input-size=native ! attnoverlay " +
                             "mode=attention alpha=0.7";
  Harness h(gst_harness_new_parse(launch.c_str()));
  gst_harness_set_src_caps_str(h.get(), caps_string(GST_VIDEO_FORMAT_RGB, width, height).c_str());
  GstBuffer* frame = make_frame(scene_frame(width, height, 1), GST_VIDEO_FORMAT_RGB, 0, kFrame);
  Buffer input(gst_buffer_copy_deep(frame));
  ASSERT_EQ(gst_harness_push(h.get(), frame), GST_FLOW_OK);
  Buffer out(gst_harness_pull(h.get()));
  GstDinoclipFeaturesMeta* meta = gst_buffer_get_dinoclip_features_meta(out.get());
  ASSERT_NE(meta, nullptr);
  const GstDinoclipFeaturesShape* shape = gst_dinoclip_features_get_shape(meta->features);
  ASSERT_EQ(shape->grid_width, 6u);
  ASSERT_EQ(shape->grid_height, 4u);
  const at::Tensor mean = meta_attention(meta->features).view({4, 4, 6}).mean(0);
  std::vector<guint8> expected = buffer_bytes(input.get());
  draw_head_strip(MutableImageView{expected.data(), width, height, std::ptrdiff_t(width) * 3, PixelFormat::kRGB},
                  mean.unsqueeze(0), Colormap::kInferno, 0.7f);
  EXPECT_EQ(buffer_bytes(out.get()), expected);
  EXPECT_NE(buffer_bytes(out.get()), buffer_bytes(input.get()));
}

// dinoseg on the family's patch tokens: the class map of each frame is the
// argmax of the saved head on the frame's own meta tokens.
TEST_P(DinoFamilyElements, SegmentationFollowsTheTrainedHeadOnTheMetaTokens) {
  const Family& f = GetParam();
  DINOCLIP_REQUIRE_FIXTURE(model, f.model);
  const int width = 6 * f.patch, height = 4 * f.patch;
  const std::string dir = temp_dir() + "/families_" + f.name;
  g_mkdir_with_parents(dir.c_str(), 0755);
  SyntheticScene scene(width, height, /*objects=*/2, /*seed=*/5);
  const std::string mask_path = dir + "/00000.png";
  write_palette_png(mask_path, scene.render(0).mask, davis_palette());
  const std::string head_path = dir + "/head.safetensors";
  std::remove(head_path.c_str());
  const std::string launch = "dinofeatures model=\"" + model + "\" heads=4 input-size=native ! dinoseg num-iters=30 " +
                             "annotation=" + mask_path + " save-head=" + head_path;
  Harness h(gst_harness_new_parse(launch.c_str()));
  gst_harness_set_src_caps_str(h.get(), caps_string(GST_VIDEO_FORMAT_RGB, width, height).c_str());
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(gst_harness_push(h.get(), make_frame(scene.render(i).rgb, GST_VIDEO_FORMAT_RGB, i * kFrame, kFrame)),
              GST_FLOW_OK);
  }
  const SegHead head = SegHead::load(head_path);
  for (int i = 0; i < 3; ++i) {
    Buffer out(gst_harness_pull(h.get()));
    GstDinoclipFeaturesMeta* features = gst_buffer_get_dinoclip_features_meta(out.get());
    ASSERT_NE(features, nullptr);
    const GstDinoclipFeaturesShape* shape = gst_dinoclip_features_get_shape(features->features);
    const at::Tensor patches = meta_tokens(features->features).narrow(0, 1, shape->grid_height * shape->grid_width);
    const Image expected =
        mask_tensor_to_image(head.predict_mask(patches, int(shape->grid_height), int(shape->grid_width), height, width));
    GstDinoclipSegmentationMeta* seg = gst_buffer_get_dinoclip_segmentation_meta(out.get());
    ASSERT_NE(seg, nullptr) << "frame " << i;
    const guint8* map = gst_dinoclip_segmentation_get_class_map(seg->segmentation);
    EXPECT_EQ(std::vector<guint8>(map, map + size_t(width) * height), expected.pixels) << "frame " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Families, DinoFamilyElements, ::testing::ValuesIn(kFamilies),
                         [](const ::testing::TestParamInfo<Family>& info) { return std::string(info.param.name); });

// pos-interpolation reaches the model: on DINOv2, offset gives what the
// library gives with the scale-factor recipe (not the registers' default).
TEST(DinoFamilyElements, Dinov2PosInterpolationPropertyReachesTheModel) {
  DINOCLIP_REQUIRE_FIXTURE(model, "dinov2_tiny/dinov2_tiny.pth");
  const Image picture = read_image(fixture_file("dinov2_tiny/img1_168x98.png"));
  Harness h = features_harness(model, "input-size=168x98 pos-interpolation=offset", 168, 98);
  ASSERT_EQ(gst_harness_push(h.get(), make_frame(picture, GST_VIDEO_FORMAT_RGB, 0, kFrame)), GST_FLOW_OK);
  Buffer out(gst_harness_pull(h.get()));
  GstDinoclipFeaturesMeta* meta = gst_buffer_get_dinoclip_features_meta(out.get());
  ASSERT_NE(meta, nullptr);
  DinoLoadOptions load;
  load.num_heads = 4;
  load.pos_interpolation = PosInterpolation::kScaleOffset;
  const at::Tensor expected =
      DinoModel::load(model, load).forward(read_npy(fixture_file("dinov2_tiny/img1_168x98_input.npy")).unsqueeze(0))
          .tokens[0];
  EXPECT_TENSOR_NEAR(meta_tokens(meta->features), expected, kGoldenTolerance);
  const at::Tensor reference_patches = read_npy(fixture_file("dinov2_tiny/img1_168x98_patch_tokens.npy"));
  EXPECT_GT(max_abs_diff(meta_tokens(meta->features).narrow(0, 1, 84), reference_patches), 1e-3)
      << "offset must differ from the registers recipe the reference used";
}

TEST(DinoFamilyElements, RejectsPosInterpolationOnDinov3AtStart) {
  DINOCLIP_REQUIRE_FIXTURE(model, "dinov3_tiny/dinov3_tiny.pth");
  StartResult r = start_element("dinofeatures model=" + model + " pos-interpolation=antialias");
  EXPECT_EQ(r.ret, GST_STATE_CHANGE_FAILURE);
  ASSERT_NE(r.error, nullptr) << "no error on the bus";
  const std::string text = std::string(r.error->message) + " " + r.debug;
  EXPECT_NE(text.find("no position embedding to interpolate"), std::string::npos) << text;
  g_error_free(r.error);
}

}  // namespace
}  // namespace dinoclip::testing
