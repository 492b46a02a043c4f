#include "scale_option.h"

namespace dinoclip::cli {

const OptionSpec kScaleMethod{
    "scale-method", "M",
    "exact (PIL-exact resize on the CPU, as the Python references; default on the CPU) or fast (antialiased "
    "resize and normalisation on the model's device; default on a GPU)"};

ScaleMethod scale_method_option(const Args& args, const c10::Device& device) {
  return args.has("scale-method") ? parse_scale_method(args.get("scale-method")) : default_scale_method(device);
}

}  // namespace dinoclip::cli
