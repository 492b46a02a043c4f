#include "runtime/frame_upload.h"

#include <ATen/ATen.h>

#ifdef DINOCLIP_WITH_CUDA
#include <c10/core/Event.h>
#include <c10/core/StreamGuard.h>
#include <c10/core/impl/VirtualGuardImpl.h>
#endif

#include <utility>

namespace dinoclip::runtime {

FramePlanes staged_for_device(const FramePlanes& frame, const c10::Device& device) {
  if (!device.is_cuda() || !frame.device().is_cpu()) return frame;
  check_frame_planes(frame, "staged_for_device");
  FramePlanes staged = frame;
  staged.keep_alive.reset();
  for (at::Tensor& plane : staged.planes) {
    // Pinned (page-locked) so that the worker's upload is a true asynchronous
    // DMA; LibTorch's caching host allocator keeps the block from being reused
    // before that copy has run.
    at::Tensor block = at::empty(plane.sizes(), at::TensorOptions().dtype(at::kByte).pinned_memory(true));
    block.copy_(plane);
    plane = block;
  }
  return staged;
}

// Frames kept until an event recorded after the work that reads them has passed.
struct FrameUploads::Held {
  std::vector<FramePlanes> frames;
#ifdef DINOCLIP_WITH_CUDA
  c10::Event done{c10::kCUDA};
#endif
};

FrameUploads::FrameUploads(c10::Device device) : device_(device) {}

FrameUploads::~FrameUploads() {
#ifdef DINOCLIP_WITH_CUDA
  for (auto& held : held_) {
    try {
      held->done.synchronize();
    } catch (...) {
      // A failed device: nothing reads the frames any more.
    }
  }
#endif
}

#ifdef DINOCLIP_WITH_CUDA
namespace {

// Host planes uploaded with non-blocking copies on `side`; the current stream
// waits for them. The destinations belong to the side stream (allocated there,
// so writing them never waits for the last batch) and are marked as used by the
// current one, so the caching allocator reuses them only after it is done.
void upload_on_side_stream(std::vector<FramePlanes*>& host, const c10::Device& device, const c10::Stream& side) {
  const c10::impl::VirtualGuardImpl guard(c10::kCUDA);
  const c10::Stream consumer = guard.getStream(device);
  {
    const c10::StreamGuard on_side(side);
    for (FramePlanes* frame : host) {
      for (at::Tensor& plane : frame->planes) {
        at::Tensor destination = at::empty(plane.sizes(), plane.options().device(device));
        destination.copy_(plane, /*non_blocking=*/true);
        destination.record_stream(consumer);
        plane = destination;
      }
    }
  }
  c10::Event uploaded(c10::kCUDA);
  uploaded.record(side);
  uploaded.block(consumer);
}

}  // namespace
#endif

std::vector<FramePlanes> FrameUploads::to_device(std::vector<FramePlanes> frames) {
  drop_finished();
  std::vector<FramePlanes*> host;
  for (FramePlanes& frame : frames) {
    const c10::Device where = frame.device();
    if (where == device_) continue;  // used in place
    if (where.is_cpu() && device_.is_cuda()) {
      host.push_back(&frame);
      continue;
    }
    // Another GPU (or a GPU frame for a CPU model): one copy, ordered by LibTorch
    // against both devices' current streams.
    for (at::Tensor& plane : frame.planes) plane = plane.to(device_);
  }
#ifdef DINOCLIP_WITH_CUDA
  if (!host.empty()) {
    if (!side_stream_) {
      side_stream_ = c10::impl::VirtualGuardImpl(c10::kCUDA).getStreamFromGlobalPool(device_, /*isHighPriority=*/false);
    }
    upload_on_side_stream(host, device_, *side_stream_);
  }
#endif
  return frames;
}

void FrameUploads::release_after_queued_work(std::vector<FramePlanes> frames) {
  drop_finished();
  if (!device_.is_cuda() || frames.empty()) return;  // CPU work is done when the call returns
#ifdef DINOCLIP_WITH_CUDA
  auto held = std::make_unique<Held>();
  held->frames = std::move(frames);
  const c10::impl::VirtualGuardImpl guard(c10::kCUDA);
  held->done.record(guard.getStream(device_));
  held_.push_back(std::move(held));
#endif
}

void FrameUploads::drop_finished() {
#ifdef DINOCLIP_WITH_CUDA
  while (!held_.empty() && held_.front()->done.query()) held_.pop_front();
#endif
}

}  // namespace dinoclip::runtime
