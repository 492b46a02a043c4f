// Running gst-launch-style pipelines from C++ (the CLI's davis command, the
// tests): the pipeline is a gst-launch-1.0 argument list, so the line printed
// for users is exactly the one that ran; frames come out of an appsink named
// "sink", element messages (IoU, training, ...) are handed to a callback as
// they arrive, and an ERROR on the bus throws with GStreamer's text.
#pragma once

#include <gst/gst.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace dinoclip::gstapp {

// gst-launch-1.0 arguments, one element, property or "!" each:
// {"videotestsrc", "num-buffers=3", "!", "fakesink"}.
using LaunchArgs = std::vector<std::string>;

// "gst-launch-1.0 ..." with each argument shell-quoted where needed.
std::string launch_line(const LaunchArgs& args);

// Makes the dinoclip plugin's `elements` findable: when the registry lacks
// them, scans the folder the plugin is installed to (DINOCLIP_GST_PLUGIN_DIR).
// Throws dinoclip::Error saying how to point GStreamer at the plugin
// (GST_PLUGIN_PATH) when they are still missing.
void require_dinoclip_elements(const std::vector<std::string>& elements);

// The default of an unsigned-integer property as the element `factory`
// declares it (what gst-inspect-1.0 shows), so callers do not copy an
// element's defaults. Throws dinoclip::Error when there is no such element or
// property.
guint uint_property_default(const std::string& factory, const std::string& property);

// An element message (dinoseg-iou, dinoseg-trained, ...) with its numeric fields.
struct ElementMessage {
  std::string source;  // element name
  std::string name;    // structure name
  std::map<std::string, double> numbers;
};

// Owns one reference to a sample; empty at the end of the stream.
using SamplePtr = std::unique_ptr<GstSample, decltype(&gst_sample_unref)>;

class PipelineRunner {
 public:
  // `args` must end in an appsink named "sink". Starts the pipeline.
  // Throws dinoclip::Error if it cannot be built or started.
  explicit PipelineRunner(const LaunchArgs& args);
  ~PipelineRunner();

  // Element messages are passed here as they arrive, before the frames they
  // concern may come out (an element may hold frames, as dinoseg does).
  void on_message(std::function<void(const ElementMessage&)> callback);

  // The next sample from the appsink; empty at the end of the stream (after
  // the messages posted at EOS were handed out). No overall timeout: an
  // element may hold frames for as long as it needs. A pipeline error throws
  // "<element>: <message> (<details>)".
  SamplePtr next_sample();

  // Hands waiting element messages to the callback; throws on an error.
  void drain_bus();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Runs `description` (gst-launch syntax, ending in a sink) to EOS. Throws
// dinoclip::Error with the bus error, or when EOS does not come within
// `timeout`.
void run_to_eos(const std::string& description, GstClockTime timeout);

}  // namespace dinoclip::gstapp
