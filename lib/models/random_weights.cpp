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

namespace {

// dinov2/hub/backbones.py and dinov3/hub/backbones.py: "dinov2-vits14",
// "dinov2-vitb14", "dinov2-vitl14" (+ "-reg": 4 registers, antialiased
// interpolation), "dinov3-vits16", "dinov3-vitb16", "dinov3-vitl16".
bool newer_dino_architecture(const std::string& name, DinoConfig& c) {
  const bool v2 = name.rfind("dinov2-vit", 0) == 0, v3 = name.rfind("dinov3-vit", 0) == 0;
  if (!v2 && !v3) return false;
  std::string rest = name.substr(10);  // e.g. "s14-reg"
  const bool reg = v2 && rest.size() > 4 && rest.substr(rest.size() - 4) == "-reg";
  if (reg) rest = rest.substr(0, rest.size() - 4);
  const std::string patch = v2 ? "14" : "16";
  if (rest.size() != 3 || rest.substr(1) != patch) return false;
  if (rest[0] == 's') {
    c.embed_dim = 384, c.num_heads = 6, c.depth = 12;
  } else if (rest[0] == 'b') {
    c.embed_dim = 768, c.num_heads = 12, c.depth = 12;
  } else if (rest[0] == 'l') {
    c.embed_dim = 1024, c.num_heads = 16, c.depth = 24;
  } else {
    return false;
  }
  c.mlp_hidden = 4 * c.embed_dim;
  if (v2) {
    c.family = DinoFamily::kV2;
    c.patch_size = 14;
    c.pos_grid = 37;  // img_size 518
    c.num_register_tokens = reg ? 4 : 0;
    c.pos_interpolation = reg ? PosInterpolation::kSizeAntialiased : PosInterpolation::kScaleOffset;
  } else {
    c.family = DinoFamily::kV3;
    c.patch_size = 16;
    c.pos_grid = 0;
    c.num_register_tokens = 4;
    c.layernorm_eps = 1e-5;
    c.masked_k_bias = true;
  }
  return true;
}

}  // namespace

DinoConfig dino_architecture(const std::string& name) {
  DinoConfig c;
  if (newer_dino_architecture(name, c)) return c;
  if (name == "vits8" || name == "vits16") {
    c.embed_dim = 384, c.num_heads = 6;
  } else if (name == "vitb8" || name == "vitb16") {
    c.embed_dim = 768, c.num_heads = 12;
  } else if (name == "tiny") {
    c.embed_dim = 64, c.num_heads = 4, c.depth = 2;
  } else {
    throw Error("unknown DINO architecture '" + name +
                "': use vits8, vits16, vitb8, vitb16, tiny (DINO), dinov2-vits14, dinov2-vitb14, dinov2-vitl14 "
                "(each also with -reg), dinov3-vits16, dinov3-vitb16 or dinov3-vitl16");
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
  if (c.family != DinoFamily::kV3) {
    w["pos_embed"] = trunc_normal({1, 1 + int64_t(c.pos_grid) * c.pos_grid, d}, 0.02, gen);
  }
  if (c.family != DinoFamily::kV1) w["mask_token"] = at::zeros({1, d});
  if (c.num_register_tokens > 0) {
    w[c.family == DinoFamily::kV3 ? "storage_tokens" : "register_tokens"] =
        trunc_normal({1, c.num_register_tokens, d}, 0.02, gen);
  }
  if (c.family == DinoFamily::kV3) {
    // RopePositionEmbedding's periods: base ** (2 * arange(D / 4) / (D / 2)), base 100.
    const int64_t head_dim = d / c.num_heads;
    w["rope_embed.periods"] = at::pow(100.0, 2.0 * at::arange(head_dim / 4, at::kFloat) / double(head_dim / 2));
  }
  // LayerScale's initial gammas: DINOv2 init_values 1.0, DINOv3 layerscale_init 1e-5.
  const double gamma = c.family == DinoFamily::kV3 ? 1e-5 : 1.0;
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
    if (c.masked_k_bias) {
      at::Tensor mask = at::ones({3 * d});
      mask.narrow(0, d, d).zero_();  // the k third
      w[b + "attn.qkv.bias_mask"] = mask;
    }
    linear(b + "attn.proj", d, d);
    norm(b + "norm2");
    linear(b + "mlp.fc1", h, d);
    linear(b + "mlp.fc2", d, h);
    if (c.family != DinoFamily::kV1) {
      w[b + "ls1.gamma"] = at::full({d}, gamma);
      w[b + "ls2.gamma"] = at::full({d}, gamma);
    }
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
