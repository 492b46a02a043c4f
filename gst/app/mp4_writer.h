// Writing RGB frames to an H.264 mp4 (the CLI's davis video), through GStreamer:
// appsrc ! videoconvert ! I420 ! x264enc ! mp4mux ! filesink.
#pragma once

#include <memory>
#include <string>

#include "core/image.h"

namespace dinoclip::gstapp {

class Mp4Writer {
 public:
  // Frames must all be width x height RGB, both even (H.264 4:2:0).
  // Written to "<path>.part" and renamed by finish(), so a failed run leaves
  // no torn file at `path`. Throws dinoclip::Error if the encoder is missing.
  Mp4Writer(const std::string& path, int width, int height, int fps);
  ~Mp4Writer();  // without finish(): stops and removes the partial file

  void write(const Image& rgb);

  // Ends the stream, waits for the muxer to finish the file and renames it
  // into place. Returns the number of frames written.
  int finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dinoclip::gstapp
