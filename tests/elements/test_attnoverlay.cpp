// attnoverlay through GstHarness: each mode draws exactly what lib/vision
// draws for the meta the frame carries. With random weights attention is not
// semantic, so the checks follow the meta's values, not the picture content.
#include <gst/dinoclip/dinoclip-meta.h>

#include <functional>
#include <string>

#include "core/device.h"
#include "element_test_util.h"
#include "vision/color_convert.h"
#include "vision/overlay.h"
#include "vision/pca.h"
#include "vision/text_render.h"
#include "vision/yuv_overlay_canvas.h"

namespace dinoclip::testing {
namespace {

constexpr const char* kModel = "dino_tiny/dino_tiny.safetensors";
constexpr GstClockTime kFrame = GST_SECOND / 30;

// grid 8x12 (input 96x64) on 84x56 frames: 7 pixels per patch, odd, so
// pixel 7k+3 is exactly patch k's centre under bilinear (align_corners=false).
constexpr int kWidth = 84, kHeight = 56, kScale = 7, kGridW = 12, kGridH = 8;

Harness overlay_harness(const std::string& model, const std::string& overlay_properties,
                        GstVideoFormat format = GST_VIDEO_FORMAT_RGB) {
  const std::string launch =
      "dinofeatures model=\"" + model + "\" heads=4 input-size=96x64 ! attnoverlay " + overlay_properties;
  Harness h(gst_harness_new_parse(launch.c_str()));
  gst_harness_set_src_caps_str(h.get(), caps_string(format, kWidth, kHeight).c_str());
  return h;
}

Harness bare_overlay_harness(const std::string& properties, GstVideoFormat format = GST_VIDEO_FORMAT_RGB) {
  Harness h(gst_harness_new_parse(("attnoverlay " + properties).c_str()));
  gst_harness_set_src_caps_str(h.get(), caps_string(format, kWidth, kHeight).c_str());
  return h;
}

// The pixels `input` would have after `draw` runs on them (lib/ directly).
std::vector<guint8> drawn_by_lib(GstBuffer* input, GstVideoFormat format,
                                 const std::function<void(MutableImageView)>& draw) {
  std::vector<guint8> bytes = buffer_bytes(input);
  GstVideoInfo info;
  gst_video_info_set_format(&info, format, kWidth, kHeight);
  const PixelFormat layout = format == GST_VIDEO_FORMAT_BGRx ? PixelFormat::kBGRx : PixelFormat::kRGB;
  draw(MutableImageView{bytes.data(), kWidth, kHeight, GST_VIDEO_INFO_PLANE_STRIDE(&info, 0), layout});
  return bytes;
}

// The bytes a YUV `input` would have after YuvOverlayCanvas runs `draw` on
// its planes (lib/vision directly; caps_string's SD defaults: BT.601, limited).
std::vector<guint8> drawn_by_lib_in_ycbcr(GstBuffer* input, GstVideoFormat format,
                                          const std::function<void(OverlayCanvas&)>& draw) {
  GstVideoInfo info;
  gst_video_info_set_format(&info, format, kWidth, kHeight);
  Buffer copy(gst_buffer_copy_deep(input));
  GstVideoFrame frame;
  EXPECT_TRUE(gst_video_frame_map(&frame, &info, copy.get(), GST_MAP_READWRITE));
  auto data = [&](int i) { return static_cast<std::uint8_t*>(GST_VIDEO_FRAME_PLANE_DATA(&frame, i)); };
  auto stride = [&](int i) { return GST_VIDEO_FRAME_PLANE_STRIDE(&frame, i); };
  YuvOverlayCanvas canvas(format == GST_VIDEO_FORMAT_I420
                              ? i420_planes(data(0), stride(0), data(1), stride(1), data(2), stride(2), kWidth,
                                            kHeight, YuvMatrix::kBt601, false)
                              : nv12_planes(data(0), stride(0), data(1), stride(1), kWidth, kHeight,
                                            YuvMatrix::kBt601, false));
  draw(canvas);
  gst_video_frame_unmap(&frame);
  return buffer_bytes(copy.get());
}

struct Pushed {
  Buffer input;   // a copy of what went in
  Buffer output;  // what came out
};

Pushed push_frame(GstHarness* h, int index, GstVideoFormat format = GST_VIDEO_FORMAT_RGB) {
  GstBuffer* frame = make_frame(scene_frame(kWidth, kHeight, index), format, index * kFrame, kFrame);
  Buffer input(gst_buffer_copy_deep(frame));
  EXPECT_EQ(gst_harness_push(h, frame), GST_FLOW_OK);
  return {std::move(input), Buffer(gst_harness_pull(h))};
}

at::Tensor maps_of(GstBuffer* buffer) {
  GstDinoclipFeaturesMeta* meta = gst_buffer_get_dinoclip_features_meta(buffer);
  return meta_attention(meta->features).view({-1, kGridH, kGridW});
}

int differing_bytes(const std::vector<guint8>& a, const std::vector<guint8>& b) {
  int n = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) n += a[i] != b[i];
  return n;
}

/* ---- caps ---- */

TEST(AttnOverlay, AcceptsPackedRgbAndDecoderYuvRejectsOthers) {
  Harness h(gst_harness_new_parse("attnoverlay"));
  GstPad* sink = GST_PAD_PEER(h->srcpad);
  for (GstVideoFormat format :
       {GST_VIDEO_FORMAT_RGB, GST_VIDEO_FORMAT_BGR, GST_VIDEO_FORMAT_RGBA, GST_VIDEO_FORMAT_BGRA, GST_VIDEO_FORMAT_RGBx,
        GST_VIDEO_FORMAT_BGRx, GST_VIDEO_FORMAT_I420, GST_VIDEO_FORMAT_NV12}) {
    GstCaps* caps = gst_caps_from_string(caps_string(format, 64, 48).c_str());
    EXPECT_TRUE(gst_pad_query_accept_caps(sink, caps)) << gst_video_format_to_string(format);
    gst_caps_unref(caps);
  }
  for (GstVideoFormat format : {GST_VIDEO_FORMAT_Y444, GST_VIDEO_FORMAT_GRAY8}) {
    GstCaps* caps = gst_caps_from_string(caps_string(format, 64, 48).c_str());
    EXPECT_FALSE(gst_pad_query_accept_caps(sink, caps)) << gst_video_format_to_string(format);
    gst_caps_unref(caps);
  }
}

/* ---- attention ---- */

// Grey colour map, opaque: each patch centre's grey level must rank the
// patches exactly as the meta's attention does (max -> white, min -> black:
// 255 and 0 on RGB, luma 235 and 16 on limited-range I420, drawn in Y'CbCr).
TEST(AttnOverlay, IntensityFollowsTheMetaAttention) {
  DINOCLIP_REQUIRE_FIXTURE(model, kModel);
  for (GstVideoFormat format : {GST_VIDEO_FORMAT_RGB, GST_VIDEO_FORMAT_I420}) {
    const bool rgb = format == GST_VIDEO_FORMAT_RGB;
    Harness h = overlay_harness(model, "mode=attention head=1 colormap=gray alpha=1", format);
    Pushed p = push_frame(h.get(), 0, format);
    const at::Tensor heat = maps_of(p.output.get())[1];
    const std::vector<guint8> out = buffer_bytes(p.output.get());
    GstVideoInfo info;
    gst_video_info_set_format(&info, format, kWidth, kHeight);
    auto grey_at_patch = [&](int gy, int gx) {  // R on RGB, Y' on I420 (plane 0 at offset 0)
      const int x = gx * kScale + kScale / 2, y = gy * kScale + kScale / 2;
      return int(out[y * GST_VIDEO_INFO_PLANE_STRIDE(&info, 0) + (rgb ? 3 : 1) * x]);
    };
    const float lo = heat.min().item<float>(), hi = heat.max().item<float>();
    ASSERT_GT(hi, lo);
    int inversions = 0, top = -1, bottom = 256;
    for (int a = 0; a < kGridH * kGridW; ++a) {
      const float va = heat[a / kGridW][a % kGridW].item<float>();
      const int ga = grey_at_patch(a / kGridW, a % kGridW);
      if (va == hi) top = ga;
      if (va == lo) bottom = ga;
      for (int b = 0; b < kGridH * kGridW; ++b) {
        const float vb = heat[b / kGridW][b % kGridW].item<float>();
        if (va > vb && ga < grey_at_patch(b / kGridW, b % kGridW)) ++inversions;
      }
    }
    const char* name = gst_video_format_to_string(format);
    EXPECT_EQ(inversions, 0) << name << ": grey levels out of the attention's order";
    EXPECT_EQ(top, rgb ? 255 : 235) << name;
    EXPECT_EQ(bottom, rgb ? 0 : 16) << name;
  }
}

TEST(AttnOverlay, AttentionMeanEqualsLibDrawing) {
  DINOCLIP_REQUIRE_FIXTURE(model, kModel);
  Harness h = overlay_harness(model, "mode=attention alpha=0.7", GST_VIDEO_FORMAT_BGRx);
  Pushed p = push_frame(h.get(), 1, GST_VIDEO_FORMAT_BGRx);
  const at::Tensor mean = maps_of(p.output.get()).mean(0);
  const auto expected = drawn_by_lib(p.input.get(), GST_VIDEO_FORMAT_BGRx, [&](MutableImageView v) {
    draw_head_strip(v, mean.unsqueeze(0), Colormap::kInferno, 0.7f);
  });
  EXPECT_EQ(buffer_bytes(p.output.get()), expected);
  EXPECT_GT(differing_bytes(buffer_bytes(p.output.get()), buffer_bytes(p.input.get())), kWidth * kHeight);
}

TEST(AttnOverlay, OneHeadEqualsLibDrawing) {
  DINOCLIP_REQUIRE_FIXTURE(model, kModel);
  Harness h = overlay_harness(model, "mode=attention head=2 colormap=viridis alpha=0.5");
  Pushed p = push_frame(h.get(), 2);
  const at::Tensor head = maps_of(p.output.get())[2];
  const auto expected = drawn_by_lib(p.input.get(), GST_VIDEO_FORMAT_RGB, [&](MutableImageView v) {
    draw_head_strip(v, head.unsqueeze(0), Colormap::kViridis, 0.5f);
  });
  EXPECT_EQ(buffer_bytes(p.output.get()), expected);
}

TEST(AttnOverlay, RejectsHeadTheModelLacks) {
  DINOCLIP_REQUIRE_FIXTURE(model, kModel);
  Harness h = overlay_harness(model, "mode=attention head=9");
  GstPtr<GstBus> bus(gst_bus_new());
  gst_element_set_bus(h->element, bus.get());
  GstBuffer* frame = make_frame(scene_frame(kWidth, kHeight, 0), GST_VIDEO_FORMAT_RGB, 0, kFrame);
  EXPECT_EQ(gst_harness_push(h.get(), frame), GST_FLOW_ERROR);
  GstMessage* message = pop_error(bus.get());
  ASSERT_NE(message, nullptr);
  GError* error = nullptr;
  gst_message_parse_error(message, &error, nullptr);
  EXPECT_NE(std::string(error->message).find("heads 0..3"), std::string::npos) << error->message;
  g_error_free(error);
  gst_message_unref(message);
  gst_element_set_bus(h->element, nullptr);
}

TEST(AttnOverlay, HeadsStripEqualsLibDrawing) {
  DINOCLIP_REQUIRE_FIXTURE(model, kModel);
  Harness h = overlay_harness(model, "mode=heads alpha=0.8");
  Pushed p = push_frame(h.get(), 3);
  const at::Tensor maps = maps_of(p.output.get());
  const auto expected = drawn_by_lib(p.input.get(), GST_VIDEO_FORMAT_RGB,
                                     [&](MutableImageView v) { draw_head_strip(v, maps, Colormap::kInferno, 0.8f); });
  EXPECT_EQ(buffer_bytes(p.output.get()), expected);
}

TEST(AttnOverlay, AlphaZeroLeavesFramesUntouched) {
  DINOCLIP_REQUIRE_FIXTURE(model, kModel);
  Harness h = overlay_harness(model, "mode=attention alpha=0");
  Pushed p = push_frame(h.get(), 0);
  EXPECT_EQ(buffer_bytes(p.output.get()), buffer_bytes(p.input.get()));
}

/* ---- pca ---- */

at::Tensor patches_of(GstBuffer* buffer) {
  return meta_tokens(gst_buffer_get_dinoclip_features_meta(buffer)->features).narrow(0, 1, kGridH * kGridW);
}

std::vector<guint8> pca_by_lib(GstBuffer* input, const at::Tensor& patches, const PcaBasis& basis) {
  const Image grid = pca_rgb_image(patches, kGridH, kGridW, basis);
  return drawn_by_lib(input, GST_VIDEO_FORMAT_RGB,
                      [&](MutableImageView v) { blend_rgb_grid(v, grid, 1.0f, /*smooth=*/false); });
}

// A one-patch grid (input-size 8x8 at patch 8) has no principal components:
// the frame passes undrawn with one warning, no error, and the stream goes on.
TEST(AttnOverlay, PcaOnAOnePatchGridWarnsOnceAndPassesFramesUnchanged) {
  DINOCLIP_REQUIRE_FIXTURE(model, kModel);
  Harness h(gst_harness_new_parse(
      ("dinofeatures model=\"" + model + "\" heads=4 input-size=8x8 ! attnoverlay mode=pca alpha=1").c_str()));
  gst_harness_set_src_caps_str(h.get(), caps_string(GST_VIDEO_FORMAT_RGB, kWidth, kHeight).c_str());
  GstPtr<GstBus> bus(gst_bus_new());
  gst_element_set_bus(h->element, bus.get());
  for (int i = 0; i < 3; ++i) {
    Pushed frame = push_frame(h.get(), i);
    ASSERT_TRUE(frame.output) << "frame " << i;
    EXPECT_EQ(buffer_bytes(frame.output.get()), buffer_bytes(frame.input.get())) << "frame " << i;
  }
  int warnings = 0;
  while (GstMessage* m = gst_bus_pop(bus.get())) {  // every message: filtered pops drop the others
    EXPECT_NE(GST_MESSAGE_TYPE(m), GST_MESSAGE_ERROR);
    if (GST_MESSAGE_TYPE(m) != GST_MESSAGE_WARNING) {
      gst_message_unref(m);
      continue;
    }
    GError* error = nullptr;
    gst_message_parse_warning(m, &error, nullptr);
    const std::string text = error->message;
    EXPECT_NE(text.find("at least 2 patches"), std::string::npos) << text;
    EXPECT_EQ(text.find("fit_pca"), std::string::npos) << "internal name in a user message: " << text;
    g_error_free(error);
    gst_message_unref(m);
    ++warnings;
  }
  EXPECT_EQ(warnings, 1);
  gst_element_set_bus(h->element, nullptr);
}

TEST(AttnOverlay, PcaRefitFirstKeepsTheFirstBasis) {
  DINOCLIP_REQUIRE_FIXTURE(model, kModel);
  Harness h = overlay_harness(model, "mode=pca alpha=1 pca-refit=first");
  Pushed first = push_frame(h.get(), 0);
  Pushed second = push_frame(h.get(), 5);
  const PcaBasis basis = fit_pca(patches_of(first.output.get()), 3);
  EXPECT_EQ(buffer_bytes(first.output.get()), pca_by_lib(first.input.get(), patches_of(first.output.get()), basis));
  EXPECT_EQ(buffer_bytes(second.output.get()), pca_by_lib(second.input.get(), patches_of(second.output.get()), basis));
  const at::Tensor own = patches_of(second.output.get());  // a refit would look different
  EXPECT_NE(buffer_bytes(second.output.get()), pca_by_lib(second.input.get(), own, fit_pca(own, 3)));
}

TEST(AttnOverlay, PcaRefitPerFrameFitsEachResult) {
  DINOCLIP_REQUIRE_FIXTURE(model, kModel);
  Harness h = overlay_harness(model, "mode=pca alpha=1 pca-refit=per-frame");
  push_frame(h.get(), 0);
  Pushed second = push_frame(h.get(), 5);
  const at::Tensor patches = patches_of(second.output.get());
  EXPECT_EQ(buffer_bytes(second.output.get()), pca_by_lib(second.input.get(), patches, fit_pca(patches, 3)));
}

TEST(AttnOverlay, PcaRefitEveryNCountsResults) {
  DINOCLIP_REQUIRE_FIXTURE(model, kModel);
  Harness h = overlay_harness(model, "mode=pca alpha=1 pca-refit=every-n pca-refit-interval=2");
  Pushed f0 = push_frame(h.get(), 0);  // fit
  Pushed f1 = push_frame(h.get(), 3);  // reuse f0's basis
  Pushed f2 = push_frame(h.get(), 6);  // 2 results since the fit: fit again
  const PcaBasis b0 = fit_pca(patches_of(f0.output.get()), 3);
  const at::Tensor p1 = patches_of(f1.output.get());
  EXPECT_EQ(buffer_bytes(f1.output.get()), pca_by_lib(f1.input.get(), p1, b0));
  EXPECT_NE(buffer_bytes(f1.output.get()), pca_by_lib(f1.input.get(), p1, fit_pca(p1, 3)));
  const at::Tensor p2 = patches_of(f2.output.get());
  EXPECT_EQ(buffer_bytes(f2.output.get()), pca_by_lib(f2.input.get(), p2, fit_pca(p2, 3)));
}

/* ---- mask and label (metas attached by hand: no producer element needed) ---- */

GstBuffer* frame_with_segmentation(const guint8* palette, GstVideoFormat format = GST_VIDEO_FORMAT_RGB) {
  GstBuffer* frame = make_frame(scene_frame(kWidth, kHeight, 0), format, 0, kFrame);
  guint8 map[4 * 6];
  for (int i = 0; i < 24; ++i) map[i] = guint8((i / 6 + i % 6) % 3);  // diagonal bands of classes 0, 1, 2
  GstDinoclipSegmentation* seg = gst_dinoclip_segmentation_new(6, 4, 3, map, palette);
  gst_buffer_add_dinoclip_segmentation_meta(frame, seg, FALSE);
  gst_dinoclip_segmentation_unref(seg);
  return frame;
}

at::Tensor class_map_of(GstBuffer* buffer) {
  GstDinoclipSegmentation* seg = gst_buffer_get_dinoclip_segmentation_meta(buffer)->segmentation;
  return at::from_blob(const_cast<guint8*>(gst_dinoclip_segmentation_get_class_map(seg)), {4, 6}, at::kByte).clone();
}

TEST(AttnOverlay, MaskUsesDavisPaletteAndContours) {
  for (bool contours : {true, false}) {
    Harness h = bare_overlay_harness(std::string("mode=mask alpha=0.4 contours=") + (contours ? "true" : "false"));
    GstBuffer* frame = frame_with_segmentation(nullptr);
    Buffer input(gst_buffer_copy_deep(frame));
    ASSERT_EQ(gst_harness_push(h.get(), frame), GST_FLOW_OK);
    Buffer out(gst_harness_pull(h.get()));
    const auto expected = drawn_by_lib(input.get(), GST_VIDEO_FORMAT_RGB, [&](MutableImageView v) {
      blend_mask(v, class_map_of(input.get()), davis_palette(), 0.4f, contours);
    });
    EXPECT_EQ(buffer_bytes(out.get()), expected) << "contours=" << contours;
  }
}

// Decoders' I420 / NV12: the mask drawn in Y'CbCr. Pixels of class 0 keep
// their luma and blocks of only class 0 their chroma, byte for byte; at
// alpha 1 each drawn pixel's luma is its class colour's (BT.601, limited range).
TEST(AttnOverlay, MaskOnDecoderYuvKeepsUndrawnBytesAndFollowsTheMask) {
  const Palette palette = davis_palette();
  for (GstVideoFormat format : {GST_VIDEO_FORMAT_I420, GST_VIDEO_FORMAT_NV12}) {
    const char* name = gst_video_format_to_string(format);
    Harness h = bare_overlay_harness("mode=mask alpha=1 contours=false", format);
    GstBuffer* frame = frame_with_segmentation(nullptr, format);
    Buffer input(gst_buffer_copy_deep(frame));
    ASSERT_EQ(gst_harness_push(h.get(), frame), GST_FLOW_OK);
    Buffer out(gst_harness_pull(h.get()));
    const at::Tensor ids = class_map_of(input.get());
    EXPECT_EQ(buffer_bytes(out.get()), drawn_by_lib_in_ycbcr(input.get(), format, [&](OverlayCanvas& c) {
                c.mask(ids, palette, 1.0f, false);
              })) << name;
    GstVideoInfo info;
    gst_video_info_set_format(&info, format, kWidth, kHeight);
    const std::vector<guint8> before = buffer_bytes(input.get()), after = buffer_bytes(out.get());
    const auto class_at = [&](int x, int y) { return ids[y * 4 / kHeight][x * 6 / kWidth].item<int>(); };
    const YuvEncoding bt601 = yuv_encoding(YuvMatrix::kBt601, false);
    int kept = 0, drawn = 0;
    for (int y = 0; y < kHeight; ++y) {
      for (int x = 0; x < kWidth; ++x) {
        const std::size_t at = std::size_t(y) * GST_VIDEO_INFO_PLANE_STRIDE(&info, 0) + x;
        const int k = class_at(x, y);
        if (k == 0) {
          ASSERT_EQ(after[at], before[at]) << name << " luma of class 0 at " << x << "," << y;
          ++kept;
          continue;
        }
        const auto& rgb = palette[k];
        const double luma = bt601.luma(rgb[0] / 255.0, rgb[1] / 255.0, rgb[2] / 255.0);
        ASSERT_NEAR(after[at], luma, 0.5 + 1e-9) << name << " luma of class " << k << " at " << x << "," << y;
        ++drawn;
      }
    }
    for (int y2 = 0; y2 < kHeight / 2; ++y2) {
      for (int x2 = 0; x2 < kWidth / 2; ++x2) {
        if (class_at(2 * x2, 2 * y2) || class_at(2 * x2 + 1, 2 * y2) || class_at(2 * x2, 2 * y2 + 1) ||
            class_at(2 * x2 + 1, 2 * y2 + 1)) {
          continue;
        }
        const bool i420 = format == GST_VIDEO_FORMAT_I420;
        for (int channel = 0; channel < 2; ++channel) {
          const int plane = i420 ? 1 + channel : 1;
          const std::size_t at = GST_VIDEO_INFO_PLANE_OFFSET(&info, plane) +
                                 std::size_t(y2) * GST_VIDEO_INFO_PLANE_STRIDE(&info, plane) +
                                 (i420 ? x2 : 2 * x2 + channel);
          ASSERT_EQ(after[at], before[at]) << name << " chroma of a class-0 block at " << x2 << "," << y2;
        }
      }
    }
    EXPECT_GT(kept, 0) << name;
    EXPECT_GT(drawn, 0) << name;
  }
}

TEST(AttnOverlay, MaskUsesTheMetaPalette) {
  const guint8 palette[9] = {0, 0, 0, 255, 255, 0, 0, 255, 255};
  Harness h = bare_overlay_harness("mode=mask alpha=1 contours=false");
  GstBuffer* frame = frame_with_segmentation(palette);
  Buffer input(gst_buffer_copy_deep(frame));
  ASSERT_EQ(gst_harness_push(h.get(), frame), GST_FLOW_OK);
  Buffer out(gst_harness_pull(h.get()));
  const Palette expected_palette{{0, 0, 0}, {255, 255, 0}, {0, 255, 255}};
  const auto expected = drawn_by_lib(input.get(), GST_VIDEO_FORMAT_RGB, [&](MutableImageView v) {
    blend_mask(v, class_map_of(input.get()), expected_palette, 1.0f, false);
  });
  EXPECT_EQ(buffer_bytes(out.get()), expected);
}

TEST(AttnOverlay, AutoDrawsTheMaskWhenPresent) {
  Harness h = bare_overlay_harness("alpha=0.4");  // mode=auto is the default
  GstBuffer* frame = frame_with_segmentation(nullptr);
  Buffer input(gst_buffer_copy_deep(frame));
  ASSERT_EQ(gst_harness_push(h.get(), frame), GST_FLOW_OK);
  Buffer out(gst_harness_pull(h.get()));
  const auto expected = drawn_by_lib(input.get(), GST_VIDEO_FORMAT_RGB, [&](MutableImageView v) {
    blend_mask(v, class_map_of(input.get()), davis_palette(), 0.4f, true);
  });
  EXPECT_EQ(buffer_bytes(out.get()), expected);
}

TEST(AttnOverlay, AutoDrawsAttentionFromDinoFeatures) {
  DINOCLIP_REQUIRE_FIXTURE(model, kModel);
  Harness h = overlay_harness(model, "");
  Pushed p = push_frame(h.get(), 4);
  const at::Tensor mean = maps_of(p.output.get()).mean(0);
  const auto expected = drawn_by_lib(p.input.get(), GST_VIDEO_FORMAT_RGB, [&](MutableImageView v) {
    draw_head_strip(v, mean.unsqueeze(0), Colormap::kInferno, 0.5f);
  });
  EXPECT_EQ(buffer_bytes(p.output.get()), expected);
}

TEST(AttnOverlay, LabelDrawsTopLabelInTheCorner) {
  if (!g_file_test(kDefaultFontPath, G_FILE_TEST_EXISTS)) {
    GTEST_SKIP() << "font missing: " << kDefaultFontPath << " (install fonts-dejavu-core)";
  }
  Harness h = bare_overlay_harness("mode=label");
  GstBuffer* frame = make_frame(scene_frame(kWidth, kHeight, 0), GST_VIDEO_FORMAT_RGB, 0, kFrame);
  const gchar* labels[] = {"cat", "dog"};
  const gfloat scores[] = {0.25f, 0.75f};
  GstDinoclipClassification* c = gst_dinoclip_classification_new(labels, scores, 2, 1);
  gst_buffer_add_dinoclip_classification_meta(frame, c, FALSE);
  gst_dinoclip_classification_unref(c);
  Buffer input(gst_buffer_copy_deep(frame));
  ASSERT_EQ(gst_harness_push(h.get(), frame), GST_FLOW_OK);
  Buffer out(gst_harness_pull(h.get()));
  const auto expected = drawn_by_lib(input.get(), GST_VIDEO_FORMAT_RGB, [&](MutableImageView v) {
    const int px = std::max(12, kHeight / 18);
    TextRenderer().draw(v, "dog 0.75", px / 2, px / 2, px, {255, 255, 255}, {0, 0, 0}, 0.6f);
  });
  EXPECT_EQ(buffer_bytes(out.get()), expected);
  EXPECT_GT(differing_bytes(expected, buffer_bytes(input.get())), 50);
}

TEST(AttnOverlay, MissingMetaPassesFramesUnchangedWithOneWarning) {
  Harness h = bare_overlay_harness("mode=attention");
  GstPtr<GstBus> bus(gst_bus_new());
  gst_element_set_bus(h->element, bus.get());
  for (int i = 0; i < 3; ++i) {
    GstBuffer* frame = make_frame(scene_frame(kWidth, kHeight, i), GST_VIDEO_FORMAT_RGB, i * kFrame, kFrame);
    const std::vector<guint8> before = buffer_bytes(frame);
    ASSERT_EQ(gst_harness_push(h.get(), frame), GST_FLOW_OK);
    Buffer out(gst_harness_pull(h.get()));
    EXPECT_EQ(buffer_bytes(out.get()), before);
  }
  int warnings = 0;
  while (GstMessage* m = gst_bus_pop_filtered(bus.get(), GST_MESSAGE_WARNING)) {
    ++warnings;
    gst_message_unref(m);
  }
  EXPECT_EQ(warnings, 1);
  gst_element_set_bus(h->element, nullptr);
}

/* ---- device ---- */

// device=cpu (and the default, auto, on system memory) draws exactly what
// attnoverlay drew before the property existed: lib/vision's CPU functions.
TEST(AttnOverlay, DeviceCpuAndAutoDrawWhatTheElementAlwaysDrew) {
  DINOCLIP_REQUIRE_FIXTURE(model, kModel);
  for (const char* device : {"device=cpu", "device=auto"}) {
    Harness heads = overlay_harness(model, std::string("mode=heads alpha=0.8 ") + device);
    Pushed p = push_frame(heads.get(), 3);
    const at::Tensor maps = maps_of(p.output.get());
    EXPECT_EQ(buffer_bytes(p.output.get()),
              drawn_by_lib(p.input.get(), GST_VIDEO_FORMAT_RGB,
                           [&](MutableImageView v) { draw_head_strip(v, maps, Colormap::kInferno, 0.8f); }))
        << device;
    Harness pca = overlay_harness(model, std::string("mode=pca alpha=1 ") + device);
    Pushed q = push_frame(pca.get(), 0);
    const at::Tensor patches = patches_of(q.output.get());
    EXPECT_EQ(buffer_bytes(q.output.get()), pca_by_lib(q.input.get(), patches, fit_pca(patches, 3))) << device;
    Harness mask = bare_overlay_harness(std::string("mode=mask alpha=0.4 ") + device);
    GstBuffer* frame = frame_with_segmentation(nullptr);
    Buffer input(gst_buffer_copy_deep(frame));
    ASSERT_EQ(gst_harness_push(mask.get(), frame), GST_FLOW_OK);
    Buffer out(gst_harness_pull(mask.get()));
    EXPECT_EQ(buffer_bytes(out.get()), drawn_by_lib(input.get(), GST_VIDEO_FORMAT_RGB, [&](MutableImageView v) {
                blend_mask(v, class_map_of(input.get()), davis_palette(), 0.4f, true);
              })) << device;
  }
}

TEST(AttnOverlay, DeviceCpuOnDecoderYuvDrawsInYCbCr) {
  DINOCLIP_REQUIRE_FIXTURE(model, kModel);
  for (GstVideoFormat format : {GST_VIDEO_FORMAT_I420, GST_VIDEO_FORMAT_NV12}) {
    Harness h = overlay_harness(model, "mode=attention alpha=0.6 device=cpu", format);
    Pushed p = push_frame(h.get(), 2, format);
    const at::Tensor mean = maps_of(p.output.get()).mean(0);
    const auto expected = drawn_by_lib_in_ycbcr(p.input.get(), format, [&](OverlayCanvas& c) {
      c.head_strip(mean.unsqueeze(0), Colormap::kInferno, 0.6f);
    });
    EXPECT_EQ(buffer_bytes(p.output.get()), expected) << gst_video_format_to_string(format);
    EXPECT_GT(differing_bytes(buffer_bytes(p.output.get()), buffer_bytes(p.input.get())), kWidth * kHeight / 2);
  }
}

TEST(AttnOverlay, DevicePropertyDefaultsToAutoAndIsFixedWhileRunning) {
  GstElement* fresh = gst_element_factory_make("attnoverlay", nullptr);
  ASSERT_NE(fresh, nullptr);
  GstPtr<GstElement> overlay(GST_ELEMENT(gst_object_ref_sink(fresh)));
  GParamSpec* spec = g_object_class_find_property(G_OBJECT_GET_CLASS(overlay.get()), "device");
  ASSERT_NE(spec, nullptr);
  EXPECT_EQ(G_PARAM_SPEC_ENUM(spec)->default_value, 0);  // auto
  EXPECT_TRUE(spec->flags & GST_PARAM_MUTABLE_READY);
  // Running: a change is refused (warning) and the value kept.
  Harness h = bare_overlay_harness("device=cpu");
  GstPtr<GstElement> running = harness_element(h.get(), "attnoverlay");
  ASSERT_NE(running, nullptr);
  ASSERT_EQ(gst_harness_push(h.get(), make_frame(scene_frame(kWidth, kHeight, 0), GST_VIDEO_FORMAT_RGB, 0, kFrame)),
            GST_FLOW_OK);
  Buffer out(gst_harness_pull(h.get()));
  g_object_set(running.get(), "device", 2 /* gpu */, nullptr);
  gint device = -1;
  g_object_get(running.get(), "device", &device, nullptr);
  EXPECT_EQ(device, 1) << "device changed while PLAYING";
}

TEST(AttnOverlay, RejectsDeviceGpuWithoutAGpuAtStart) {
  if (cuda_available()) GTEST_SKIP() << "this machine has a CUDA GPU: device=gpu starts";
  StartResult r = start_element("attnoverlay device=gpu");
  EXPECT_EQ(r.ret, GST_STATE_CHANGE_FAILURE);
  ASSERT_NE(r.error, nullptr);
  const std::string message = r.error->message;
  EXPECT_NE(message.find("device=gpu"), std::string::npos) << message;
  EXPECT_NE(message.find("device=cpu"), std::string::npos) << message;  // what to choose instead
#ifdef DINOCLIP_WITH_CUDA
  EXPECT_NE(message.find("no CUDA GPU"), std::string::npos) << message;
#else
  EXPECT_NE(message.find("CPU-only"), std::string::npos) << message;
#endif
  g_error_free(r.error);
  for (const char* device : {"device=cpu", "device=auto"}) {
    StartResult ok = start_element(std::string("attnoverlay ") + device);
    EXPECT_NE(ok.ret, GST_STATE_CHANGE_FAILURE) << device;
    if (ok.error) g_error_free(ok.error);
  }
}

}  // namespace
}  // namespace dinoclip::testing
