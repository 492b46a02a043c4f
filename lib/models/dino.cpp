#include "models/dino.h"

#include <nlohmann/json.hpp>

#include <ATen/ATen.h>
#include <torch/nn/modules/container/modulelist.h>

#include <cmath>
#include <map>
#include <mutex>
#include <sstream>
#include <utility>

#include "core/error.h"
#include "core/lru_cache.h"
#include "io/checkpoint.h"
#include "models/dino_backbone.h"
#include "models/cuda_graph.h"
#include "models/matmul_precision.h"
#include "models/vit_blocks.h"

namespace dinoclip {

// facebookresearch/dino's VisionTransformer, parameters named as in its
// state_dict (cls_token, pos_embed, patch_embed.proj.*, blocks.N.*, norm.*).
class DinoVisionTransformer : public DinoBackbone {
 public:
  explicit DinoVisionTransformer(const DinoConfig& config) : config_(config) {
    cls_token = register_parameter("cls_token", at::empty({1, 1, config.embed_dim}));
    const int stored = config.pos_grid * config.pos_grid;
    pos_embed = register_parameter("pos_embed", at::empty({1, 1 + stored, config.embed_dim}));
    auto holder = register_module("patch_embed", std::make_shared<torch::nn::Module>());
    patch_embed = holder->register_module("proj", PatchEmbed(3, config.embed_dim, config.patch_size, /*bias=*/true));
    blocks = register_module("blocks", torch::nn::ModuleList());
    for (int i = 0; i < config.depth; ++i) blocks->push_back(VitBlock(dino_block_config(config)));
    norm = register_module("norm", torch::nn::LayerNorm(
                                       torch::nn::LayerNormOptions({config.embed_dim}).eps(config.layernorm_eps)));
  }

  // DINO's interpolate_pos_encoding: bicubic resize of the stored grid whose
  // scale factor is (n + 0.1) / sqrt(N) and is passed as such to the
  // interpolation (it sets the sampling positions, not just the output size).
  DinoPosition position(int grid_h, int grid_w) const override {
    return {interpolate_position_embedding(pos_embed, grid_h, grid_w, PosInterpolation::kScaleOffset), {}};
  }

  DinoOutput forward(const at::Tensor& images, const DinoPosition& position,
                     const DinoForwardOptions& options) override {
    const int64_t batch = images.size(0);
    at::Tensor x = at::cat({cls_token.expand({batch, 1, config_.embed_dim}), patch_embed->forward(images)}, 1);
    x.add_(position.embedding);
    return run_dino_blocks(blocks, norm, std::move(x), /*registers=*/0, /*rope=*/nullptr, options,
                           int(images.size(2) / config_.patch_size), int(images.size(3) / config_.patch_size));
  }

  at::Tensor cls_token, pos_embed;
  PatchEmbed patch_embed{nullptr};
  torch::nn::ModuleList blocks{nullptr};
  torch::nn::LayerNorm norm{nullptr};

 private:
  DinoConfig config_;
};

namespace {

bool starts_with(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

std::string strip_all(std::string key, const std::string& part) {
  for (auto pos = key.find(part); pos != std::string::npos; pos = key.find(part)) key.erase(pos, part.size());
  return key;
}

// A plain backbone state_dict as is; from a full training checkpoint the
// chosen network ("teacher" by default, as DINO's evaluation scripts), with
// DDP's "module." and MultiCropWrapper's "backbone." removed and the DINO
// projection head ("head.*") dropped, as the official loader does.
StateDict select_backbone(const StateDict& all, const std::string& key) {
  bool nested = false;
  for (const auto& [name, tensor] : all) nested |= starts_with(name, key + ".");
  StateDict out;
  for (const auto& [name, tensor] : all) {
    std::string k = name;
    if (nested) {
      if (!starts_with(k, key + ".")) continue;
      k = k.substr(key.size() + 1);
    }
    k = strip_all(strip_all(k, "module."), "backbone.");
    if (starts_with(k, "head.")) continue;
    out.emplace(std::move(k), tensor);
  }
  return out;
}

const at::Tensor& require(const StateDict& weights, const std::string& name, const std::string& path) {
  auto it = weights.find(name);
  if (it == weights.end()) {
    std::ostringstream msg;
    msg << path << ": not a DINO ViT checkpoint: no '" << name << "' tensor (found " << weights.size()
        << " tensors";
    if (!weights.empty()) msg << ", e.g. '" << weights.begin()->first << "'";
    msg << "). Expected the official DINO, DINOv2 or DINOv3 ViT weights (e.g. dino_deitsmall8_pretrain.pth, "
           "dinov2_vits14_pretrain.pth, dinov3_vits16_pretrain_lvd1689m-08c60483.pth)";
    throw Error(msg.str());
  }
  return it->second;
}

int count_blocks(const StateDict& weights) {
  int depth = 0;
  while (weights.count("blocks." + std::to_string(depth) + ".norm1.weight")) ++depth;
  return depth;
}

// The head count a safetensors file names in its metadata ("num_heads", or
// "num_heads" inside a JSON "config", as DINO-style exporters write it); 0 if none.
int heads_from_metadata(const std::map<std::string, std::string>& metadata, const std::string& path) {
  auto positive = [&](const nlohmann::json& v) {
    if (!v.is_number_integer() || v.get<int64_t>() < 1 || v.get<int64_t>() > 4096) {
      throw Error(path + ": the metadata's num_heads " + v.dump() + " is not a head count; pass --heads / heads=N");
    }
    return int(v.get<int64_t>());
  };
  if (auto it = metadata.find("num_heads"); it != metadata.end()) {
    const nlohmann::json v = nlohmann::json::parse(it->second, nullptr, /*allow_exceptions=*/false);
    return positive(v);
  }
  if (auto it = metadata.find("config"); it != metadata.end()) {
    const nlohmann::json config = nlohmann::json::parse(it->second, nullptr, /*allow_exceptions=*/false);
    if (config.is_object() && config.contains("num_heads")) return positive(config["num_heads"]);
  }
  return 0;
}

bool has_key_containing(const StateDict& weights, const std::string& part) {
  for (const auto& [name, tensor] : weights)
    if (name.find(part) != std::string::npos) return true;
  return false;
}

// The family from the keys: DINOv3 has RoPE periods / storage tokens, DINOv2
// LayerScale / register tokens beside its pos_embed, v1 neither. Variants no
// fixture covers yet are refused by name.
DinoFamily recognise_family(const StateDict& weights, const std::string& path) {
  const bool v3 = weights.count("rope_embed.periods") || weights.count("storage_tokens");
  if (has_key_containing(weights, ".mlp.w12.") || has_key_containing(weights, ".mlp.w1.")) {
    throw Error(path + ": this " + std::string(v3 ? "DINOv3" : "DINOv2") +
                " checkpoint uses SwiGLU feed-forward layers (blocks.N.mlp.w1*/w2/w3: DINOv2 ViT-g, DINOv3 ViT-S+/H+/7B), "
                "which dinoclip does not run yet; use a ViT-S/B/L checkpoint (MLP feed-forward layers)");
  }
  if (v3) {
    if (weights.count("cls_norm.weight")) {
      throw Error(path + ": this DINOv3 checkpoint has untied CLS/patch norms (cls_norm.*), which dinoclip does not "
                  "run yet; use dinov3_vits16 / vitb16 / vitl16 (one final norm)");
    }
    return DinoFamily::kV3;
  }
  if (weights.count("register_tokens") || weights.count("blocks.0.ls1.gamma")) return DinoFamily::kV2;
  return DinoFamily::kV1;
}

// DINOv2 trained with block_chunks > 0 names its blocks "blocks.<chunk>.<i>.":
// the flat "blocks.<i>." the hub models use.
StateDict unchunk_blocks(StateDict weights) {
  if (!weights.count("blocks.0.0.norm1.weight")) return weights;
  StateDict out;
  for (auto& [name, tensor] : weights) {
    std::string key = name;
    if (starts_with(key, "blocks.")) {
      const size_t dot = key.find('.', 7);
      if (dot != std::string::npos) key = "blocks." + key.substr(dot + 1);
    }
    out.emplace(std::move(key), tensor);
  }
  return out;
}

int default_heads(int width) {
  if (width == 384) return 6;    // ViT-S
  if (width == 768) return 12;   // ViT-B
  if (width == 1024) return 16;  // ViT-L
  return std::max(1, width / 64);
}

// options.num_heads: > 0 wins; 0 takes the checkpoint's metadata (num_heads),
// DINOv3's RoPE periods (head width = 4 x periods), else the width (384 -> 6,
// 768 -> 12, 1024 -> 16, otherwise width / 64); < 0 is an error.
DinoConfig infer_config(const StateDict& weights, const DinoLoadOptions& options, const std::string& path,
                        const std::map<std::string, std::string>& metadata) {
  if (options.num_heads < 0) {
    throw Error("heads " + std::to_string(options.num_heads) + ": the head count must be 1 or more (or left unset: "
                "taken from the checkpoint, else from the width)");
  }
  DinoConfig c;
  c.family = recognise_family(weights, path);
  const at::Tensor& patch = require(weights, "patch_embed.proj.weight", path);
  const at::Tensor& fc1 = require(weights, "blocks.0.mlp.fc1.weight", path);
  if (patch.dim() != 4 || patch.size(2) != patch.size(3)) {
    throw Error(path + ": patch_embed.proj.weight has an unexpected shape for a DINO ViT");
  }
  c.embed_dim = int(patch.size(0));
  c.patch_size = int(patch.size(2));
  c.depth = count_blocks(weights);
  c.mlp_hidden = int(fc1.size(0));
  int rope_heads = 0;
  if (c.family == DinoFamily::kV3) {
    c.pos_grid = 0;
    c.layernorm_eps = 1e-5;  // "layernormbf16"
    if (auto it = weights.find("storage_tokens"); it != weights.end()) c.num_register_tokens = int(it->second.size(1));
    const at::Tensor& periods = require(weights, "rope_embed.periods", path);
    if (periods.dim() != 1 || periods.numel() < 1 || c.embed_dim % (4 * periods.numel()) != 0) {
      throw Error(path + ": rope_embed.periods " + std::to_string(periods.numel()) +
                  " does not give a head width that divides the width " + std::to_string(c.embed_dim));
    }
    rope_heads = int(c.embed_dim / (4 * periods.numel()));
    c.masked_k_bias = weights.count("blocks.0.attn.qkv.bias_mask") > 0;
    if (options.pos_interpolation != PosInterpolation::kAuto) {
      throw Error(path + ": DINOv3 has no position embedding to interpolate (RoPE): leave the interpolation on auto");
    }
  } else {
    const at::Tensor& pos = require(weights, "pos_embed", path);
    if (pos.dim() != 3) throw Error(path + ": pos_embed has an unexpected shape for a DINO ViT");
    const int64_t stored = pos.size(1) - 1;
    c.pos_grid = int(std::lround(std::sqrt(double(stored))));
    if (int64_t(c.pos_grid) * c.pos_grid != stored) {
      throw Error(path + ": pos_embed holds " + std::to_string(stored) + " patch positions, not a square grid");
    }
    if (auto it = weights.find("register_tokens"); it != weights.end()) c.num_register_tokens = int(it->second.size(1));
    if (c.family == DinoFamily::kV2) {
      // The checkpoint does not say; dinov2/hub/backbones.py pairs the
      // registers models with antialiased resizing by size, the others with
      // the (n + 0.1) / M scale factor.
      c.pos_interpolation = options.pos_interpolation != PosInterpolation::kAuto ? options.pos_interpolation
                            : c.num_register_tokens > 0                        ? PosInterpolation::kSizeAntialiased
                                                                               : PosInterpolation::kScaleOffset;
    } else if (options.pos_interpolation == PosInterpolation::kSizeAntialiased) {
      throw Error(path + ": DINO (v1) interpolates its position embedding by scale factor only (offset); the "
                  "antialiased recipe is DINOv2's");
    }
  }
  const int named_heads = heads_from_metadata(metadata, path);
  if (options.num_heads > 0) {
    c.num_heads = options.num_heads;
  } else if (named_heads > 0) {
    c.num_heads = named_heads;  // the exporter said so: better than a guess from the width
  } else if (rope_heads > 0) {
    c.num_heads = rope_heads;
  } else {
    c.num_heads = default_heads(c.embed_dim);
  }
  if (c.embed_dim % c.num_heads != 0) {
    throw Error(path + ": width " + std::to_string(c.embed_dim) + " is not divisible by " +
                std::to_string(c.num_heads) + " heads; pass the right head count");
  }
  if (rope_heads > 0 && c.num_heads != rope_heads) {
    throw Error(path + ": " + std::to_string(c.num_heads) + " heads do not fit rope_embed.periods, which says " +
                std::to_string(rope_heads) + " heads (head width " + std::to_string(c.embed_dim / rope_heads) + ")");
  }
  return c;
}

std::shared_ptr<DinoBackbone> make_backbone(const DinoConfig& config) {
  switch (config.family) {
    case DinoFamily::kV2:
      return make_dinov2_backbone(config);
    case DinoFamily::kV3:
      return make_dinov3_backbone(config);
    case DinoFamily::kV1:
      break;
  }
  return std::make_shared<DinoVisionTransformer>(config);
}

}  // namespace

// Input grids whose position embeddings stay cached (a few streams' sizes).
constexpr size_t kPositionCacheSize = 8;

struct DinoModel::State {
  DinoConfig config;
  std::shared_ptr<DinoBackbone> net;
  c10::Device device{c10::kCPU};
  c10::ScalarType dtype = c10::kFloat;
  bool tf32 = false;
  bool one_sample_at_a_time = false;  // on the CPU kernels (see forward_each_sample)
  std::string path;
  mutable std::mutex pos_mutex;
  // Computed once per input grid; bounded, as input-size=native or short:N
  // follow the caps (a graph that uses an evicted one holds its own copy).
  mutable LruCache<std::pair<int, int>, DinoPosition> pos_cache{kPositionCacheSize};
  // Declared after the network: destroyed first, as its graphs read the weights.
  std::unique_ptr<GraphCache> graphs;
};

namespace {
// A graph's variant: which outputs it computes (CLS attention, how many intermediate layers).
uint32_t graph_variant(const DinoForwardOptions& options) {
  return (options.cls_attention ? 1u : 0u) | (uint32_t(options.intermediate_layers) << 1);
}

// A DinoOutput as a flat list of tensors and back (graph outputs, per-sample runs).
std::vector<at::Tensor> output_parts(const DinoOutput& o) {
  std::vector<at::Tensor> parts{o.tokens, o.registers, o.cls_attention, o.attention};
  parts.insert(parts.end(), o.intermediate.begin(), o.intermediate.end());
  return parts;
}

DinoOutput output_from_parts(std::vector<at::Tensor> parts, int grid_h, int grid_w) {
  DinoOutput out;
  out.tokens = parts[0];
  out.registers = parts[1];
  out.cls_attention = parts[2];
  out.attention = parts[3];
  out.intermediate.assign(parts.begin() + 4, parts.end());
  out.grid_h = grid_h;
  out.grid_w = grid_w;
  return out;
}
}  // namespace

DinoModel::DinoModel() : state_(std::make_unique<State>()) {}
DinoModel::DinoModel(DinoModel&&) noexcept = default;
DinoModel& DinoModel::operator=(DinoModel&&) noexcept = default;
DinoModel::~DinoModel() = default;

DinoModel DinoModel::load(const std::string& path, const DinoLoadOptions& options) {
  Checkpoint checkpoint = load_checkpoint(path);
  StateDict weights = unchunk_blocks(select_backbone(checkpoint.tensors, options.checkpoint_key));
  weights.erase("local_cls_norm.weight");  // DINOv3: used for local crops in training only, never in evaluation
  weights.erase("local_cls_norm.bias");
  DinoModel model;
  State& s = *model.state_;
  s.path = path;
  s.config = infer_config(weights, options, path, checkpoint.metadata);
  s.net = make_backbone(s.config);
  load_module_state(*s.net, weights, path, "a " + to_string(s.config.family) + " ViT-" +
                                              std::to_string(s.config.embed_dim) + "/" +
                                              std::to_string(s.config.patch_size));
  s.net->on_loaded();
  s.net->eval();
  const Placement placement = place_model(*s.net, options.device, options.dtype, options.fused_kernels);
  s.dtype = placement.input_dtype;
  s.one_sample_at_a_time = placement.cpu_kernels;
  s.device = options.device;
  s.tf32 = options.tf32 && s.dtype == at::kFloat;
  if (use_cuda_graphs(options.cuda_graphs, s.device)) s.graphs = std::make_unique<GraphCache>(
        GraphCache::kDefaultCapacity, cuda_graph_capturer(), /*warn=*/nullptr, /*pad_batches=*/true);
  return model;
}

DinoOutput DinoModel::forward(const at::Tensor& images, const DinoForwardOptions& options) const {
  State& s = *state_;  // the module's forward is not const; the model's state does not change
  const int p = s.config.patch_size;
  if (images.dim() != 4 || images.size(1) != 3) {
    throw Error("DINO input must be [batch, 3, height, width]");
  }
  if (images.size(2) % p != 0 || images.size(3) % p != 0 || images.size(2) == 0 || images.size(3) == 0) {
    throw Error("DINO input size " + std::to_string(images.size(3)) + "x" + std::to_string(images.size(2)) +
                " is not a multiple of the patch size " + std::to_string(p));
  }
  c10::InferenceMode guard;
  at::Tensor x = images.to(s.device, s.dtype).contiguous();
  const int grid_h = int(images.size(2) / p), grid_w = int(images.size(3) / p);
  DinoPosition pos;
  {
    std::lock_guard<std::mutex> lock(s.pos_mutex);
    pos = s.pos_cache.get_or_make({grid_h, grid_w}, [&] { return s.net->position(grid_h, grid_w); });
  }
  Float32MatmulScope matmul_precision(s.device, s.dtype, s.tf32);
  DinoOutput out;
  // The full [N, N] matrix (CLI `dino attention`, one picture) takes the
  // explicit attention path, whose query chunks run on several CPU threads:
  // their kernels would go to those threads' streams, outside a capture.
  if (s.graphs && !options.full_attention) {
    // pos is held by the forward (and so by its graph) by value.
    std::vector<at::Tensor> parts =
        s.graphs->run(x, graph_variant(options), [net = s.net.get(), pos, options](const at::Tensor& in) {
          std::vector<at::Tensor> outputs = output_parts(net->forward(in, pos, options));
          for (at::Tensor& t : outputs) {
            if (t.defined()) t = t.to(at::kFloat);
          }
          return outputs;
        });
    return output_from_parts(std::move(parts), grid_h, grid_w);
  }
  if (s.one_sample_at_a_time && x.size(0) > 1) {
    out = output_from_parts(forward_each_sample(x, [&](const at::Tensor& one) {
                              return output_parts(s.net->forward(one, pos, options));
                            }),
                            grid_h, grid_w);
  } else {
    out = s.net->forward(x, pos, options);
  }
  if (s.dtype != at::kFloat) {
    auto to_float = [](at::Tensor& t) {
      if (t.defined()) t = t.to(at::kFloat);
    };
    to_float(out.tokens);
    to_float(out.registers);
    to_float(out.cls_attention);
    to_float(out.attention);
    for (at::Tensor& t : out.intermediate) to_float(t);
  }
  return out;
}

const DinoConfig& DinoModel::config() const { return state_->config; }
c10::Device DinoModel::device() const { return state_->device; }
const GraphCache* DinoModel::cuda_graphs() const { return state_->graphs.get(); }

std::string to_string(DinoFamily family) {
  switch (family) {
    case DinoFamily::kV1:
      return "DINO";
    case DinoFamily::kV2:
      return "DINOv2";
    case DinoFamily::kV3:
      return "DINOv3";
  }
  return "DINO";
}

std::string DinoModel::describe() const {
  const DinoConfig& c = state_->config;
  std::string size = c.embed_dim == 384    ? "S"
                     : c.embed_dim == 768  ? "B"
                     : c.embed_dim == 1024 ? "L"
                                           : "dim" + std::to_string(c.embed_dim);
  std::string extra;
  if (c.num_register_tokens > 0) {
    extra = ", " + std::to_string(c.num_register_tokens) +
            (c.family == DinoFamily::kV3 ? " storage tokens" : " registers");
  }
  if (c.family == DinoFamily::kV2) extra += ", position embedding " + to_string(c.pos_interpolation);
  return to_string(c.family) + " ViT-" + size + "/" + std::to_string(c.patch_size) + " (dim " +
         std::to_string(c.embed_dim) + ", " + std::to_string(c.depth) + " blocks, " + std::to_string(c.num_heads) +
         " heads" + extra + ")";
}

}  // namespace dinoclip
