// clipzeroshot through GstHarness on the tiny random CLIP (clip_tiny): every
// value the element reports is compared with lib/tasks called directly on the
// same frame. Random weights are not semantic, so thresholds are picked from
// computed scores, never from what a real CLIP would say.
#include <gst/dinoclip/dinoclip-meta.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <future>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "element_test_util.h"
#include "models/clip.h"
#include "roi_reader.h"
#include "tasks/frame_zeroshot.h"
#include "tasks/video_index.h"
#include "tasks/zeroshot_texts.h"
#include "text/bpe_tokenizer.h"
#include "vision/text_render.h"

namespace dinoclip::testing {
namespace {

constexpr const char* kModel = "clip_tiny/clip_tiny_state.pth";
constexpr const char* kVocab = "tokenizer/bpe_simple_vocab_16e6.txt.gz";
// Element vs lib/ on the same frame: the same code on the same thread count,
// so the only difference could be summation order; 1e-6 on probabilities.
constexpr double kSameCodeTolerance = 1e-6;
constexpr GstClockTime kFrame = GST_SECOND / 30;
constexpr int kWidth = 96, kHeight = 72;

const std::vector<std::string> kLabels = {"a person", "a cat", "an empty room"};

struct StructureDeleter {
  void operator()(GstStructure* s) const { gst_structure_free(s); }
};
using Structure = std::unique_ptr<GstStructure, StructureDeleter>;

// The model, tokenizer and a bus on the harness: everything a test compares.
struct Fixture {
  std::string model_path, vocab_path;
  ClipModel model;
  BpeTokenizer tokenizer;
};

#define REQUIRE_CLIP(fx)                         \
  DINOCLIP_REQUIRE_FIXTURE(model_path_, kModel); \
  DINOCLIP_REQUIRE_FIXTURE(vocab_path_, kVocab); \
  Fixture fx { model_path_, vocab_path_, ClipModel::load(model_path_), BpeTokenizer(vocab_path_) }

std::string in_quotes(const std::string& text) { return "\"" + text + "\""; }

std::string join(const std::vector<std::string>& parts, const std::string& separator) {
  std::string joined;
  for (size_t i = 0; i < parts.size(); ++i) joined += (i ? separator : "") + parts[i];
  return joined;
}

struct Running {
  Harness h;
  GstPtr<GstBus> bus;
};

// clipzeroshot in a harness with its own bus, RGB kWidth x kHeight.
Running run_element(const Fixture& fx, const std::string& properties) {
  const std::string launch =
      "clipzeroshot model=" + in_quotes(fx.model_path) + " vocab=" + in_quotes(fx.vocab_path) + " " + properties;
  Running r{Harness(gst_harness_new_parse(launch.c_str())), GstPtr<GstBus>(gst_bus_new())};
  gst_element_set_bus(r.h->element, r.bus.get());
  gst_harness_set_src_caps_str(r.h.get(), caps_string(GST_VIDEO_FORMAT_RGB, kWidth, kHeight).c_str());
  return r;
}

GstPtr<GstElement> element_of(GstHarness* h) { return GstPtr<GstElement>(gst_harness_find_element(h, "clipzeroshot")); }

guint64 counter(GstHarness* h, const char* property) {
  guint64 value = G_MAXUINT64;
  g_object_get(element_of(h).get(), property, &value, nullptr);
  return value;
}

// Waits (up to 30 s) until the element has encoded `count` text sets.
void wait_for_encodings(GstHarness* h, guint64 count) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (counter(h, "text-encodings") < count && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

Image frame_picture(int index) { return scene_frame(kWidth, kHeight, index); }

Buffer push_pull(GstHarness* h, const Image& picture, GstClockTime pts) {
  EXPECT_EQ(gst_harness_push(h, make_frame(picture, GST_VIDEO_FORMAT_RGB, pts, kFrame)), GST_FLOW_OK);
  return Buffer(gst_harness_pull(h));
}

// Element messages named `name` (nullptr: all) posted so far, oldest first.
std::vector<Structure> messages_named(GstBus* bus, const char* name) {
  std::vector<Structure> found;
  while (GstMessage* m = gst_bus_pop_filtered(bus, GST_MESSAGE_ELEMENT)) {
    const GstStructure* s = gst_message_get_structure(m);
    if (!name || gst_structure_has_name(s, name)) found.emplace_back(gst_structure_copy(s));
    gst_message_unref(m);
  }
  return found;
}

std::vector<std::string> string_array(const GstStructure* s, const char* field) {
  std::vector<std::string> values;
  const GValue* array = gst_structure_get_value(s, field);
  for (guint i = 0; array && i < gst_value_array_get_size(array); ++i) {
    values.push_back(g_value_get_string(gst_value_array_get_value(array, i)));
  }
  return values;
}

std::vector<double> double_array(const GstStructure* s, const char* field) {
  std::vector<double> values;
  const GValue* array = gst_structure_get_value(s, field);
  for (guint i = 0; array && i < gst_value_array_get_size(array); ++i) {
    values.push_back(g_value_get_double(gst_value_array_get_value(array, i)));
  }
  return values;
}

GstDinoclipClassificationMeta* classification_meta(const Buffer& buffer) {
  return buffer ? gst_buffer_get_dinoclip_classification_meta(buffer.get()) : nullptr;
}

std::vector<std::string> meta_labels(const GstDinoclipClassification* c) {
  std::vector<std::string> labels;
  for (guint i = 0; i < gst_dinoclip_classification_get_n_labels(c); ++i) {
    labels.push_back(gst_dinoclip_classification_get_label(c, i));
  }
  return labels;
}

// What the element should report, from lib/ directly.
FrameScores lib_scores(const Fixture& fx, const ZeroShotTextSpec& spec, const Image& picture,
                       ClipCrop crop = ClipCrop::kCenter, int64_t top_k = 5, double unknown_threshold = 0.0) {
  const ZeroShotTexts texts = encode_zero_shot_texts(fx.model, fx.tokenizer, spec);
  return score_frame(fx.model, texts, picture.view(), crop, top_k, unknown_threshold);
}

ZeroShotTextSpec labels_spec(const std::vector<std::string>& labels,
                             const std::vector<std::string>& templates = {"a photo of {}."}) {
  return {labels, templates, ""};
}

void expect_meta_equals(const GstDinoclipClassificationMeta* meta, const std::vector<std::string>& labels,
                        const FrameScores& expected, const std::string& where) {
  ASSERT_NE(meta, nullptr) << where;
  EXPECT_EQ(meta_labels(meta->classification), labels) << where;
  for (size_t i = 0; i < labels.size(); ++i) {
    EXPECT_NEAR(gst_dinoclip_classification_get_score(meta->classification, guint(i)),
                expected.probabilities[int64_t(i)].item<float>(), kSameCodeTolerance)
        << where << " label " << i;
  }
  guint best = G_MAXUINT;
  ASSERT_TRUE(gst_dinoclip_classification_get_ranked(meta->classification, 0, &best, nullptr, nullptr)) << where;
  EXPECT_EQ(int64_t(best), expected.result->top[0].label) << where;
  // The image embedding the scores came from (what dinometapublish method=postgres stores).
  guint dim = 0;
  const gfloat* embedding = gst_dinoclip_classification_get_embedding(meta->classification, &dim);
  ASSERT_NE(embedding, nullptr) << where;
  ASSERT_EQ(int64_t(dim), expected.image_embedding.numel()) << where;
  for (guint d = 0; d < dim; ++d) {
    EXPECT_NEAR(embedding[d], expected.image_embedding[d].item<float>(), kSameCodeTolerance) << where << " value " << d;
  }
}

/* ---- meta and messages ---- */

TEST(ClipZeroShot, MetaAndMessagePerFrameEqualTheLibScores) {
  REQUIRE_CLIP(fx);
  Running r = run_element(fx, "labels=" + in_quotes(join(kLabels, ";")) + " top-k=2");
  for (int i = 0; i < 3; ++i) {
    const Image picture = frame_picture(i);
    Buffer out = push_pull(r.h.get(), picture, 1000 + i * kFrame);
    const FrameScores expected = lib_scores(fx, labels_spec(kLabels), picture, ClipCrop::kCenter, 2);
    const std::string where = "frame " + std::to_string(i);
    expect_meta_equals(classification_meta(out), kLabels, expected, where);
    EXPECT_FALSE(classification_meta(out)->carried);
    EXPECT_EQ(gst_dinoclip_classification_get_top_k(classification_meta(out)->classification), 2u);
    // The embedding's model, as a video index records it: the weights' absolute path and fingerprint.
    const IndexModel described = index_model_from_json(
        gst_dinoclip_classification_get_embedding_model(classification_meta(out)->classification));
    const IndexModel direct = describe_index_model(fx.model, index_weights_path(fx.model_path));
    EXPECT_EQ(described.name, direct.name);
    EXPECT_EQ(described.weights, direct.weights);
    EXPECT_EQ(described.embed_dim, direct.embed_dim);
    EXPECT_NO_THROW(described.check_same_as(direct, where)) << "fingerprints differ";

    const std::vector<Structure> messages = messages_named(r.bus.get(), "clipzeroshot");
    ASSERT_EQ(messages.size(), 1u) << where;
    const GstStructure* s = messages[0].get();
    guint64 timestamp = 0, running_time = 0;
    gdouble score = -1;
    gboolean unknown = TRUE;
    ASSERT_TRUE(gst_structure_get(s, "timestamp", G_TYPE_UINT64, &timestamp, "running-time", G_TYPE_UINT64,
                                  &running_time, "score", G_TYPE_DOUBLE, &score, "unknown", G_TYPE_BOOLEAN, &unknown,
                                  nullptr));
    EXPECT_EQ(timestamp, 1000 + i * kFrame);
    EXPECT_EQ(running_time, 1000 + i * kFrame);  // the harness's segment starts at 0
    EXPECT_FALSE(unknown);
    const auto& top = expected.result->top;
    EXPECT_STREQ(gst_structure_get_string(s, "label"), kLabels[size_t(top[0].label)].c_str());
    EXPECT_NEAR(score, top[0].probability, kSameCodeTolerance);
    EXPECT_EQ(string_array(s, "labels"),
              (std::vector<std::string>{kLabels[size_t(top[0].label)], kLabels[size_t(top[1].label)]}));
    const std::vector<double> scores = double_array(s, "scores");
    ASSERT_EQ(scores.size(), 2u);
    EXPECT_NEAR(scores[0], top[0].probability, kSameCodeTolerance);
    EXPECT_NEAR(scores[1], top[1].probability, kSameCodeTolerance);
    EXPECT_FALSE(gst_structure_has_field(s, "query-score"));
  }
  EXPECT_EQ(counter(r.h.get(), "inferences"), 3u);
  EXPECT_EQ(counter(r.h.get(), "text-encodings"), 1u);  // encoded once, not per frame
}

// A generic reader (GstVideo API only) sees one full-frame ROI per frame whose
// "classification" and "detection" params carry the meta's ranking.
TEST(ClipZeroShot, FullFrameRoiCarriesTheLabelAndTheTopK) {
  REQUIRE_CLIP(fx);
  Running r = run_element(fx, "labels=" + in_quotes(join(kLabels, ";")) + " top-k=2 interval=2");
  for (int i = 0; i < 2; ++i) {  // frame 1 carries frame 0's result: its ROI too
    const Image picture = frame_picture(0);
    Buffer out = push_pull(r.h.get(), picture, i * kFrame);
    const FrameScores expected = lib_scores(fx, labels_spec(kLabels), picture, ClipCrop::kCenter, 2);
    const auto& top = expected.result->top;
    const std::vector<RoiCopy> rois = rois_of_type(out.get(), "clipzeroshot");
    ASSERT_EQ(rois.size(), 1u) << "frame " << i;
    const RoiCopy& roi = rois[0];
    EXPECT_EQ(roi.x, 0u);
    EXPECT_EQ(roi.y, 0u);
    EXPECT_EQ(roi.w, guint(kWidth));
    EXPECT_EQ(roi.h, guint(kHeight));

    const GstStructure* classified = roi.param("classification");
    ASSERT_NE(classified, nullptr);
    EXPECT_EQ(string_field(classified, "label"), kLabels[size_t(top[0].label)]);
    EXPECT_EQ(int_field(classified, "label_id"), top[0].label);
    EXPECT_NEAR(double_field(classified, "confidence"), top[0].probability, kSameCodeTolerance);
    EXPECT_EQ(string_array(classified, "labels"),
              (std::vector<std::string>{kLabels[size_t(top[0].label)], kLabels[size_t(top[1].label)]}));
    const std::vector<double> confidences = double_array(classified, "confidences");
    ASSERT_EQ(confidences.size(), 2u);
    EXPECT_NEAR(confidences[0], top[0].probability, kSameCodeTolerance);
    EXPECT_NEAR(confidences[1], top[1].probability, kSameCodeTolerance);
    const GValue* ids = gst_structure_get_value(classified, "label_ids");
    ASSERT_NE(ids, nullptr);
    ASSERT_EQ(gst_value_array_get_size(ids), 2u);
    EXPECT_EQ(g_value_get_int(gst_value_array_get_value(ids, 1)), top[1].label);

    const GstStructure* detection = roi.param("detection");
    ASSERT_NE(detection, nullptr);
    EXPECT_EQ(double_field(detection, "x_min"), 0.0);
    EXPECT_EQ(double_field(detection, "y_min"), 0.0);
    EXPECT_EQ(double_field(detection, "x_max"), 1.0);
    EXPECT_EQ(double_field(detection, "y_max"), 1.0);
    EXPECT_EQ(int_field(detection, "label_id"), top[0].label);
    EXPECT_NEAR(double_field(detection, "confidence"), top[0].probability, kSameCodeTolerance);
  }
}

TEST(ClipZeroShot, PassesPixelsAndTimestampsThrough) {
  REQUIRE_CLIP(fx);
  Running r = run_element(fx, "labels=" + in_quotes(join(kLabels, ";")));
  GstBuffer* frame = make_frame(frame_picture(0), GST_VIDEO_FORMAT_RGB, 5 * kFrame, kFrame);
  const std::vector<guint8> before = buffer_bytes(frame);
  ASSERT_EQ(gst_harness_push(r.h.get(), frame), GST_FLOW_OK);
  Buffer out(gst_harness_pull(r.h.get()));
  EXPECT_EQ(buffer_bytes(out.get()), before);
  EXPECT_EQ(GST_BUFFER_PTS(out.get()), 5 * kFrame);
  EXPECT_EQ(GST_BUFFER_DURATION(out.get()), kFrame);
}

// The random CLIP's label probabilities saturate (logits x100), so the crop's
// effect is checked on the query similarity, a plain cosine.
TEST(ClipZeroShot, CropFullScoresTheWholeFrame) {
  REQUIRE_CLIP(fx);
  const std::string query = "a cat on a sofa";
  Running r = run_element(fx, "labels=" + in_quotes(join(kLabels, ";")) + " query=" + in_quotes(query) + " crop=full");
  const Image picture = frame_picture(4);
  Buffer out = push_pull(r.h.get(), picture, 0);
  const ZeroShotTextSpec spec{kLabels, {"a photo of {}."}, query};
  const FrameScores full = lib_scores(fx, spec, picture, ClipCrop::kFullFrame);
  const FrameScores center = lib_scores(fx, spec, picture, ClipCrop::kCenter);
  expect_meta_equals(classification_meta(out), kLabels, full, "crop=full");
  const std::vector<Structure> messages = messages_named(r.bus.get(), "clipzeroshot");
  ASSERT_EQ(messages.size(), 1u);
  gdouble score = 0;
  ASSERT_TRUE(gst_structure_get_double(messages[0].get(), "query-score", &score));
  EXPECT_NEAR(score, *full.query_similarity, kSameCodeTolerance);
  EXPECT_GT(std::abs(*full.query_similarity - *center.query_similarity), 1e-4) << "the crops should differ";
}

// scale-method=fast: the frame goes to the instance's worker as planes and is
// prepared there with its batch (clip_inputs_from_frames); the scores equal
// the single-picture fast path (clip_frame_input with ScaleMethod::kFast).
TEST(ClipZeroShot, ScaleMethodFastScoresAsThePerFrameFastPath) {
  REQUIRE_CLIP(fx);
  const ZeroShotTexts texts = encode_zero_shot_texts(fx.model, fx.tokenizer, labels_spec(kLabels));
  for (ClipCrop crop : {ClipCrop::kCenter, ClipCrop::kFullFrame}) {
    const std::string crop_name = crop == ClipCrop::kCenter ? "center" : "full";
    Running r = run_element(fx, "labels=" + in_quotes(join(kLabels, ";")) + " scale-method=fast crop=" + crop_name);
    const Image picture = frame_picture(2);
    Buffer out = push_pull(r.h.get(), picture, 0);
    const at::Tensor input =
        clip_frame_input(picture.view(), fx.model.config().image_resolution, crop, ScaleMethod::kFast);
    const FrameScores expected = score_image_embedding(texts, fx.model.encode_image(input), 5, 0.0);
    expect_meta_equals(classification_meta(out), kLabels, expected, "scale-method=fast crop=" + crop_name);
  }
}

// The random CLIP's probabilities saturate for most label pairs; the pair
// whose single-template probabilities are the most balanced on this picture
// shows the templates' effect.
std::vector<std::string> balanced_pair(const Fixture& fx, const Image& picture) {
  const std::vector<std::string> pool = {"a cat", "a dog", "a car", "a tree", "food", "a person", "a house", "a bird"};
  std::vector<std::string> best;
  double best_margin = 1.0;
  for (size_t i = 0; i < pool.size(); ++i) {
    for (size_t j = i + 1; j < pool.size(); ++j) {
      const FrameScores scores = lib_scores(fx, labels_spec({pool[i], pool[j]}), picture);
      const double margin = std::abs(scores.probabilities[0].item<double>() - 0.5);
      if (margin < best_margin) best = {pool[i], pool[j]}, best_margin = margin;
    }
  }
  return best;
}

TEST(ClipZeroShot, SeveralTemplatesAreAveraged) {
  REQUIRE_CLIP(fx);
  const Image picture = frame_picture(1);
  const std::vector<std::string> labels = balanced_pair(fx, picture);
  const std::vector<std::string> templates = {"a photo of {}.", "a drawing of {}.", "{}"};
  Running r =
      run_element(fx, "labels=" + in_quotes(join(labels, ";")) + " template=" + in_quotes(join(templates, "|")));
  Buffer out = push_pull(r.h.get(), picture, 0);
  const FrameScores ensembled = lib_scores(fx, labels_spec(labels, templates), picture);
  expect_meta_equals(classification_meta(out), labels, ensembled, "3 templates");
  EXPECT_GT(max_abs_diff(ensembled.probabilities, lib_scores(fx, labels_spec(labels), picture).probabilities), 1e-4)
      << labels[0] << " / " << labels[1];
}

TEST(ClipZeroShot, LabelsFileOnePerLine) {
  REQUIRE_CLIP(fx);
  const std::string path = temp_dir() + "/labels.txt";
  std::ofstream(path) << "# what the camera sees\n" << join(kLabels, "\n") << "\n\n";
  Running r = run_element(fx, "labels-file=" + in_quotes(path));
  const Image picture = frame_picture(2);
  Buffer out = push_pull(r.h.get(), picture, 0);
  expect_meta_equals(classification_meta(out), kLabels, lib_scores(fx, labels_spec(kLabels), picture), "file");
}

TEST(ClipZeroShot, IntervalCarriesTheMetaWithoutNewMessages) {
  REQUIRE_CLIP(fx);
  Running r = run_element(fx, "labels=" + in_quotes(join(kLabels, ";")) + " interval=3");
  GstDinoclipClassification* computed = nullptr;
  std::vector<guint64> expected_timestamps;
  for (int i = 0; i < 7; ++i) {
    Buffer out = push_pull(r.h.get(), frame_picture(i), i * kFrame);
    GstDinoclipClassificationMeta* meta = classification_meta(out);
    ASSERT_NE(meta, nullptr) << "frame " << i;
    const bool fresh = i % 3 == 0;
    EXPECT_EQ(bool(meta->carried), !fresh) << "frame " << i;
    if (fresh) {
      computed = meta->classification;
      expected_timestamps.push_back(i * kFrame);
    } else {
      EXPECT_EQ(meta->classification, computed) << "frame " << i << " should carry the last result";
    }
  }
  std::vector<guint64> timestamps;
  for (const Structure& s : messages_named(r.bus.get(), "clipzeroshot")) {
    guint64 t = 0;
    gst_structure_get_uint64(s.get(), "timestamp", &t);
    timestamps.push_back(t);
  }
  EXPECT_EQ(timestamps, expected_timestamps);
  EXPECT_EQ(counter(r.h.get(), "inferences"), 3u);
}

/* ---- live changes ---- */

// Labels change while frames flow: the text is encoded once, off the streaming
// thread; until it is ready frames keep the whole old set, then the whole new one.
TEST(ClipZeroShot, LabelChangeWhilePlayingSwapsWholeSetsEncodedOnce) {
  REQUIRE_CLIP(fx);
  const std::vector<std::string> next = {"a dog", "a car", "a tree", "a bicycle", "food"};
  Running r = run_element(fx, "labels=" + in_quotes(join(kLabels, ";")));
  push_pull(r.h.get(), frame_picture(0), 0);
  g_object_set(element_of(r.h.get()).get(), "labels", join(next, " ; ").c_str(), nullptr);

  int frames = 1, old_frames = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  bool switched = false;
  while (!switched && std::chrono::steady_clock::now() < deadline) {
    Buffer out = push_pull(r.h.get(), frame_picture(frames), frames * kFrame);
    const std::vector<std::string> seen = meta_labels(classification_meta(out)->classification);
    ASSERT_TRUE(seen == kLabels || seen == next) << "frame " << frames << " has a torn label set";
    switched = seen == next;
    old_frames += switched ? 0 : 1;
    ++frames;
  }
  ASSERT_TRUE(switched) << "the new labels never arrived";
  for (int i = 0; i < 3; ++i, ++frames) {
    const Image picture = frame_picture(frames);
    Buffer out = push_pull(r.h.get(), picture, frames * kFrame);
    expect_meta_equals(classification_meta(out), next, lib_scores(fx, labels_spec(next), picture), "after the swap");
  }
  wait_for_encodings(r.h.get(), 2);  // counted just after the swap: may trail the first new frame
  EXPECT_EQ(counter(r.h.get(), "text-encodings"), 2u);
  for (const Structure& s : messages_named(r.bus.get(), "clipzeroshot")) {
    const std::string label = gst_structure_get_string(s.get(), "label");
    const std::set<std::string> either(kLabels.begin(), kLabels.end());
    EXPECT_TRUE(either.count(label) || std::count(next.begin(), next.end(), label)) << label;
  }
  RecordProperty("frames_with_old_labels_after_change", old_frames);
}

// Labels set while READY->PAUSED loads the model (from the element's "using
// ..." log line, on the loading thread, after the load read the settings) are
// the ones frames get: the last value set wins (issue 24 item 4).
TEST(ClipZeroShot, LabelsSetWhileTheModelLoadsAreTheOnesUsed) {
  REQUIRE_CLIP(fx);
  const std::vector<std::string> next = {"a dog", "a car", "a tree"};
  bool set = false;
  LogHook hook("clipzeroshot", GST_LEVEL_INFO, "using ", [&](GObject* object) {
    if (std::exchange(set, true)) return;
    g_object_set(object, "labels", join(next, ";").c_str(), nullptr);
  });
  Running r = run_element(fx, "labels=" + in_quotes(join(kLabels, ";")));
  ASSERT_TRUE(set) << "the hook's log line moved: the test no longer sets the labels during the load";
  wait_for_encodings(r.h.get(), 2);
  ASSERT_EQ(counter(r.h.get(), "text-encodings"), 2u) << "the labels set during the load were never encoded";
  const Image picture = frame_picture(0);
  Buffer out = push_pull(r.h.get(), picture, 0);
  expect_meta_equals(classification_meta(out), next, lib_scores(fx, labels_spec(next), picture), "first frame");
  gchar* labels = nullptr;
  g_object_get(element_of(r.h.get()).get(), "labels", &labels, nullptr);
  EXPECT_EQ(std::string(labels ? labels : ""), join(next, ";"));
  g_free(labels);
}

// Another thread rewrites the labels as fast as it can while frames flow:
// every frame still carries one complete set, and stopping mid-encoding is clean.
TEST(ClipZeroShot, RapidLabelChangesFromAnotherThreadNeverTearASet) {
  REQUIRE_CLIP(fx);
  std::vector<std::vector<std::string>> sets;
  for (int n = 1; n <= 6; ++n) {
    std::vector<std::string> labels;
    for (int i = 0; i < n; ++i) labels.push_back("set " + std::to_string(n) + " label " + std::to_string(i));
    sets.push_back(labels);
  }
  Running r = run_element(fx, "labels=" + in_quotes(join(sets[0], ";")));
  GstPtr<GstElement> element = element_of(r.h.get());
  // The writer has changed the labels once before the first frame and goes on
  // until after the last one, so the changes overlap every frame.
  std::atomic<bool> done{false};
  std::promise<void> first_change;
  std::thread writer([&] {
    bool told = false;
    for (int i = 1; !done; i = (i + 1) % int(sets.size())) {
      g_object_set(element.get(), "labels", join(sets[size_t(i)], ";").c_str(), nullptr);
      if (!told) first_change.set_value(), told = true;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));  // pacing, not synchronisation
    }
  });
  first_change.get_future().wait();
  for (int f = 0; f < 30; ++f) {
    Buffer out = push_pull(r.h.get(), frame_picture(f), f * kFrame);
    const std::vector<std::string> seen = meta_labels(classification_meta(out)->classification);
    EXPECT_NE(std::find(sets.begin(), sets.end(), seen), sets.end()) << "frame " << f << " has a torn label set";
  }
  done = true;
  writer.join();
  wait_for_encodings(r.h.get(), 2);  // a change was requested: its encoding may still be running
  EXPECT_GE(counter(r.h.get(), "text-encodings"), 2u);
  r.h.reset();  // teardown while a re-encoding may still run: must neither hang nor crash
}

TEST(ClipZeroShot, TemplateChangeWhilePlayingIsApplied) {
  REQUIRE_CLIP(fx);
  Running r = run_element(fx, "labels=" + in_quotes(join(kLabels, ";")));
  push_pull(r.h.get(), frame_picture(0), 0);
  g_object_set(element_of(r.h.get()).get(), "template", "a drawing of {}.|{}", nullptr);
  wait_for_encodings(r.h.get(), 2);
  ASSERT_EQ(counter(r.h.get(), "text-encodings"), 2u);
  const Image picture = frame_picture(1);
  Buffer out = push_pull(r.h.get(), picture, kFrame);
  expect_meta_equals(classification_meta(out), kLabels,
                     lib_scores(fx, labels_spec(kLabels, {"a drawing of {}.", "{}"}), picture), "new template");
}

TEST(ClipZeroShot, RejectsBadLabelsWhilePlayingWithAWarningKeepingTheOldOnes) {
  REQUIRE_CLIP(fx);
  Running r = run_element(fx, "labels=" + in_quotes(join(kLabels, ";")));
  push_pull(r.h.get(), frame_picture(0), 0);
  g_object_set(element_of(r.h.get()).get(), "labels", "a dog;;a cat", nullptr);
  GstMessage* warning = gst_bus_timed_pop_filtered(r.bus.get(), GST_SECOND, GST_MESSAGE_WARNING);
  ASSERT_NE(warning, nullptr);
  GError* error = nullptr;
  gst_message_parse_warning(warning, &error, nullptr);
  EXPECT_NE(std::string(error->message).find("label 2"), std::string::npos) << error->message;
  g_error_free(error);
  gst_message_unref(warning);
  Buffer out = push_pull(r.h.get(), frame_picture(1), kFrame);
  EXPECT_EQ(meta_labels(classification_meta(out)->classification), kLabels);
  EXPECT_EQ(counter(r.h.get(), "text-encodings"), 1u);
}

// The shared inference properties are refused like the element's own
// model-loading ones: a bus warning naming the property, the value kept.
TEST(ClipZeroShot, RefusesBatchSizeWhileLoadedWithABusWarning) {
  REQUIRE_CLIP(fx);
  Running r = run_element(fx, "labels=" + in_quotes(join(kLabels, ";")));
  push_pull(r.h.get(), frame_picture(0), 0);
  g_object_set(element_of(r.h.get()).get(), "batch-size", 4u, nullptr);
  GstMessage* warning = gst_bus_timed_pop_filtered(r.bus.get(), 5 * GST_SECOND, GST_MESSAGE_WARNING);
  ASSERT_NE(warning, nullptr);
  GError* error = nullptr;
  gst_message_parse_warning(warning, &error, nullptr);
  EXPECT_NE(std::string(error->message).find("'batch-size' was not changed"), std::string::npos) << error->message;
  g_error_free(error);
  gst_message_unref(warning);
  guint batch_size = 0;
  g_object_get(element_of(r.h.get()).get(), "batch-size", &batch_size, nullptr);
  EXPECT_EQ(batch_size, 1u);
}

/* ---- unknown ---- */

// Labels that tokenize alike ("A CAT" is lower-cased to "a cat") have equal
// embeddings (up to batched float rounding), so each has probability 1/3:
// unknown above 1/3, known below.
TEST(ClipZeroShot, UnknownBelowTheThreshold) {
  REQUIRE_CLIP(fx);
  const std::vector<std::string> labels = {"a cat", "A cat", "A CAT"};
  const Image picture = frame_picture(3);
  const FrameScores scores = lib_scores(fx, labels_spec(labels), picture);
  constexpr double kThird = 1.0 / 3.0, kRounding = 1e-4;  // logits x100 of cosines equal to ~1e-7
  for (int64_t i = 0; i < 3; ++i) EXPECT_NEAR(scores.probabilities[i].item<float>(), kThird, kRounding);
  const auto& top = scores.result->top;
  for (const double threshold : {0.3, 0.4}) {
    Running r = run_element(
        fx, "labels=" + in_quotes(join(labels, ";")) + " top-k=2 unknown-threshold=" + std::to_string(threshold));
    Buffer out = push_pull(r.h.get(), picture, 0);
    const bool unknown = threshold > kThird;
    const std::vector<Structure> messages = messages_named(r.bus.get(), "clipzeroshot");
    ASSERT_EQ(messages.size(), 1u);
    gboolean flagged = !unknown;
    gdouble score = 0;
    gst_structure_get_boolean(messages[0].get(), "unknown", &flagged);
    gst_structure_get_double(messages[0].get(), "score", &score);
    EXPECT_EQ(bool(flagged), unknown) << "threshold " << threshold;
    EXPECT_NEAR(score, top[0].probability, kSameCodeTolerance);  // the best label's probability either way
    const std::string label = gst_structure_get_string(messages[0].get(), "label");
    EXPECT_EQ(label, unknown ? "unknown" : labels[size_t(top[0].label)]);
    EXPECT_EQ(string_array(messages[0].get(), "labels"),
              (std::vector<std::string>{labels[size_t(top[0].label)], labels[size_t(top[1].label)]}));
    // The meta ranks "unknown" first (what attnoverlay draws); label indices stay.
    const GstDinoclipClassification* c = classification_meta(out)->classification;
    const gchar* first = nullptr;
    gfloat top_score = 0;
    ASSERT_TRUE(gst_dinoclip_classification_get_ranked(c, 0, nullptr, &first, &top_score));
    EXPECT_EQ(std::string(first), label);
    EXPECT_EQ(gst_dinoclip_classification_get_n_labels(c), labels.size() + (unknown ? 1 : 0));
    EXPECT_EQ(gst_dinoclip_classification_get_top_k(c), 2u + (unknown ? 1 : 0));
    EXPECT_NEAR(top_score, unknown ? threshold : top[0].probability, kSameCodeTolerance);
    EXPECT_STREQ(gst_dinoclip_classification_get_label(c, 0), "a cat");
  }
}

/* ---- event mode ---- */

// Two pictures whose query similarities differ; the threshold sits between
// them, so the sequence low, low, high, high, low, high, low must give start,
// end, start, end at exactly those frames.
TEST(ClipZeroShot, QueryEventsStartAndEndWithHysteresis) {
  REQUIRE_CLIP(fx);
  const std::string query = "a person on a bicycle";
  ZeroShotTextSpec spec{{}, {"a photo of {}."}, query};
  Image pictures[2] = {frame_picture(0), frame_picture(0)};
  double similarity[2];
  for (int seed = 1; seed < 20; ++seed) {  // a second picture clearly apart from the first
    pictures[1] = frame_picture(seed * 7);
    for (int k = 0; k < 2; ++k) similarity[k] = *lib_scores(fx, spec, pictures[k]).query_similarity;
    if (std::abs(similarity[1] - similarity[0]) > 0.02) break;
  }
  const int high = similarity[1] > similarity[0] ? 1 : 0, low = 1 - high;
  const double gap = similarity[high] - similarity[low];
  ASSERT_GT(gap, 0.02) << "no two synthetic frames with distinct query scores";
  const double threshold = similarity[low] + gap / 2, hysteresis = gap / 4;
  Running r = run_element(fx, "query=" + in_quotes(query) + " query-threshold=" + std::to_string(threshold) +
                                  " hysteresis=" + std::to_string(hysteresis));
  const int sequence[] = {low, low, high, high, low, high, low};
  for (int i = 0; i < 7; ++i) {
    Buffer out = push_pull(r.h.get(), pictures[sequence[i]], i * kFrame);
    EXPECT_EQ(classification_meta(out), nullptr) << "no labels, no classification meta";
  }
  std::vector<Structure> all = messages_named(r.bus.get(), nullptr);
  std::vector<Structure> events;
  for (Structure& s : all) {
    EXPECT_TRUE(gst_structure_has_name(s.get(), "clipzeroshot-query")) << "no labels, no clipzeroshot message";
    if (gst_structure_has_name(s.get(), "clipzeroshot-query")) events.push_back(std::move(s));
  }
  ASSERT_EQ(events.size(), 4u);
  const char* kinds[] = {"start", "end", "start", "end"};
  const int frames[] = {2, 4, 5, 6};
  for (size_t e = 0; e < events.size(); ++e) {
    const GstStructure* s = events[e].get();
    EXPECT_STREQ(gst_structure_get_string(s, "event"), kinds[e]) << "event " << e;
    EXPECT_STREQ(gst_structure_get_string(s, "query"), query.c_str());
    guint64 timestamp = 0;
    gdouble score = 0;
    gst_structure_get_uint64(s, "timestamp", &timestamp);
    gst_structure_get_double(s, "score", &score);
    EXPECT_EQ(timestamp, frames[e] * kFrame) << "event " << e;
    EXPECT_NEAR(score, similarity[sequence[frames[e]]], 1e-5) << "event " << e;
    if (std::string(kinds[e]) == "end") {
      guint64 start = 0;
      ASSERT_TRUE(gst_structure_get_uint64(s, "start-timestamp", &start));
      EXPECT_EQ(start, frames[e - 1] * kFrame);
    }
  }
}

TEST(ClipZeroShot, QueryScoreRidesOnTheClassificationMessage) {
  REQUIRE_CLIP(fx);
  const std::string query = "a cat on a sofa";
  Running r = run_element(fx, "labels=" + in_quotes(join(kLabels, ";")) + " query=" + in_quotes(query));
  const Image picture = frame_picture(5);
  push_pull(r.h.get(), picture, 0);
  const std::vector<Structure> messages = messages_named(r.bus.get(), "clipzeroshot");
  ASSERT_EQ(messages.size(), 1u);
  gdouble score = 0;
  ASSERT_TRUE(gst_structure_get_double(messages[0].get(), "query-score", &score));
  EXPECT_NEAR(score, *lib_scores(fx, {kLabels, {"a photo of {}."}, query}, picture).query_similarity, 1e-6);
}

/* ---- awkward labels ---- */

TEST(ClipZeroShot, TenThousandCharacterLabelIsTruncatedNotFatal) {
  REQUIRE_CLIP(fx);
  std::string long_label;
  while (long_label.size() < 10000) long_label += "an extremely long description ";
  long_label.resize(10000);
  const std::vector<std::string> labels = {long_label, "a cat"};
  Running r = run_element(fx, "labels=" + in_quotes(long_label + ";a cat"));
  const Image picture = frame_picture(0);
  Buffer out = push_pull(r.h.get(), picture, 0);
  expect_meta_equals(classification_meta(out), labels, lib_scores(fx, labels_spec(labels), picture), "10k label");
}

TEST(ClipZeroShot, UnicodeLabelsRoundTrip) {
  REQUIRE_CLIP(fx);
  const std::vector<std::string> labels = {"café au lait", "中文", "😀 a smiling face", "Ünïcödé"};
  Running r = run_element(fx, "labels=" + in_quotes(join(labels, ";")));
  const Image picture = frame_picture(1);
  Buffer out = push_pull(r.h.get(), picture, 0);
  expect_meta_equals(classification_meta(out), labels, lib_scores(fx, labels_spec(labels), picture), "unicode");
}

/* ---- rejected set-ups ---- */

StartResult start_clipzeroshot(const std::string& properties) { return start_element("clipzeroshot " + properties); }

// Fails to start with an error whose message contains `needle`.
void expect_start_error(const std::string& properties, const std::string& needle, GQuark domain, gint code) {
  StartResult r = start_clipzeroshot(properties);
  EXPECT_EQ(r.ret, GST_STATE_CHANGE_FAILURE) << properties;
  ASSERT_NE(r.error, nullptr) << "no error on the bus for " << properties;
  EXPECT_TRUE(g_error_matches(r.error, domain, code)) << r.error->message;
  const std::string text = std::string(r.error->message) + " | " + r.debug;
  EXPECT_NE(text.find(needle), std::string::npos) << "'" << needle << "' not in: " << text;
  g_error_free(r.error);
}

std::string model_and_vocab(const Fixture& fx) {
  return "model=" + in_quotes(fx.model_path) + " vocab=" + in_quotes(fx.vocab_path) + " ";
}

TEST(ClipZeroShot, RejectsMissingLabels) {
  REQUIRE_CLIP(fx);
  expect_start_error(model_and_vocab(fx), "no labels", GST_LIBRARY_ERROR, GST_LIBRARY_ERROR_SETTINGS);
  expect_start_error(model_and_vocab(fx) + "labels=\"  \"", "no labels", GST_LIBRARY_ERROR, GST_LIBRARY_ERROR_SETTINGS);
}

TEST(ClipZeroShot, RejectsEmptyLabelEntriesNamingThem) {
  REQUIRE_CLIP(fx);
  expect_start_error(model_and_vocab(fx) + "labels=\"a cat;;a dog\"", "label 2", GST_LIBRARY_ERROR,
                     GST_LIBRARY_ERROR_SETTINGS);
  expect_start_error(model_and_vocab(fx) + "labels=\"a cat;\"", "label 2", GST_LIBRARY_ERROR,
                     GST_LIBRARY_ERROR_SETTINGS);
}

TEST(ClipZeroShot, RejectsTemplateWithoutPlaceholder) {
  REQUIRE_CLIP(fx);
  expect_start_error(model_and_vocab(fx) + "labels=cat template=\"a photo\"", "{}", GST_LIBRARY_ERROR,
                     GST_LIBRARY_ERROR_SETTINGS);
}

TEST(ClipZeroShot, RejectsLabelsAndLabelsFileTogether) {
  REQUIRE_CLIP(fx);
  const std::string path = temp_dir() + "/both.txt";
  std::ofstream(path) << "a cat\n";
  expect_start_error(model_and_vocab(fx) + "labels=dog labels-file=" + in_quotes(path), "labels-file",
                     GST_LIBRARY_ERROR, GST_LIBRARY_ERROR_SETTINGS);
}

TEST(ClipZeroShot, RejectsMissingLabelsFile) {
  REQUIRE_CLIP(fx);
  expect_start_error(model_and_vocab(fx) + "labels-file=/nonexistent/labels.txt", "/nonexistent/labels.txt",
                     GST_LIBRARY_ERROR, GST_LIBRARY_ERROR_SETTINGS);
}

TEST(ClipZeroShot, RejectsUnsetModel) {
  expect_start_error("labels=cat", "'model'", GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_FOUND);
}

TEST(ClipZeroShot, RejectsMissingModelFileNamingIt) {
  DINOCLIP_REQUIRE_FIXTURE(vocab, kVocab);
  expect_start_error("labels=cat vocab=" + in_quotes(vocab) + " model=/nonexistent/ViT-B-32.pt",
                     "/nonexistent/ViT-B-32.pt", GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_FOUND);
}

TEST(ClipZeroShot, RejectsWrongWeightsSayingTheyAreNotClip) {
  DINOCLIP_REQUIRE_FIXTURE(vocab, kVocab);
  DINOCLIP_REQUIRE_FIXTURE(dino, "dino_tiny/dino_tiny.pth");
  expect_start_error("labels=cat vocab=" + in_quotes(vocab) + " model=" + in_quotes(dino), "not a CLIP checkpoint",
                     GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_READ);
}

TEST(ClipZeroShot, RejectsMissingVocabNamingThePath) {
  DINOCLIP_REQUIRE_FIXTURE(model, kModel);
  expect_start_error("labels=cat vocab=/nonexistent/bpe.txt.gz model=" + in_quotes(model), "/nonexistent/bpe.txt.gz",
                     GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_FOUND);
}

// No vocab property and nothing in the search path: the error lists where it looked.
TEST(ClipZeroShot, RejectsUnfoundVocabListingTheSearchedPlaces) {
  DINOCLIP_REQUIRE_FIXTURE(model, kModel);
  if (g_file_test("/usr/share/dinoclip/models/bpe_simple_vocab_16e6.txt.gz", G_FILE_TEST_EXISTS)) {
    GTEST_SKIP() << "a system-wide vocabulary is installed";
  }
  const std::string empty = temp_dir();
  const char* saved_vocab = g_getenv("DINOCLIP_VOCAB");
  const std::string vocab_backup = saved_vocab ? saved_vocab : "";
  const std::string home_backup = g_getenv("HOME") ? g_getenv("HOME") : "";
  const char* saved_dir = g_getenv("DINOCLIP_MODELS_DIR");
  const std::string dir_backup = saved_dir ? saved_dir : "";
  g_unsetenv("DINOCLIP_VOCAB");
  g_setenv("DINOCLIP_MODELS_DIR", empty.c_str(), TRUE);
  g_setenv("HOME", empty.c_str(), TRUE);
  expect_start_error("labels=cat model=" + in_quotes(model), empty, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_FOUND);
  if (saved_vocab) g_setenv("DINOCLIP_VOCAB", vocab_backup.c_str(), TRUE);
  if (saved_dir)
    g_setenv("DINOCLIP_MODELS_DIR", dir_backup.c_str(), TRUE);
  else
    g_unsetenv("DINOCLIP_MODELS_DIR");
  g_setenv("HOME", home_backup.c_str(), TRUE);
}

TEST(ClipZeroShot, PropertyDefaultsAndBlurbs) {
  GstPtr<GstElement> element(gst_element_factory_make("clipzeroshot", nullptr));
  ASSERT_TRUE(element) << "clipzeroshot not found: is GST_PLUGIN_PATH_1_0 the build's gst/ folder?";
  gchar* templates = nullptr;
  guint interval = 0, top_k = 0;
  gdouble unknown = -1, query_threshold = -2, hysteresis = -1;
  gint crop = -1;
  g_object_get(element.get(), "template", &templates, "interval", &interval, "top-k", &top_k, "unknown-threshold",
               &unknown, "query-threshold", &query_threshold, "hysteresis", &hysteresis, "crop", &crop, nullptr);
  EXPECT_STREQ(templates, "a photo of {}.");
  g_free(templates);
  EXPECT_EQ(interval, 1u);
  EXPECT_EQ(top_k, 5u);
  EXPECT_EQ(unknown, 0.0);
  EXPECT_EQ(query_threshold, 0.25);
  EXPECT_EQ(hysteresis, 0.02);
  EXPECT_EQ(crop, 0);  // center
  expect_useful_blurbs(element.get());
}

/* ---- drawn by attnoverlay ---- */

TEST(ClipZeroShot, AttnOverlayLabelModeDrawsTheTopLabel) {
  REQUIRE_CLIP(fx);
  if (!g_file_test(kDefaultFontPath, G_FILE_TEST_EXISTS)) {
    GTEST_SKIP() << "font missing: " << kDefaultFontPath << " (install fonts-dejavu-core)";
  }
  const std::string launch =
      "clipzeroshot " + model_and_vocab(fx) + "labels=" + in_quotes(join(kLabels, ";")) + " ! attnoverlay mode=label";
  Harness h(gst_harness_new_parse(launch.c_str()));
  gst_harness_set_src_caps_str(h.get(), caps_string(GST_VIDEO_FORMAT_RGB, kWidth, kHeight).c_str());
  const Image picture = frame_picture(2);
  Buffer out = push_pull(h.get(), picture, 0);
  const FrameScores expected = lib_scores(fx, labels_spec(kLabels), picture);
  const auto& best = expected.result->top[0];
  char text[512];
  std::snprintf(text, sizeof text, "%s %.2f", kLabels[size_t(best.label)].c_str(), best.probability);
  Image drawn = picture;
  const int px = std::max(12, kHeight / 18);
  const MutableImageView canvas{drawn.pixels.data(), drawn.width, drawn.height, std::ptrdiff_t(drawn.width) * 3,
                                PixelFormat::kRGB};
  TextRenderer().draw(canvas, text, px / 2, px / 2, px, {255, 255, 255}, {0, 0, 0}, 0.6f);
  GstBuffer* expected_frame = make_frame(drawn, GST_VIDEO_FORMAT_RGB, 0, kFrame);
  EXPECT_EQ(buffer_bytes(out.get()), buffer_bytes(expected_frame));
  EXPECT_NE(buffer_bytes(out.get()), buffer_bytes(Buffer(make_frame(picture, GST_VIDEO_FORMAT_RGB, 0, kFrame)).get()));
  gst_buffer_unref(expected_frame);
}

}  // namespace
}  // namespace dinoclip::testing
