// Which frames get a fresh inference, shared by every inference element:
// every Nth frame (inference-interval), none on frames downstream reported late
// (skip-late, from QoS), and the frames in between carry the last result.
#pragma once

#include <cstdint>

namespace dinoclip::runtime {

struct CadenceSettings {
  unsigned interval = 1;  // >= 1: infer on every Nth frame
  bool skip_late = true;  // carry instead of inferring on late frames
};

class InferenceCadence {
 public:
  enum class Decision {
    kInfer,     // run the model on this frame
    kCarry,     // between two inferences: carry the last result
    kSkipLate,  // due, but late: carry (counted in skipped())
  };

  // `have_result`: a result exists (or is on its way) that the frame could
  // carry; without one the frame is always inferred. `late`: QoS says so.
  Decision decide(const CadenceSettings& settings, bool have_result, bool late);

  // A flush, a seek or new caps: the next frame starts afresh.
  void reset() { frames_since_inference_ = 0; }

  uint64_t inferences() const { return inferences_; }
  uint64_t skipped() const { return skipped_; }
  void reset_counters() { inferences_ = skipped_ = 0; }

 private:
  unsigned frames_since_inference_ = 0;
  uint64_t inferences_ = 0;
  uint64_t skipped_ = 0;
};

}  // namespace dinoclip::runtime
