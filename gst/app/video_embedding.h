// CLIP embeddings of a video file's sampled frames (the `dinoclip index`
// command's decoding half): frames decoded by VideoFrameReader, kept by
// lib/tasks FrameSampler, preprocessed by clip_frame_input (centre crop or
// full frame, as clipzeroshot's crop property) and encoded in batches.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "tasks/frame_sampling.h"
#include "tasks/frame_zeroshot.h"
#include "tasks/video_index.h"

namespace dinoclip {
class ClipModel;
}

namespace dinoclip::gstapp {

struct EncodedVideo {
  std::vector<VideoIndex::FrameStamp> stamps;  // one per kept frame
  at::Tensor embeddings;                       // [stamps, E] raw encode_image
  int64_t decoded = 0;                         // frames decoded in all
};

// Called after each encoded batch with the frames embedded so far and the
// stream time of the last one (for progress lines).
using EncodeProgress = std::function<void(size_t embedded, int64_t last_time_ns)>;

// Decodes `path`, keeps the frames `every` picks and CLIP-encodes them
// `batch` at a time. Throws dinoclip::Error on decoding errors or when no
// frame was decoded at all.
EncodedVideo encode_video(const ClipModel& model, const std::string& path, const SamplingInterval& every, ClipCrop crop,
                          int batch, const EncodeProgress& progress = {});

}  // namespace dinoclip::gstapp
