// TorchScript archives (torch.jit.save), such as OpenAI's released CLIP
// ViT-B-32.pt, read through LibTorch's torch::jit::load. Kept apart so that
// only torchscript.cpp includes the heavy <torch/script.h>.
#pragma once

#include <cstddef>
#include <string>

#include "io/checkpoint.h"

namespace dinoclip {

// Every parameter and buffer of the scripted module under its state_dict name
// ("visual.conv1.weight", including buffers such as CLIP's
// "input_resolution"), detached, on the CPU, in the stored dtype (CLIP's
// archives mix float16 and float32). Throws dinoclip::Error naming `path` if
// LibTorch cannot load the archive.
StateDict read_torchscript(const std::string& path);

// The same for an archive in memory; `name` labels errors.
StateDict read_torchscript(const char* data, size_t size, const std::string& name);

}  // namespace dinoclip
