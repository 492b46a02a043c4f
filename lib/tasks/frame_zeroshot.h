// One video frame against a ZeroShotTexts set: CLIP preprocessing (centre
// crop or whole frame), one encode_image, then the label probabilities and
// the query similarity from that single embedding.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <optional>

#include "core/image.h"
#include "tasks/zeroshot.h"
#include "tasks/zeroshot_texts.h"
#include "vision/device_preprocess.h"

namespace dinoclip {

class ClipModel;

// ClipCrop (centre crop or whole frame) lives in vision/device_preprocess.h.

// [1, 3, R, R] model input of a frame on `device` (vision/device_preprocess.h
// clip_input / clip_input_full_frame with `method`).
at::Tensor clip_frame_input(const ImageView& frame, int resolution, ClipCrop crop,
                            ScaleMethod method = ScaleMethod::kExact, const c10::Device& device = c10::Device(c10::kCPU));

struct FrameScores {
  at::Tensor probabilities;                // [L] float32 on the CPU; undefined without labels
  std::optional<ZeroShotResult> result;    // top-k and unknown; with labels
  std::optional<double> query_similarity;  // cosine(image, query) in [-1, 1]; with a query
  at::Tensor image_embedding;              // [E] float32 on the CPU: the raw embedding scored
};

// Scores one raw image embedding ([E] or [1, E]) against the texts. top_k and
// unknown_threshold as ZeroShotClassifier::classify (throws on bad values).
FrameScores score_image_embedding(const ZeroShotTexts& texts, const at::Tensor& image_embedding, int64_t top_k,
                                  double unknown_threshold);

// Preprocesses `frame`, encodes it with `model` and scores it.
FrameScores score_frame(const ClipModel& model, const ZeroShotTexts& texts, const ImageView& frame, ClipCrop crop,
                        int64_t top_k, double unknown_threshold);

}  // namespace dinoclip
