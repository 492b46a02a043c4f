#include "models/random_weights.h"

#include <ATen/ATen.h>

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

}  // namespace dinoclip
