// Shared helpers for the element tests: GStreamer set-up, frames in any
// format from an RGB picture, meta payloads as tensors, and the lib calls
// the elements are compared against.
#pragma once

#include <ATen/ATen.h>
#include <gst/check/gstharness.h>
#include <gst/dinoclip/dinoclip-meta.h>
#include <gst/video/video.h>
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/image.h"
#include "test_support.h"
#include "vision/device_preprocess.h"

namespace dinoclip::testing {

struct HarnessDeleter {
  void operator()(GstHarness* h) const { gst_harness_teardown(h); }
};
using Harness = std::unique_ptr<GstHarness, HarnessDeleter>;

struct GstObjectDeleter {
  void operator()(gpointer object) const { gst_object_unref(object); }
};
template <typename T>
using GstPtr = std::unique_ptr<T, GstObjectDeleter>;

struct BufferDeleter {
  void operator()(GstBuffer* b) const { gst_buffer_unref(b); }
};
using Buffer = std::unique_ptr<GstBuffer, BufferDeleter>;

// "video/x-raw,format=F,width=W,height=H,framerate=30/1" (SD colorimetry
// defaults apply: BT.601, limited range for YUV).
std::string caps_string(GstVideoFormat format, int width, int height);

// A buffer of `format` holding `rgb` (converted with libgstvideo's
// GstVideoConverter, as videoconvert would).
GstBuffer* make_frame(const Image& rgb, GstVideoFormat format, GstClockTime pts, GstClockTime duration);

// Frame `index` of a small textured synthetic scene.
Image scene_frame(int width, int height, int index);

// The payload's host arrays as tensors: tokens [1 + h*w, D], attention [heads, h*w].
at::Tensor meta_tokens(GstDinoclipFeatures* features);
at::Tensor meta_attention(GstDinoclipFeatures* features);

// What dinofeatures should compute for a frame, straight from lib/:
// frame -> RGB (YUV via lib/vision/color_convert) -> dino_input (by `method`:
// exact, or the single-picture fast path on the CPU) -> forward.
// model_path: a dino_tiny checkpoint (loaded with its 4 heads).
struct DirectResult {
  at::Tensor tokens;     // [1 + h*w, D]
  at::Tensor attention;  // [heads, h*w]
};
DirectResult direct_dino(const std::string& model_path, GstBuffer* frame, const std::string& caps, int input_w,
                         int input_h, ScaleMethod method = ScaleMethod::kExact);
// The frame's RGB as lib/vision computes it (YUV: BT.601, limited range, as SD caps say).
Image direct_rgb(GstBuffer* frame, const std::string& caps);

// The harness's element made by `factory` (a reference), and one of its
// guint64 properties (G_MAXUINT64 when it could not be read).
GstPtr<GstElement> harness_element(GstHarness* h, const char* factory);
guint64 uint64_property(GstHarness* h, const char* factory, const char* name);

// The bytes of every plane of a buffer, for "unchanged" checks.
std::vector<guint8> buffer_bytes(GstBuffer* buffer);

// Pops the first ERROR message on `bus` (nullptr if none within 1 s).
GstMessage* pop_error(GstBus* bus);

// The text of the first ERROR message on `bus` ("" if none within 1 s).
// Like every filtered pop, it drops the other messages before that one.
std::string pop_error_message(GstBus* bus);

// Takes `launch` (one element and its properties, gst-launch syntax) from NULL
// to PAUSED and back: the state change's result and the error it posted.
struct StartResult {
  GstStateChangeReturn ret;
  GError* error = nullptr;  // the caller frees it (g_error_free)
  std::string debug;
};
StartResult start_element(const std::string& launch);

// While alive: `hook(object)` runs on the logging thread, synchronously, for
// every log message of debug category `category` (at `level` or more urgent)
// whose text contains `text`; `object` is the message's object (nullptr if
// none). The default log function is off meanwhile (no log spam). For tests
// that must act at an exact point inside an element (set a property while
// READY->PAUSED loads the model, send FLUSH_START while a frame is being
// submitted) without sleeps: the hook runs there, on that thread.
class LogHook {
 public:
  using Hook = std::function<void(GObject* object)>;
  LogHook(const char* category, GstDebugLevel level, std::string text, Hook hook);
  ~LogHook();
  LogHook(const LogHook&) = delete;
  LogHook& operator=(const LogHook&) = delete;
  int calls() const { return calls_; }

 private:
  static void log(GstDebugCategory* category, GstDebugLevel level, const gchar* file, const gchar* function,
                  gint line, GObject* object, GstDebugMessage* message, gpointer user_data);
  std::string category_;
  std::string text_;
  Hook hook_;
  GstDebugLevel previous_level_;
  std::atomic<int> calls_{0};
};

// Every property the element's own class installs has a blurb of at least 40
// characters (what gst-inspect-1.0 shows users).
void expect_useful_blurbs(GstElement* element);

}  // namespace dinoclip::testing
