// Decoding video files to RGB frames for the CLI (index, davis), through
// GStreamer: uridecodebin ! videoconvert ! RGB ! appsink.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/image.h"

namespace dinoclip::cli {

struct VideoFrame {
  Image rgb;
  int64_t pts_ns = -1;  // presentation timestamp, -1 when the stream has none
};

class VideoFrameReader {
 public:
  // A file path or URI. Throws dinoclip::Error if it cannot be opened/decoded.
  explicit VideoFrameReader(const std::string& path_or_uri);
  ~VideoFrameReader();

  // The next frame; false at the end of the stream. Decoding errors throw.
  bool next(VideoFrame& frame);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dinoclip::cli
