#include "app/video_embedding.h"

#include <ATen/ATen.h>

#include <algorithm>

#include "app/frame_reader.h"
#include "core/error.h"
#include "models/clip.h"

namespace dinoclip::gstapp {
namespace {

// Stream time (what players show), else the raw timestamp, else -1.
int64_t frame_time(const VideoFrame& frame) { return frame.stream_time_ns >= 0 ? frame.stream_time_ns : frame.pts_ns; }

}  // namespace

EncodedVideo encode_video(const ClipModel& model, const std::string& path, const SamplingInterval& every, ClipCrop crop,
                          int batch, const EncodeProgress& progress) {
  if (batch < 1) throw Error("encode_video: the batch must hold at least one frame");
  const int resolution = model.config().image_resolution;
  EncodedVideo video;
  std::vector<at::Tensor> pending, encoded;
  auto flush = [&] {
    if (pending.empty()) return;
    encoded.push_back(model.encode_image(at::cat(pending, 0)));
    pending.clear();
    if (progress) progress(video.stamps.size(), video.stamps.back().time_ns);
  };
  FrameSampler sampler(every);
  VideoFrameReader reader(path);
  VideoFrame frame;
  for (; reader.next(frame); ++video.decoded) {
    if (!sampler.keep(video.decoded, frame_time(frame))) continue;
    pending.push_back(clip_frame_input(frame.rgb.view(), resolution, crop));
    video.stamps.push_back({std::max<int64_t>(frame_time(frame), 0), frame.pts_ns, video.decoded});
    if (int(pending.size()) == batch) flush();
  }
  flush();
  if (video.stamps.empty()) throw Error(path + ": no video frames decoded (is it a video?)");
  video.embeddings = at::cat(encoded, 0);
  return video;
}

}  // namespace dinoclip::gstapp
