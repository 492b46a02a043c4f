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
#include "io/checkpoint.h"
#include "models/cuda_graph.h"
#include "models/matmul_precision.h"
#include "models/vit_blocks.h"

namespace dinoclip {

// facebookresearch/dino's VisionTransformer, parameters named as in its
// state_dict (cls_token, pos_embed, patch_embed.proj.*, blocks.N.*, norm.*).
class DinoVisionTransformerImpl : public torch::nn::Module {
 public:
  explicit DinoVisionTransformerImpl(const DinoConfig& config) : config_(config) {
    cls_token = register_parameter("cls_token", at::empty({1, 1, config.embed_dim}));
    const int stored = config.pos_grid * config.pos_grid;
    pos_embed = register_parameter("pos_embed", at::empty({1, 1 + stored, config.embed_dim}));
    auto holder = register_module("patch_embed", std::make_shared<torch::nn::Module>());
    patch_embed = holder->register_module("proj", PatchEmbed(3, config.embed_dim, config.patch_size, /*bias=*/true));
    VitBlockConfig block{config.embed_dim, config.num_heads, config.mlp_hidden, config.layernorm_eps,
                         Activation::kGeluErf, VitNaming::dino()};
    blocks = register_module("blocks", torch::nn::ModuleList());
    for (int i = 0; i < config.depth; ++i) blocks->push_back(VitBlock(block));
    norm = register_module("norm", torch::nn::LayerNorm(
                                       torch::nn::LayerNormOptions({config.embed_dim}).eps(config.layernorm_eps)));
  }

  // DINO's interpolate_pos_encoding: bicubic resize of the stored grid whose
  // scale factor is (n + 0.1) / sqrt(N) and is passed as such to the
  // interpolation (it sets the sampling positions, not just the output size).
  at::Tensor position_embedding(int grid_h, int grid_w) const {
    const int stored = config_.pos_grid;
    if (grid_h * grid_w == stored * stored && grid_h == grid_w) return pos_embed;
    const double scale_h = (grid_h + 0.1) / std::sqrt(double(stored * stored));
    const double scale_w = (grid_w + 0.1) / std::sqrt(double(stored * stored));
    const int64_t out_h = int64_t(std::floor(stored * scale_h)), out_w = int64_t(std::floor(stored * scale_w));
    if (out_h != grid_h || out_w != grid_w) {
      throw Error("position-embedding interpolation gave a " + std::to_string(out_h) + "x" + std::to_string(out_w) +
                  " grid for a " + std::to_string(grid_h) + "x" + std::to_string(grid_w) + " input");
    }
    const int64_t dim = pos_embed.size(2);
    at::Tensor grid = pos_embed.narrow(1, 1, stored * stored).reshape({1, stored, stored, dim}).permute({0, 3, 1, 2});
    at::Tensor resized = at::upsample_bicubic2d(grid, {out_h, out_w}, /*align_corners=*/false, scale_h,
                                                scale_w);
    at::Tensor patches = resized.permute({0, 2, 3, 1}).reshape({1, grid_h * grid_w, dim});
    return at::cat({pos_embed.narrow(1, 0, 1), patches}, 1);
  }

  DinoOutput forward(const at::Tensor& images, const at::Tensor& pos, const DinoForwardOptions& options) {
    const int64_t batch = images.size(0);
    DinoOutput out;
    out.grid_h = int(images.size(2) / config_.patch_size);
    out.grid_w = int(images.size(3) / config_.patch_size);

    at::Tensor x = at::cat({cls_token.expand({batch, 1, config_.embed_dim}), patch_embed->forward(images)}, 1);
    x.add_(pos);
    AttentionTap tap;
    tap.cls_row = options.cls_attention;
    tap.full = options.full_attention;
    const size_t last = blocks->size() - 1;
    for (size_t i = 0; i < blocks->size(); ++i) {
      blocks[i]->as<VitBlock>()->forward_(x, {}, i == last ? &tap : nullptr);  // x is ours: in place
    }
    out.tokens = norm->forward(x);
    if (tap.cls.defined()) out.cls_attention = tap.cls.narrow(2, 1, tap.cls.size(2) - 1).contiguous();
    if (tap.full_matrix.defined()) out.attention = tap.full_matrix;
    return out;
  }

  at::Tensor cls_token, pos_embed;
  PatchEmbed patch_embed{nullptr};
  torch::nn::ModuleList blocks{nullptr};
  torch::nn::LayerNorm norm{nullptr};

 private:
  DinoConfig config_;
};
TORCH_MODULE(DinoVisionTransformer);

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
    msg << "). Expected the official DINO ViT weights (e.g. dino_deitsmall8_pretrain.pth)";
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

// options.num_heads: > 0 wins; 0 takes the checkpoint's metadata (num_heads),
// else the width (384 -> 6, 768 -> 12, otherwise width / 64); < 0 is an error.
DinoConfig infer_config(const StateDict& weights, const DinoLoadOptions& options, const std::string& path,
                        const std::map<std::string, std::string>& metadata) {
  if (options.num_heads < 0) {
    throw Error("heads " + std::to_string(options.num_heads) + ": the head count must be 1 or more (or left unset: "
                "taken from the checkpoint, else from the width)");
  }
  DinoConfig c;
  const at::Tensor& patch = require(weights, "patch_embed.proj.weight", path);
  const at::Tensor& pos = require(weights, "pos_embed", path);
  const at::Tensor& fc1 = require(weights, "blocks.0.mlp.fc1.weight", path);
  if (patch.dim() != 4 || patch.size(2) != patch.size(3) || pos.dim() != 3) {
    throw Error(path + ": patch_embed.proj.weight / pos_embed have unexpected shapes for a DINO ViT");
  }
  c.embed_dim = int(patch.size(0));
  c.patch_size = int(patch.size(2));
  c.depth = count_blocks(weights);
  c.mlp_hidden = int(fc1.size(0));
  const int64_t stored = pos.size(1) - 1;
  c.pos_grid = int(std::lround(std::sqrt(double(stored))));
  if (int64_t(c.pos_grid) * c.pos_grid != stored) {
    throw Error(path + ": pos_embed holds " + std::to_string(stored) + " patch positions, not a square grid");
  }
  const int named_heads = heads_from_metadata(metadata, path);
  if (options.num_heads > 0) {
    c.num_heads = options.num_heads;
  } else if (named_heads > 0) {
    c.num_heads = named_heads;  // the exporter said so: better than a guess from the width
  } else if (c.embed_dim == 384) {
    c.num_heads = 6;  // ViT-S
  } else if (c.embed_dim == 768) {
    c.num_heads = 12;  // ViT-B
  } else {
    c.num_heads = std::max(1, c.embed_dim / 64);
  }
  if (c.embed_dim % c.num_heads != 0) {
    throw Error(path + ": width " + std::to_string(c.embed_dim) + " is not divisible by " +
                std::to_string(c.num_heads) + " heads; pass the right head count");
  }
  return c;
}

}  // namespace

struct DinoModel::State {
  DinoConfig config;
  DinoVisionTransformer net{nullptr};
  c10::Device device{c10::kCPU};
  c10::ScalarType dtype = c10::kFloat;
  bool tf32 = false;
  bool one_sample_at_a_time = false;  // on the CPU kernels (see forward_each_sample)
  std::string path;
  mutable std::mutex pos_mutex;
  mutable std::map<std::pair<int, int>, at::Tensor> pos_cache;  // interpolated once per input size
  // Declared after the network: destroyed first, as its graphs read the weights.
  std::unique_ptr<GraphCache> graphs;
};

namespace {
// A graph's variant: which outputs it computes.
uint32_t graph_variant(const DinoForwardOptions& options) { return options.cls_attention ? 1u : 0u; }
}  // namespace

DinoModel::DinoModel() : state_(std::make_unique<State>()) {}
DinoModel::DinoModel(DinoModel&&) noexcept = default;
DinoModel& DinoModel::operator=(DinoModel&&) noexcept = default;
DinoModel::~DinoModel() = default;

DinoModel DinoModel::load(const std::string& path, const DinoLoadOptions& options) {
  Checkpoint checkpoint = load_checkpoint(path);
  StateDict weights = select_backbone(checkpoint.tensors, options.checkpoint_key);
  DinoModel model;
  State& s = *model.state_;
  s.path = path;
  s.config = infer_config(weights, options, path, checkpoint.metadata);
  s.net = DinoVisionTransformer(s.config);
  load_module_state(*s.net, weights, path, "a DINO ViT-" + std::to_string(s.config.embed_dim) + "/" +
                                              std::to_string(s.config.patch_size));
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
  at::Tensor pos;
  {
    std::lock_guard<std::mutex> lock(s.pos_mutex);
    auto it = s.pos_cache.find({grid_h, grid_w});
    if (it == s.pos_cache.end()) {
      it = s.pos_cache.emplace(std::make_pair(grid_h, grid_w), s.net->position_embedding(grid_h, grid_w)).first;
    }
    pos = it->second;
  }
  Float32MatmulScope matmul_precision(s.device, s.dtype, s.tf32);
  DinoOutput out;
  // The full [N, N] matrix (CLI `dino attention`, one picture) takes the
  // explicit attention path, whose query chunks run on several CPU threads:
  // their kernels would go to those threads' streams, outside a capture.
  if (s.graphs && !options.full_attention) {
    // pos is held by the forward (and so by its graph) by value.
    std::vector<at::Tensor> parts =
        s.graphs->run(x, graph_variant(options), [net = s.net.ptr(), pos, options](const at::Tensor& in) {
          DinoOutput o = net->forward(in, pos, options);
          auto as_float = [](const at::Tensor& t) { return t.defined() ? t.to(at::kFloat) : t; };
          return std::vector<at::Tensor>{as_float(o.tokens), as_float(o.cls_attention), as_float(o.attention)};
        });
    out.tokens = parts[0];
    out.cls_attention = parts[1];
    out.attention = parts[2];
    out.grid_h = grid_h;
    out.grid_w = grid_w;
    return out;
  }
  if (s.one_sample_at_a_time && x.size(0) > 1) {
    std::vector<at::Tensor> parts = forward_each_sample(x, [&](const at::Tensor& one) {
      DinoOutput o = s.net->forward(one, pos, options);
      return std::vector<at::Tensor>{o.tokens, o.cls_attention, o.attention};
    });
    out.tokens = parts[0];
    out.cls_attention = parts[1];
    out.attention = parts[2];
    out.grid_h = grid_h;
    out.grid_w = grid_w;
  } else {
    out = s.net->forward(x, pos, options);
  }
  if (s.dtype != at::kFloat) {
    out.tokens = out.tokens.to(at::kFloat);
    if (out.cls_attention.defined()) out.cls_attention = out.cls_attention.to(at::kFloat);
    if (out.attention.defined()) out.attention = out.attention.to(at::kFloat);
  }
  return out;
}

const DinoConfig& DinoModel::config() const { return state_->config; }
c10::Device DinoModel::device() const { return state_->device; }
const GraphCache* DinoModel::cuda_graphs() const { return state_->graphs.get(); }

std::string DinoModel::describe() const {
  const DinoConfig& c = state_->config;
  std::string size = c.embed_dim == 384 ? "S" : c.embed_dim == 768 ? "B" : "dim" + std::to_string(c.embed_dim);
  return "DINO ViT-" + size + "/" + std::to_string(c.patch_size) + " (dim " + std::to_string(c.embed_dim) + ", " +
         std::to_string(c.depth) + " blocks, " + std::to_string(c.num_heads) + " heads)";
}

}  // namespace dinoclip
