#include "tasks/frame_zeroshot.h"

#include <ATen/ATen.h>

#include "core/error.h"
#include "models/clip.h"
#include "tasks/similarity.h"
#include "vision/preprocess.h"

namespace dinoclip {

at::Tensor clip_frame_input(const ImageView& frame, int resolution, ClipCrop crop, ScaleMethod method,
                            const c10::Device& device) {
  return crop == ClipCrop::kCenter ? clip_input(frame, resolution, method, device)
                                   : clip_input_full_frame(frame, resolution, method, device);
}

FrameScores score_image_embedding(const ZeroShotTexts& texts, const at::Tensor& image_embedding, int64_t top_k,
                                  double unknown_threshold) {
  if (!image_embedding.defined() || image_embedding.numel() == 0) throw Error("no image embedding to score");
  const at::Tensor image = image_embedding.reshape({1, -1}).to(at::kFloat);
  FrameScores scores;
  scores.image_embedding = image[0].cpu().contiguous();
  if (texts.has_labels()) {
    scores.probabilities = texts.classifier->probabilities(image)[0].cpu().contiguous();
    scores.result = texts.classifier->classify(image, top_k, unknown_threshold)[0];
  }
  if (texts.has_query()) {
    const at::Tensor unit = l2_normalize_rows(image, "image embedding")[0];
    scores.query_similarity = at::dot(unit, texts.query_embedding.to(unit.device())).item<double>();
  }
  return scores;
}

FrameScores score_frame(const ClipModel& model, const ZeroShotTexts& texts, const ImageView& frame, ClipCrop crop,
                        int64_t top_k, double unknown_threshold) {
  const at::Tensor input = clip_frame_input(frame, model.config().image_resolution, crop);
  return score_image_embedding(texts, model.encode_image(input.to(model.device())), top_k, unknown_threshold);
}

}  // namespace dinoclip
