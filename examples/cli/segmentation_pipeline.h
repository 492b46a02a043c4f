// Runs a dinofeatures ! dinoseg pipeline for the CLI and hands back each
// frame with its class map and the element messages (IoU, training) posted
// on the way. The pipeline is a gst-launch-1.0 argument list, so the line
// printed for users is exactly the one that ran.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/image.h"

namespace dinoclip::cli {

// gst-launch-1.0 arguments, one element, property or "!" each:
// {"videotestsrc", "num-buffers=3", "!", "fakesink"}.
using LaunchArgs = std::vector<std::string>;

// "gst-launch-1.0 ..." with each argument shell-quoted where needed.
std::string launch_line(const LaunchArgs& args);

// Makes dinofeatures/dinoseg findable: when the registry lacks them, scans
// the folder the plugin is installed to. Throws dinoclip::Error saying how to
// point GStreamer at the plugin (GST_PLUGIN_PATH) when they are still missing.
void require_dinoclip_plugin();

struct SegmentedFrame {
  int64_t index = 0;    // stream order, from 0
  int64_t pts_ns = -1;  // -1 when the buffer has none
  Image rgb;            // the frame, RGB
  Image classes;        // 1 channel, the segmentation meta's class map (its own size)
};

// An element message (dinoseg-iou, dinoseg-trained, ...) with its numeric fields.
struct ElementMessage {
  std::string source;  // element name
  std::string name;    // structure name
  std::map<std::string, double> numbers;
};

class SegmentationPipeline {
 public:
  // `args` must end in an appsink named "sink" taking RGB frames that carry
  // GstDinoSegmentationMeta. Throws dinoclip::Error if it cannot be built.
  explicit SegmentationPipeline(const LaunchArgs& args);
  ~SegmentationPipeline();

  // Element messages are passed here as they arrive (before the frames they
  // concern may come out: dinoseg holds frames until it has trained).
  void on_message(std::function<void(const ElementMessage&)> callback);

  // The next frame; false at the end of the stream. A pipeline error throws
  // with GStreamer's message and details.
  bool next(SegmentedFrame& frame);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dinoclip::cli
