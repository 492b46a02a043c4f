// Frames (vision/frame_planes.h) on their way to a model's device.
//
// A stream's own thread stages a host frame (staged_for_device: one copy into
// pinned memory when the model is on a GPU, so its buffer can leave at once);
// the model's worker then brings a whole batch onto the device (FrameUploads:
// asynchronous copies on a side stream that overlap the previous batch's
// forward) and converts it in one pass.
#pragma once

#include <c10/core/Device.h>
#include <c10/core/Stream.h>

#include <deque>
#include <memory>
#include <optional>
#include <vector>

#include "vision/frame_planes.h"

namespace dinoclip::runtime {

// `frame` as the worker wants it for a model on `device`: a host frame bound
// for a GPU copied into pinned host memory (tightly packed planes, keep_alive
// dropped: whatever `frame` viewed may go); anything else as it is.
FramePlanes staged_for_device(const FramePlanes& frame, const c10::Device& device);

// The worker side, one per model instance, used on its worker thread only.
class FrameUploads {
 public:
  explicit FrameUploads(c10::Device device);
  FrameUploads(const FrameUploads&) = delete;
  FrameUploads& operator=(const FrameUploads&) = delete;
  // Waits for the device work that still reads frames it holds.
  ~FrameUploads();

  // Every frame on the model's device: frames already there as they are (no
  // copy), frames on another GPU copied once, host frames uploaded. On a GPU
  // the host uploads are non-blocking copies on a side stream, and the
  // current stream waits for them (an event), so work queued after this
  // call sees the frames while earlier work (the last batch's forward) runs on.
  std::vector<FramePlanes> to_device(std::vector<FramePlanes> frames);

  // Drops `frames` (their mappings, staging blocks) once the work queued so
  // far on the current stream, which may still read them, has finished: at
  // once on the CPU, later on a GPU (checked at each call, without waiting).
  void release_after_queued_work(std::vector<FramePlanes> frames);

  // Frames held until their device work is done (tests).
  size_t held() const { return held_.size(); }

 private:
  struct Held;
  void drop_finished();

  const c10::Device device_;
  std::optional<c10::Stream> side_stream_;  // GPU: where host frames go up (taken from LibTorch's pool at first use)
  std::deque<std::unique_ptr<Held>> held_;
};

}  // namespace dinoclip::runtime
