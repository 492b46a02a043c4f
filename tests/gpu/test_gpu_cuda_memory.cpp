// Frames in CUDA memory (video/x-raw(memory:CUDAMemory)) on a GPU: mapped in
// place (the tensor's data pointer is the mapped device pointer), a foreign
// context's frame copied once on the device, dinofeatures on CUDA frames
// equal to dinofeatures on the same frames in system memory with no host copy
// of a frame, the buffers coming back to their pool over 1000 frames, and
// nvh264dec adopting the elements' context. Skipped without a GPU, or in a
// build without GStreamer's CUDA library (tests/elements/test_cuda_caps.cpp
// has the GPU-less side).
#include <gtest/gtest.h>

#include "element_test_util.h"
#include "gpu_test_util.h"

#if defined(DINOCLIP_WITH_GST_CUDA)
#include <ATen/ATen.h>
#include <gst/app/gstappsink.h>
#include <gst/cuda/gstcudabufferpool.h>
#include <gst/cuda/gstcudamemory.h>
#include <gst/dinoclip/dinoclip-meta.h>

#include "common/cuda_caps.h"
#include "common/cuda_context.h"
#include "common/cuda_frame.h"
#endif

namespace dinoclip::testing {
namespace {

#if !defined(DINOCLIP_WITH_GST_CUDA)
TEST(GpuCudaMemory, NeedsGStreamersCudaLibrary) {
  GTEST_SKIP() << "GPU test skipped: this build has no CUDA memory caps (a CUDA LibTorch build with "
                  "libgstreamer-plugins-bad1.0-dev and the CUDA toolkit's headers has)";
}
#else

using namespace dinoclip::gst;

constexpr const char* kModel = "dino_tiny/dino_tiny.safetensors";
constexpr int kWidth = 96, kHeight = 64;
constexpr GstClockTime kFrame = GST_SECOND / 30;
// Same frames, same device, same preprocessing (fast) for packed RGB: the two
// paths differ only in how the frame reaches the GPU.
constexpr double kPackedTolerance = 1e-4;
// NV12: the device's colour conversion is within one 8-bit level of the CPU's
// (lib/vision/frame_planes.h); one level through dino_tiny moves tokens by at
// most 0.082 and the CLS attention by 0.0039 (docs/gpu.md, scale-method).
constexpr double kYuvTokenTolerance = 0.12, kYuvAttentionTolerance = 0.006;

#define REQUIRE_CUDA_MEMORY()                                                                         \
  do {                                                                                                \
    DINOCLIP_REQUIRE_GPU();                                                                           \
    if (!cuda_memory_usable()) GTEST_SKIP() << "GPU test skipped: " << cuda_memory_unusable_reason(); \
  } while (0)

struct PoolDeleter {
  void operator()(GstBufferPool* pool) const {
    gst_buffer_pool_set_active(pool, FALSE);
    gst_object_unref(pool);
  }
};
using Pool = std::unique_ptr<GstBufferPool, PoolDeleter>;

std::string cuda_caps_string(GstVideoFormat format, int width, int height) {
  std::string caps = caps_string(format, width, height);
  return caps.replace(0, std::string("video/x-raw").size(), "video/x-raw(memory:CUDAMemory)");
}

// A CUDA buffer pool on `context` for `caps`, active; max buffers `max` (0: no limit).
Pool cuda_pool(GstCudaContext* context, const std::string& caps_text, guint min, guint max) {
  GstCaps* caps = gst_caps_from_string(caps_text.c_str());
  GstVideoInfo info;
  EXPECT_TRUE(gst_video_info_from_caps(&info, caps));
  Pool pool(gst_cuda_buffer_pool_new(context));
  GstStructure* config = gst_buffer_pool_get_config(pool.get());
  gst_buffer_pool_config_set_params(config, caps, guint(GST_VIDEO_INFO_SIZE(&info)), min, max);
  gst_buffer_pool_config_add_option(config, GST_BUFFER_POOL_OPTION_VIDEO_META);
  EXPECT_TRUE(gst_buffer_pool_set_config(pool.get(), config));
  EXPECT_TRUE(gst_buffer_pool_set_active(pool.get(), TRUE));
  gst_caps_unref(caps);
  return pool;
}

// A CUDA buffer from `pool` holding `system`'s pixels (uploaded by GStreamer
// from a host mapping, as cudaupload does).
GstBuffer* cuda_copy_of(GstBufferPool* pool, GstBuffer* system, const GstVideoInfo& info, bool dont_wait = false) {
  GstBuffer* cuda = nullptr;
  GstBufferPoolAcquireParams params{};
  params.flags = dont_wait ? GST_BUFFER_POOL_ACQUIRE_FLAG_DONTWAIT : GST_BUFFER_POOL_ACQUIRE_FLAG_NONE;
  if (gst_buffer_pool_acquire_buffer(pool, &cuda, &params) != GST_FLOW_OK) return nullptr;
  GstVideoFrame src, dst;
  EXPECT_TRUE(gst_video_frame_map(&src, &info, system, GST_MAP_READ));
  EXPECT_TRUE(gst_video_frame_map(&dst, &info, cuda, GST_MAP_WRITE));
  EXPECT_TRUE(gst_video_frame_copy(&dst, &src));
  gst_video_frame_unmap(&dst);
  gst_video_frame_unmap(&src);
  GST_BUFFER_PTS(cuda) = GST_BUFFER_PTS(system);
  GST_BUFFER_DURATION(cuda) = GST_BUFFER_DURATION(system);
  return cuda;
}

GstVideoInfo info_of(const std::string& caps_text) {
  GstCaps* caps = gst_caps_from_string(caps_text.c_str());
  GstVideoInfo info;
  gst_video_info_from_caps(&info, caps);
  gst_caps_unref(caps);
  return info;
}

// The planes' bytes on the host, row by row (packed: [H, W*bpp]).
std::vector<at::Tensor> host_planes(const FramePlanes& planes) {
  std::vector<at::Tensor> host;
  for (const at::Tensor& plane : planes.planes) host.push_back(plane.cpu().contiguous());
  return host;
}

// The same planes read from a host mapping of `buffer`.
std::vector<at::Tensor> reference_planes(GstBuffer* buffer, const GstVideoInfo& info) {
  GstVideoFrame frame;
  EXPECT_TRUE(gst_video_frame_map(&frame, &info, buffer, GST_MAP_READ));
  std::vector<at::Tensor> planes;
  for (guint p = 0; p < GST_VIDEO_FRAME_N_PLANES(&frame); ++p) {
    const int64_t rows = GST_VIDEO_FRAME_COMP_HEIGHT(&frame, p);
    const int64_t bytes = int64_t(GST_VIDEO_FRAME_COMP_WIDTH(&frame, p)) * GST_VIDEO_FRAME_COMP_PSTRIDE(&frame, p);
    planes.push_back(at::from_blob(GST_VIDEO_FRAME_PLANE_DATA(&frame, p), {rows, bytes},
                                   {GST_VIDEO_FRAME_PLANE_STRIDE(&frame, p), 1}, at::kByte)
                         .clone());
  }
  gst_video_frame_unmap(&frame);
  return planes;
}

void expect_same_bytes(const std::vector<at::Tensor>& mapped, const std::vector<at::Tensor>& reference) {
  ASSERT_EQ(mapped.size(), reference.size());
  for (size_t p = 0; p < mapped.size(); ++p) {
    EXPECT_TRUE(at::equal(mapped[p].reshape(reference[p].sizes()), reference[p])) << "plane " << p;
  }
}

TEST(GpuCudaMemory, MappedPlanesViewTheBufferInPlace) {
  REQUIRE_CUDA_MEMORY();
  for (GstVideoFormat format : {GST_VIDEO_FORMAT_RGBA, GST_VIDEO_FORMAT_NV12, GST_VIDEO_FORMAT_I420}) {
    SCOPED_TRACE(gst_video_format_to_string(format));
    const std::string caps = cuda_caps_string(format, kWidth, kHeight);
    const GstVideoInfo info = info_of(caps);
    Pool pool = cuda_pool(primary_cuda_context(0), caps, 1, 0);
    Buffer system(make_frame(scene_frame(kWidth, kHeight, 1), format, 0, kFrame));
    Buffer cuda(cuda_copy_of(pool.get(), system.get(), info));
    ASSERT_TRUE(cuda && is_cuda_buffer(cuda.get()));
    EXPECT_FALSE(is_cuda_buffer(system.get()));
    const uint64_t copies = cuda_frames_copied_from_foreign_context();
    FramePlanes planes = map_cuda_frame_planes(cuda.get(), info, GST_MAP_READ);
    EXPECT_EQ(cuda_frames_copied_from_foreign_context(), copies);  // our context: no copy
    ASSERT_FALSE(planes.planes.empty());
    EXPECT_TRUE(planes.planes[0].is_cuda());
    EXPECT_EQ(planes.planes[0].device().index(), 0);
    // The tensor is the buffer's device memory itself.
    GstMapInfo map;
    ASSERT_TRUE(gst_buffer_map(cuda.get(), &map, GstMapFlags(GST_MAP_READ | GST_MAP_CUDA)));
    EXPECT_EQ(planes.planes[0].data_ptr(), static_cast<void*>(map.data));
    gst_buffer_unmap(cuda.get(), &map);
    expect_same_bytes(host_planes(planes), reference_planes(system.get(), info));
  }
}

TEST(GpuCudaMemory, ForeignContextFrameIsCopiedOnceOnTheDevice) {
  REQUIRE_CUDA_MEMORY();
  GstCudaContext* foreign = gst_cuda_context_new(0);  // a context of its own, as 1.22's elements make
  ASSERT_NE(foreign, nullptr);
  EXPECT_FALSE(is_primary_cuda_context(foreign));
  const std::string caps = cuda_caps_string(GST_VIDEO_FORMAT_NV12, kWidth, kHeight);
  const GstVideoInfo info = info_of(caps);
  {
    Pool pool = cuda_pool(foreign, caps, 1, 0);
    Buffer system(make_frame(scene_frame(kWidth, kHeight, 2), GST_VIDEO_FORMAT_NV12, 0, kFrame));
    Buffer cuda(cuda_copy_of(pool.get(), system.get(), info));
    const uint64_t copies = cuda_frames_copied_from_foreign_context();
    FramePlanes planes = map_cuda_frame_planes(cuda.get(), info, GST_MAP_READ);
    EXPECT_EQ(cuda_frames_copied_from_foreign_context(), copies + 1);
    EXPECT_TRUE(planes.planes[0].is_cuda());
    expect_same_bytes(host_planes(planes), reference_planes(system.get(), info));
  }
  gst_object_unref(foreign);
}

struct Features {
  at::Tensor tokens, attention;
};

// dinofeatures on the GPU over `frames` given as they are (system or CUDA
// memory with `caps`): each output's features, and the number of frames the
// element mapped for the CPU (dinoclipcuda's log).
std::vector<Features> run_dinofeatures(const std::string& model, const std::string& caps,
                                       std::vector<GstBuffer*> frames, int* host_maps) {
  LogHook downloads("dinoclipcuda", GST_LEVEL_DEBUG, "mapped for the CPU", [](GObject*) {});
  Harness h(gst_harness_new_parse(
      ("dinofeatures heads=4 device=cuda input-size=96x64 batch-size=2 model=\"" + model + "\"").c_str()));
  gst_harness_set_src_caps_str(h.get(), caps.c_str());
  std::vector<Features> out;
  for (GstBuffer* frame : frames) EXPECT_EQ(gst_harness_push(h.get(), frame), GST_FLOW_OK);
  gst_harness_push_event(h.get(), gst_event_new_eos());
  for (size_t i = 0; i < frames.size(); ++i) {
    Buffer buffer(gst_harness_pull(h.get()));
    if (!buffer) break;
    GstDinoclipFeaturesMeta* meta = gst_buffer_get_dinoclip_features_meta(buffer.get());
    EXPECT_NE(meta, nullptr);
    if (!meta) continue;
    EXPECT_EQ(is_cuda_buffer(buffer.get()), caps.find("CUDAMemory") != std::string::npos);  // memory passes through
    out.push_back({meta_tokens(meta->features).clone(), meta_attention(meta->features).clone()});
  }
  *host_maps = downloads.calls();
  return out;
}

TEST(GpuCudaMemory, DinofeaturesOnCudaFramesEqualsSystemMemoryWithoutAHostCopy) {
  REQUIRE_CUDA_MEMORY();
  DINOCLIP_REQUIRE_FIXTURE(model, kModel);
  for (GstVideoFormat format : {GST_VIDEO_FORMAT_RGBA, GST_VIDEO_FORMAT_NV12}) {
    SCOPED_TRACE(gst_video_format_to_string(format));
    const std::string system_caps = caps_string(format, kWidth, kHeight);
    const std::string cuda_caps = cuda_caps_string(format, kWidth, kHeight);
    const GstVideoInfo info = info_of(cuda_caps);
    Pool pool = cuda_pool(primary_cuda_context(0), cuda_caps, 4, 0);
    std::vector<GstBuffer*> system_frames, cuda_frames;
    for (int i = 0; i < 4; ++i) {
      GstBuffer* frame = make_frame(scene_frame(kWidth, kHeight, i), format, i * kFrame, kFrame);
      cuda_frames.push_back(cuda_copy_of(pool.get(), frame, info));
      system_frames.push_back(frame);
    }
    int system_maps = 0, cuda_maps = 0;
    const std::vector<Features> expected = run_dinofeatures(model, system_caps, system_frames, &system_maps);
    const std::vector<Features> actual = run_dinofeatures(model, cuda_caps, cuda_frames, &cuda_maps);
    EXPECT_EQ(cuda_maps, 0) << "frames in CUDA memory were downloaded to the host";
    ASSERT_EQ(actual.size(), expected.size());
    ASSERT_EQ(actual.size(), 4u);
    const bool packed = format == GST_VIDEO_FORMAT_RGBA;
    for (size_t i = 0; i < actual.size(); ++i) {
      EXPECT_TENSOR_NEAR(actual[i].tokens, expected[i].tokens, packed ? kPackedTolerance : kYuvTokenTolerance);
      EXPECT_TENSOR_NEAR(actual[i].attention, expected[i].attention,
                         packed ? kPackedTolerance : kYuvAttentionTolerance);
    }
  }
}

// The pool dinofeatures proposes for CUDA frames, bounded to what it asked
// for: a frame the element kept (a leak) would leave the pool empty.
TEST(GpuCudaMemory, ProposedPoolBuffersComeBackOver1000Frames) {
  REQUIRE_CUDA_MEMORY();
  DINOCLIP_REQUIRE_FIXTURE(model, kModel);
  constexpr int kBatch = 4;
  Harness h(gst_harness_new_parse(("dinofeatures heads=4 device=cuda input-size=96x64 batch-size=" +
                                   std::to_string(kBatch) + " model=\"" + model + "\"")
                                      .c_str()));
  const std::string caps_text = cuda_caps_string(GST_VIDEO_FORMAT_NV12, kWidth, kHeight);
  gst_harness_set_src_caps_str(h.get(), caps_text.c_str());
  GstCaps* caps = gst_caps_from_string(caps_text.c_str());
  GstQuery* query = gst_query_new_allocation(caps, TRUE);
  ASSERT_TRUE(gst_pad_peer_query(h->srcpad, query));
  ASSERT_GE(gst_query_get_n_allocation_pools(query), 1u);
  GstBufferPool* proposed = nullptr;
  guint size = 0, min = 0, max = 0;
  gst_query_parse_nth_allocation_pool(query, 0, &proposed, &size, &min, &max);
  ASSERT_NE(proposed, nullptr);
  EXPECT_TRUE(GST_IS_CUDA_BUFFER_POOL(proposed));
  EXPECT_GE(min, guint(kBatch + 2));
  EXPECT_TRUE(is_primary_cuda_context(GST_CUDA_BUFFER_POOL(proposed)->context));
  GstStructure* config = gst_buffer_pool_get_config(proposed);
  gst_buffer_pool_config_set_params(config, caps, size, min, min);  // bounded: a leak runs it dry
  ASSERT_TRUE(gst_buffer_pool_set_config(proposed, config));
  ASSERT_TRUE(gst_buffer_pool_set_active(proposed, TRUE));
  Pool pool(proposed);
  gst_query_unref(query);
  gst_caps_unref(caps);

  const GstVideoInfo info = info_of(caps_text);
  Buffer source(make_frame(scene_frame(kWidth, kHeight, 0), GST_VIDEO_FORMAT_NV12, 0, kFrame));
  int pulled = 0;
  for (int i = 0; i < 1000; ++i) {
    // At most batch-size frames are in the element (a synchronous stream), the
    // outputs are drained below: a free buffer must always be there at once.
    GstBuffer* frame = cuda_copy_of(pool.get(), source.get(), info, /*dont_wait=*/true);
    ASSERT_NE(frame, nullptr) << "frame " << i << ": the pool ran dry (buffers kept)";
    GST_BUFFER_PTS(frame) = i * kFrame;
    ASSERT_EQ(gst_harness_push(h.get(), frame), GST_FLOW_OK) << "frame " << i;
    while (gst_harness_buffers_in_queue(h.get()) > 0) {
      gst_buffer_unref(gst_harness_pull(h.get()));
      ++pulled;
    }
  }
  gst_harness_push_event(h.get(), gst_event_new_eos());
  while (pulled < 1000) {
    GstBuffer* out = gst_harness_pull(h.get());
    if (!out) break;
    gst_buffer_unref(out);
    ++pulled;
  }
  EXPECT_EQ(pulled, 1000);
  // Every buffer is back: the pool can hand out all `min` at once without waiting.
  std::vector<Buffer> all;
  for (guint i = 0; i < min; ++i) {
    GstBuffer* b = nullptr;
    GstBufferPoolAcquireParams params{};
    params.flags = GST_BUFFER_POOL_ACQUIRE_FLAG_DONTWAIT;
    EXPECT_EQ(gst_buffer_pool_acquire_buffer(pool.get(), &b, &params), GST_FLOW_OK) << "buffer " << i << " not back";
    if (b) all.emplace_back(b);
  }
}

// nvh264dec (the GPU machine's NVDEC) into dinofeatures: the decoder adopts the
// context dinofeatures shares (the GPU's primary one), so its frames reach the
// model without a copy. tests/data/gst/h264_128x96_30.mp4: 30 frames, made by
//   gst-launch-1.0 videotestsrc num-buffers=30 pattern=ball ! video/x-raw,width=128,height=96,framerate=30/1,
//     format=I420 ! x264enc speed-preset=ultrafast key-int-max=30 ! video/x-h264,profile=constrained-baseline !
//     h264parse ! mp4mux ! filesink location=h264_128x96_30.mp4
TEST(GpuCudaMemory, DecoderAdoptsTheElementsContext) {
  REQUIRE_CUDA_MEMORY();
  DINOCLIP_REQUIRE_FIXTURE(model, kModel);
  for (const char* factory : {"nvh264dec", "qtdemux", "h264parse"}) {
    GstPtr<GstElementFactory> found(gst_element_factory_find(factory));
    if (!found) GTEST_SKIP() << "GPU test skipped: no " << factory << " element (GStreamer's nvcodec / bad plugins)";
  }
  const std::string clip = std::string(std::getenv("DINOCLIP_SOURCE_ROOT") ? std::getenv("DINOCLIP_SOURCE_ROOT")
                                                                            : ".") +
                           "/tests/data/gst/h264_128x96_30.mp4";
  const std::string launch = "filesrc location=\"" + clip +
                             "\" ! qtdemux ! h264parse ! nvh264dec ! video/x-raw(memory:CUDAMemory),format=NV12 ! "
                             "dinofeatures name=f heads=4 device=cuda input-size=64x48 model=\"" +
                             model + "\" ! appsink name=out sync=false";
  LogHook downloads("dinoclipcuda", GST_LEVEL_DEBUG, "mapped for the CPU", [](GObject*) {});
  GError* error = nullptr;
  GstPtr<GstElement> pipeline(gst_parse_launch(launch.c_str(), &error));
  ASSERT_EQ(error, nullptr) << error->message;
  GstPtr<GstElement> sink(gst_bin_get_by_name(GST_BIN(pipeline.get()), "out"));
  ASSERT_EQ(gst_element_set_state(pipeline.get(), GST_STATE_PLAYING), GST_STATE_CHANGE_ASYNC);
  int frames = 0, adopted = 0, with_meta = 0;
  while (GstSample* sample = gst_app_sink_try_pull_sample(GST_APP_SINK(sink.get()), 20 * GST_SECOND)) {
    GstBuffer* buffer = gst_sample_get_buffer(sample);
    ++frames;
    if (is_cuda_buffer(buffer) &&
        is_primary_cuda_context(GST_CUDA_MEMORY_CAST(gst_buffer_peek_memory(buffer, 0))->context)) {
      ++adopted;
    }
    if (gst_buffer_get_dinoclip_features_meta(buffer)) ++with_meta;
    gst_sample_unref(sample);
  }
  GstPtr<GstBus> bus(gst_element_get_bus(pipeline.get()));
  const std::string failure = pop_error_message(bus.get());
  gst_element_set_state(pipeline.get(), GST_STATE_NULL);
  EXPECT_EQ(failure, "");
  EXPECT_EQ(frames, 30);
  EXPECT_EQ(adopted, frames) << "the decoder's frames are not in the GPU's primary context";
  EXPECT_EQ(with_meta, frames);
  EXPECT_EQ(downloads.calls(), 0) << "frames in CUDA memory were downloaded to the host";
}

#endif  // DINOCLIP_WITH_GST_CUDA

}  // namespace
}  // namespace dinoclip::testing
