#include "models/random_weights.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <cmath>

#include "core/error.h"

namespace dinoclip {
namespace {

at::Tensor trunc_normal(at::IntArrayRef shape, double std, at::Generator& gen) {
  // Resample-free truncation at ±2 std, like timm's trunc_normal_ in spirit.
  return at::normal(0.0, std, shape, gen).clamp_(-2 * std, 2 * std);
}

}  // namespace

DinoConfig dino_architecture(const std::string& name) {
  DinoConfig c;
  if (name == "vits8" || name == "vits16") {
    c.embed_dim = 384, c.num_heads = 6;
  } else if (name == "vitb8" || name == "vitb16") {
    c.embed_dim = 768, c.num_heads = 12;
  } else if (name == "tiny") {
    c.embed_dim = 64, c.num_heads = 4, c.depth = 2;
  } else {
    throw Error("unknown DINO architecture '" + name + "': use vits8, vits16, vitb8, vitb16 or tiny");
  }
  c.patch_size = (name == "vits16" || name == "vitb16") ? 16 : 8;
  c.mlp_hidden = 4 * c.embed_dim;
  c.pos_grid = 224 / c.patch_size;
  return c;
}

StateDict random_dino_weights(const DinoConfig& c, uint64_t seed) {
  at::Generator gen = at::detail::createCPUGenerator(seed);
  const int64_t d = c.embed_dim, h = c.mlp_hidden, p = c.patch_size;
  StateDict w;
  w["cls_token"] = trunc_normal({1, 1, d}, 0.02, gen);
  w["pos_embed"] = trunc_normal({1, 1 + int64_t(c.pos_grid) * c.pos_grid, d}, 0.02, gen);
  w["patch_embed.proj.weight"] = trunc_normal({d, 3, p, p}, 0.02, gen);
  w["patch_embed.proj.bias"] = at::zeros({d});
  auto linear = [&](const std::string& name, int64_t out, int64_t in) {
    w[name + ".weight"] = trunc_normal({out, in}, 0.02, gen);
    w[name + ".bias"] = at::zeros({out});
  };
  auto norm = [&](const std::string& name) {
    w[name + ".weight"] = at::ones({d});
    w[name + ".bias"] = at::zeros({d});
  };
  for (int i = 0; i < c.depth; ++i) {
    const std::string b = "blocks." + std::to_string(i) + ".";
    norm(b + "norm1");
    linear(b + "attn.qkv", 3 * d, d);
    linear(b + "attn.proj", d, d);
    norm(b + "norm2");
    linear(b + "mlp.fc1", h, d);
    linear(b + "mlp.fc2", d, h);
  }
  norm("norm");
  return w;
}

ClipConfig clip_architecture(const std::string& name) {
  ClipConfig c;  // the defaults are ViT-B/32
  if (name == "vitb16") {
    c.vision_patch_size = 16;
  } else if (name != "vitb32") {
    throw Error("unknown CLIP architecture '" + name + "': use vitb32 or vitb16");
  }
  return c;
}

StateDict random_clip_weights(const ClipConfig& c, uint64_t seed) {
  at::Generator gen = at::detail::createCPUGenerator(seed);
  StateDict w;
  auto normal = [&](at::IntArrayRef shape) { return at::normal(0.0, 0.02, shape, gen); };
  auto layer_norm = [&](const std::string& name, int64_t width) {
    w[name + ".weight"] = at::ones({width});
    w[name + ".bias"] = at::zeros({width});
  };
  auto blocks = [&](const std::string& prefix, int64_t width, int layers) {
    for (int i = 0; i < layers; ++i) {
      const std::string b = prefix + std::to_string(i) + ".";
      w[b + "attn.in_proj_weight"] = normal({3 * width, width});
      w[b + "attn.in_proj_bias"] = at::zeros({3 * width});
      w[b + "attn.out_proj.weight"] = normal({width, width});
      w[b + "attn.out_proj.bias"] = at::zeros({width});
      w[b + "mlp.c_fc.weight"] = normal({4 * width, width});
      w[b + "mlp.c_fc.bias"] = at::zeros({4 * width});
      w[b + "mlp.c_proj.weight"] = normal({width, 4 * width});
      w[b + "mlp.c_proj.bias"] = at::zeros({width});
      layer_norm(b + "ln_1", width);
      layer_norm(b + "ln_2", width);
    }
  };
  const int64_t grid = c.image_resolution / c.vision_patch_size;
  w["visual.conv1.weight"] = normal({c.vision_width, 3, c.vision_patch_size, c.vision_patch_size});
  w["visual.class_embedding"] = normal({c.vision_width});
  w["visual.positional_embedding"] = normal({grid * grid + 1, c.vision_width});
  w["visual.proj"] = normal({c.vision_width, c.embed_dim});
  layer_norm("visual.ln_pre", c.vision_width);
  layer_norm("visual.ln_post", c.vision_width);
  blocks("visual.transformer.resblocks.", c.vision_width, c.vision_layers);
  w["token_embedding.weight"] = normal({c.vocab_size, c.text_width});
  w["positional_embedding"] = normal({c.context_length, c.text_width});
  w["text_projection"] = normal({c.text_width, c.embed_dim});
  w["logit_scale"] = at::full({}, std::log(100.0));
  layer_norm("ln_final", c.text_width);
  blocks("transformer.resblocks.", c.text_width, c.text_layers);
  return w;
}

}  // namespace dinoclip
