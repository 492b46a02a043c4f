// make-model, make-picture: generated inputs for demos, benchmarks and tests.
#include <ATen/ATen.h>

#include <iostream>

#include "commands.h"
#include "core/error.h"
#include "io/image_file.h"
#include "io/safetensors_writer.h"
#include "models/random_weights.h"
#include "vision/synthetic.h"

namespace dinoclip::cli {
namespace {

// CLIP's names carry a prefix: vitb16 alone is DINO's ViT-B/16.
constexpr const char* kClipPrefix = "clip-";

int make_model(const Args& args) {
  const std::string arch = args.get("arch", "vits8");
  const uint64_t seed = uint64_t(args.get_int("seed", 0));
  const std::string out = args.require("out");
  if (out.size() < 12 || out.substr(out.size() - 12) != ".safetensors") {
    throw Error("--out " + out + ": the generated model is written as .safetensors; name it *.safetensors");
  }
  const bool clip = arch.rfind(kClipPrefix, 0) == 0;
  const StateDict weights = clip ? random_clip_weights(clip_architecture(arch.substr(5)), seed)
                                 : random_dino_weights(dino_architecture(arch), seed);
  save_safetensors(out, weights,
                   {{"format", "pt"}, {"dinoclip", "RANDOM WEIGHTS, not a trained model"}, {"arch", arch}});
  std::cout << "wrote " << out << ": " << (clip || arch.rfind("dino", 0) == 0 ? "" : "DINO ") << arch << " with RANDOM weights (seed " << seed
            << "). Outputs are not meaningful: use the official weights for real results (see models/README.md).\n";
  return 0;
}

int make_picture(const Args& args) {
  const int width = args.get_int("width", 480), height = args.get_int("height", 480);
  if (width < 16 || height < 16 || width > 8192 || height > 8192) {
    throw Error("--width/--height must be between 16 and 8192");
  }
  SyntheticScene scene(width, height, args.get_int("objects", 3), uint64_t(args.get_int("seed", 0)));
  const std::string out = args.require("out");
  write_png(out, scene.render(0).rgb);
  std::cout << "wrote " << out << " (" << width << "x" << height << " synthetic picture)\n";
  return 0;
}

}  // namespace

std::vector<Command> model_commands() {
  return {
      {{"make-model", "write a RANDOM-weight DINO or CLIP ViT in the official layout (.safetensors)",
        "--out model.safetensors [--arch vits8|vits16|vitb8|vitb16|tiny|dinov2-vits14[-reg]|dinov3-vits16|"
        "clip-vitb32|clip-vitb16] [--seed N]",
        {{"out", "FILE", "output .safetensors"},
         {"arch", "NAME", "DINO: vits8 (default), vits16, vitb8, vitb16, tiny; DINOv2: dinov2-vits14, dinov2-vitb14, "
          "dinov2-vitl14 (each also -reg: 4 registers); DINOv3: dinov3-vits16, dinov3-vitb16, dinov3-vitl16; "
          "CLIP: clip-vitb32, clip-vitb16"},
         {"seed", "N", "random seed (default 0)"}}},
       make_model},
      {{"make-picture", "write a synthetic test picture (textured shapes on a textured background)",
        "--out picture.png [--width 480] [--height 480] [--objects 3] [--seed N]",
        {{"out", "PNG", "output picture"},
         {"width", "PX", "width (default 480)"},
         {"height", "PX", "height (default 480)"},
         {"objects", "N", "number of shapes (default 3)"},
         {"seed", "N", "random seed (default 0)"}}},
       make_picture},
  };
}

}  // namespace dinoclip::cli
