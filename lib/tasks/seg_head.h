// One-shot segmentation head on DINO patch features: trained on the patches of
// one annotated frame, then applied to every other frame of the video.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/image.h"

namespace dinoclip {

enum class HeadKind {
  kLinear,  // one linear layer ('linear'): the DINO linear-probe setting
  kMlp,     // linear ('fc1') -> GELU -> linear ('fc2')
};

enum class LabelMode {
  kSoft,      // per-patch class fractions (soft_patch_labels); loss -sum t * log softmax
  kMajority,  // per-patch majority class (majority_patch_labels); ordinary cross-entropy
};

const char* head_kind_name(HeadKind kind);    // "linear", "mlp"
const char* label_mode_name(LabelMode mode);  // "soft", "majority"

struct SegHeadConfig {
  HeadKind kind = HeadKind::kLinear;
  // MLP width. 128 rather than 256: the MLP's cost is all in fc1 (N x D x
  // hidden per step); at 60x60 x 384, 500 steps took 3.6-4.6 s with 128 and
  // 16.5 s with 256 on the 2-core development machine (tests/bench), over
  // the 15 s budget for training while the user waits.
  int hidden = 128;
  // Full-batch steps and Adam step size: the notebook's values. On the
  // synthetic test video (test_seg_head.cpp), 3e-3 and 1e-2 fit the annotated
  // frame more closely but segmented the other frames no better: mean IoU
  // over frames 1..23 for 1e-3 / 3e-3 / 1e-2 = 0.578 / 0.580 / 0.512 (linear),
  // 0.744 / 0.723 / 0.661 (MLP). 0 iterations return the initialised,
  // untrained head (a baseline).
  int num_iters = 500;
  double learning_rate = 1e-3;
  // AdamW's decoupled decay, PyTorch's default: pulls unused weights back to
  // 0, so the head leans on what separates the classes in the annotated frame.
  double weight_decay = 1e-2;
  uint64_t seed = 0;  // weight initialisation; training is full-batch, so nothing else is random
  LabelMode labels = LabelMode::kSoft;
  int report_every = 50;  // iterations between progress callbacks (> 0)
};

// Called after `iteration` (1-based) steps every config.report_every steps and
// after the last one; `loss` is that step's training loss.
using ProgressCallback = std::function<void(int iteration, double loss)>;

struct TrainReport {
  double final_loss = 0;      // loss of the last step
  double train_accuracy = 0;  // fraction of training patches whose argmax is their majority class
  double milliseconds = 0;    // wall time of train() (0 for a loaded head)
};

// A trained head. Cheap to copy (copies share the weights); const methods may
// be called from several threads.
//
// Features are standardised per dimension with the training features' mean
// and standard deviation (stored in the head as 'feature_mean', 'feature_std'
// and applied identically at inference). DINO's final-normed tokens have a few
// dimensions with values far larger than the rest; standardising lets Adam's
// single learning rate suit every dimension, and it makes the defaults
// independent of the model's feature scale (ViT-S and ViT-B, random weights in
// the tests). It is an affine map, so a linear head on standardised features
// can express exactly what one on raw features can.
class SegHead {
 public:
  // features [N, D] (float; N patches of one or more annotated frames, e.g. a
  // frame's patch tokens without CLS). targets: [N, C] soft fractions (rows
  // sum to 1) or [N] int64 class ids. config.labels chooses the loss; targets
  // of the other form are converted (soft -> argmax, ids -> one-hot). With ids,
  // C = largest id + 1. Trains on the features' device; deterministic for a
  // given config.seed on the CPU.
  // Throws dinoclip::Error on an N mismatch, bad shapes or values, fewer than
  // two classes ("the annotation has a single class"), or a non-finite loss.
  static SegHead train(const at::Tensor& features, const at::Tensor& targets, const SegHeadConfig& config,
                       const ProgressCallback& progress = nullptr);

  // train() on one frame's patch features [grid_h * grid_w, D] and its
  // frame-size annotation: targets from the mask per config.labels, with
  // num_classes = count_classes(mask).
  static SegHead train_on_mask(const at::Tensor& patch_features, const Image& mask, int grid_h, int grid_w,
                               const SegHeadConfig& config, const ProgressCallback& progress = nullptr);

  // features [N, D] -> logits [N, C], float32 on the head's device.
  at::Tensor logits(const at::Tensor& features) const;

  // patch_features [grid_h * grid_w, D] -> [out_h, out_w] uint8 class map on
  // the CPU: logits on the grid, bilinear to the frame (align_corners=false), argmax.
  at::Tensor predict_mask(const at::Tensor& patch_features, int grid_h, int grid_w, int out_h, int out_w) const;

  // .safetensors: weights under the module's names ('linear.*' or 'fc1.*',
  // 'fc2.*'), the standardisation buffers, and the config in the metadata.
  void save(const std::string& path) const;
  // The structure (kind, width, classes) is read from the tensors' names and
  // shapes; files that are not a head throw dinoclip::Error naming the file.
  static SegHead load(const std::string& path, c10::Device device = c10::Device(c10::kCPU));

  // This head on `device` (a copy of the weights there; this head itself
  // when it is already there), for features that live on another device.
  SegHead on(c10::Device device) const;

  const SegHeadConfig& config() const;
  const TrainReport& report() const;
  int num_classes() const;
  int feature_dim() const;
  c10::Device device() const;

  SegHead(const SegHead&);
  SegHead& operator=(const SegHead&);
  SegHead(SegHead&&) noexcept;
  SegHead& operator=(SegHead&&) noexcept;
  ~SegHead();

 private:
  struct State;
  explicit SegHead(std::shared_ptr<State> state);
  std::shared_ptr<State> state_;
};

// A frame's patch features [h*w, D] from DINO's tokens [B, 1 + h*w, D]
// (drops CLS; picks batch element `index`).
at::Tensor patch_features(const at::Tensor& tokens, int64_t index = 0);

}  // namespace dinoclip
