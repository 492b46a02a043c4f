// --scale-method, shared by the commands that resize pictures (dino-features,
// attention, pca, clip-embed, classify, search, bench): the same choice as the
// elements' scale-method property.
#pragma once

#include <c10/core/Device.h>

#include "args.h"
#include "vision/device_preprocess.h"

namespace dinoclip::cli {

extern const OptionSpec kScaleMethod;

// exact | fast; without the option, exact on the CPU and fast on a GPU.
// Throws dinoclip::Error on another name.
ScaleMethod scale_method_option(const Args& args, const c10::Device& device);

}  // namespace dinoclip::cli
