#include "tasks/seg_head.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/optim/adamw.h>

#include <chrono>
#include <cmath>
#include <map>

#include "core/error.h"
#include "io/checkpoint.h"
#include "io/safetensors_writer.h"
#include "models/vit_blocks.h"
#include "tasks/label_grid.h"

namespace dinoclip {
namespace {

// Smallest per-dimension standard deviation used to standardise: a constant
// feature dimension then maps to 0 rather than to inf.
constexpr double kMinFeatureStd = 1e-6;
// Soft targets must be distributions; this catches logits or percentages.
constexpr double kTargetSumTolerance = 1e-3;

class SegHeadNetImpl : public torch::nn::Module {
 public:
  SegHeadNetImpl(HeadKind kind, int64_t dim, int64_t hidden, int64_t classes) : kind_(kind) {
    feature_mean_ = register_buffer("feature_mean", at::zeros({dim}));
    feature_std_ = register_buffer("feature_std", at::ones({dim}));
    if (kind == HeadKind::kLinear) {
      linear_ = register_module("linear", torch::nn::Linear(dim, classes));
    } else {
      fc1_ = register_module("fc1", torch::nn::Linear(dim, hidden));
      fc2_ = register_module("fc2", torch::nn::Linear(hidden, classes));
    }
  }

  void set_standardisation(const at::Tensor& mean, const at::Tensor& std) {
    torch::NoGradGuard no_grad;
    feature_mean_.copy_(mean);
    feature_std_.copy_(std);
  }

  // The layer that produces the logits starts as DINO's linear probe does
  // (eval_linear.py: weight ~ N(0, 0.01), bias 0), so an untrained head
  // predicts nearly uniform class probabilities and no random direction has
  // to be unlearnt first. The MLP's hidden layer keeps torch.nn.Linear's
  // U(-1/sqrt(fan_in), 1/sqrt(fan_in)), which breaks the symmetry between its
  // units. Drawn from a private generator: deterministic without touching
  // the global seed.
  void initialise(uint64_t seed) {
    at::Generator generator = at::detail::createCPUGenerator(seed);
    torch::NoGradGuard no_grad;
    if (kind_ == HeadKind::kMlp) {
      const double bound = 1.0 / std::sqrt(double(fc1_->options.in_features()));
      fc1_->weight.copy_(at::empty(fc1_->weight.sizes(), at::kFloat).uniform_(-bound, bound, generator));
      fc1_->bias.copy_(at::empty(fc1_->bias.sizes(), at::kFloat).uniform_(-bound, bound, generator));
    }
    torch::nn::Linear& output = kind_ == HeadKind::kLinear ? linear_ : fc2_;
    output->weight.copy_(at::empty(output->weight.sizes(), at::kFloat).normal_(0.0, 0.01, generator));
    output->bias.zero_();
  }

  at::Tensor standardise(const at::Tensor& features) const {
    return (features.to(feature_mean_.device(), at::kFloat) - feature_mean_) / feature_std_;
  }

  at::Tensor forward(const at::Tensor& standardised) {
    if (kind_ == HeadKind::kLinear) return linear_->forward(standardised);
    return fc2_->forward(at::gelu(fc1_->forward(standardised)));
  }

  HeadKind kind() const { return kind_; }
  int64_t hidden() const { return kind_ == HeadKind::kMlp ? fc1_->options.out_features() : 0; }
  int64_t classes() const {
    return kind_ == HeadKind::kLinear ? linear_->options.out_features() : fc2_->options.out_features();
  }
  int64_t dim() const { return feature_mean_.size(0); }

  HeadKind kind_;
  at::Tensor feature_mean_, feature_std_;
  torch::nn::Linear linear_{nullptr}, fc1_{nullptr}, fc2_{nullptr};
};
TORCH_MODULE(SegHeadNet);

void check_features(const at::Tensor& features, const std::string& what) {
  if (!features.defined() || features.dim() != 2 || !at::isFloatingType(features.scalar_type())) {
    throw Error(what + " must be a float tensor [patches, feature_dim]" +
                (features.defined()
                     ? ", got " + c10::str(features.sizes()) + " " + c10::toString(features.scalar_type())
                     : std::string(" (undefined)")));
  }
  if (features.size(0) == 0 || features.size(1) == 0) {
    throw Error(what + " are empty (" + c10::str(features.sizes()) + ")");
  }
}

// -> [N, C] float32 distributions on `device`, whichever form `targets` has.
at::Tensor soft_targets(const at::Tensor& targets, int64_t n, c10::Device device) {
  if (targets.dim() == 1) {
    const int64_t classes = targets.max().item<int64_t>() + 1;
    return at::one_hot(targets.to(device), classes).to(at::kFloat);
  }
  return targets.to(device, at::kFloat);
}

// Validates shapes and values; returns the number of classes C.
int64_t check_targets(const at::Tensor& targets, int64_t n) {
  if (!targets.defined()) throw Error("training targets are undefined");
  const bool ids = targets.dim() == 1 && targets.scalar_type() == at::kLong;
  const bool soft = targets.dim() == 2 && at::isFloatingType(targets.scalar_type());
  if (!ids && !soft) {
    throw Error("training targets must be [N, C] float fractions or [N] int64 class ids, got " +
                c10::str(targets.sizes()) + " " + c10::toString(targets.scalar_type()));
  }
  if (targets.size(0) != n) {
    throw Error("there are " + std::to_string(n) + " feature rows but " + std::to_string(targets.size(0)) +
                " target rows; give one target per patch (grid_h * grid_w)");
  }
  if (ids) {
    const int64_t lowest = targets.min().item<int64_t>(), highest = targets.max().item<int64_t>();
    if (lowest < 0 || highest > 255) {
      throw Error("class id " + std::to_string(lowest < 0 ? lowest : highest) + " is outside 0..255");
    }
    return highest + 1;
  }
  const at::Tensor t = targets.to(at::kDouble);
  if (!at::isfinite(t).all().item<bool>() || (t < 0).any().item<bool>()) {
    throw Error("soft targets must be finite and non-negative (class fractions per patch)");
  }
  const double worst = (t.sum(1) - 1.0).abs().max().item<double>();
  if (worst > kTargetSumTolerance) {
    throw Error("soft target rows must sum to 1 (class fractions); a row is off by " + std::to_string(worst));
  }
  if (targets.size(1) > 256) throw Error("at most 256 classes fit a uint8 mask");
  return targets.size(1);
}

void check_two_classes(const at::Tensor& soft, int64_t classes) {
  const int64_t present = (soft.sum(0) > 0).sum().item<int64_t>();
  if (classes < 2 || present < 2) {
    throw Error(
        "the annotation has a single class; a segmentation head needs at least two "
        "(background and one object) in the annotated frame");
  }
}

at::Tensor loss_of(const at::Tensor& logits, const at::Tensor& soft, const at::Tensor& ids, LabelMode mode) {
  const at::Tensor log_probs = at::log_softmax(logits, 1);
  if (mode == LabelMode::kMajority) return at::nll_loss(log_probs, ids);
  return -(soft * log_probs).sum(1).mean();
}

std::map<std::string, std::string> config_metadata(const SegHeadConfig& c, const TrainReport& r, int64_t classes) {
  return {{"format", "dinoclip.seg_head"},
          {"version", "1"},
          {"kind", head_kind_name(c.kind)},
          {"hidden", std::to_string(c.kind == HeadKind::kMlp ? c.hidden : 0)},
          {"num_classes", std::to_string(classes)},
          {"num_iters", std::to_string(c.num_iters)},
          {"learning_rate", std::to_string(c.learning_rate)},
          {"weight_decay", std::to_string(c.weight_decay)},
          {"seed", std::to_string(c.seed)},
          {"labels", label_mode_name(c.labels)},
          {"final_loss", std::to_string(r.final_loss)},
          {"train_accuracy", std::to_string(r.train_accuracy)}};
}

// Training settings and results back from save()'s metadata; the structure
// itself always comes from the tensors. Values that do not parse (a file
// edited by hand) keep the defaults: they are informative, not needed.
void restore_from_metadata(const std::map<std::string, std::string>& m, SegHeadConfig& c, TrainReport& r) {
  auto it = m.find("format");
  if (it == m.end() || it->second != "dinoclip.seg_head") return;
  auto number = [&](const char* key, double fallback) {
    auto found = m.find(key);
    if (found == m.end()) return fallback;
    try {
      return std::stod(found->second);
    } catch (const std::exception&) {
      return fallback;
    }
  };
  c.num_iters = int(number("num_iters", c.num_iters));
  c.learning_rate = number("learning_rate", c.learning_rate);
  c.weight_decay = number("weight_decay", c.weight_decay);
  c.seed = uint64_t(number("seed", double(c.seed)));
  auto labels = m.find("labels");
  if (labels != m.end()) c.labels = labels->second == "majority" ? LabelMode::kMajority : LabelMode::kSoft;
  r.final_loss = number("final_loss", r.final_loss);
  r.train_accuracy = number("train_accuracy", r.train_accuracy);
}

void check_config(const SegHeadConfig& c) {
  if (c.num_iters < 0) throw Error("num_iters must be >= 0, got " + std::to_string(c.num_iters));
  if (c.kind == HeadKind::kMlp && c.hidden < 1) throw Error("MLP hidden width must be >= 1");
  if (!(c.learning_rate > 0)) throw Error("learning_rate must be > 0");
  if (!(c.weight_decay >= 0)) throw Error("weight_decay must be >= 0");
  if (c.report_every < 1) throw Error("report_every must be >= 1");
}

}  // namespace

const char* head_kind_name(HeadKind kind) { return kind == HeadKind::kLinear ? "linear" : "mlp"; }
const char* label_mode_name(LabelMode mode) { return mode == LabelMode::kSoft ? "soft" : "majority"; }

struct SegHead::State {
  SegHeadConfig config;
  TrainReport report;
  SegHeadNet net{nullptr};
  c10::Device device{c10::kCPU};
};

SegHead::SegHead(std::shared_ptr<State> state) : state_(std::move(state)) {}
SegHead::SegHead(const SegHead&) = default;
SegHead& SegHead::operator=(const SegHead&) = default;
SegHead::SegHead(SegHead&&) noexcept = default;
SegHead& SegHead::operator=(SegHead&&) noexcept = default;
SegHead::~SegHead() = default;

SegHead SegHead::train(const at::Tensor& features, const at::Tensor& targets, const SegHeadConfig& config,
                       const ProgressCallback& progress) {
  const auto start = std::chrono::steady_clock::now();
  // Training needs autograd even when the caller runs under InferenceMode.
  c10::InferenceMode no_inference(false);
  torch::AutoGradMode grad(true);
  check_config(config);
  check_features(features, "training features");
  const int64_t n = features.size(0), dim = features.size(1);
  const int64_t classes = check_targets(targets, n);
  const c10::Device device = features.device();
  if (!at::isfinite(features).all().item<bool>()) {
    throw Error("training features contain NaN or infinite values; check the model's output");
  }
  const at::Tensor soft = soft_targets(targets, n, device);
  check_two_classes(soft, classes);
  const at::Tensor ids = targets.dim() == 1 ? targets.to(device) : soft.argmax(1);

  auto state = std::make_shared<State>();
  state->config = config;
  state->device = device;
  state->net = SegHeadNet(config.kind, dim, config.hidden, classes);
  state->net->initialise(config.seed);
  state->net->to(device);
  const at::Tensor x_raw = features.to(at::kFloat);
  state->net->set_standardisation(x_raw.mean(0), x_raw.std(0, /*unbiased=*/false).clamp_min(kMinFeatureStd));
  const at::Tensor x = state->net->standardise(x_raw).detach();

  torch::optim::AdamW optimizer(state->net->parameters(),
                                torch::optim::AdamWOptions(config.learning_rate).weight_decay(config.weight_decay));
  double loss_value = 0;
  for (int iteration = 1; iteration <= config.num_iters; ++iteration) {
    optimizer.zero_grad();
    at::Tensor loss = loss_of(state->net->forward(x), soft, ids, config.labels);
    loss.backward();
    optimizer.step();
    loss_value = loss.item<double>();
    if (!std::isfinite(loss_value)) {
      throw Error("training loss became " + std::to_string(loss_value) + " at iteration " + std::to_string(iteration) +
                  "; lower the learning rate (" + std::to_string(config.learning_rate) + ")");
    }
    if (progress && (iteration % config.report_every == 0 || iteration == config.num_iters)) {
      progress(iteration, loss_value);
    }
  }
  state->net->eval();
  {
    c10::InferenceMode guard;
    const at::Tensor logits = state->net->forward(x);
    if (config.num_iters == 0) loss_value = loss_of(logits, soft, ids, config.labels).item<double>();
    state->report.train_accuracy = logits.argmax(1).eq(ids).to(at::kDouble).mean().item<double>();
  }
  state->report.final_loss = loss_value;
  state->report.milliseconds =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  return SegHead(std::move(state));
}

SegHead SegHead::train_on_mask(const at::Tensor& patch_features, const Image& mask, int grid_h, int grid_w,
                               const SegHeadConfig& config, const ProgressCallback& progress) {
  check_features(patch_features, "patch features");
  if (patch_features.size(0) != int64_t(grid_h) * grid_w) {
    throw Error("patch features have " + std::to_string(patch_features.size(0)) + " rows but the grid is " +
                std::to_string(grid_w) + "x" + std::to_string(grid_h) + " = " +
                std::to_string(int64_t(grid_h) * grid_w) + " patches");
  }
  const int classes = count_classes(mask);
  if (classes < 2) {
    throw Error("the annotation has a single class (every pixel is 0); annotate at least one object");
  }
  const at::Tensor targets = config.labels == LabelMode::kSoft ? soft_patch_labels(mask, grid_h, grid_w, classes)
                                                               : majority_patch_labels(mask, grid_h, grid_w, classes);
  return train(patch_features, targets, config, progress);
}

at::Tensor SegHead::logits(const at::Tensor& features) const {
  check_features(features, "features");
  if (features.size(1) != feature_dim()) {
    throw Error("features have dimension " + std::to_string(features.size(1)) + " but the head was trained on " +
                std::to_string(feature_dim()) + " (use the same DINO model as for training)");
  }
  c10::InferenceMode guard;
  return state_->net->forward(state_->net->standardise(features));
}

at::Tensor SegHead::predict_mask(const at::Tensor& patch_features, int grid_h, int grid_w, int out_h, int out_w) const {
  check_features(patch_features, "patch features");
  if (patch_features.size(0) != int64_t(grid_h) * grid_w) {
    throw Error("patch features have " + std::to_string(patch_features.size(0)) +
                " rows, not grid_h * grid_w = " + std::to_string(int64_t(grid_h) * grid_w));
  }
  return grid_scores_to_mask(logits(patch_features), grid_h, grid_w, out_h, out_w);
}

void SegHead::save(const std::string& path) const {
  StateDict tensors;
  for (const auto& item : state_->net->named_parameters()) tensors[item.key()] = item.value().detach();
  for (const auto& item : state_->net->named_buffers()) tensors[item.key()] = item.value();
  save_safetensors(path, tensors, config_metadata(state_->config, state_->report, num_classes()));
}

SegHead SegHead::load(const std::string& path, c10::Device device) {
  const Checkpoint checkpoint = load_checkpoint(path);
  const StateDict& tensors = checkpoint.tensors;
  auto shape_of = [&](const std::string& key, int64_t dims) -> at::IntArrayRef {
    auto it = tensors.find(key);
    if (it == tensors.end() || it->second.dim() != dims) {
      throw Error(path + " is not a dinoclip segmentation head: no " + std::to_string(dims) + "-D '" + key +
                  "' (save heads with SegHead::save)");
    }
    return it->second.sizes();
  };
  auto state = std::make_shared<State>();
  const bool linear = tensors.count("linear.weight") > 0;
  state->config.kind = linear ? HeadKind::kLinear : HeadKind::kMlp;
  const at::IntArrayRef first = shape_of(linear ? "linear.weight" : "fc1.weight", 2);
  const int64_t dim = first[1];
  const int64_t classes = linear ? first[0] : shape_of("fc2.weight", 2)[0];
  const int64_t hidden = linear ? 0 : first[0];
  state->config.hidden = linear ? state->config.hidden : int(hidden);
  restore_from_metadata(checkpoint.metadata, state->config, state->report);
  state->net = SegHeadNet(state->config.kind, dim, hidden, classes);
  load_module_state(*state->net, tensors, path, "a segmentation head");
  state->net->eval();
  state->net->to(device);
  state->device = device;
  return SegHead(std::move(state));
}

SegHead SegHead::on(c10::Device device) const {
  if (device == state_->device) return *this;
  auto state = std::make_shared<State>();
  state->config = state_->config;
  state->report = state_->report;
  const SegHeadNetImpl& from = *state_->net;
  state->net = SegHeadNet(from.kind(), from.dim(), from.hidden(), from.classes());
  state->net->eval();
  state->net->to(device);
  state->device = device;
  torch::NoGradGuard no_grad;
  const auto source_parameters = state_->net->named_parameters();
  for (auto& item : state->net->named_parameters()) item.value().copy_(source_parameters[item.key()]);
  const auto source_buffers = state_->net->named_buffers();
  for (auto& item : state->net->named_buffers()) item.value().copy_(source_buffers[item.key()]);
  return SegHead(std::move(state));
}

const SegHeadConfig& SegHead::config() const { return state_->config; }
const TrainReport& SegHead::report() const { return state_->report; }
int SegHead::num_classes() const { return int(state_->net->classes()); }
int SegHead::feature_dim() const { return int(state_->net->dim()); }
c10::Device SegHead::device() const { return state_->device; }

at::Tensor patch_features(const at::Tensor& tokens, int64_t index) {
  if (!tokens.defined() || tokens.dim() != 3 || tokens.size(1) < 2) {
    throw Error("DINO tokens must be [batch, 1 + patches, dim]");
  }
  if (index < 0 || index >= tokens.size(0)) {
    throw Error("batch index " + std::to_string(index) + " is outside 0.." + std::to_string(tokens.size(0) - 1));
  }
  return tokens[index].narrow(0, 1, tokens.size(1) - 1);
}

}  // namespace dinoclip
