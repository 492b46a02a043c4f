// dino-features, attention, pca: the research notebook's DINO figures.
#include <ATen/ATen.h>

#include <filesystem>
#include <iostream>

#include "commands.h"
#include "core/error.h"
#include "core/threads.h"
#include "io/image_file.h"
#include "io/npy.h"
#include "core/device.h"
#include "models/dino.h"
#include "scale_option.h"
#include "tasks/attention_heads.h"
#include "tasks/dino_image.h"
#include "vision/colormap.h"
#include "vision/input_size.h"
#include "vision/overlay.h"
#include "vision/pca.h"

namespace dinoclip::cli {
namespace {

const OptionSpec kWeights{"weights", "W", "DINO checkpoint (.pth, .safetensors; official DINO ViT-S/B 8/16)"};
const OptionSpec kImage{"image", "I", "input picture (PNG or JPEG)"};
const OptionSpec kSize{"size", "WxH|native", "model input size, multiple of the patch (default 480x480)"};
const OptionSpec kHeads{"heads", "N", "attention heads (default: from the width, 384->6, 768->12)"};
const OptionSpec kPrecision{"precision", "P", "fp32 (default) or bf16 (CPUs with AVX512_BF16/AMX; error elsewhere)"};

struct DinoRun {
  DinoModel model;
  DinoOutput output;
  Image picture;
  ResolvedSize size;
};

DinoRun run_dino(const Args& args, bool full_attention = false) {
  configure_threads();
  DinoLoadOptions load;
  load.num_heads = args.get_int("heads", 0);
  load.dtype = resolve_precision(parse_precision(args.get("precision", "fp32")), load.device);
  DinoRun run{DinoModel::load(args.require("weights"), load), {}, read_image(args.require("image")), {}};
  DinoForwardOptions options;
  options.full_attention = full_attention;
  DinoImageOutput out = run_dino_on_image(run.model, run.picture.view(), InputSize::parse(args.get("size", "480x480")),
                                         options, scale_method_option(args, run.model.device()));
  run.output = std::move(out.output);
  run.size = out.size;
  return run;
}

void ensure_writable_dir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec || !std::filesystem::is_directory(dir)) throw Error(dir + ": cannot create output folder (" + ec.message() + ")");
}

// [heads, h*w] -> [heads, h, w]
at::Tensor attention_maps(const DinoOutput& out) {
  return out.cls_attention[0].reshape({-1, out.grid_h, out.grid_w});
}

int dino_features(const Args& args) {
  DinoRun run = run_dino(args);
  const std::string out = args.require("out");
  ensure_writable_dir(out);
  write_npy(out + "/tokens.npy", run.output.tokens[0]);
  write_npy(out + "/cls_attention.npy", run.output.cls_attention[0]);
  std::cout << run.model.describe() << " on " << run.size.width << "x" << run.size.height << ": grid "
            << run.output.grid_h << "x" << run.output.grid_w << "\n  " << out << "/tokens.npy "
            << run.output.tokens[0].sizes() << "\n  " << out << "/cls_attention.npy "
            << run.output.cls_attention[0].sizes() << "\n";
  return 0;
}

int attention(const Args& args) {
  check_picture_path(args.require("out"));  // before the model runs
  const AttentionHeads heads = AttentionHeads::parse(args.get("head", "all"));
  DinoRun run = run_dino(args);
  const at::Tensor maps = attention_maps(run.output);
  const Colormap cmap = parse_colormap(args.get("colormap", "inferno"));
  const Image image = heads_row_image(select_attention_heads(maps, heads), run.model.config().patch_size, cmap);
  write_picture(args.require("out"), image);
  std::cout << "wrote " << args.require("out") << " (" << image.width << "x" << image.height << ", "
            << (heads.kind == AttentionHeads::Kind::kAll ? std::to_string(maps.size(0)) + " heads"
                                                         : "head " + heads.to_string())
            << ")\n";
  return 0;
}

int pca(const Args& args) {
  check_picture_path(args.require("out"));
  DinoRun run = run_dino(args);
  const at::Tensor patches = run.output.tokens[0].narrow(0, 1, run.output.grid_h * run.output.grid_w);
  const PcaBasis basis = fit_pca(patches, 3);
  Image small = pca_rgb_image(patches, run.output.grid_h, run.output.grid_w, basis);
  const int patch = run.model.config().patch_size;
  Image image(small.width * patch, small.height * patch, 3);
  MutableImageView target{image.pixels.data(), image.width, image.height, std::ptrdiff_t(image.width) * 3,
                          PixelFormat::kRGB};
  blend_rgb_grid(target, small, /*alpha=*/1.0f, /*smooth=*/false);
  write_picture(args.require("out"), image);
  std::cout << "wrote " << args.require("out") << " (" << image.width << "x" << image.height
            << ", top-3 principal components of " << patches.size(0) << " patch tokens as RGB)\n";
  return 0;
}

}  // namespace

std::vector<Command> dino_commands() {
  return {
      {{"dino-features", "DINO last-layer tokens and CLS attention as .npy files",
        "--weights W --image I [--size 480x480|native] --out DIR",
        {kWeights, kImage, kSize, kHeads, kPrecision, kScaleMethod, {"out", "DIR", "output folder (tokens.npy, cls_attention.npy)"}}},
       dino_features},
      {{"attention", "last-layer CLS attention heatmaps (inferno), one row of heads or one map",
        "--weights W --image I -o heat.png [--head N|mean|all] [--size 480x480]",
        {kWeights, kImage, kSize, kHeads, kPrecision, kScaleMethod, {"out", "FILE", "output picture, .png or .jpg"},
         {"head", "N|mean|all", "one head, their mean, or all in a row (default all)"},
         {"colormap", "NAME", "inferno (default), viridis, magma, plasma, turbo, gray"}}},
       attention},
      {{"pca", "top-3 principal components of the patch tokens as RGB",
        "--weights W --image I -o pca.png [--size 480x480]",
        {kWeights, kImage, kSize, kHeads, kPrecision, kScaleMethod, {"out", "FILE", "output picture, .png or .jpg"}}},
       pca},
  };
}

}  // namespace dinoclip::cli
