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

#include <cstddef>
#include <functional>
#include <map>
#include <string>

namespace dinoclip {

using StateDict = std::map<std::string, at::Tensor>;

// Chooses tensors by their flattened name before they are copied out of the
// file; an empty filter keeps everything.
using TensorFilter = std::function<bool(const std::string& name)>;

enum class CheckpointFormat { kTorchZip, kTorchLegacy, kSafetensors, kTorchScript };

const char* checkpoint_format_name(CheckpointFormat format);

struct Checkpoint {
  std::string path;
  CheckpointFormat format = CheckpointFormat::kTorchZip;
  StateDict tensors;
  // The safetensors header's "__metadata__" (string values); empty for the
  // other formats, which have no such thing.
  std::map<std::string, std::string> metadata;
};

Checkpoint load_checkpoint(const std::string& path);

// Only the tensors `keep` accepts are materialised, e.g. the teacher of a
// full training checkpoint without the student and the optimiser state
// (about 4x less memory). TorchScript archives are loaded whole, then filtered.
Checkpoint load_checkpoint(const std::string& path, const TensorFilter& keep);

// The same for a checkpoint already in memory (embedded weights, tests);
// `name` stands for the path in errors and in Checkpoint::path.
Checkpoint load_checkpoint_bytes(const char* data, size_t size, const std::string& name,
                                 const TensorFilter& keep = TensorFilter());

}  // namespace dinoclip
