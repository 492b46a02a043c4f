#include "runtime/outputs_ready.h"

#include <c10/core/impl/VirtualGuardImpl.h>

namespace dinoclip::runtime {

OutputsReady::OutputsReady(const c10::Device& device) : device_(device), event_(device.type()) {}

std::shared_ptr<const OutputsReady> OutputsReady::record(const c10::Device& device) {
  if (device.is_cpu()) return nullptr;
  auto ready = std::make_shared<OutputsReady>(device);
  ready->event_.record(c10::impl::VirtualGuardImpl(device.type()).getStream(device));
  return ready;
}

void OutputsReady::block_current_stream() const {
  event_.block(c10::impl::VirtualGuardImpl(device_.type()).getStream(device_));
}

const at::Tensor& OutputsReady::use_on_current_stream(const at::Tensor& tensor) const {
  block_current_stream();
  if (tensor.defined() && tensor.device() == device_) {
    const c10::impl::VirtualGuardImpl guard(device_.type());
    guard.recordDataPtrOnStream(tensor.storage().data_ptr(), guard.getStream(device_));
  }
  return tensor;
}

}  // namespace dinoclip::runtime
