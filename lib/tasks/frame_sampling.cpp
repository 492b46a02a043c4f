#include "tasks/frame_sampling.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>

#include "core/error.h"

namespace dinoclip {
namespace {

constexpr int64_t kNsPerSecond = 1000000000;
// Container timestamps are rounded to their timescale (e.g. 1/90000 s), so a
// frame meant for t = 1 s may be stamped a few microseconds early.
constexpr int64_t kTimestampSlackNs = 1000000;

Error bad_interval(const std::string& text) {
  return Error("sampling interval '" + text +
               "' not understood: use seconds (\"1s\", \"2.5s\"), milliseconds (\"500ms\") or frames (\"10f\" = every "
               "10th frame), greater than zero");
}

}  // namespace

SamplingInterval SamplingInterval::parse(const std::string& text) {
  size_t unit_at = 0;
  while (unit_at < text.size() && (std::isdigit(static_cast<unsigned char>(text[unit_at])) || text[unit_at] == '.')) {
    ++unit_at;
  }
  const std::string number = text.substr(0, unit_at), unit = text.substr(unit_at);
  if (number.empty() || std::count(number.begin(), number.end(), '.') > 1 || number == ".") throw bad_interval(text);
  const double value = std::stod(number);
  SamplingInterval interval;
  if (unit == "f") {
    if (number.find('.') != std::string::npos || value < 1 || value > 1e12) throw bad_interval(text);
    interval.unit = Unit::kFrames;
    interval.amount = int64_t(value);
    return interval;
  }
  double scale = 0;
  if (unit == "s") scale = 1e9;
  if (unit == "ms") scale = 1e6;
  if (scale == 0 || !(value * scale >= 1) || value * scale > 1e18) throw bad_interval(text);
  interval.unit = Unit::kTime;
  interval.amount = int64_t(std::llround(value * scale));
  return interval;
}

std::string SamplingInterval::describe() const {
  if (unit == Unit::kFrames) return std::to_string(amount) + "f";
  if (amount % kNsPerSecond == 0) return std::to_string(amount / kNsPerSecond) + "s";
  if (amount < kNsPerSecond && amount % 1000000 == 0) return std::to_string(amount / 1000000) + "ms";
  char text[32];
  std::snprintf(text, sizeof(text), "%.9gs", double(amount) / kNsPerSecond);
  return text;
}

FrameSampler::FrameSampler(SamplingInterval every) : every_(every) {
  if (every_.amount <= 0) throw Error("sampling interval must be greater than zero");
}

bool FrameSampler::keep(int64_t frame_number, int64_t pts_ns) {
  if (every_.unit == SamplingInterval::Unit::kFrames) return frame_number % every_.amount == 0;
  if (pts_ns < 0) {
    throw Error("frame " + std::to_string(frame_number) +
                " has no timestamp, so it cannot be sampled by time: sample by frames instead (e.g. --every 25f)");
  }
  const int64_t slack = std::min(kTimestampSlackNs, every_.amount / 2);
  if (next_pts_ >= 0 && pts_ns < next_pts_ - slack) return false;
  if (next_pts_ < 0) next_pts_ = pts_ns;
  // Skip the interval multiples this frame already covers (frame rate below the sampling rate, or a gap).
  while (next_pts_ <= pts_ns + slack) next_pts_ += every_.amount;
  return true;
}

}  // namespace dinoclip
