// Decoding video files to RGB frames (the CLI's index and search-index, the
// tests), through GStreamer: uridecodebin ! videoconvert ! RGB ! appsink.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/image.h"

namespace dinoclip::gstapp {

struct VideoFrame {
  Image rgb;
  int64_t pts_ns = -1;  // presentation timestamp, -1 when the stream has none
  // The frame's place in the stream as players show it and seek() takes it:
  // pts_ns less the container's start offset (an mp4 edit list, x264's
  // B-frame delay). -1 when unknown.
  int64_t stream_time_ns = -1;
};

class VideoFrameReader {
 public:
  // A file path or URI. Throws dinoclip::Error if it cannot be opened/decoded.
  explicit VideoFrameReader(const std::string& path_or_uri);
  ~VideoFrameReader();

  // The next frame; false at the end of the stream. Decoding errors throw.
  bool next(VideoFrame& frame);

  // Accurate seek: next() then gives the frames from stream_time_ns on (a
  // frame that starts just before it may come first; callers compare
  // timestamps). Throws dinoclip::Error if the stream cannot seek.
  void seek(int64_t stream_time_ns);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dinoclip::gstapp
