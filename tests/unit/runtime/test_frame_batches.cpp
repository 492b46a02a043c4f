// Frame items: a batch of frames is prepared once (one pass for the whole
// batch), results per item equal the per-frame path, keys keep batches apart,
// cancellation and the frames' keep_alive. The worker with fake models first,
// then DINO (dino_tiny) and CLIP (clip_tiny) through their shared instances.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <random>
#include <thread>
#include <vector>

#include "runtime/clip_instance.h"
#include "runtime/dino_instance.h"
#include "runtime/frame_upload.h"
#include "runtime/model_worker.h"
#include "test_support.h"
#include "vision/color_convert.h"
#include "vision/device_preprocess.h"

namespace dinoclip::runtime {
namespace {

using namespace std::chrono_literals;
using dinoclip::testing::message_of;

// A host I420 frame owning its bytes through keep_alive (as a mapped buffer would).
struct OwnedYuv {
  int width, height;
  std::vector<std::uint8_t> y, u, v;
};

FramePlanes i420_frame(int width, int height, std::uint32_t seed) {
  auto owned = std::make_shared<OwnedYuv>();
  owned->width = width;
  owned->height = height;
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> byte(16, 235);
  const int cw = (width + 1) / 2, ch = (height + 1) / 2;
  owned->y.resize(size_t(width) * height);
  owned->u.resize(size_t(cw) * ch);
  owned->v.resize(size_t(cw) * ch);
  for (auto* plane : {&owned->y, &owned->u, &owned->v}) {
    for (auto& b : *plane) b = std::uint8_t(byte(rng));
  }
  FramePlanes frame = i420_frame_planes(owned->y.data(), width, owned->u.data(), cw, owned->v.data(), cw, width, height,
                                        YuvMatrix::kBt601, false);
  frame.keep_alive = owned;
  return frame;
}

// The RGB the CPU path makes of the same frame (color_convert.h).
Image rgb_of(const FramePlanes& frame) {
  auto owned = std::static_pointer_cast<const OwnedYuv>(frame.keep_alive);
  const int cw = (owned->width + 1) / 2;
  return i420_to_rgb(owned->y.data(), owned->width, owned->u.data(), cw, owned->v.data(), cw, owned->width,
                     owned->height, YuvMatrix::kBt601, false);
}

// A fake model: each item's output is its input's mean; counts the preparations.
struct FramesModel {
  std::atomic<int> prepared{0};
  std::vector<size_t> prepared_sizes;

  FrameBatchPrepare prepare() {
    return [this](std::vector<FramePlanes> frames) {
      ++prepared;
      prepared_sizes.push_back(frames.size());
      return frames_to_rgb(frames).to(at::kFloat);
    };
  }
  static BatchFunction run() {
    return [](const at::Tensor& batch) -> BatchOutputs { return {batch.mean({1, 2, 3}).unsqueeze(1)}; };
  }
};

// Holds the worker busy until release() so that requests pile up behind it.
struct Gate {
  std::promise<void> opened;
  std::shared_future<void> open = opened.get_future().share();
  std::future<void> blocker;
  Gate(ModelWorker& worker, ClientId client) {
    auto open_copy = open;
    blocker = worker.call(client, [open_copy] { open_copy.wait(); });
  }
  void release() {
    opened.set_value();
    blocker.get();
  }
};

TEST(FrameBatches, ABatchOfFramesIsPreparedOnceAndEachItemGetsItsOwnResult) {
  FramesModel model;
  ModelWorker worker(BatchPolicy{4, 60000ms});
  const ClientId client = worker.new_client();
  std::vector<FramePlanes> frames;
  for (std::uint32_t i = 0; i < 4; ++i) frames.push_back(i420_frame(9, 7, i));
  std::vector<std::future<BatchOutputs>> results;
  for (const FramePlanes& frame : frames) {
    results.push_back(worker.submit_frame(client, frame.batch_key(), frame, model.prepare(), FramesModel::run()));
  }
  for (size_t i = 0; i < 4; ++i) {
    const at::Tensor rgb = frames_to_rgb({frames[i]}).to(at::kFloat);
    EXPECT_FLOAT_EQ(results[i].get()[0].item<float>(), rgb.mean().item<float>()) << i;
  }
  EXPECT_EQ(model.prepared, 1);
  EXPECT_EQ(model.prepared_sizes, (std::vector<size_t>{4}));
  EXPECT_EQ(worker.stats().frame_batches, 1u);
  EXPECT_EQ(worker.stats().largest_batch, 4);
}

TEST(FrameBatches, FramesOfOtherKeysOrTensorItemsNeverShareABatch) {
  FramesModel model;
  ModelWorker worker(BatchPolicy{8, 0ms});
  const ClientId client = worker.new_client();
  Gate gate(worker, client);
  const FramePlanes small = i420_frame(8, 8, 1), large = i420_frame(10, 8, 2);
  auto a = worker.submit_frame(client, small.batch_key(), small, model.prepare(), FramesModel::run());
  auto b = worker.submit_frame(client, small.batch_key(), small, model.prepare(), FramesModel::run());
  auto c = worker.submit_frame(client, large.batch_key(), large, model.prepare(), FramesModel::run());
  // A tensor item under the very same key still runs on its own.
  auto d = worker.submit(client, small.batch_key(), at::ones({1, 3, 8, 8}), {}, FramesModel::run());
  gate.release();
  a.get(), b.get(), c.get();
  EXPECT_FLOAT_EQ(d.get()[0].item<float>(), 1.0f);
  EXPECT_EQ(model.prepared_sizes, (std::vector<size_t>{2, 1}));
  EXPECT_EQ(worker.stats().batches, 3u);
}

TEST(FrameBatches, KeepAliveIsReleasedWhenTheRequestFinishesOrIsCancelled) {
  FramesModel model;
  ModelWorker worker(BatchPolicy{1, 0ms});
  const ClientId a = worker.new_client(), b = worker.new_client();
  Gate gate(worker, b);
  FramePlanes finished = i420_frame(6, 6, 3), cancelled = i420_frame(6, 6, 4);
  std::weak_ptr<const void> finished_memory = finished.keep_alive, cancelled_memory = cancelled.keep_alive;
  auto done = worker.submit_frame(b, finished.batch_key(), std::move(finished), model.prepare(), FramesModel::run());
  auto dropped =
      worker.submit_frame(a, cancelled.batch_key(), std::move(cancelled), model.prepare(), FramesModel::run());
  EXPECT_FALSE(cancelled_memory.expired());  // waiting: the worker holds it
  EXPECT_EQ(worker.cancel_pending(a), 1u);
  EXPECT_TRUE(cancelled_memory.expired());
  EXPECT_THROW(dropped.get(), RequestCancelled);
  gate.release();
  done.get();
  EXPECT_TRUE(finished_memory.expired());
}

TEST(FrameBatches, AFailedPreparationFailsEveryItemOfItsBatchOnly) {
  FramesModel model;
  ModelWorker worker(BatchPolicy{4, 0ms});
  const ClientId client = worker.new_client();
  Gate gate(worker, client);
  const FramePlanes frame = i420_frame(6, 6, 5);
  auto failing = [](std::vector<FramePlanes>) -> at::Tensor { throw Error("device out of memory"); };
  auto x = worker.submit_frame(client, "bad", frame, failing, FramesModel::run());
  auto y = worker.submit_frame(client, "bad", frame, failing, FramesModel::run());
  auto z = worker.submit_frame(client, frame.batch_key(), frame, model.prepare(), FramesModel::run());
  gate.release();
  EXPECT_NE(message_of([&] { x.get(); }).find("device out of memory"), std::string::npos);
  EXPECT_THROW(y.get(), Error);
  EXPECT_NO_THROW(z.get());
  EXPECT_THROW(worker.submit_frame(client, "k", frame, nullptr, FramesModel::run()), Error);
}

TEST(FrameUploads, CpuFramesStayInPlaceAndAreReleasedAtOnce) {
  FrameUploads uploads{c10::Device(c10::kCPU)};
  FramePlanes frame = i420_frame(5, 3, 6);
  const void* y = frame.planes[0].data_ptr();
  std::weak_ptr<const void> memory = frame.keep_alive;
  std::vector<FramePlanes> on_device = uploads.to_device({frame});
  frame = FramePlanes();
  EXPECT_EQ(on_device[0].planes[0].data_ptr(), y);  // no copy
  uploads.release_after_queued_work(std::move(on_device));
  EXPECT_EQ(uploads.held(), 0u);
  EXPECT_TRUE(memory.expired());
  // A host frame bound for the CPU is not staged either.
  const FramePlanes staged = staged_for_device(i420_frame(5, 3, 7), c10::Device(c10::kCPU));
  EXPECT_NE(staged.keep_alive, nullptr);
}

/* ---- DINO and CLIP through their instances ---- */

DinoInstanceOptions tiny_dino(const std::string& path, int batch, std::chrono::milliseconds timeout) {
  DinoInstanceOptions options;
  options.model_path = path;
  options.load.num_heads = 4;  // the fixture's head count is not derivable from its width
  options.batch = BatchPolicy{batch, timeout};
  return options;
}

constexpr double kBatchTolerance = 1e-5;  // batch of N vs batch of 1, same code

TEST(DinoInstanceFrames, EightClientsShareOneBatchAndEqualThePerFrameFastPath) {
  DINOCLIP_REQUIRE_FIXTURE(path, "dino_tiny/dino_tiny.safetensors");
  // The batch runs when the eighth frame arrives; the long timeout only keeps a
  // slow client thread (a loaded machine) from splitting it.
  auto instance = acquire_dino_instance("", tiny_dino(path, 8, 60000ms));
  auto single = acquire_dino_instance("", tiny_dino(path, 1, 0ms));
  DinoForwardOptions forward;
  forward.cls_attention = true;
  std::vector<FramePlanes> frames;
  for (std::uint32_t i = 0; i < 8; ++i) frames.push_back(i420_frame(41, 29, 100 + i));

  std::vector<DinoOutput> got(8);
  std::vector<std::thread> streams;
  for (int s = 0; s < 8; ++s) {
    streams.emplace_back([&, s] {
      const ClientId client = instance->new_client();
      got[size_t(s)] = instance->submit_frame(client, 32, 48, forward, frames[size_t(s)]).get();
    });
  }
  for (auto& t : streams) t.join();
  const ModelWorker::Stats stats = instance->stats();
  EXPECT_EQ(stats.batches, 1u);
  EXPECT_EQ(stats.items, 8u);
  EXPECT_EQ(stats.largest_batch, 8);
  EXPECT_EQ(stats.frame_batches, 1u) << "the batch's inputs were made in one pass";

  const ClientId one = single->new_client();
  for (size_t s = 0; s < 8; ++s) {
    const Image rgb = rgb_of(frames[s]);
    const DinoOutput expected =
        single->submit(one, 32, 48, forward, dino_input_on_device(rgb.view(), 32, 48, c10::Device(c10::kCPU))).get();
    EXPECT_EQ(got[s].grid_h, 4);
    EXPECT_EQ(got[s].grid_w, 6);
    EXPECT_TENSOR_NEAR(got[s].tokens, expected.tokens, kBatchTolerance);
    EXPECT_TENSOR_NEAR(got[s].cls_attention, expected.cls_attention, kBatchTolerance);
  }
}

TEST(DinoInstanceFrames, RejectsBadFramesAndSizesOnTheCallersThread) {
  DINOCLIP_REQUIRE_FIXTURE(path, "dino_tiny/dino_tiny.safetensors");
  auto instance = acquire_dino_instance("", tiny_dino(path, 1, 0ms));
  const ClientId client = instance->new_client();
  FramePlanes broken = i420_frame(8, 8, 9);
  broken.planes.pop_back();
  EXPECT_NE(message_of([&] { instance->submit_frame(client, 32, 32, {}, broken); }).find("DINO frame: a I420 frame"),
            std::string::npos);
  EXPECT_NE(message_of([&] {
              instance->submit_frame(client, 30, 32, {}, i420_frame(8, 8, 9));
            }).find("not a positive multiple of the patch size"),
            std::string::npos);
  EXPECT_EQ(instance->stats().batches, 0u);
}

TEST(ClipInstanceFrames, BatchedFramesEqualThePerFrameFastPathForBothCrops) {
  DINOCLIP_REQUIRE_FIXTURE(path, "clip_tiny/clip_tiny_state.pth");
  ClipInstanceOptions options;
  options.model_path = path;
  options.batch = BatchPolicy{3, 60000ms};
  auto instance = acquire_clip_instance("", options);
  options.batch = BatchPolicy{1, 0ms};
  auto single = acquire_clip_instance("", options);
  const int resolution = instance->config().image_resolution;
  for (ClipCrop crop : {ClipCrop::kCenter, ClipCrop::kFullFrame}) {
    std::vector<FramePlanes> frames;
    for (std::uint32_t i = 0; i < 3; ++i) frames.push_back(i420_frame(90, 70, 200 + i));
    const uint64_t before = instance->stats().frame_batches;
    std::vector<std::future<BatchOutputs>> results;
    for (const FramePlanes& frame : frames)
      results.push_back(instance->encode_frame(instance->new_client(), frame, crop));
    const ClientId one = single->new_client();
    for (size_t i = 0; i < 3; ++i) {
      const Image rgb = rgb_of(frames[i]);
      const at::Tensor input = crop == ClipCrop::kCenter
                                   ? clip_input_on_device(rgb.view(), resolution, c10::Device(c10::kCPU))
                                   : clip_input_full_frame_on_device(rgb.view(), resolution, c10::Device(c10::kCPU));
      const at::Tensor expected = single->encode_image(one, input).get()[0];
      EXPECT_TENSOR_NEAR(results[i].get()[0], expected, kBatchTolerance);
    }
    EXPECT_EQ(instance->stats().frame_batches, before + 1);
  }
}

}  // namespace
}  // namespace dinoclip::runtime
