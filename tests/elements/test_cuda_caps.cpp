// CUDA memory caps (docs/gpu.md, "Frames in CUDA memory") where there is no
// GPU, as in CI: the pad templates list memory:CUDAMemory first in a build
// with GStreamer's CUDA library and not otherwise; on a machine that cannot
// take it, caps queries leave it out, forced CUDA-memory caps fail with an
// error that says why and what to do, a CUDA context query answers FALSE, and
// system memory negotiates as before. tests/gpu/test_gpu_cuda_memory.cpp has
// the GPU side.
#include <gst/dinoclip/dinoclip-meta.h>

#include <string>
#include <vector>

#include "common/cuda_caps.h"
#include "common/frame_convert.h"
#include "element_test_util.h"

#ifndef DINOCLIP_TEST_CUDA_CAPS
#error "tests/elements/meson.build defines DINOCLIP_TEST_CUDA_CAPS (1 in builds with CUDA memory caps)"
#endif

namespace dinoclip::testing {
namespace {

using dinoclip::gst::caps_are_cuda_memory;
using dinoclip::gst::caps_have_cuda_memory;
using dinoclip::gst::caps_structure_is_cuda_memory;
using dinoclip::gst::caps_usable_here;
using dinoclip::gst::cuda_memory_unusable_reason;
using dinoclip::gst::cuda_memory_usable;

constexpr bool kBuildListsCudaMemory = DINOCLIP_TEST_CUDA_CAPS != 0;
constexpr const char* kDinoModel = "dino_tiny/dino_tiny.safetensors";
constexpr const char* kCudaRgb =
    "video/x-raw(memory:CUDAMemory),format=RGB,width=64,height=48,framerate=30/1";
constexpr const char* kCudaNv12 =
    "video/x-raw(memory:CUDAMemory),format=NV12,width=64,height=48,framerate=30/1";

// The elements whose caps this issue changed, with the system-memory caps
// they had before (and still have after the CUDA structures).
struct ElementCaps {
  const char* factory;
  const char* system_caps;
};
const std::vector<ElementCaps>& elements() {
  static const std::vector<ElementCaps> list = {
      {"dinofeatures", GST_VIDEO_CAPS_MAKE(DINOCLIP_FRAME_FORMATS)},
      {"clipzeroshot", GST_VIDEO_CAPS_MAKE(DINOCLIP_FRAME_FORMATS)},
      {"dinoseg", "video/x-raw"},
      {"attnoverlay", GST_VIDEO_CAPS_MAKE(DINOCLIP_FRAME_FORMATS)},
  };
  return list;
}

struct CapsDeleter {
  void operator()(GstCaps* caps) const { gst_caps_unref(caps); }
};
using Caps = std::unique_ptr<GstCaps, CapsDeleter>;

Caps caps_of(const char* text) { return Caps(gst_caps_from_string(text)); }

// What gst-inspect-1.0 prints for a pad template: the registry's static caps.
Caps registry_template_caps(const char* factory_name, GstPadDirection direction) {
  GstPtr<GstElementFactory> factory(gst_element_factory_find(factory_name));
  if (!factory) return nullptr;
  for (const GList* l = gst_element_factory_get_static_pad_templates(factory.get()); l; l = l->next) {
    auto* templ = static_cast<GstStaticPadTemplate*>(l->data);
    if (templ->direction == direction) return Caps(gst_static_caps_get(&templ->static_caps));
  }
  return nullptr;
}

// `caps` without their CUDA-memory structures.
Caps system_part(const GstCaps* caps) {
  GstCaps* copy = gst_caps_copy(caps);
  for (guint i = gst_caps_get_size(copy); i-- > 0;) {
    if (caps_structure_is_cuda_memory(copy, i)) gst_caps_remove_structure(copy, i);
  }
  return Caps(copy);
}

GstPtr<GstElement> make(const char* factory) {
  return GstPtr<GstElement>(GST_ELEMENT(gst_object_ref_sink(gst_element_factory_make(factory, nullptr))));
}

GstPtr<GstPad> pad(GstElement* element, const char* name) {
  return GstPtr<GstPad>(gst_element_get_static_pad(element, name));
}

std::string error_text(GstMessage* message, GQuark* domain, gint* code) {
  GError* error = nullptr;
  gst_message_parse_error(message, &error, nullptr);
  std::string text = error->message;
  *domain = error->domain;
  *code = error->code;
  g_error_free(error);
  gst_message_unref(message);
  return text;
}

/* ---- the helpers ---- */

TEST(CudaCapsHelpers, ClassifyCapsByMemory) {
  EXPECT_TRUE(caps_are_cuda_memory(caps_of(kCudaRgb).get()));
  EXPECT_TRUE(caps_have_cuda_memory(caps_of(kCudaRgb).get()));
  const Caps mixed = caps_of("video/x-raw(memory:CUDAMemory),format=NV12; video/x-raw,format=NV12");
  EXPECT_FALSE(caps_are_cuda_memory(mixed.get()));
  EXPECT_TRUE(caps_have_cuda_memory(mixed.get()));
  EXPECT_TRUE(caps_structure_is_cuda_memory(mixed.get(), 0));
  EXPECT_FALSE(caps_structure_is_cuda_memory(mixed.get(), 1));
  for (const char* text : {"video/x-raw,format=RGB", "video/x-raw(memory:GLMemory),format=RGBA", "ANY", "EMPTY",
                           "video/x-raw(ANY)"}) {
    const Caps caps = caps_of(text);
    EXPECT_FALSE(caps_have_cuda_memory(caps.get())) << text;
    EXPECT_FALSE(caps_are_cuda_memory(caps.get())) << text;
  }
}

TEST(CudaCapsHelpers, UsableCapsLoseCudaMemoryOnlyWhereItCannotBeTaken) {
  Caps usable(caps_usable_here(
      gst_caps_from_string("video/x-raw(memory:CUDAMemory),format=NV12; video/x-raw,format=NV12; "
                           "video/x-raw(memory:CUDAMemory),format=RGBA")));
  if (cuda_memory_usable()) {
    EXPECT_EQ(gst_caps_get_size(usable.get()), 3u);
  } else {
    ASSERT_EQ(gst_caps_get_size(usable.get()), 1u);
    EXPECT_FALSE(caps_have_cuda_memory(usable.get()));
    EXPECT_STREQ(gst_structure_get_string(gst_caps_get_structure(usable.get(), 0), "format"), "NV12");
  }
  // System-memory caps are returned as they came (the same object).
  GstCaps* system = gst_caps_from_string("video/x-raw,format=RGB");
  GstCaps* same = caps_usable_here(system);
  EXPECT_EQ(same, system);
  gst_caps_unref(same);
}

TEST(CudaCapsHelpers, AReasonExactlyWhenUnusable) {
  if (!kBuildListsCudaMemory) {
    ASSERT_NE(cuda_memory_unusable_reason(), nullptr);
    EXPECT_NE(std::string(cuda_memory_unusable_reason()).find("no CUDA memory support"), std::string::npos);
  }
  // This machine: CI has no GPU, so a reason; a GPU machine with a CUDA build has none.
  if (cuda_memory_unusable_reason()) {
    EXPECT_GT(std::string(cuda_memory_unusable_reason()).size(), 20u);
  }
}

/* ---- pad templates (gst-inspect-1.0) ---- */

TEST(CudaCaps, TemplatesListCudaMemoryFirstOnlyInCudaBuilds) {
  for (const ElementCaps& element : elements()) {
    for (GstPadDirection direction : {GST_PAD_SINK, GST_PAD_SRC}) {
      const Caps templ = registry_template_caps(element.factory, direction);
      ASSERT_TRUE(templ) << element.factory;
      SCOPED_TRACE(std::string(element.factory) + (direction == GST_PAD_SINK ? " sink" : " src"));
      EXPECT_EQ(caps_have_cuda_memory(templ.get()), kBuildListsCudaMemory);
      if (kBuildListsCudaMemory) {
        EXPECT_TRUE(caps_structure_is_cuda_memory(templ.get(), 0));
      }
      // The system-memory caps are those of before, whatever the build.
      EXPECT_TRUE(gst_caps_is_equal(system_part(templ.get()).get(), caps_of(element.system_caps).get()));
      if (kBuildListsCudaMemory) {
        // The same formats in CUDA memory as in system memory.
        Caps cuda(gst_caps_copy(templ.get()));
        for (guint i = gst_caps_get_size(cuda.get()); i-- > 0;) {
          if (!caps_structure_is_cuda_memory(cuda.get(), i)) gst_caps_remove_structure(cuda.get(), i);
          else gst_caps_set_features(cuda.get(), i, nullptr);
        }
        EXPECT_TRUE(gst_caps_is_equal(cuda.get(), caps_of(element.system_caps).get()));
      }
    }
  }
}

/* ---- run time: this machine ---- */

TEST(CudaCaps, CapsQueriesOfferCudaMemoryOnlyWhereUsable) {
  for (const ElementCaps& element : elements()) {
    GstPtr<GstElement> e = make(element.factory);
    for (const char* name : {"sink", "src"}) {
      SCOPED_TRACE(std::string(element.factory) + " " + name);
      const GstPtr<GstPad> p = pad(e.get(), name);
      const Caps templ(gst_pad_get_pad_template_caps(p.get()));
      const Caps queried(gst_pad_query_caps(p.get(), nullptr));
      EXPECT_EQ(caps_have_cuda_memory(templ.get()), kBuildListsCudaMemory);
      EXPECT_EQ(caps_have_cuda_memory(queried.get()), kBuildListsCudaMemory && cuda_memory_usable())
         ;
      EXPECT_TRUE(gst_caps_is_equal(system_part(queried.get()).get(), caps_of(element.system_caps).get()));
      // With a filter of CUDA memory only: nothing here (unless usable).
      const Caps filtered(gst_pad_query_caps(p.get(), caps_of(kCudaNv12).get()));
      EXPECT_EQ(gst_caps_is_empty(filtered.get()), !(kBuildListsCudaMemory && cuda_memory_usable()));
    }
  }
}

TEST(CudaCaps, ForcedCudaMemoryIsRefusedWithWhyAndWhatToDo) {
  if (cuda_memory_usable()) GTEST_SKIP() << "this build and machine can take CUDA memory";
  const std::string why = cuda_memory_unusable_reason();
  for (const ElementCaps& element : elements()) {
    SCOPED_TRACE(element.factory);
    GstPtr<GstElement> e = make(element.factory);
    GstPtr<GstBus> bus(gst_bus_new());
    gst_element_set_bus(e.get(), bus.get());
    const GstPtr<GstPad> sink = pad(e.get(), "sink");
    EXPECT_FALSE(gst_pad_query_accept_caps(sink.get(), caps_of(kCudaRgb).get()));
    GstMessage* message = pop_error(bus.get());
    ASSERT_NE(message, nullptr) << "no error message for refused CUDA-memory caps";
    EXPECT_STREQ(GST_OBJECT_NAME(GST_MESSAGE_SRC(message)), GST_ELEMENT_NAME(e.get()));
    GQuark domain = 0;
    gint code = 0;
    const std::string text = error_text(message, &domain, &code);
    EXPECT_EQ(domain, GST_CORE_ERROR);
    EXPECT_EQ(code, GST_CORE_ERROR_NEGOTIATION);
    EXPECT_NE(text.find("CUDA memory"), std::string::npos) << text;
    EXPECT_NE(text.find(why), std::string::npos) << text;            // why
    EXPECT_NE(text.find("cudadownload"), std::string::npos) << text;  // what to do
    EXPECT_NE(text.find("system memory"), std::string::npos) << text;
    // System memory is still accepted, without a message.
    EXPECT_TRUE(gst_pad_query_accept_caps(sink.get(), caps_of(
        "video/x-raw,format=RGB,width=64,height=48,framerate=30/1").get()));
    EXPECT_EQ(pop_error(bus.get()), nullptr);
    gst_element_set_bus(e.get(), nullptr);
  }
}

// The stream as a capsfilter forcing CUDA memory makes it: the caps event is
// refused and the first frame gets not-negotiated, the bus says why.
TEST(CudaCaps, ForcedCudaMemoryStreamIsNotNegotiated) {
  if (cuda_memory_usable()) GTEST_SKIP() << "this build and machine can take CUDA memory";
  DINOCLIP_REQUIRE_FIXTURE(model, kDinoModel);
  Harness h(gst_harness_new_parse(("dinofeatures heads=4 input-size=64x48 model=" + model).c_str()));
  GstPtr<GstBus> bus(gst_bus_new());
  gst_element_set_bus(h->element, bus.get());
  EXPECT_TRUE(gst_harness_push_event(h.get(), gst_event_new_stream_start("cuda")));
  // A sticky event is stored whatever the peer says (the push may report TRUE);
  // the refusal shows on the first frame.
  gst_harness_push_event(h.get(), gst_event_new_caps(caps_of(kCudaRgb).get()));
  GstSegment segment;
  gst_segment_init(&segment, GST_FORMAT_TIME);
  gst_harness_push_event(h.get(), gst_event_new_segment(&segment));
  GstBuffer* frame = make_frame(scene_frame(64, 48, 0), GST_VIDEO_FORMAT_RGB, 0, GST_SECOND / 30);
  EXPECT_EQ(gst_harness_push(h.get(), frame), GST_FLOW_NOT_NEGOTIATED);
  const std::string text = pop_error_message(bus.get());
  EXPECT_NE(text.find("cannot take frames in CUDA memory"), std::string::npos) << text;
  EXPECT_EQ(gst_harness_buffers_received(h.get()), 0u);
  gst_element_set_bus(h->element, nullptr);
}

TEST(CudaCaps, SystemMemoryNegotiatesAsBefore) {
  DINOCLIP_REQUIRE_FIXTURE(model, kDinoModel);
  for (GstVideoFormat format : {GST_VIDEO_FORMAT_RGB, GST_VIDEO_FORMAT_NV12, GST_VIDEO_FORMAT_I420}) {
    SCOPED_TRACE(gst_video_format_to_string(format));
    Harness h(gst_harness_new_parse(("dinofeatures heads=4 input-size=64x48 model=" + model).c_str()));
    const std::string caps = caps_string(format, 64, 48);
    gst_harness_set_src_caps_str(h.get(), caps.c_str());
    EXPECT_EQ(gst_harness_push(h.get(), make_frame(scene_frame(64, 48, 0), format, 0, GST_SECOND / 30)), GST_FLOW_OK);
    Buffer out(gst_harness_pull(h.get()));
    ASSERT_TRUE(out);
    EXPECT_NE(gst_buffer_get_dinoclip_features_meta(out.get()), nullptr);
    GstPtr<GstElement> element(gst_harness_find_element(h.get(), "dinofeatures"));
    const GstPtr<GstPad> src = pad(element.get(), "src");
    const Caps current(gst_pad_get_current_caps(src.get()));
    ASSERT_TRUE(current);
    EXPECT_TRUE(gst_caps_is_equal(current.get(), caps_of(caps.c_str()).get()));
    EXPECT_FALSE(caps_have_cuda_memory(current.get()));
  }
}

/* ---- the CUDA context query ---- */

bool answered_cuda_context(GstPad* p) {
  GstQuery* query = gst_query_new_context("gst.cuda.context");
  const gboolean answered = gst_pad_query(p, query);
  GstContext* context = nullptr;
  gst_query_parse_context(query, &context);
  const bool has_context = context != nullptr;
  gst_query_unref(query);
  return answered || has_context;
}

TEST(CudaCaps, CudaContextQueryWithoutContextAnswersFalse) {
  for (const ElementCaps& element : elements()) {
    SCOPED_TRACE(element.factory);
    GstPtr<GstElement> e = make(element.factory);
    EXPECT_FALSE(answered_cuda_context(pad(e.get(), "sink").get()));
    EXPECT_FALSE(answered_cuda_context(pad(e.get(), "src").get()));
    GstQuery* query = gst_query_new_context("gst.cuda.context");
    EXPECT_FALSE(gst_element_query(e.get(), query));
    gst_query_unref(query);
  }
  // Running, the model on the CPU: still no CUDA context to give.
  DINOCLIP_REQUIRE_FIXTURE(model, kDinoModel);
  Harness h(gst_harness_new_parse(("dinofeatures heads=4 device=cpu model=" + model).c_str()));
  gst_harness_set_src_caps_str(h.get(), caps_string(GST_VIDEO_FORMAT_RGB, 64, 48).c_str());
  GstPtr<GstElement> e(gst_harness_find_element(h.get(), "dinofeatures"));
  EXPECT_FALSE(answered_cuda_context(pad(e.get(), "sink").get()));
  EXPECT_FALSE(answered_cuda_context(pad(e.get(), "src").get()));
}

}  // namespace
}  // namespace dinoclip::testing
