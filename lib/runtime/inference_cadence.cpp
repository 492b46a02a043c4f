#include "runtime/inference_cadence.h"

namespace dinoclip::runtime {

InferenceCadence::Decision InferenceCadence::decide(const CadenceSettings& settings, bool have_result, bool late) {
  if (have_result && frames_since_inference_ + 1 < settings.interval) {
    ++frames_since_inference_;
    return Decision::kCarry;
  }
  if (have_result && settings.skip_late && late) {
    ++frames_since_inference_;
    ++skipped_;
    return Decision::kSkipLate;
  }
  frames_since_inference_ = 0;
  ++inferences_;
  return Decision::kInfer;
}

}  // namespace dinoclip::runtime
