// Loading CLIP from its released files and running its two towers.
#include "models/clip.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <sstream>

#include "core/error.h"
#include "io/checkpoint.h"
#include "models/clip_towers.h"
#include "models/cuda_graph.h"
#include "models/matmul_precision.h"

namespace dinoclip {
namespace {

// Token rows per pass through the vision tower on the CPU kernels (whole
// images: at least one). One ViT-B/32 image is only 50 tokens: its products
// re-read every layer's weights (28 MB in fp32 for ViT-B) from memory for 50
// rows, while 8 images make 400-row products that reuse them. CLIP ViT-B/32,
// batch 8, ms per image, one image per pass / 8 per pass, three runs each:
// fp32 48.5-50.2 / 43.2-45.5, bf16 26.6-28.7 / 24.1-24.5. Batch 16, passes
// of 50 / 400 / 800 rows, two runs: fp32 50.6-51.1 / 44.1-44.3 / 42.4-44.8,
// bf16 26.8-28.6 / 22.8-24.4 / 22.6-24.8: no gain past 400. A pass holds
// only its images' activations (~7 MB for 400 rows of ViT-B in fp32),
// whatever the batch.
constexpr int64_t kCpuRowsPerPass = 400;

// Token rows per pass through the text tower on the CPU kernels (whole
// labels). A long label list in one pass allocates every layer's activations
// for all its rows (1000 labels of 16 tokens: ~130 MB for the MLP's hidden
// layer alone, fresh pages each layer). 1000 such labels, ViT-B/32's text
// tower, fp32, two runs, one pass / passes of 400 / 2048 rows: 7061, 7175 /
// 6725, 6415 / 6286, 6223 ms; with main's block-wise CPU attention, one pass
// / 2048 rows: fp32 7300, 7450 / 6222, 6011, bf16 3937, 3835 / 3366, 3289.
// Short lists (the usual handful of labels) are one pass as before.
constexpr int64_t kCpuTextRowsPerPass = 2048;

bool starts_with(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

const at::Tensor& require(const StateDict& weights, const std::string& name, const std::string& path) {
  auto it = weights.find(name);
  if (it == weights.end()) {
    throw Error(path + ": not a CLIP checkpoint: no '" + name +
                "' tensor. Expected OpenAI's released CLIP ViT weights (e.g. ViT-B-32.pt)");
  }
  return it->second;
}

int count_layers(const StateDict& weights, const std::string& prefix) {
  int layers = 0;
  while (weights.count(prefix + std::to_string(layers) + ".attn.in_proj_weight")) ++layers;
  return layers;
}

ClipConfig infer_config(const StateDict& w, const std::string& path) {
  if (w.count("visual.layer1.0.conv1.weight") || w.count("visual.attnpool.positional_embedding")) {
    throw Error(path + ": this is a ResNet CLIP model (RN50/RN101/RN50x4...), which dinoclip does not support yet; "
                       "use a ViT model (ViT-B-32.pt, ViT-B-16.pt, ViT-L-14.pt, ViT-L-14-336px.pt)");
  }
  ClipConfig c;
  const at::Tensor& conv1 = require(w, "visual.conv1.weight", path);
  const at::Tensor& vpos = require(w, "visual.positional_embedding", path);
  c.vision_width = int(conv1.size(0));
  c.vision_patch_size = int(conv1.size(-1));
  c.vision_layers = count_layers(w, "visual.transformer.resblocks.");
  const int grid = int(std::lround(std::sqrt(double(vpos.size(0) - 1))));
  if (grid * grid + 1 != vpos.size(0)) throw Error(path + ": visual.positional_embedding is not a square grid + 1");
  c.image_resolution = c.vision_patch_size * grid;
  c.embed_dim = int(require(w, "text_projection", path).size(1));
  c.context_length = int(require(w, "positional_embedding", path).size(0));
  c.vocab_size = int(require(w, "token_embedding.weight", path).size(0));
  c.text_width = int(require(w, "ln_final.weight", path).size(0));
  c.text_layers = count_layers(w, "transformer.resblocks.");
  c.vision_heads = std::max(1, c.vision_width / 64);
  c.text_heads = std::max(1, c.text_width / 64);
  return c;
}

// Splits the flat state_dict into the vision tower's (prefix removed), the
// text tower's and logit_scale. The TorchScript archives' extra buffers
// (input_resolution, context_length, vocab_size) are what build_model() drops.
struct ClipWeights {
  StateDict vision, text;
  at::Tensor logit_scale;
};

ClipWeights split_weights(const StateDict& all, const std::string& path) {
  ClipWeights out;
  for (const auto& [name, tensor] : all) {
    at::Tensor t = tensor.to(at::kFloat);
    if (name == "input_resolution" || name == "context_length" || name == "vocab_size") continue;
    if (name == "logit_scale") {
      out.logit_scale = t;
    } else if (starts_with(name, "visual.")) {
      out.vision.emplace(name.substr(7), t);
    } else {
      out.text.emplace(name, t);
    }
  }
  if (!out.logit_scale.defined()) throw Error(path + ": not a CLIP checkpoint: no 'logit_scale' tensor");
  return out;
}

}  // namespace

struct ClipModel::State {
  ClipConfig config;
  ClipVision vision{nullptr};
  ClipText text{nullptr};
  double logit_scale = 100.0;
  c10::Device device{c10::kCPU};
  c10::ScalarType dtype = c10::kFloat;
  bool cpu_kernels = false;     // the towers run on the oneDNN CPU kernels: batches in passes
  int64_t images_per_pass = 0;  // 0: the whole batch at once
  bool tf32 = false;
  // Declared after the towers: destroyed first, as its graphs read the weights.
  std::unique_ptr<GraphCache> image_graphs;
};

ClipModel::ClipModel() : state_(std::make_unique<State>()) {}
ClipModel::ClipModel(ClipModel&&) noexcept = default;
ClipModel& ClipModel::operator=(ClipModel&&) noexcept = default;
ClipModel::~ClipModel() = default;

ClipModel ClipModel::load(const std::string& path, const ClipLoadOptions& options) {
  Checkpoint checkpoint = load_checkpoint(path);
  ClipModel model;
  State& s = *model.state_;
  s.config = infer_config(checkpoint.tensors, path);
  ClipWeights weights = split_weights(checkpoint.tensors, path);
  checkpoint.tensors.clear();
  s.vision = ClipVision(s.config);
  s.text = ClipText(s.config);
  load_module_state(*s.vision, weights.vision, path, "CLIP's vision tower (visual.*)");
  load_module_state(*s.text, weights.text, path, "CLIP's text tower");
  s.logit_scale = std::exp(weights.logit_scale.item<double>());
  s.vision->eval();
  s.text->eval();
  const Placement placement = place_model(*s.vision, options.device, options.dtype, options.fused_kernels);
  s.dtype = placement.input_dtype;
  const int64_t tokens = int64_t(s.config.image_resolution / s.config.vision_patch_size) *
                             (s.config.image_resolution / s.config.vision_patch_size) + 1;
  s.cpu_kernels = placement.cpu_kernels;
  s.images_per_pass = placement.cpu_kernels ? std::max<int64_t>(1, kCpuRowsPerPass / tokens) : 0;
  place_model(*s.text, options.device, options.dtype, options.fused_kernels);
  s.device = options.device;
  s.tf32 = options.tf32 && s.dtype == at::kFloat;
  // The text tower is not graphed: its length follows the labels' longest
  // one, and label lists are encoded once, not per frame.
  if (use_cuda_graphs(options.cuda_graphs, s.device)) s.image_graphs = std::make_unique<GraphCache>(
        GraphCache::kDefaultCapacity, cuda_graph_capturer(), /*warn=*/nullptr, /*pad_batches=*/true);
  return model;
}

at::Tensor ClipModel::encode_image(const at::Tensor& images) const {
  const int r = state_->config.image_resolution;
  if (images.dim() != 4 || images.size(1) != 3 || images.size(2) != r || images.size(3) != r) {
    std::ostringstream got;
    got << images.sizes();
    throw Error("CLIP image input must be [batch, 3, " + std::to_string(r) + ", " + std::to_string(r) + "], got " +
                got.str() + "; preprocess with clip_input()");
  }
  c10::InferenceMode guard;
  const at::Tensor x = images.to(state_->device, state_->dtype).contiguous();
  Float32MatmulScope matmul_precision(state_->device, state_->dtype, state_->tf32);
  if (state_->image_graphs) {
    return state_->image_graphs->run(x, /*variant=*/0, [vision = state_->vision.ptr()](const at::Tensor& in) {
      return std::vector<at::Tensor>{vision->forward(in).to(at::kFloat)};
    })[0];
  }
  if (state_->images_per_pass > 0 && x.size(0) > state_->images_per_pass) {
    return forward_in_groups(x, state_->images_per_pass, [this](const at::Tensor& group) {
      return std::vector<at::Tensor>{state_->vision->forward(group)};
    })[0].to(at::kFloat);
  }
  return state_->vision->forward(x).to(at::kFloat);
}

at::Tensor ClipModel::encode_text(const at::Tensor& tokens) const {
  const ClipConfig& c = state_->config;
  if (tokens.dim() != 2 || tokens.size(1) != c.context_length || tokens.size(0) == 0) {
    throw Error("CLIP text input must be [batch >= 1, " + std::to_string(c.context_length) + "] token ids");
  }
  c10::InferenceMode guard;
  Float32MatmulScope matmul_precision(state_->device, state_->dtype, state_->tf32);
  at::Tensor ids = tokens.to(state_->device, at::kLong);
  if (ids.min().item<int64_t>() < 0 || ids.max().item<int64_t>() >= c.vocab_size) {
    throw Error("CLIP token ids must lie in [0, " + std::to_string(c.vocab_size) + ")");
  }
  if (state_->cpu_kernels) {
    // Each pass stops at its own longest end-of-text position; the pooled
    // features do not depend on the positions after it (causal mask).
    const int64_t length = ids.argmax(-1).max().item<int64_t>() + 1;
    const int64_t labels_per_pass = std::max<int64_t>(1, kCpuTextRowsPerPass / length);
    if (ids.size(0) > labels_per_pass) {
      return forward_in_groups(ids, labels_per_pass, [this](const at::Tensor& labels) {
        return std::vector<at::Tensor>{state_->text->forward(labels)};
      })[0].to(at::kFloat);
    }
  }
  return state_->text->forward(ids).to(at::kFloat);
}

double ClipModel::logit_scale() const { return state_->logit_scale; }

at::Tensor ClipModel::logits_per_image(const at::Tensor& image_features, const at::Tensor& text_features) const {
  at::Tensor image = image_features / image_features.norm(2, -1, /*keepdim=*/true);
  at::Tensor text = text_features / text_features.norm(2, -1, /*keepdim=*/true);
  return at::mm(image, text.t()) * state_->logit_scale;
}

const ClipConfig& ClipModel::config() const { return state_->config; }
c10::Device ClipModel::device() const { return state_->device; }
const GraphCache* ClipModel::cuda_graphs() const { return state_->image_graphs.get(); }

std::string ClipModel::describe() const {
  const ClipConfig& c = state_->config;
  std::string size = c.vision_width == 768 ? "B" : c.vision_width == 1024 ? "L" : "w" + std::to_string(c.vision_width);
  return "CLIP ViT-" + size + "/" + std::to_string(c.vision_patch_size) + " (" + std::to_string(c.image_resolution) +
         " px, embed " + std::to_string(c.embed_dim) + ")";
}

}  // namespace dinoclip
