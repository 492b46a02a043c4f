// dinoseg through GstHarness, behind dinofeatures on the tiny random DINO
// (dino_tiny), on a synthetic video with exact masks written as DAVIS-style
// palette PNGs.
#include <gst/dinoclip/dinoclip-meta.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "element_test_util.h"
#include "io/frame_pattern.h"
#include "io/image_file.h"
#include "roi_reader.h"
#include "tasks/iou.h"
#include "tasks/label_grid.h"
#include "tasks/seg_head.h"
#include "tasks/video_segmenter.h"
#include "vision/overlay.h"
#include "vision/synthetic.h"

namespace dinoclip::testing {
namespace {

constexpr const char* kModel = "dino_tiny/dino_tiny.safetensors";
constexpr int kWidth = 96, kHeight = 64;          // a 12x8 patch grid at input-size 96x64
constexpr GstClockTime kFrame = GST_SECOND / 30;  // caps_string says framerate=30/1

// A synthetic sequence on disk: frames in memory, masks as palette PNGs
// (DIR/%05d.png), as DAVIS lays out its annotations.
struct Sequence {
  std::string dir;
  int width = kWidth, height = kHeight;
  std::vector<Image> frames;
  std::vector<Image> masks;
  std::string mask_path(int i) const { return FramePattern::parse(dir + "/%05d.png").path(i); }
  std::string pattern() const { return dir + "/%05d.png"; }
};

Sequence make_sequence(int frames, uint64_t seed = 3, int width = kWidth, int height = kHeight) {
  Sequence seq;
  seq.dir = temp_dir() + "/seq" + std::to_string(frames) + "_" + std::to_string(seed) + "_" + std::to_string(width);
  seq.width = width;
  seq.height = height;
  g_mkdir_with_parents(seq.dir.c_str(), 0755);
  SyntheticScene scene(width, height, /*objects=*/2, seed);
  for (int i = 0; i < frames; ++i) {
    SyntheticFrame f = scene.render(i);
    seq.frames.push_back(f.rgb);
    seq.masks.push_back(f.mask);
    write_palette_png(seq.mask_path(i), f.mask, davis_palette());
  }
  return seq;
}

// dinofeatures at the frame's own size (input-size native) ! dinoseg.
Harness seg_harness(const std::string& model, const std::string& seg_properties, int width = kWidth,
                    int height = kHeight) {
  const std::string launch =
      "dinofeatures model=\"" + model + "\" heads=4 input-size=native ! dinoseg " + seg_properties;
  Harness h(gst_harness_new_parse(launch.c_str()));
  gst_harness_set_src_caps_str(h.get(), caps_string(GST_VIDEO_FORMAT_RGB, width, height).c_str());
  return h;
}

GstBuffer* frame_buffer(const Sequence& seq, int i) {
  return make_frame(seq.frames[i], GST_VIDEO_FORMAT_RGB, GstClockTime(i) * kFrame, kFrame);
}

// The class map attached to a buffer, as a 1-channel Image.
Image class_map_of(GstBuffer* buffer) {
  GstDinoclipSegmentationMeta* meta = gst_buffer_get_dinoclip_segmentation_meta(buffer);
  if (!meta) return Image();
  GstDinoclipSegmentation* s = meta->segmentation;
  const int w = int(gst_dinoclip_segmentation_get_width(s)), h = int(gst_dinoclip_segmentation_get_height(s));
  Image out(w, h, 1);
  std::copy_n(gst_dinoclip_segmentation_get_class_map(s), size_t(w) * h, out.pixels.begin());
  return out;
}

// A bus on the harness's bin, to read what dinoseg posts.
struct Bus {
  GstElement* element;
  GstPtr<GstBus> bus{gst_bus_new()};
  explicit Bus(GstHarness* h) : element(h->element) { gst_element_set_bus(element, bus.get()); }
  ~Bus() {
    gst_element_set_bus(element, nullptr);
    for (GstStructure* s : seen) gst_structure_free(s);
  }

  // Every element message named `name` posted so far (copies, to free_all()).
  std::vector<GstStructure*> messages(const char* name) {
    while (GstMessage* m = gst_bus_pop_filtered(bus.get(), GST_MESSAGE_ELEMENT)) {
      seen.push_back(gst_structure_copy(gst_message_get_structure(m)));
      gst_message_unref(m);
    }
    std::vector<GstStructure*> out;
    for (GstStructure* s : seen) {
      if (gst_structure_has_name(s, name)) out.push_back(gst_structure_copy(s));
    }
    return out;
  }
  std::vector<GstStructure*> seen;
  std::string error_message() { return pop_error_message(bus.get()); }
};

void free_all(std::vector<GstStructure*>& v) {
  for (GstStructure* s : v) gst_structure_free(s);
  v.clear();
}

/* ---- holding and releasing ---- */

TEST(DinoSeg, HoldsFramesBeforeTheAnnotatedOneThenReleasesThemInOrderWithTimestamps) {
  DINOCLIP_REQUIRE_FIXTURE(model, kModel);
  const Sequence seq = make_sequence(6);
  Harness h = seg_harness(model, "num-iters=20 annotation-frame=3 annotation=" + seq.mask_path(3));
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(gst_harness_push(h.get(), frame_buffer(seq, i)), GST_FLOW_OK);
    EXPECT_EQ(gst_harness_buffers_in_queue(h.get()), 0u) << "frame " << i << " left before the annotated frame";
  }
  ASSERT_EQ(gst_harness_push(h.get(), frame_buffer(seq, 3)), GST_FLOW_OK);
  EXPECT_EQ(gst_harness_buffers_in_queue(h.get()), 4u);
  ASSERT_EQ(gst_harness_push(h.get(), frame_buffer(seq, 4)), GST_FLOW_OK);
  for (int i = 0; i < 5; ++i) {
    Buffer out(gst_harness_pull(h.get()));
    ASSERT_TRUE(out);
    EXPECT_EQ(GST_BUFFER_PTS(out.get()), GstClockTime(i) * kFrame) << "frame " << i << " out of order";
    EXPECT_EQ(GST_BUFFER_DURATION(out.get()), kFrame);
    const Image map = class_map_of(out.get());
    EXPECT_EQ(map.width, kWidth) << "frame " << i;
    EXPECT_EQ(map.height, kHeight) << "frame " << i;
  }
}

// The attached class map is the argmax of the head's logits on the frame's
// own features: load the head the element saved and compute it directly.
TEST(DinoSeg, ClassMapsFollowTheTrainedHeadsLogits) {
  DINOCLIP_REQUIRE_FIXTURE(model, kModel);
  const Sequence seq = make_sequence(4);
  const std::string head_path = temp_dir() + "/follow_head.safetensors";
  std::remove(head_path.c_str());
  Harness h = seg_harness(model, "num-iters=50 annotation=" + seq.mask_path(0) + " save-head=" + head_path);
  ASSERT_EQ(gst_harness_push(h.get(), frame_buffer(seq, 0)), GST_FLOW_OK);  // trains and saves
  const SegHead head_check = SegHead::load(head_path);
  for (int i = 1; i < 4; ++i) ASSERT_EQ(gst_harness_push(h.get(), frame_buffer(seq, i)), GST_FLOW_OK);
  for (int i = 0; i < 4; ++i) {
    Buffer out(gst_harness_pull(h.get()));
    GstDinoclipFeaturesMeta* features = gst_buffer_get_dinoclip_features_meta(out.get());
    ASSERT_NE(features, nullptr);
    const GstDinoclipFeaturesShape* shape = gst_dinoclip_features_get_shape(features->features);
    const at::Tensor patches = meta_tokens(features->features).narrow(0, 1, shape->grid_height * shape->grid_width);
    const Image expected = mask_tensor_to_image(
        head_check.predict_mask(patches, int(shape->grid_height), int(shape->grid_width), kHeight, kWidth));
    EXPECT_EQ(class_map_of(out.get()).pixels, expected.pixels) << "frame " << i;
  }
}

TEST(DinoSeg, SavedHeadLoadedInANewPipelineGivesIdenticalMasks) {
  DINOCLIP_REQUIRE_FIXTURE(model, kModel);
  const Sequence seq = make_sequence(5);
  const std::string head_path = temp_dir() + "/reuse_head.safetensors";
  std::remove(head_path.c_str());
  std::vector<Image> first, second;
  {
    Harness h = seg_harness(model, "head=mlp num-iters=30 annotation=" + seq.mask_path(0) + " save-head=" + head_path);
    for (int i = 0; i < 5; ++i) {
      Buffer out(gst_harness_push_and_pull(h.get(), frame_buffer(seq, i)));
      first.push_back(class_map_of(out.get()));
    }
  }
  {
    Harness h = seg_harness(model, "load-head=" + head_path);
    for (int i = 0; i < 5; ++i) {
      Buffer out(gst_harness_push_and_pull(h.get(), frame_buffer(seq, i)));
      second.push_back(class_map_of(out.get()));
    }
  }
  for (int i = 0; i < 5; ++i) EXPECT_EQ(first[i].pixels, second[i].pixels) << "frame " << i;
}

/* ---- messages ---- */

TEST(DinoSeg, PostsTrainingProgressAndTheTrainingAccuracy) {
  DINOCLIP_REQUIRE_FIXTURE(model, kModel);
  const Sequence seq = make_sequence(1);
  Harness h = seg_harness(model, "num-iters=120 annotation=" + seq.mask_path(0));
  Bus bus(h.get());
  Buffer out(gst_harness_push_and_pull(h.get(), frame_buffer(seq, 0)));
  std::vector<GstStructure*> progress = bus.messages("dinoseg-progress");
  // The lib reports every 50 steps and after the last: 50, 100, 120.
  ASSERT_EQ(progress.size(), 3u);
  int iteration = 0;
  double first_loss = 0, last_loss = 0;
  gst_structure_get_int(progress.back(), "iteration", &iteration);
  gst_structure_get_double(progress.front(), "loss", &first_loss);
  gst_structure_get_double(progress.back(), "loss", &last_loss);
  EXPECT_EQ(iteration, 120);
  EXPECT_LT(last_loss, first_loss) << "training did not lower the loss";
  free_all(progress);

  GstPtr<GstElement> seg(gst_harness_find_element(h.get(), "dinoseg"));
  gboolean trained = FALSE;
  double accuracy = -1;
  g_object_get(seg.get(), "trained", &trained, "train-accuracy", &accuracy, nullptr);
  EXPECT_TRUE(trained);
  EXPECT_GT(accuracy, 0.5);
  EXPECT_LE(accuracy, 1.0);
}

// The same progress as standard progress messages (what gst-launch-1.0 prints).
TEST(DinoSeg, TrainingProgressIsAlsoAStandardProgressMessage) {
  DINOCLIP_REQUIRE_FIXTURE(model, kModel);
  const Sequence seq = make_sequence(1);
  Harness h = seg_harness(model, "num-iters=120 annotation=" + seq.mask_path(0));
  GstPtr<GstBus> bus(gst_bus_new());
  gst_element_set_bus(h->element, bus.get());
  Buffer out(gst_harness_push_and_pull(h.get(), frame_buffer(seq, 0)));
  std::vector<GstProgressType> types;
  std::vector<int> percents;
  while (GstMessage* m = gst_bus_pop_filtered(bus.get(), GST_MESSAGE_PROGRESS)) {
    GstProgressType type;
    gchar *code = nullptr, *text = nullptr;
    gst_message_parse_progress(m, &type, &code, &text);
    EXPECT_STREQ(code, "dinoseg-training");
    EXPECT_NE(std::string(text), "");
    int percent = -1;
    gst_structure_get_int(gst_message_get_structure(m), "percent", &percent);
    types.push_back(type);
    percents.push_back(percent);
    g_free(code);
    g_free(text);
    gst_message_unref(m);
  }
  gst_element_set_bus(h->element, nullptr);
  EXPECT_EQ(types, (std::vector<GstProgressType>{GST_PROGRESS_TYPE_START, GST_PROGRESS_TYPE_CONTINUE,
                                                 GST_PROGRESS_TYPE_CONTINUE, GST_PROGRESS_TYPE_COMPLETE}));
  EXPECT_EQ(percents, (std::vector<int>{0, 41, 83, 100}));  // steps 0, 50, 100, 120 of 120
}

// IoU messages equal lib/tasks' mean_iou of the attached map against the
// ground-truth file; the EOS summary is their mean, first and last.
TEST(DinoSeg, ReportsPerFrameIouAndASummaryAtEos) {
  DINOCLIP_REQUIRE_FIXTURE(model, kModel);
  const Sequence seq = make_sequence(5);
  Harness h = seg_harness(
      model, "num-iters=100 annotation=" + seq.mask_path(2) + " annotation-frame=2 ground-truth=" + seq.pattern());
  Bus bus(h.get());
  for (int i = 0; i < 5; ++i) ASSERT_EQ(gst_harness_push(h.get(), frame_buffer(seq, i)), GST_FLOW_OK);
  std::vector<double> expected;
  for (int i = 0; i < 5; ++i) {
    Buffer out(gst_harness_pull(h.get()));
    expected.push_back(mean_iou(class_map_of(out.get()), seq.masks[i]));
  }
  gst_harness_push_event(h.get(), gst_event_new_eos());
  std::vector<GstStructure*> ious = bus.messages("dinoseg-iou");
  ASSERT_EQ(ious.size(), 5u);
  for (int i = 0; i < 5; ++i) {
    gint64 frame = -1;
    double iou = -1;
    guint64 timestamp = 0;
    gst_structure_get_int64(ious[i], "frame", &frame);
    gst_structure_get_double(ious[i], "iou", &iou);
    gst_structure_get_uint64(ious[i], "timestamp", &timestamp);
    EXPECT_EQ(frame, i);
    EXPECT_EQ(timestamp, guint64(i) * kFrame);
    EXPECT_NEAR(iou, expected[i], 1e-12) << "frame " << i;
  }
  free_all(ious);
  std::vector<GstStructure*> summary = bus.messages("dinoseg-summary");
  ASSERT_EQ(summary.size(), 1u);
  double mean = -1, first = -1, last = -1;
  gst_structure_get_double(summary[0], "mean", &mean);
  gst_structure_get_double(summary[0], "first", &first);
  gst_structure_get_double(summary[0], "last", &last);
  double sum = 0;
  for (double v : expected) sum += v;
  EXPECT_NEAR(mean, sum / 5, 1e-12);
  EXPECT_NEAR(first, expected.front(), 1e-12);
  EXPECT_NEAR(last, expected.back(), 1e-12);
  free_all(summary);
}

// Bounding box and area of `class_id` in a class map, by brute force.
struct ExpectedRegion {
  int x0 = 1 << 30, y0 = 1 << 30, x1 = -1, y1 = -1;  // inclusive
  int64_t area = 0;
};
ExpectedRegion brute_force_region(const Image& map, int class_id) {
  ExpectedRegion r;
  for (int y = 0; y < map.height; ++y) {
    for (int x = 0; x < map.width; ++x) {
      if (map.at(x, y) != class_id) continue;
      ++r.area;
      r.x0 = std::min(r.x0, x), r.x1 = std::max(r.x1, x);
      r.y0 = std::min(r.y0, y), r.y1 = std::max(r.y1, y);
    }
  }
  return r;
}

// A generic reader (GstVideo API only) sees one ROI per object class of the
// class map: its bounding box, area and, with a ground truth, its IoU.
TEST(DinoSeg, OneRoiPerPresentClassWithBoxAreaAndIou) {
  DINOCLIP_REQUIRE_FIXTURE(model, kModel);
  const Sequence seq = make_sequence(3);
  Harness h = seg_harness(model, "num-iters=100 annotation=" + seq.mask_path(0) + " ground-truth=" + seq.pattern());
  for (int i = 0; i < 3; ++i) {
    Buffer out(gst_harness_push_and_pull(h.get(), frame_buffer(seq, i)));
    const Image map = class_map_of(out.get());
    ASSERT_EQ(map.width, kWidth);
    const std::vector<double> iou = per_class_iou(map, seq.masks[i], 256);
    const std::vector<RoiCopy> rois = rois_of_type(out.get(), "dinoseg");
    size_t objects = 0;
    for (int c = 1; c < 256; ++c) objects += brute_force_region(map, c).area > 0;
    ASSERT_EQ(rois.size(), objects) << "frame " << i;
    ASSERT_GT(objects, 0u) << "the trained head finds at least one object";
    for (const RoiCopy& roi : rois) {
      const GstStructure* detection = roi.param("detection");
      ASSERT_NE(detection, nullptr);
      const int class_id = int_field(detection, "class_id");
      const ExpectedRegion expected = brute_force_region(map, class_id);
      const std::string where = "frame " + std::to_string(i) + " class " + std::to_string(class_id);
      EXPECT_GT(class_id, 0) << where << ": no ROI for the background";
      EXPECT_EQ(roi.id, class_id) << where;
      EXPECT_EQ(int_field(detection, "label_id"), class_id) << where;
      EXPECT_EQ(string_field(detection, "label"), "class-" + std::to_string(class_id)) << where;
      EXPECT_EQ(roi.x, guint(expected.x0)) << where;
      EXPECT_EQ(roi.y, guint(expected.y0)) << where;
      EXPECT_EQ(roi.w, guint(expected.x1 - expected.x0 + 1)) << where;
      EXPECT_EQ(roi.h, guint(expected.y1 - expected.y0 + 1)) << where;
      EXPECT_DOUBLE_EQ(double_field(detection, "x_min"), double(expected.x0) / kWidth) << where;
      EXPECT_DOUBLE_EQ(double_field(detection, "x_max"), double(expected.x1 + 1) / kWidth) << where;
      EXPECT_DOUBLE_EQ(double_field(detection, "y_min"), double(expected.y0) / kHeight) << where;
      EXPECT_DOUBLE_EQ(double_field(detection, "y_max"), double(expected.y1 + 1) / kHeight) << where;
      gint64 area = -1;
      ASSERT_TRUE(gst_structure_get_int64(detection, "area", &area)) << where;
      EXPECT_EQ(area, expected.area) << where;
      EXPECT_DOUBLE_EQ(double_field(detection, "area_fraction"), double(expected.area) / (kWidth * kHeight)) << where;
      EXPECT_NEAR(double_field(detection, "iou"), iou[size_t(class_id)], 1e-12) << where;
    }
  }
}

TEST(DinoSeg, RoisHaveNoIouWithoutAGroundTruth) {
  DINOCLIP_REQUIRE_FIXTURE(model, kModel);
  const Sequence seq = make_sequence(1);
  Harness h = seg_harness(model, "num-iters=20 annotation=" + seq.mask_path(0));
  Buffer out(gst_harness_push_and_pull(h.get(), frame_buffer(seq, 0)));
  const std::vector<RoiCopy> rois = rois_of_type(out.get(), "dinoseg");
  ASSERT_FALSE(rois.empty());
  for (const RoiCopy& roi : rois) EXPECT_FALSE(gst_structure_has_field(roi.param("detection"), "iou"));
}

double summary_mean_iou(const std::string& model, const Sequence& seq, const std::string& properties, int frames) {
  Harness h = seg_harness(model, properties + " ground-truth=" + seq.pattern());
  Bus bus(h.get());
  for (int i = 0; i < frames; ++i) Buffer(gst_harness_push_and_pull(h.get(), frame_buffer(seq, i)));
  gst_harness_push_event(h.get(), gst_event_new_eos());
  std::vector<GstStructure*> summary = bus.messages("dinoseg-summary");
  double mean = NAN;
  if (!summary.empty()) gst_structure_get_double(summary[0], "mean", &mean);
  free_all(summary);
  return mean;
}

// The pipeline learns from the annotation: the trained head scores an IoU
// that an untrained head (num-iters=0) or a pipeline trained on the wrong
// scene's mask cannot reach. Measured: trained 0.513, untrained 0.144,
// another scene's mask 0.262 (mean IoU over 12 frames).
TEST(DinoSeg, TrainedHeadBeatsUntrainedAndMisannotatedPipelinesOnASyntheticVideo) {
  DINOCLIP_REQUIRE_FIXTURE(model, kModel);
  const int frames = 12;
  const Sequence seq = make_sequence(frames, /*seed=*/11);
  const Sequence other = make_sequence(1, /*seed=*/99);  // a mask of another scene: labels that do not fit
  const std::string annotated = " annotation=" + seq.mask_path(0);
  const double trained = summary_mean_iou(model, seq, "num-iters=300" + annotated, frames);
  const double untrained = summary_mean_iou(model, seq, "num-iters=0" + annotated, frames);
  const double wrong = summary_mean_iou(model, seq, "num-iters=300 annotation=" + other.mask_path(0), frames);
  std::printf("mean IoU over %d frames: trained %.3f, untrained %.3f, another scene's mask %.3f\n", frames, trained,
              untrained, wrong);
  EXPECT_GT(trained, 0.45) << "untrained " << untrained << ", wrong mask " << wrong;
  EXPECT_LT(untrained, trained - 0.15) << "trained " << trained;
  EXPECT_LT(wrong, trained - 0.15) << "trained " << trained;
}

/* ---- propagation ---- */

// method=propagation gives the maps lib/tasks' VideoSegmenter gives on the
// same features, including the frames held before the annotated one (walked
// backwards), and by the last frame it matches the moved objects better than
// the annotation standing still would (measured: IoU 0.619 against 0.325).
TEST(DinoSeg, PropagationFollowsTheLibAndTheMovingObjects) {
  DINOCLIP_REQUIRE_FIXTURE(model, kModel);
  const int frames = 24, annotated = 2, size = 128;
  const Sequence seq = make_sequence(frames, /*seed=*/11, size, size);
  Harness h =
      seg_harness(model, "method=propagation annotation-frame=2 annotation=" + seq.mask_path(annotated), size, size);
  for (int i = 0; i < frames; ++i) ASSERT_EQ(gst_harness_push(h.get(), frame_buffer(seq, i)), GST_FLOW_OK);
  std::vector<PatchGrid> grids;
  std::vector<Image> maps;
  for (int i = 0; i < frames; ++i) {
    Buffer out(gst_harness_pull(h.get()));
    GstDinoclipFeaturesMeta* features = gst_buffer_get_dinoclip_features_meta(out.get());
    const GstDinoclipFeaturesShape* shape = gst_dinoclip_features_get_shape(features->features);
    grids.push_back(PatchGrid{meta_tokens(features->features).narrow(0, 1, shape->grid_height * shape->grid_width),
                              int(shape->grid_height), int(shape->grid_width)});
    maps.push_back(class_map_of(out.get()));
  }
  VideoSegmenterConfig config;
  config.method = SegMethod::kPropagation;
  VideoSegmenter reference = VideoSegmenter::from_annotation(grids[annotated], seq.masks[annotated], config);
  const std::vector<PatchGrid> before(grids.begin(), grids.begin() + annotated);
  std::vector<at::Tensor> expected = reference.segment_preceding(before, size, size);
  for (int i = annotated; i < frames; ++i) expected.push_back(reference.segment(grids[i], size, size));
  for (int i = 0; i < frames; ++i) {
    EXPECT_EQ(maps[i].pixels, mask_tensor_to_image(expected[i]).pixels) << "frame " << i;
  }
  const double followed = mean_iou(maps.back(), seq.masks.back());
  const double still = mean_iou(seq.masks[annotated], seq.masks.back());
  std::printf("propagation on the last frame: IoU %.3f; the unmoved annotation: %.3f\n", followed, still);
  EXPECT_GT(followed, still + 0.1)
      << "the propagated mask matches the last frame no better than the unmoved annotation";
}

/* ---- annotation-image ---- */

TEST(DinoSeg, AnnotationImageTrainsBeforeTheFirstFrameWithUpstreamFeatures) {
  DINOCLIP_REQUIRE_FIXTURE(model, kModel);
  const Sequence seq = make_sequence(3, /*seed=*/21);
  const std::string picture = seq.dir + "/picture.png";
  write_png(picture, seq.frames[0]);
  Harness h = seg_harness(
      model, "num-iters=50 annotation-image=" + picture + " annotation=" + seq.mask_path(0) + " annotation-frame=2");
  Bus bus(h.get());
  Buffer out(gst_harness_push_and_pull(h.get(), frame_buffer(seq, 0)));  // annotation-frame is ignored: no holding
  ASSERT_TRUE(out);
  std::vector<GstStructure*> trained = bus.messages("dinoseg-trained");
  ASSERT_EQ(trained.size(), 1u);
  gint64 frame = 0;
  gst_structure_get_int64(trained[0], "frame", &frame);
  EXPECT_EQ(frame, -1) << "trained on a stream frame, not on the picture";
  free_all(trained);
  // The picture is frame 0 itself: the same features, so the same training and the same map.
  Harness direct = seg_harness(model, "num-iters=50 annotation=" + seq.mask_path(0));
  Buffer reference(gst_harness_push_and_pull(direct.get(), frame_buffer(seq, 0)));
  EXPECT_EQ(class_map_of(out.get()).pixels, class_map_of(reference.get()).pixels);
}

/* ---- properties ---- */

TEST(DinoSeg, PropertiesHaveTheDocumentedDefaultsAndBlurbs) {
  GstPtr<GstElement> element(gst_element_factory_make("dinoseg", nullptr));
  ASSERT_TRUE(element);
  guint annotation_frame = 99, max_held = 0, num_classes = 99;
  gint iters = 0, hidden = 0, context = 0, topk = 0, neighborhood = 0, method = -1, head = -1;
  gdouble lr = 0, wd = 0, temperature = 0;
  g_object_get(element.get(), "annotation-frame", &annotation_frame, "max-held-frames", &max_held, "num-classes",
               &num_classes, "num-iters", &iters, "hidden-size", &hidden, "learning-rate", &lr, "weight-decay", &wd,
               "context-frames", &context, "top-k", &topk, "neighborhood", &neighborhood, "temperature", &temperature,
               "method", &method, "head", &head, nullptr);
  EXPECT_EQ(annotation_frame, 0u);
  EXPECT_EQ(max_held, 300u);
  EXPECT_EQ(num_classes, 0u);
  EXPECT_EQ(iters, 500);
  EXPECT_EQ(hidden, 128);
  EXPECT_DOUBLE_EQ(lr, 1e-3);
  EXPECT_DOUBLE_EQ(wd, 1e-2);
  EXPECT_EQ(context, 7);
  EXPECT_EQ(topk, 5);
  EXPECT_EQ(neighborhood, 12);
  EXPECT_DOUBLE_EQ(temperature, 0.1);
  EXPECT_EQ(method, 0);  // head
  EXPECT_EQ(head, 0);    // linear
  expect_useful_blurbs(element.get());
}

/* ---- bad input: clear errors, no hang ---- */

// The error message dinoseg posts when it refuses to start.
std::string start_error(const std::string& properties) {
  StartResult r = start_element("dinoseg " + properties);
  EXPECT_EQ(r.ret, GST_STATE_CHANGE_FAILURE) << properties;
  if (!r.error) return "";
  const std::string text = r.error->message;
  g_error_free(r.error);
  return text;
}

TEST(DinoSeg, RejectsMissingOrUnreadableAnnotationsAtStart) {
  EXPECT_NE(start_error("").find("annotation"), std::string::npos);
  const std::string missing = start_error("annotation=/nonexistent/00040.png");
  EXPECT_NE(missing.find("/nonexistent/00040.png"), std::string::npos) << missing;
  const std::string text_file = temp_dir() + "/not_a_png.png";
  std::ofstream(text_file) << "hello";
  const std::string unreadable = start_error("annotation=" + text_file);
  EXPECT_NE(unreadable.find(text_file), std::string::npos) << unreadable;
}

TEST(DinoSeg, RejectsADirectoryAsAnnotationOrAGroundTruthInAMissingFolder) {
  const Sequence seq = make_sequence(1);
  const std::string directory = start_error("annotation=" + seq.dir);
  EXPECT_NE(directory.find("is a directory"), std::string::npos) << directory;
  const std::string missing = start_error("annotation=" + seq.mask_path(0) + " ground-truth=/nonexistent/gt/%05d.png");
  EXPECT_NE(missing.find("the folder '/nonexistent/gt' does not exist"), std::string::npos) << missing;
}

TEST(DinoSeg, WarnsAtEosWhenNoFrameHadAGroundTruthFile) {
  DINOCLIP_REQUIRE_FIXTURE(model, kModel);
  const Sequence seq = make_sequence(2);
  Harness h =
      seg_harness(model, "num-iters=5 annotation=" + seq.mask_path(0) + " ground-truth=" + seq.dir + "/other_%03d.png");
  Bus bus(h.get());
  for (int i = 0; i < 2; ++i) Buffer(gst_harness_push_and_pull(h.get(), frame_buffer(seq, i)));
  gst_harness_push_event(h.get(), gst_event_new_eos());
  GstMessage* m = gst_bus_pop_filtered(bus.bus.get(), GST_MESSAGE_WARNING);
  ASSERT_NE(m, nullptr) << "no warning for a ground truth that matched no file";
  GError* error = nullptr;
  gst_message_parse_warning(m, &error, nullptr);
  EXPECT_NE(std::string(error->message).find("other_001.png"), std::string::npos) << error->message;
  g_error_free(error);
  gst_message_unref(m);
}

TEST(DinoSeg, RejectsContradictorySettingsAtStart) {
  const Sequence seq = make_sequence(1, /*seed=*/31);
  EXPECT_NE(start_error("annotation=" + seq.mask_path(0) + " load-head=/x.safetensors").find("not both"),
            std::string::npos);
  EXPECT_NE(start_error("method=propagation annotation=" + seq.mask_path(0) + " save-head=/tmp/x.safetensors")
                .find("save-head"),
            std::string::npos);
  const std::string existing = seq.dir + "/existing_head.safetensors";
  std::ofstream(existing) << "precious";
  const std::string error = start_error("annotation=" + seq.mask_path(0) + " save-head=" + existing);
  EXPECT_NE(error.find("already exists"), std::string::npos) << error;
  std::ifstream kept(existing);
  std::string content;
  kept >> content;
  EXPECT_EQ(content, "precious") << "an existing file was overwritten";
  EXPECT_NE(start_error("ground-truth=gt/%s.png annotation=" + seq.mask_path(0)).find("%d"), std::string::npos);
}

TEST(DinoSeg, RejectsAnAnnotationOfAnotherSizeThanTheVideo) {
  DINOCLIP_REQUIRE_FIXTURE(model, kModel);
  const std::string mask = temp_dir() + "/small_mask.png";
  Image small(32, 32, 1);
  small.pixels[5] = 1;
  write_palette_png(mask, small, davis_palette());
  Harness h = seg_harness(model, "annotation=" + mask);
  Bus bus(h.get());
  const Sequence seq = make_sequence(1);
  EXPECT_NE(gst_harness_push(h.get(), frame_buffer(seq, 0)), GST_FLOW_OK);
  const std::string error = bus.error_message();
  EXPECT_NE(error.find("32x32"), std::string::npos) << error;
  EXPECT_NE(error.find("96x64"), std::string::npos) << error;
}

/* ---- frame numbers: by timestamp x framerate, not by arrival (docs/elements/dinoseg.md) ---- */

// frame -> IoU of every dinoseg-iou message posted so far.
std::map<int64_t, double> iou_messages(Bus& bus) {
  std::vector<GstStructure*> ious = bus.messages("dinoseg-iou");
  std::map<int64_t, double> out;
  for (GstStructure* s : ious) {
    gint64 frame = -1;
    double iou = NAN;
    gst_structure_get_int64(s, "frame", &frame);
    gst_structure_get_double(s, "iou", &iou);
    out[frame] = iou;
  }
  free_all(ious);
  return out;
}

int64_t trained_frame(Bus& bus) {
  std::vector<GstStructure*> trained = bus.messages("dinoseg-trained");
  gint64 frame = -100;
  if (!trained.empty()) gst_structure_get_int64(trained[0], "frame", &frame);
  free_all(trained);
  return frame;
}

void seek_to_start(GstHarness* h) {
  gst_harness_push_event(h, gst_event_new_flush_start());
  gst_harness_push_event(h, gst_event_new_flush_stop(TRUE));
  GstSegment segment;
  gst_segment_init(&segment, GST_FORMAT_TIME);
  gst_harness_push_event(h, gst_event_new_segment(&segment));
  while (GstBuffer* b = gst_harness_try_pull(h)) gst_buffer_unref(b);
}

// Each pulled frame's IoU against the ground-truth file of the frame its PTS names.
void expect_ious_match_their_own_frames(GstHarness* h, Bus& bus, const Sequence& seq, size_t expected_count) {
  std::map<int64_t, double> expected;
  while (GstBuffer* b = gst_harness_try_pull(h)) {
    const int64_t frame = int64_t(GST_BUFFER_PTS(b) / kFrame + 0.5);
    expected[frame] = mean_iou(class_map_of(b), seq.masks[size_t(frame)]);
    gst_buffer_unref(b);
  }
  const std::map<int64_t, double> posted = iou_messages(bus);
  EXPECT_EQ(posted.size(), expected_count);
  for (const auto& [frame, iou] : posted) {
    ASSERT_TRUE(expected.count(frame)) << "IoU posted for frame " << frame << ", which never came out";
    EXPECT_NEAR(iou, expected[frame], 1e-12) << "frame " << frame << " scored against another frame's mask";
  }
}

// The case: a seek back to the start while frames are held. The
// frames after it are numbered by their timestamps, not by how many came.
TEST(DinoSeg, ASeekWhileHoldingTrainsOnTheAnnotatedFrameNotTheNthBuffer) {
  DINOCLIP_REQUIRE_FIXTURE(model, kModel);
  const Sequence seq = make_sequence(6);
  Harness h = seg_harness(
      model, "num-iters=20 annotation-frame=4 annotation=" + seq.mask_path(4) + " ground-truth=" + seq.pattern());
  Bus bus(h.get());
  for (int i = 0; i < 3; ++i) ASSERT_EQ(gst_harness_push(h.get(), frame_buffer(seq, i)), GST_FLOW_OK);
  seek_to_start(h.get());
  for (int i = 0; i < 4; ++i) ASSERT_EQ(gst_harness_push(h.get(), frame_buffer(seq, i)), GST_FLOW_OK);
  EXPECT_EQ(gst_harness_buffers_in_queue(h.get()), 0u) << "frame 3 after the seek is not the annotated frame 4";
  ASSERT_EQ(gst_harness_push(h.get(), frame_buffer(seq, 4)), GST_FLOW_OK);
  EXPECT_EQ(trained_frame(bus), 4);
  ASSERT_EQ(gst_harness_push(h.get(), frame_buffer(seq, 5)), GST_FLOW_OK);
  expect_ious_match_their_own_frames(h.get(), bus, seq, 6);
}

// Sends EOS and returns the "frames" field of the one dinoseg-summary message
// (-1 when there is not exactly one).
gint64 summary_frames_after_eos(GstHarness* h, Bus& bus) {
  gst_harness_push_event(h, gst_event_new_eos());
  std::vector<GstStructure*> summary = bus.messages("dinoseg-summary");
  gint64 frames = -1;
  if (summary.size() == 1) gst_structure_get_int64(summary[0], "frames", &frames);
  EXPECT_EQ(summary.size(), 1u) << "dinoseg-summary messages";
  free_all(summary);
  return frames;
}

TEST(DinoSeg, ASeekAfterTrainingScoresEachFrameAgainstItsOwnGroundTruthOnce) {
  DINOCLIP_REQUIRE_FIXTURE(model, kModel);
  const Sequence seq = make_sequence(5);
  Harness h = seg_harness(model, "num-iters=20 annotation=" + seq.mask_path(0) + " ground-truth=" + seq.pattern());
  Bus bus(h.get());
  for (int i = 0; i < 4; ++i) ASSERT_EQ(gst_harness_push(h.get(), frame_buffer(seq, i)), GST_FLOW_OK);
  seek_to_start(h.get());
  for (int i = 0; i < 5; ++i) ASSERT_EQ(gst_harness_push(h.get(), frame_buffer(seq, i)), GST_FLOW_OK);
  expect_ious_match_their_own_frames(h.get(), bus, seq, 5);
  EXPECT_EQ(summary_frames_after_eos(h.get(), bus), 5) << "frames played twice are counted once";
}

// Frames a decoder drops leave gaps in the timestamps; the frames after a gap keep their numbers.
TEST(DinoSeg, DroppedFramesDoNotShiftTheFramesAfterThem) {
  DINOCLIP_REQUIRE_FIXTURE(model, kModel);
  const Sequence seq = make_sequence(6);
  Harness h = seg_harness(
      model, "num-iters=20 annotation-frame=3 annotation=" + seq.mask_path(3) + " ground-truth=" + seq.pattern());
  Bus bus(h.get());
  for (int i : {0, 2, 3, 5}) ASSERT_EQ(gst_harness_push(h.get(), frame_buffer(seq, i)), GST_FLOW_OK);
  EXPECT_EQ(trained_frame(bus), 3);
  expect_ious_match_their_own_frames(h.get(), bus, seq, 4);
}

TEST(DinoSeg, RejectsAStreamThatSkipsTheAnnotatedFrame) {
  DINOCLIP_REQUIRE_FIXTURE(model, kModel);
  const Sequence seq = make_sequence(5);
  Harness h = seg_harness(model, "annotation-frame=2 annotation=" + seq.mask_path(2));
  Bus bus(h.get());
  ASSERT_EQ(gst_harness_push(h.get(), frame_buffer(seq, 1)), GST_FLOW_OK);
  EXPECT_EQ(gst_harness_push(h.get(), frame_buffer(seq, 4)), GST_FLOW_ERROR);
  const std::string error = bus.error_message();
  EXPECT_NE(error.find("annotation-frame 2 never arrived"), std::string::npos) << error;
  EXPECT_NE(error.find("frame 4"), std::string::npos) << error;
}

// Without timestamps, frames are numbered as they come (the old behaviour).
TEST(DinoSeg, FramesWithoutTimestampsAreNumberedByArrival) {
  DINOCLIP_REQUIRE_FIXTURE(model, kModel);
  const Sequence seq = make_sequence(3);
  Harness h = seg_harness(model, "num-iters=5 annotation-frame=2 annotation=" + seq.mask_path(2));
  Bus bus(h.get());
  for (int i = 0; i < 3; ++i) {
    GstBuffer* b = frame_buffer(seq, i);
    GST_BUFFER_PTS(b) = GST_CLOCK_TIME_NONE;
    ASSERT_EQ(gst_harness_push(h.get(), b), GST_FLOW_OK);
  }
  EXPECT_EQ(trained_frame(bus), 2);
  EXPECT_EQ(gst_harness_buffers_in_queue(h.get()), 3u);
}

// A source's frame counter (GST_BUFFER_OFFSET, as videotestsrc sets it) wins over timestamps.
TEST(DinoSeg, NumbersFramesByTheSourcesFrameCounter) {
  DINOCLIP_REQUIRE_FIXTURE(model, kModel);
  const Sequence seq = make_sequence(3);
  Harness h = seg_harness(model, "num-iters=5 annotation-frame=7 annotation=" + seq.mask_path(0));
  Bus bus(h.get());
  GstBuffer* b = frame_buffer(seq, 0);
  GST_BUFFER_OFFSET(b) = 7;
  GST_BUFFER_OFFSET_END(b) = 8;
  ASSERT_EQ(gst_harness_push(h.get(), b), GST_FLOW_OK);
  EXPECT_EQ(trained_frame(bus), 7);
}

// dinofeatures interval=2: frames 1, 3, ... carry frame 0's, 2's features.
Harness interval_harness(const std::string& model, const std::string& seg_properties) {
  const std::string launch =
      "dinofeatures model=\"" + model + "\" heads=4 input-size=native interval=2 ! dinoseg " + seg_properties;
  Harness h(gst_harness_new_parse(launch.c_str()));
  gst_harness_set_src_caps_str(h.get(), caps_string(GST_VIDEO_FORMAT_RGB, kWidth, kHeight).c_str());
  return h;
}

TEST(DinoSeg, CarriedFramesAreScoredAndCountedInTheSummary) {
  DINOCLIP_REQUIRE_FIXTURE(model, kModel);
  const Sequence seq = make_sequence(5);
  Harness h = interval_harness(
      model, "num-iters=20 annotation-frame=2 annotation=" + seq.mask_path(2) + " ground-truth=" + seq.pattern());
  Bus bus(h.get());
  for (int i = 0; i < 5; ++i) ASSERT_EQ(gst_harness_push(h.get(), frame_buffer(seq, i)), GST_FLOW_OK);
  expect_ious_match_their_own_frames(h.get(), bus, seq, 5);
  EXPECT_EQ(summary_frames_after_eos(h.get(), bus), 5);
}

TEST(DinoSeg, RejectsAnAnnotatedFrameWhoseFeaturesAreCarriedFromAnother) {
  DINOCLIP_REQUIRE_FIXTURE(model, kModel);
  const Sequence seq = make_sequence(4);
  Harness h = interval_harness(model, "annotation-frame=3 annotation=" + seq.mask_path(3));
  Bus bus(h.get());
  for (int i = 0; i < 3; ++i) ASSERT_EQ(gst_harness_push(h.get(), frame_buffer(seq, i)), GST_FLOW_OK);
  EXPECT_EQ(gst_harness_push(h.get(), frame_buffer(seq, 3)), GST_FLOW_ERROR);
  const std::string error = bus.error_message();
  EXPECT_NE(error.find("carried"), std::string::npos) << error;
  EXPECT_NE(error.find("interval=1"), std::string::npos) << error;
}

TEST(DinoSeg, RejectsAnAnnotationWithMoreClassesThanAllowed) {
  DINOCLIP_REQUIRE_FIXTURE(model, kModel);
  const Sequence seq = make_sequence(1);  // ids 0..2
  Harness h = seg_harness(model, "num-classes=2 annotation=" + seq.mask_path(0));
  Bus bus(h.get());
  EXPECT_EQ(gst_harness_push(h.get(), frame_buffer(seq, 0)), GST_FLOW_ERROR);
  const std::string error = bus.error_message();
  EXPECT_NE(error.find("2"), std::string::npos) << error;
  EXPECT_FALSE(error.empty());
}

TEST(DinoSeg, RejectsEosBeforeTheAnnotatedFrameWithoutHanging) {
  DINOCLIP_REQUIRE_FIXTURE(model, kModel);
  const Sequence seq = make_sequence(2);
  Harness h = seg_harness(model, "annotation-frame=40 annotation=" + seq.mask_path(0));
  Bus bus(h.get());
  for (int i = 0; i < 2; ++i) ASSERT_EQ(gst_harness_push(h.get(), frame_buffer(seq, i)), GST_FLOW_OK);
  gst_harness_push_event(h.get(), gst_event_new_eos());
  const std::string error = bus.error_message();
  EXPECT_NE(error.find("annotation-frame 40"), std::string::npos) << error;
  EXPECT_NE(error.find("after 2 frames"), std::string::npos) << error;
  EXPECT_EQ(gst_harness_buffers_in_queue(h.get()), 0u);
}

TEST(DinoSeg, RejectsMoreHeldFramesThanAllowed) {
  DINOCLIP_REQUIRE_FIXTURE(model, kModel);
  const Sequence seq = make_sequence(3);
  Harness h = seg_harness(model, "max-held-frames=2 annotation-frame=10 annotation=" + seq.mask_path(0));
  Bus bus(h.get());
  EXPECT_EQ(gst_harness_push(h.get(), frame_buffer(seq, 0)), GST_FLOW_OK);
  EXPECT_EQ(gst_harness_push(h.get(), frame_buffer(seq, 1)), GST_FLOW_OK);
  EXPECT_EQ(gst_harness_push(h.get(), frame_buffer(seq, 2)), GST_FLOW_ERROR);
  EXPECT_NE(bus.error_message().find("max-held-frames"), std::string::npos);
}

TEST(DinoSeg, RejectsFramesWithoutDinoFeatures) {
  const Sequence seq = make_sequence(1);
  Harness h(gst_harness_new_parse(("dinoseg annotation=" + seq.mask_path(0)).c_str()));
  gst_harness_set_src_caps_str(h.get(), caps_string(GST_VIDEO_FORMAT_RGB, kWidth, kHeight).c_str());
  Bus bus(h.get());
  EXPECT_EQ(gst_harness_push(h.get(), frame_buffer(seq, 0)), GST_FLOW_ERROR);
  EXPECT_NE(bus.error_message().find("dinofeatures"), std::string::npos);
}

}  // namespace
}  // namespace dinoclip::testing
