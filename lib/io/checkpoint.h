// Reading model weights from the files their authors publish.
//
// load_checkpoint() detects the format from the file's bytes:
//  - torch.save zip archives (PyTorch >= 1.6 default), top object a dict or
//    collections.OrderedDict of tensors, or nested dicts of them (training
//    checkpoints: {"teacher": {...}, "student": {...}, "epoch": 100, ...});
//  - torch.save legacy (pre-1.6, non-zip) files;
//  - .safetensors;
//  - TorchScript archives (torch.jit.save; OpenAI's released CLIP .pt files),
//    read through torch::jit::load.
// Nested dicts are flattened with '.' joins ("teacher.backbone.blocks.0...").
// Entries that are not tensors (epochs, argparse namespaces, optimiser state
// that is not a tensor) are skipped. Tensors keep their stored dtype; callers
// convert. Unreadable, truncated or corrupt files throw dinoclip::Error naming
// the file and what is wrong.
#pragma once

#include <ATen/core/Tensor.h>

#include <map>
#include <string>

namespace dinoclip {

using StateDict = std::map<std::string, at::Tensor>;

enum class CheckpointFormat { kTorchZip, kTorchLegacy, kSafetensors, kTorchScript };

const char* checkpoint_format_name(CheckpointFormat format);

struct Checkpoint {
  std::string path;
  CheckpointFormat format = CheckpointFormat::kTorchZip;
  StateDict tensors;
};

Checkpoint load_checkpoint(const std::string& path);

}  // namespace dinoclip
