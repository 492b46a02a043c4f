// The davis command's dinofeatures ! dinoseg pipeline: each frame with its
// class map, through gst/app's PipelineRunner (which also hands out the
// element messages, IoU and training, posted on the way).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include "app/pipeline_runner.h"
#include "core/image.h"

namespace dinoclip::cli {

using gstapp::ElementMessage;
using gstapp::launch_line;
using gstapp::LaunchArgs;

struct SegmentedFrame {
  int64_t index = 0;    // stream order, from 0
  int64_t pts_ns = -1;  // -1 when the buffer has none
  Image rgb;            // the frame, RGB
  Image classes;        // 1 channel, the segmentation meta's class map (its own size)
};

class SegmentationPipeline {
 public:
  // `args` must end in an appsink named "sink" taking RGB frames that carry
  // GstDinoclipSegmentationMeta. Makes sure dinofeatures and dinoseg are found
  // first. Throws dinoclip::Error if it cannot be built.
  explicit SegmentationPipeline(const LaunchArgs& args);

  void on_message(std::function<void(const ElementMessage&)> callback) { runner_->on_message(std::move(callback)); }

  // The next frame; false at the end of the stream. A pipeline error throws
  // with GStreamer's message and details.
  bool next(SegmentedFrame& frame);

 private:
  std::unique_ptr<gstapp::PipelineRunner> runner_;
  int64_t next_index_ = 0;
};

}  // namespace dinoclip::cli
