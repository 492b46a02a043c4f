// When a model's outputs on a GPU are written, for readers on other threads.
//
// The worker runs the forward on its own thread's current stream; a reader
// (a deferred host copy, dinoseg's training on the resident tokens) uses its
// own thread's current stream. Both are the legacy default stream only by
// accident, so the worker records an event after the outputs are written and
// every reader makes its current stream wait for it (no host wait).
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <c10/core/Event.h>

#include <memory>

namespace dinoclip::runtime {

class OutputsReady {
 public:
  // An event recorded now on `device`'s current stream of this thread; null
  // for the CPU (work there is done when the call returns).
  static std::shared_ptr<const OutputsReady> record(const c10::Device& device);

  // This thread's current stream on the event's device waits for the event.
  void block_current_stream() const;

  // As above, and `tensor` (on that device) is marked as used by the current
  // stream, so that its memory is not handed to the next batch before that
  // stream is done with it. Returns `tensor`.
  const at::Tensor& use_on_current_stream(const at::Tensor& tensor) const;

  explicit OutputsReady(const c10::Device& device);

 private:
  c10::Device device_;
  c10::Event event_;
};

// Waits for `ready` (when there is one) before `tensor` is read on this
// thread's current stream; see OutputsReady::use_on_current_stream.
inline const at::Tensor& ready_on_current_stream(const std::shared_ptr<const OutputsReady>& ready,
                                                 const at::Tensor& tensor) {
  return ready ? ready->use_on_current_stream(tensor) : tensor;
}

}  // namespace dinoclip::runtime
