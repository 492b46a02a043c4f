// The inference scheduler as users meet it: shared model instances
// (model-instance-id), batching across streams (batch-size, batch-timeout),
// async-inference on a live source, the features query from another thread,
// flush/EOS of one stream, LATENCY. Real pipelines (videotestsrc, queue,
// appsink from the system) and GstHarness, on the tiny random DINO.
#include <gst/app/gstappsink.h>
#include <gst/dinoclip/dinoclip-meta.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/device.h"
#include "common/features_query.h"
#include "element_test_util.h"
#include "io/image_file.h"
#include "runtime/dino_instance.h"
#include "vision/overlay.h"
#include "vision/synthetic.h"

namespace dinoclip::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr const char* kModel = "dino_tiny/dino_tiny.safetensors";
constexpr double kBatchTolerance = 1e-5;  // shared batched instance vs separate elements
constexpr GstClockTime kFrame = GST_SECOND / 30;

std::string dino(const std::string& model, const std::string& properties) {
  return "dinofeatures model=\"" + model + "\" heads=4 " + properties;
}

Harness harness(const std::string& launch, int width, int height) {
  Harness h(gst_harness_new_parse(launch.c_str()));
  gst_harness_set_src_caps_str(h.get(), caps_string(GST_VIDEO_FORMAT_RGB, width, height).c_str());
  return h;
}

GstPtr<GstElement> pipeline(const std::string& launch) {
  GError* error = nullptr;
  GstElement* p = gst_parse_launch(launch.c_str(), &error);
  EXPECT_EQ(error, nullptr) << launch << ": " << (error ? error->message : "");
  if (error) g_error_free(error);
  return GstPtr<GstElement>(p);
}

/* ---- one model, many threads ---- */

// dinoseg's annotation-image query crosses a queue (another thread) while
// dinofeatures runs on the stream, and a test thread hammers the same query:
// every answer and every mask must be identical run after run. Concurrent use
// of the model's scratch memory would show as differing numbers. The appsink
// holds one sample, so the stream cannot run ahead: its samples are pulled
// only once the hammer has its first answer, and the hammer goes on until EOS.
TEST(Scheduler, QueueBetweenDinofeaturesAndDinosegUnderConcurrentQueriesGivesIdenticalResults) {
  DINOCLIP_REQUIRE_FIXTURE(model, kModel);
  const std::string dir = temp_dir() + "/sched_seg";
  g_mkdir_with_parents(dir.c_str(), 0755);
  SyntheticScene scene(64, 48, /*objects=*/2, /*seed=*/5);
  const SyntheticFrame first = scene.render(0);
  write_png(dir + "/picture.png", first.rgb);
  write_palette_png(dir + "/mask.png", first.mask, davis_palette());
  constexpr int kFrames = 12;
  const std::string launch =
      "videotestsrc num-buffers=" + std::to_string(kFrames) +
      " pattern=ball ! video/x-raw,format=RGB,width=64,height=48,framerate=30/1 ! " +
      dino(model, "name=features input-size=native") + " ! queue max-size-buffers=2 ! dinoseg num-iters=10 "
      "annotation-image=" + dir + "/picture.png annotation=" + dir + "/mask.png ! appsink name=sink sync=false "
      "max-buffers=1";

  std::vector<std::vector<guint8>> first_maps;
  std::vector<float> first_answer;
  for (int run = 0; run < 6; ++run) {
    GstPtr<GstElement> p = pipeline(launch);
    GstPtr<GstElement> features(gst_bin_get_by_name(GST_BIN(p.get()), "features"));
    GstPtr<GstElement> sink(gst_bin_get_by_name(GST_BIN(p.get()), "sink"));
    GstPtr<GstPad> src(gst_element_get_static_pad(features.get(), "src"));
    std::vector<std::vector<guint8>> maps;
    gst_element_set_state(p.get(), GST_STATE_PLAYING);
    std::atomic<bool> done{false};
    std::atomic<int> differing{0}, answered{0};
    std::mutex answer_lock;
    std::condition_variable first_answered;
    std::thread hammer([&] {
      while (!done) {
        GstQuery* q = dinoclip::gst::features_for_image_query_new(dir + "/picture.png");
        std::string error;
        GstDinoclipFeatures* f = dinoclip::gst::features_for_image_result(q, gst_pad_query(src.get(), q), &error);
        gst_query_unref(q);
        if (!f) continue;  // not started yet
        gsize n = 0;
        const gfloat* tokens = gst_dinoclip_features_get_tokens(f, &n);
        std::vector<float> answer(tokens, tokens + n);
        if (first_answer.empty()) first_answer = answer;
        if (answer != first_answer) ++differing;
        {
          std::lock_guard<std::mutex> lock(answer_lock);
          ++answered;
        }
        first_answered.notify_all();
        gst_dinoclip_features_unref(f);
      }
    });
    bool hammering = false;
    {
      std::unique_lock<std::mutex> lock(answer_lock);
      hammering = first_answered.wait_for(lock, 60s, [&] { return answered > 0; });
    }
    const int answered_before_frames = answered;
    while (GstSample* sample = gst_app_sink_try_pull_sample(GST_APP_SINK(sink.get()), 60 * GST_SECOND)) {
      GstDinoclipSegmentationMeta* meta = gst_buffer_get_dinoclip_segmentation_meta(gst_sample_get_buffer(sample));
      EXPECT_NE(meta, nullptr) << "run " << run << " frame " << maps.size();
      if (meta) {
        const guint8* map = gst_dinoclip_segmentation_get_class_map(meta->segmentation);
        maps.emplace_back(map, map + 64 * 48);
      }
      gst_sample_unref(sample);
    }
    done = true;
    hammer.join();
    gst_element_set_state(p.get(), GST_STATE_NULL);
    EXPECT_TRUE(hammering) << "run " << run << ": the features query was never answered";
    ASSERT_EQ(maps.size(), size_t(kFrames)) << "run " << run;
    RecordProperty("answers_during_run_" + std::to_string(run), answered - answered_before_frames);
    EXPECT_EQ(differing, 0) << "run " << run << ": the same picture got different features";
    if (run == 0) first_maps = maps;
    EXPECT_EQ(maps, first_maps) << "run " << run << " segmented differently";
  }
}

/* ---- shared instances and batching ---- */

// Four streams on one instance with batch-size 4 give the metas four separate
// elements give (1e-5), each in its own frame order.
TEST(Scheduler, FourStreamsSharingABatchedInstanceEqualFourSeparateElements) {
  DINOCLIP_REQUIRE_FIXTURE(model, kModel);
  constexpr int kStreams = 4, kFrames = 6;
  int largest_batch = 0;
  std::mutex stats_lock;
  auto run_streams = [&](const std::string& properties) {
    std::vector<std::vector<at::Tensor>> tokens(kStreams);
    std::vector<std::thread> threads;
    for (int s = 0; s < kStreams; ++s) {
      threads.emplace_back([&, s] {
        Harness h = harness(dino(model, "input-size=64x48 " + properties), 64, 48);
        for (int i = 0; i < kFrames; ++i) {
          gst_harness_push(h.get(),
                           make_frame(scene_frame(64, 48, s * 10 + i), GST_VIDEO_FORMAT_RGB, i * kFrame, kFrame));
        }
        gst_harness_push_event(h.get(), gst_event_new_eos());  // drains what is held
        for (int i = 0; i < kFrames; ++i) {
          Buffer out(gst_harness_try_pull(h.get()));
          if (!out) break;
          EXPECT_EQ(GST_BUFFER_PTS(out.get()), i * kFrame) << "stream " << s << " out of order";
          GstDinoclipFeaturesMeta* meta = gst_buffer_get_dinoclip_features_meta(out.get());
          if (!meta) break;
          EXPECT_FALSE(meta->carried);
          EXPECT_EQ(meta->source_pts, i * kFrame);
          tokens[s].push_back(meta_tokens(meta->features).clone());
        }
        // Still held by this stream's element: how large did its batches get?
        if (auto instance = runtime::InstanceRegistry::global().find<runtime::DinoInstance>("four")) {
          std::lock_guard<std::mutex> lock(stats_lock);
          largest_batch = std::max(largest_batch, instance->stats().largest_batch);
        }
      });
    }
    for (auto& t : threads) t.join();
    return tokens;
  };
  const auto separate = run_streams("");
  // A batch runs when full or when its stream ends (EOS hurries it), never on the
  // timeout: the longest one keeps a slow thread on a loaded machine from splitting it.
  const auto shared = run_streams("model-instance-id=four batch-size=4 batch-timeout=10000");
  EXPECT_GT(largest_batch, 1) << "the shared instance never batched";
  for (int s = 0; s < kStreams; ++s) {
    ASSERT_EQ(separate[s].size(), size_t(kFrames));
    ASSERT_EQ(shared[s].size(), size_t(kFrames)) << "stream " << s;
    for (int i = 0; i < kFrames; ++i) {
      EXPECT_LT((shared[s][i] - separate[s][i]).abs().max().item<double>(), kBatchTolerance)
          << "stream " << s << " frame " << i;
    }
  }
}

// One stream with batch-size 3: consecutive frames run as one batch, come out
// in order and equal batch 1 (1e-5).
TEST(Scheduler, ConsecutiveFramesOfOneStreamBatchLikeSingleFrames) {
  DINOCLIP_REQUIRE_FIXTURE(model, kModel);
  constexpr int kFrames = 6;
  auto run_stream = [&](const std::string& properties, int* largest_batch) {
    Harness h = harness(dino(model, "input-size=64x48 " + properties), 64, 48);
    for (int i = 0; i < kFrames; ++i) {
      gst_harness_push(h.get(), make_frame(scene_frame(64, 48, i), GST_VIDEO_FORMAT_RGB, i * kFrame, kFrame));
    }
    gst_harness_push_event(h.get(), gst_event_new_eos());
    std::vector<at::Tensor> tokens;
    for (int i = 0; i < kFrames; ++i) {
      Buffer out(gst_harness_try_pull(h.get()));
      if (!out) break;
      EXPECT_EQ(GST_BUFFER_PTS(out.get()), i * kFrame) << "out of order";
      GstDinoclipFeaturesMeta* meta = gst_buffer_get_dinoclip_features_meta(out.get());
      if (!meta) break;
      EXPECT_FALSE(meta->carried);
      tokens.push_back(meta_tokens(meta->features).clone());
    }
    if (auto instance = runtime::InstanceRegistry::global().find<runtime::DinoInstance>("onestream")) {
      *largest_batch = instance->stats().largest_batch;
    }
    return tokens;
  };
  int unused = 0, largest_batch = 0;
  const auto single = run_stream("", &unused);
  const auto batched = run_stream("model-instance-id=onestream batch-size=3 batch-timeout=10000", &largest_batch);
  EXPECT_EQ(largest_batch, 3) << "consecutive frames were not batched";
  ASSERT_EQ(single.size(), size_t(kFrames));
  ASSERT_EQ(batched.size(), size_t(kFrames));
  for (int i = 0; i < kFrames; ++i) {
    EXPECT_LT((batched[i] - single[i]).abs().max().item<double>(), kBatchTolerance) << "frame " << i;
  }
}

TEST(Scheduler, RejectsASharedInstanceWithOtherSettingsNamingTheSetting) {
  DINOCLIP_REQUIRE_FIXTURE(model, kModel);
  Harness first = harness(dino(model, "model-instance-id=cam batch-size=2"), 64, 48);  // loaded and held
  StartResult other = start_element(dino(model, "model-instance-id=cam batch-size=4"));
  EXPECT_EQ(other.ret, GST_STATE_CHANGE_FAILURE);
  ASSERT_NE(other.error, nullptr);
  const std::string message = other.error->message;
  EXPECT_NE(message.find("model-instance-id \"cam\""), std::string::npos) << message;
  EXPECT_NE(message.find("batch-size differs: \"4\" here, \"2\""), std::string::npos) << message;
  g_error_free(other.error);

  // bf16 is the only other CPU precision, and only CPUs with native bf16 take
  // it (elsewhere the element refuses bf16 itself, before any sharing check).
  StartResult other_precision = start_element(dino(model, "model-instance-id=cam batch-size=2 precision=bf16"));
  ASSERT_NE(other_precision.error, nullptr);
  const char* expected = cpu_has_native_bf16() ? "precision differs" : "needs AVX512_BF16";
  EXPECT_NE(std::string(other_precision.error->message).find(expected), std::string::npos)
      << other_precision.error->message;
  g_error_free(other_precision.error);

  StartResult same = start_element(dino(model, "model-instance-id=cam batch-size=2"));
  EXPECT_NE(same.ret, GST_STATE_CHANGE_FAILURE);
  EXPECT_EQ(same.error, nullptr);
}

// A stream that ends, or flushes, while its frame waits for a batch that the
// other stream would fill only after a long batch-timeout: it does not wait.
TEST(Scheduler, EosAndFlushOfOneStreamNeverWaitForTheOthers) {
  DINOCLIP_REQUIRE_FIXTURE(model, kModel);
  const std::string launch = dino(model, "input-size=64x48 model-instance-id=slowbatch batch-size=4 batch-timeout=10000");
  Harness waiting = harness(launch, 64, 48);
  Harness ending = harness(launch, 64, 48);
  gst_harness_push(waiting.get(), make_frame(scene_frame(64, 48, 0), GST_VIDEO_FORMAT_RGB, 0, kFrame));

  gst_harness_push(ending.get(), make_frame(scene_frame(64, 48, 1), GST_VIDEO_FORMAT_RGB, 0, kFrame));
  auto start = Clock::now();
  gst_harness_push_event(ending.get(), gst_event_new_eos());
  EXPECT_LT(Clock::now() - start, 5s) << "EOS waited for the batch to fill";
  Buffer out(gst_harness_try_pull(ending.get()));
  ASSERT_TRUE(out);
  EXPECT_NE(gst_buffer_get_dinoclip_features_meta(out.get()), nullptr);

  Harness flushing = harness(launch, 64, 48);
  gst_harness_push(flushing.get(), make_frame(scene_frame(64, 48, 2), GST_VIDEO_FORMAT_RGB, 0, kFrame));
  start = Clock::now();
  gst_harness_push_event(flushing.get(), gst_event_new_flush_start());
  gst_harness_push_event(flushing.get(), gst_event_new_flush_stop(TRUE));
  EXPECT_LT(Clock::now() - start, 5s) << "a flush waited for the batch";
  EXPECT_EQ(gst_harness_buffers_in_queue(flushing.get()), 0u) << "a flushed frame came out";
}

// A frame already inside the element when FLUSH_START arrives (here: sent
// from the driver's "fresh inference" log line, on the streaming thread,
// between the flush check and the submission) submits its request after the
// flush cancelled the queue: FLUSH_STOP cancels it, it never runs.
TEST(Scheduler, FlushCancelsARequestSubmittedDuringIt) {
  DINOCLIP_REQUIRE_FIXTURE(model, kModel);
  Harness h = harness(dino(model, "input-size=64x48 model-instance-id=flushsubmit batch-size=2 batch-timeout=10000"),
                      64, 48);
  GstPtr<GstElement> element(gst_harness_find_element(h.get(), "dinofeatures"));
  GstPtr<GstPad> sinkpad(gst_element_get_static_pad(element.get(), "sink"));
  bool flushed = false;
  {
    LogHook hook("dinoclip-inference", GST_LEVEL_LOG, "fresh inference", [&](GObject*) {
      if (std::exchange(flushed, true)) return;
      gst_pad_send_event(sinkpad.get(), gst_event_new_flush_start());  // not serialized: fine on this thread
    });
    gst_harness_push(h.get(), make_frame(scene_frame(64, 48, 0), GST_VIDEO_FORMAT_RGB, 0, kFrame));
  }
  ASSERT_TRUE(flushed) << "the hook's log line moved: the test no longer flushes during the submission";
  auto instance = runtime::InstanceRegistry::global().find<runtime::DinoInstance>("flushsubmit");
  ASSERT_TRUE(instance);
  const runtime::ModelWorker::Stats before = instance->stats();
  EXPECT_EQ(before.cancelled, 0u) << "the request was made before the flush";
  gst_pad_send_event(sinkpad.get(), gst_event_new_flush_stop(TRUE));
  const runtime::ModelWorker::Stats after = instance->stats();
  EXPECT_EQ(after.cancelled, 1u) << "the request submitted during the flush was left to run";
  EXPECT_EQ(after.items, 0u);
}

// Flushing seeks from another thread racing PAUSED->READY (FLUSH_START is not
// serialized: it can reach the element while stop() destroys its client):
// many rounds, no crash, and the element still works afterwards. Before the
// fix the flush read the running state unlocked and called cancel_pending()
// on a client stop() was destroying: a use after free that this loop reaches
// at random (AddressSanitizer names it in the sanitized build).
// Stream start, caps and a segment again (a flush with reset-time drops the
// segment). First a FLUSH_STOP through the element: a FLUSH_START it passed
// on whose FLUSH_STOP then met its deactivated pad left the harness's sink
// pad flushing.
void push_stream_start(GstHarness* h, const std::string& caps) {
  gst_harness_push_event(h, gst_event_new_flush_stop(TRUE));
  gst_harness_push_event(h, gst_event_new_stream_start("race"));
  GstCaps* parsed = gst_caps_from_string(caps.c_str());
  gst_harness_push_event(h, gst_event_new_caps(parsed));
  gst_caps_unref(parsed);
  GstSegment segment;
  gst_segment_init(&segment, GST_FORMAT_TIME);
  gst_harness_push_event(h, gst_event_new_segment(&segment));
}

TEST(Scheduler, FlushingSeeksRacingStateChangesLeaveAWorkingElement) {
  DINOCLIP_REQUIRE_FIXTURE(model, kModel);
  const std::string caps = caps_string(GST_VIDEO_FORMAT_RGB, 64, 48);
  Harness h = harness(dino(model, "input-size=64x48"), 64, 48);
  GstPtr<GstElement> features(gst_harness_find_element(h.get(), "dinofeatures"));
  GstPtr<GstPad> sinkpad(gst_element_get_static_pad(features.get(), "sink"));
  std::atomic<bool> done{false};
  std::atomic<int> flushes{0};
  std::thread seeker([&] {
    while (!done) {
      // What a flushing seek's source sends, from the seeking thread (not
      // gst_element_seek(): it holds the element's state lock, which would
      // order it with the state changes).
      if (gst_pad_send_event(sinkpad.get(), gst_event_new_flush_start())) ++flushes;
      gst_pad_send_event(sinkpad.get(), gst_event_new_flush_stop(TRUE));
      std::this_thread::sleep_for(std::chrono::microseconds(200));  // pacing, not synchronisation
    }
  });
  constexpr int kRounds = 100;
  for (int round = 0; round < kRounds; ++round) {
    ASSERT_EQ(gst_element_set_state(h->element, GST_STATE_PLAYING), GST_STATE_CHANGE_SUCCESS) << "round " << round;
    push_stream_start(h.get(), caps);
    gst_harness_push(h.get(), make_frame(scene_frame(64, 48, round), GST_VIDEO_FORMAT_RGB, 0, kFrame));  // may flush
    while (GstBuffer* out = gst_harness_try_pull(h.get())) gst_buffer_unref(out);
    ASSERT_EQ(gst_element_set_state(h->element, GST_STATE_READY), GST_STATE_CHANGE_SUCCESS) << "round " << round;
  }
  done = true;
  seeker.join();
  EXPECT_GT(flushes.load(), 0) << "no flush reached a running element: nothing raced";
  ASSERT_EQ(gst_element_set_state(h->element, GST_STATE_PLAYING), GST_STATE_CHANGE_SUCCESS);
  push_stream_start(h.get(), caps);
  ASSERT_EQ(gst_harness_push(h.get(), make_frame(scene_frame(64, 48, 0), GST_VIDEO_FORMAT_RGB, 0, kFrame)), GST_FLOW_OK);
  Buffer out(gst_harness_pull(h.get()));
  ASSERT_TRUE(out);
  EXPECT_NE(gst_buffer_get_dinoclip_features_meta(out.get()), nullptr) << "the element no longer infers";
}

/* ---- live: async-inference ---- */

// A live 30 fps source through async-inference with a model far slower than
// the frame rate (the tiny model at 640x480 input): the video keeps 30 fps,
// the model runs at its own rate, each meta says which frame it came from.
TEST(Scheduler, LiveSourceKeepsItsFrameRateWithAsyncInference) {
  DINOCLIP_REQUIRE_FIXTURE(model, kModel);
  GstPtr<GstElement> p = pipeline(
      "videotestsrc is-live=true pattern=ball ! video/x-raw,format=RGB,width=320,height=240,framerate=30/1 ! " +
      dino(model, "name=features async-inference=true input-size=640x480") +
      " ! appsink name=sink sync=true emit-signals=false max-buffers=1000");
  GstPtr<GstElement> features(gst_bin_get_by_name(GST_BIN(p.get()), "features"));
  GstPtr<GstElement> sink(gst_bin_get_by_name(GST_BIN(p.get()), "sink"));
  gst_element_set_state(p.get(), GST_STATE_PLAYING);
  int frames = 0, with_meta = 0, older_results = 0;
  int window_frames = 0;  // the frame rate is measured over the first 4 s
  Clock::time_point first{}, window_last{};
  const auto window_end = Clock::now() + 4s;
  // After the window, frames are read on until a result has ridden on a later
  // frame: how soon the first result comes is the machine's business, not the test's.
  const auto give_up = Clock::now() + 60s;
  while (Clock::now() < give_up && (Clock::now() < window_end || older_results == 0)) {
    GstSample* sample = gst_app_sink_try_pull_sample(GST_APP_SINK(sink.get()), GST_SECOND);
    if (!sample) break;
    const Clock::time_point now = Clock::now();
    if (frames++ == 0) first = now;
    if (now < window_end) window_last = now, ++window_frames;
    GstBuffer* buffer = gst_sample_get_buffer(sample);
    if (GstDinoclipFeaturesMeta* meta = gst_buffer_get_dinoclip_features_meta(buffer)) {
      ++with_meta;
      EXPECT_LE(meta->source_pts, GST_BUFFER_PTS(buffer));
      if (meta->source_pts < GST_BUFFER_PTS(buffer)) ++older_results;
    }
    gst_sample_unref(sample);
  }
  guint64 inferences = 0;
  g_object_get(features.get(), "inferences", &inferences, nullptr);
  gst_element_set_state(p.get(), GST_STATE_NULL);
  const double seconds = std::chrono::duration<double>(window_last - first).count();
  ASSERT_GT(window_frames, 10);
  const double fps = (window_frames - 1) / seconds;
  EXPECT_NEAR(fps, 30.0, 3.0) << window_frames << " frames in " << seconds << " s";
  EXPECT_GT(inferences, 0u);
  EXPECT_LT(inferences, guint64(frames) / 2) << "the model kept pace with the video: the test model is too fast";
  EXPECT_GT(with_meta, 0);
  EXPECT_GT(older_results, 0) << "async results should ride on later frames";
}

// Deterministic async: the first frame leaves without a result; a later frame
// carries the first frame's result (source_pts = its PTS, carried), for both
// inference elements. No sleep decides when the first result is ready: a
// synchronous "fence" element sharing the model instance pushes a frame after
// the first one, and the worker runs requests in the order they came (batch-size
// 1), so once the fence's frame is out the first frame's result is finished.
TEST(Scheduler, AsyncResultsRideOnLaterFramesRecordingTheirSourceFrame) {
  DINOCLIP_REQUIRE_FIXTURE(model, kModel);
  DINOCLIP_REQUIRE_FIXTURE(clip, "clip_tiny/clip_tiny_state.pth");
  DINOCLIP_REQUIRE_FIXTURE(vocab, "tokenizer/bpe_simple_vocab_16e6.txt.gz");
  const std::string dino_launch = dino(model, "input-size=64x48 model-instance-id=ride-dino");
  const std::string clip_launch =
      "clipzeroshot model=" + clip + " vocab=" + vocab + " labels=\"a cat;a dog\" model-instance-id=ride-clip";
  Harness features = harness(dino_launch + " async-inference=true", 64, 48);
  Harness labels = harness(clip_launch + " async-inference=true", 64, 48);
  Harness features_fence = harness(dino_launch, 64, 48);
  Harness labels_fence = harness(clip_launch, 64, 48);
  for (GstHarness* h : {features.get(), labels.get()}) {
    Buffer first(gst_harness_push_and_pull(h, make_frame(scene_frame(64, 48, 0), GST_VIDEO_FORMAT_RGB, 0, kFrame)));
    ASSERT_TRUE(first);
    EXPECT_EQ(gst_buffer_get_dinoclip_features_meta(first.get()), nullptr);
    EXPECT_EQ(gst_buffer_get_dinoclip_classification_meta(first.get()), nullptr);
    GstHarness* fence = h == features.get() ? features_fence.get() : labels_fence.get();
    Buffer fenced(gst_harness_push_and_pull(fence, make_frame(scene_frame(64, 48, 2), GST_VIDEO_FORMAT_RGB, 0, kFrame)));
    ASSERT_TRUE(fenced);
    Buffer second(gst_harness_push_and_pull(h, make_frame(scene_frame(64, 48, 1), GST_VIDEO_FORMAT_RGB, kFrame, kFrame)));
    ASSERT_TRUE(second);
    if (h == features.get()) {
      GstDinoclipFeaturesMeta* meta = gst_buffer_get_dinoclip_features_meta(second.get());
      ASSERT_NE(meta, nullptr);
      EXPECT_TRUE(meta->carried);
      EXPECT_EQ(meta->source_pts, 0u);
    } else {
      GstDinoclipClassificationMeta* meta = gst_buffer_get_dinoclip_classification_meta(second.get());
      ASSERT_NE(meta, nullptr);
      EXPECT_TRUE(meta->carried);
      EXPECT_EQ(meta->source_pts, 0u);
    }
  }
}

/* ---- latency and properties ---- */

TEST(Scheduler, DinosegLatencyCountsTheFramesItHolds) {
  const std::string dir = temp_dir() + "/sched_latency";
  g_mkdir_with_parents(dir.c_str(), 0755);
  write_palette_png(dir + "/mask.png", SyntheticScene(64, 48, 2, 1).render(0).mask, davis_palette());
  Harness held(gst_harness_new_parse(("dinoseg annotation=" + dir + "/mask.png annotation-frame=5").c_str()));
  gst_harness_set_src_caps_str(held.get(), caps_string(GST_VIDEO_FORMAT_RGB, 64, 48).c_str());
  gst_harness_set_upstream_latency(held.get(), 0);
  EXPECT_EQ(gst_harness_query_latency(held.get()), 5 * kFrame);
}

TEST(Scheduler, LatencyQueryAddsHeldBatchFramesAndTimeout) {
  DINOCLIP_REQUIRE_FIXTURE(model, kModel);
  Harness sync = harness(dino(model, "batch-size=4 batch-timeout=20"), 64, 48);
  gst_harness_set_upstream_latency(sync.get(), 5 * GST_MSECOND);
  // 3 frames at 30 fps + 20 ms + upstream's 5 ms.
  EXPECT_EQ(gst_harness_query_latency(sync.get()), 3 * kFrame + 25 * GST_MSECOND);
  Harness async = harness(dino(model, "batch-size=4 batch-timeout=20 async-inference=true"), 64, 48);
  gst_harness_set_upstream_latency(async.get(), 5 * GST_MSECOND);
  EXPECT_EQ(gst_harness_query_latency(async.get()), 5 * GST_MSECOND);
}

TEST(Scheduler, IntervalIsAnAliasOfInferenceInterval) {
  GstPtr<GstElement> element(gst_element_factory_make("dinofeatures", nullptr));
  g_object_set(element.get(), "interval", 3u, nullptr);
  guint value = 0;
  g_object_get(element.get(), "inference-interval", &value, nullptr);
  EXPECT_EQ(value, 3u);
  g_object_set(element.get(), "inference-interval", 5u, nullptr);
  g_object_get(element.get(), "interval", &value, nullptr);
  EXPECT_EQ(value, 5u);
  GstPtr<GstElement> clip(gst_element_factory_make("clipzeroshot", nullptr));
  for (const char* name : {"model-instance-id", "batch-size", "batch-timeout", "async-inference", "inference-interval",
                           "interval", "skip-late"}) {
    EXPECT_NE(g_object_class_find_property(G_OBJECT_GET_CLASS(element.get()), name), nullptr) << name;
    EXPECT_NE(g_object_class_find_property(G_OBJECT_GET_CLASS(clip.get()), name), nullptr) << name;
  }
}

}  // namespace
}  // namespace dinoclip::testing
