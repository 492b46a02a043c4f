#include "models/vit_blocks.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <sstream>

#include "core/error.h"
#include "kernels/attention.h"
#include "kernels/cpu/attention.h"
#include "kernels/cpu/layer_norm.h"
#include "models/rope.h"
#include "models/cuda_epilogues.h"

namespace dinoclip {

namespace {

// Queries per attention chunk. A whole [heads, N, N] score matrix at 480x480
// (N = 3601) is 311 MB per layer; chunks of 256 query rows keep the scores of
// one chunk (~22 MB for ViT-S) close to the caches and cut the softmax's
// memory traffic, with the same numbers as the unchunked maths.
constexpr int64_t kQueryChunk = 256;

// Below this many rows per thread, splitting a matrix product costs more
// (each slice re-packs the weights) than it gains.
constexpr int64_t kMinRowsPerThread = 64;

// out = x @ weight^T (+ bias) for x [rows, in]. With several ATen threads the
// rows are split across ATen's own pool and each slice calls a single-threaded
// BLAS: one pool for both kinds of op (see core/threads.h for why).
at::Tensor linear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias) {
  const int64_t rows = x.size(0);
  const int threads = at::get_num_threads();
  if (threads <= 1 || rows < 2 * kMinRowsPerThread || !x.device().is_cpu()) {
    return bias.defined() ? at::addmm(bias, x, weight.t()) : at::mm(x, weight.t());
  }
  at::Tensor out = at::empty({rows, weight.size(0)}, x.options());
  const int64_t grain = std::max(kMinRowsPerThread, (rows + threads - 1) / threads);
  at::parallel_for(0, rows, grain, [&](int64_t begin, int64_t end) {
    at::Tensor slice = out.narrow(0, begin, end - begin);
    if (bias.defined()) {
      at::addmm_out(slice, bias, x.narrow(0, begin, end - begin), weight.t());
    } else {
      at::mm_out(slice, x.narrow(0, begin, end - begin), weight.t());
    }
  });
  return out;
}

// Scratch for one chunk's attention scores, reused across chunks, layers and
// frames by each thread: allocating ~22 MB per chunk (ViT-S/8 at 480x480)
// costs more in page faults than the softmax itself. Only under inference
// mode: autograd must not see a buffer that is overwritten.
// `slot` keeps apart buffers that are live at the same time.
at::Tensor score_buffer(int64_t batch, int64_t rows, int64_t cols, const at::TensorOptions& options, int slot = 0) {
  const int64_t need = batch * rows * cols;
  if (!c10::InferenceMode::is_enabled()) return at::empty({batch, rows, cols}, options);
  thread_local at::Tensor buffers[2];
  at::Tensor& buffer = buffers[slot];
  if (!buffer.defined() || buffer.numel() < need || buffer.device() != options.device() ||
      buffer.scalar_type() != options.dtype().toScalarType()) {
    buffer = at::empty({need}, options);
  }
  return buffer.narrow(0, 0, need).view({batch, rows, cols});
}

cpu::Epilogue epilogue(Activation activation) {
  return activation == Activation::kGeluErf ? cpu::Epilogue::kGeluErf : cpu::Epilogue::kQuickGelu;
}

// LayerScale folded into a linear layer: rows of `weight` times gamma.
at::Tensor layer_scaled_weight(const at::Tensor& weight, const at::Tensor& gamma) {
  return weight * gamma.unsqueeze(1);
}

at::Tensor activate_(at::Tensor& h, Activation activation) {
  if (activation == Activation::kGeluErf) return at::gelu_(h);
  // QuickGELU: x * sigmoid(1.702 x), as CLIP's QuickGELU module.
  return h.mul_(at::sigmoid(h * 1.702));
}

}  // namespace

VitNaming VitNaming::dino() { return VitNaming{}; }

VitNaming VitNaming::clip() {
  VitNaming n;
  n.qkv_as_linear = false;
  n.qkv = "in_proj";
  n.proj = "out_proj";
  n.fc1 = "c_fc";
  n.fc2 = "c_proj";
  n.norm1 = "ln_1";
  n.norm2 = "ln_2";
  return n;
}

SelfAttentionImpl::SelfAttentionImpl(int dim, int heads, const VitNaming& naming, bool masked_k_bias)
    : dim_(dim), heads_(heads) {
  if (heads <= 0 || dim % heads != 0) {
    throw Error("attention width " + std::to_string(dim) + " is not divisible by " + std::to_string(heads) +
                " heads");
  }
  if (naming.qkv_as_linear) {
    qkv_ = register_module(naming.qkv, torch::nn::Linear(dim, 3 * dim));
  } else {
    in_proj_weight_ = register_parameter(naming.qkv + "_weight", at::empty({3 * dim, dim}));
    in_proj_bias_ = register_parameter(naming.qkv + "_bias", at::empty({3 * dim}));
  }
  proj_ = register_module(naming.proj, torch::nn::Linear(dim, dim));
  if (masked_k_bias) {
    if (!qkv_) throw Error("a masked k-bias needs the qkv projection as a Linear module");
    qkv_bias_mask_ = qkv_->register_buffer("bias_mask", at::ones({3 * dim}));
  }
}

at::Tensor SelfAttentionImpl::qkv_weight() const { return qkv_ ? qkv_->weight : in_proj_weight_; }
at::Tensor SelfAttentionImpl::qkv_bias() const {
  // DINOv3's LinearKMaskedBias: F.linear(x, weight, bias * bias_mask).
  if (qkv_bias_mask_.defined()) return qkv_->bias * qkv_bias_mask_.to(qkv_->bias.scalar_type());
  return qkv_ ? qkv_->bias : in_proj_bias_;
}

at::Tensor SelfAttentionImpl::forward(const at::Tensor& x, const at::Tensor& mask, AttentionTap* tap,
                                      const RopeTables* rope) {
  const int64_t batch = x.size(0), tokens = x.size(1), head_dim = dim_ / heads_;
  const double scale = 1.0 / std::sqrt(double(head_dim));

  // [B*N, 3D] -> [3, B, heads, N, head_dim]; q, k, v as [B*heads, N, head_dim].
  at::Tensor qkv5 = linear(x.reshape({batch * tokens, dim_}), qkv_weight(), qkv_bias())
                        .view({batch, tokens, 3, heads_, head_dim});
  if (rope) apply_rope_(qkv5, *rope);
  at::Tensor qkv = qkv5.permute({2, 0, 3, 1, 4});
  if (!(tap && tap->full) && use_fused_attention(x)) {
    // LibTorch 2 on CUDA: one fused kernel; a wanted CLS row is computed alone.
    at::Tensor heads_out = fused_attention(qkv[0], qkv[1], qkv[2], mask, scale);  // [B, heads, N, hd]
    if (tap && tap->cls_row) tap->cls = cls_row_probabilities(qkv[0], qkv[1], mask, scale);
    at::Tensor merged = heads_out.transpose(1, 2).reshape({batch * tokens, dim_});
    return linear(merged, proj_->weight, proj_->bias).view({batch, tokens, dim_});
  }
  // Contiguous per-head operands: ATen's CPU bmm falls back to slow loops on
  // the strided views that slicing the fused projection would give.
  // On a GPU in bf16/fp16 (the full matrix asked for) scores, softmax and
  // the probabilities handed out are float32, as the fused path's are: the
  // probabilities are a result users read (issue 24).
  const bool float_scores = x.is_cuda() && x.scalar_type() != at::kFloat;
  const at::TensorOptions scores_options = float_scores ? x.options().dtype(at::kFloat) : x.options();
  at::Tensor q = (qkv[0] * scale).reshape({batch * heads_, tokens, head_dim});
  at::Tensor kt = qkv[1].reshape({batch * heads_, tokens, head_dim}).transpose(1, 2).contiguous();
  at::Tensor v = qkv[2].contiguous().view({batch * heads_, tokens, head_dim});
  if (float_scores) {
    q = q.to(at::kFloat);
    kt = kt.to(at::kFloat);
    v = v.to(at::kFloat);
  }

  const bool want_cls = tap && tap->cls_row;
  const bool want_full = tap && tap->full;
  if (want_full) tap->full_matrix = at::empty({batch, heads_, tokens, tokens}, scores_options);

  at::Tensor out = at::empty({batch * heads_, tokens, head_dim}, scores_options);
  const int64_t chunks = (tokens + kQueryChunk - 1) / kQueryChunk;
  // Query chunks are independent: ATen's pool runs them side by side.
  at::parallel_for(0, chunks, 1, [&](int64_t first, int64_t last) {
    for (int64_t chunk = first; chunk < last; ++chunk) {
      const int64_t start = chunk * kQueryChunk, len = std::min(kQueryChunk, tokens - start);
      at::Tensor scores = score_buffer(batch * heads_, len, tokens, scores_options);
      at::bmm_out(scores, q.narrow(1, start, len), kt);  // [B*heads, len, N]
      if (mask.defined()) scores.add_(mask.narrow(0, start, len));
      at::_softmax_out(scores, scores, -1, /*half_to_float=*/false);  // in place
      if (want_cls && start == 0) tap->cls = scores.select(1, 0).reshape({batch, heads_, tokens}).clone();
      if (want_full) tap->full_matrix.view({batch * heads_, tokens, tokens}).narrow(1, start, len).copy_(scores);
      at::Tensor out_chunk = out.narrow(1, start, len);
      at::bmm_out(out_chunk, scores, v);
    }
  });

  // [B*heads, N, hd] -> [B, N, heads*hd] -> output projection.
  if (float_scores) out = out.to(x.scalar_type());
  at::Tensor merged = out.view({batch, heads_, tokens, head_dim}).permute({0, 2, 1, 3}).reshape({batch * tokens, dim_});
  return linear(merged, proj_->weight, proj_->bias).view({batch, tokens, dim_});
}

void SelfAttentionImpl::prepare_cpu(at::ScalarType compute, const at::Tensor& out_scale) {
  // Folding the 1/sqrt(head_dim) score scale into q's rows saves a pass over
  // q; for 64-wide heads it is 1/8, exact in fp32 and bf16 (RoPE, a rotation,
  // commutes with it).
  // The scale is applied while packing: no scaled copy of the weights.
  const double scale = 1.0 / std::sqrt(double(dim_ / heads_));
  qkv_packed_ = cpu::PackedLinear(qkv_weight(), qkv_bias(), compute, scale, /*scaled_rows=*/dim_);
  proj_packed_ = out_scale.defined() ? cpu::PackedLinear(layer_scaled_weight(proj_->weight, out_scale),
                                                         proj_->bias * out_scale, compute)
                                     : cpu::PackedLinear(proj_->weight, proj_->bias, compute);
}

void SelfAttentionImpl::forward_add_cpu(const at::Tensor& h, at::Tensor& residual, const at::Tensor& mask,
                                        AttentionTap* tap, const RopeTables* rope) {
  const int64_t batch = h.size(0), tokens = h.size(1), head_dim = dim_ / heads_;
  const at::ScalarType compute = qkv_packed_.compute_dtype();
  at::Tensor qkv = qkv_packed_(h.reshape({batch * tokens, dim_}).to(compute), compute);
  if (rope) apply_rope_(qkv.view({batch, tokens, 3, heads_, head_dim}), *rope);
  // q, k, v are strided views into the fused projection [B, N, 3, heads, hd],
  // read in place. (Dense per-head copies let oneDNN pick its brgemm kernels
  // instead of gemm:jit, but measured no faster: 247 vs 243 ms at 224x224,
  // 2613 vs 2571 ms at 480x480.) Heads are written straight into the merged
  // [B, N, heads*hd] layout.
  at::Tensor parts = qkv.view({batch, tokens, 3, heads_, head_dim});
  at::Tensor merged = at::empty({batch, tokens, heads_, head_dim}, qkv.options());

  const at::TensorOptions f32 = h.options().dtype(at::kFloat);
  if (tap && tap->full) tap->full_matrix = at::empty({batch, heads_, tokens, tokens}, f32);
  if (tap && tap->cls_row) tap->cls = at::empty({batch, heads_, tokens}, f32);
  // One sample at a time, so the scratch does not grow with the batch.
  for (int64_t b = 0; b < batch; ++b) {
    cpu::AttentionRequest request;
    at::Tensor sample = parts[b];  // [N, 3, heads, hd]
    request.q = sample.select(1, 0).transpose(0, 1);  // [heads, N, hd]
    request.k = sample.select(1, 1).transpose(0, 1);
    request.v = sample.select(1, 2).transpose(0, 1);
    request.mask = mask;
    request.out = merged[b].transpose(0, 1);  // heads written straight into [N, heads*hd]
    if (tap && tap->cls_row) request.cls_row = tap->cls[b];
    if (tap && tap->full) request.full = tap->full_matrix[b];
    cpu::attention(request);
  }
  proj_packed_.run(merged.view({batch * tokens, dim_}), residual.view({batch * tokens, dim_}), cpu::Epilogue::kNone,
                   /*accumulate=*/true);
}

MlpImpl::MlpImpl(int dim, int hidden, Activation activation, const VitNaming& naming) : activation_(activation) {
  fc1_ = register_module(naming.fc1, torch::nn::Linear(dim, hidden));
  fc2_ = register_module(naming.fc2, torch::nn::Linear(hidden, dim));
}

void MlpImpl::prepare_cpu(at::ScalarType compute, const at::Tensor& out_scale) {
  fc1_packed_ = cpu::PackedLinear(fc1_->weight, fc1_->bias, compute);
  fc2_packed_ = out_scale.defined()
                    ? cpu::PackedLinear(layer_scaled_weight(fc2_->weight, out_scale), fc2_->bias * out_scale, compute)
                    : cpu::PackedLinear(fc2_->weight, fc2_->bias, compute);
}

void MlpImpl::prepare_cuda() {
  at::NoGradGuard no_grad;
  if (activation_ == Activation::kQuickGelu) fc1_bias_scaled_ = fc1_->bias * kQuickGeluSlope;
  cuda_fused_ = true;
}

at::Tensor MlpImpl::forward_add(const at::Tensor& x, at::Tensor& residual, const at::Tensor& out_scale) {
  const int64_t rows = x.numel() / x.size(-1);
  if (cuda_fused_ && x.is_cuda()) {
    const at::Tensor x2d = x.reshape({rows, x.size(-1)});
    at::Tensor out;
    if (activation_ == Activation::kQuickGelu) {
      out = quick_gelu_mlp(x2d, fc1_->weight, fc1_bias_scaled_, fc2_->weight, fc2_->bias);
    } else if (use_fused_gelu(x2d)) {
      out = linear(fused_linear_gelu(x2d, fc1_->weight, fc1_->bias), fc2_->weight, fc2_->bias);
    }
    if (out.defined()) {
      residual.view({rows, residual.size(-1)}).add_(out_scale.defined() ? out * out_scale : out);
      return residual;
    }
  }
  if (fc1_packed_.defined() && x.device().is_cpu() && c10::InferenceMode::is_enabled() &&
      residual.is_contiguous() && residual.scalar_type() == at::kFloat) {
    const at::ScalarType compute = fc1_packed_.compute_dtype();
    at::Tensor hidden = fc1_packed_(x.reshape({rows, x.size(-1)}).to(compute), compute, epilogue(activation_));
    fc2_packed_.run(hidden, residual.view({rows, residual.size(-1)}), cpu::Epilogue::kNone, /*accumulate=*/true);
    return residual;
  }
  at::Tensor h = linear(x.reshape({rows, x.size(-1)}), fc1_->weight, fc1_->bias);
  activate_(h, activation_);
  at::Tensor out = linear(h, fc2_->weight, fc2_->bias);
  if (out_scale.defined()) out.mul_(out_scale);
  residual.view({rows, residual.size(-1)}).add_(out);
  return residual;
}

VitBlockImpl::VitBlockImpl(const VitBlockConfig& c) {
  const auto& n = c.naming;
  norm1_ = register_module(n.norm1, torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.dim}).eps(c.layernorm_eps)));
  attn_ = register_module("attn", SelfAttention(c.dim, c.heads, n, c.masked_k_bias));
  norm2_ = register_module(n.norm2, torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.dim}).eps(c.layernorm_eps)));
  mlp_ = register_module("mlp", Mlp(c.dim, c.mlp_hidden, c.activation, n));
  if (c.layer_scale) {
    // DINOv2/v3's LayerScale modules: "ls1.gamma", "ls2.gamma".
    ls1_gamma_ = register_module("ls1", std::make_shared<torch::nn::Module>())
                     ->register_parameter("gamma", at::ones({c.dim}));
    ls2_gamma_ = register_module("ls2", std::make_shared<torch::nn::Module>())
                     ->register_parameter("gamma", at::ones({c.dim}));
  }
}

void VitBlockImpl::prepare_cpu(at::ScalarType compute) {
  // LayerScale is folded into the output projections' rows (gamma * (W h + b)
  // = (gamma W) h + gamma b): the kernels' fused residual add stays one pass.
  attn_->prepare_cpu(compute, ls1_gamma_);
  mlp_->prepare_cpu(compute, ls2_gamma_);
  compute_ = compute;
}

bool VitBlockImpl::use_cpu_kernels(const at::Tensor& x) const {
  return attn_->cpu_prepared() && x.device().is_cpu() && x.scalar_type() == at::kFloat &&
         c10::InferenceMode::is_enabled();
}

// LayerNorm straight into the products' dtype in one pass (kernels/cpu/layer_norm.h)
// instead of torch's LayerNorm and a conversion. Per call, 2 threads, ATen
// LayerNorm (+ conversion) / this: 785x384 fp32 85 / 55 us, bf16 103 / 55 us;
// 3601x384 fp32 383 / 218, bf16 448 / 246; 50x768 bf16 15.5 / 6.5.
at::Tensor VitBlockImpl::norm_cpu(const torch::nn::LayerNorm& norm, const at::Tensor& x) const {
  return cpu::layer_norm(x, norm->weight, norm->bias, norm->options.eps(), compute_);
}

void VitBlockImpl::forward_cpu_(at::Tensor& residual, const at::Tensor& mask, AttentionTap* tap,
                                const RopeTables* rope) {
  attn_->forward_add_cpu(norm_cpu(norm1_, residual), residual, mask, tap, rope);
  mlp_->forward_add(norm_cpu(norm2_, residual), residual, ls2_gamma_);
}

at::Tensor VitBlockImpl::forward(at::Tensor x, const at::Tensor& mask, AttentionTap* tap, const RopeTables* rope) {
  if (use_cpu_kernels(x)) {
    at::Tensor residual = x.clone(at::MemoryFormat::Contiguous);  // the caller's x stays as it was
    forward_cpu_(residual, mask, tap, rope);
    return residual;
  }
  at::Tensor attended = attn_->forward(norm1_->forward(x), mask, tap, rope);
  x = ls1_gamma_.defined() ? x + attended * ls1_gamma_ : x + attended;
  return mlp_->forward_add(norm2_->forward(x), x, ls2_gamma_);
}

void VitBlockImpl::forward_(at::Tensor& x, const at::Tensor& mask, AttentionTap* tap, const RopeTables* rope) {
  if (use_cpu_kernels(x) && x.is_contiguous()) {
    forward_cpu_(x, mask, tap, rope);
  } else {
    x = forward(x, mask, tap, rope);
  }
}

namespace {

std::string join(const std::vector<std::string>& items, size_t limit = 12) {
  std::ostringstream out;
  for (size_t i = 0; i < items.size() && i < limit; ++i) out << (i ? ", " : "") << items[i];
  if (items.size() > limit) out << ", ... (" << items.size() - limit << " more)";
  return out.str();
}

std::string shape_string(at::IntArrayRef shape) {
  std::ostringstream out;
  out << shape;
  return out.str();
}

}  // namespace

void load_module_state(torch::nn::Module& module, const std::map<std::string, at::Tensor>& tensors,
                       const std::string& source, const std::string& what) {
  std::vector<std::string> missing, mismatched, unexpected;
  std::set<std::string> known;
  auto params = module.named_parameters(/*recurse=*/true);
  auto buffers = module.named_buffers(/*recurse=*/true);
  std::vector<std::pair<std::string, at::Tensor>> targets;
  for (const auto& p : params) targets.emplace_back(p.key(), p.value());
  for (const auto& b : buffers) targets.emplace_back(b.key(), b.value());

  for (auto& [name, target] : targets) {
    known.insert(name);
    auto it = tensors.find(name);
    if (it == tensors.end()) {
      missing.push_back(name);
    } else if (it->second.sizes() != target.sizes()) {
      mismatched.push_back(name + " (file " + shape_string(it->second.sizes()) + ", model " +
                           shape_string(target.sizes()) + ")");
    }
  }
  for (const auto& [name, tensor] : tensors)
    if (!known.count(name)) unexpected.push_back(name);

  if (!missing.empty() || !mismatched.empty() || !unexpected.empty()) {
    std::ostringstream msg;
    msg << source << ": does not look like " << what << " weights:";
    if (!missing.empty()) msg << "\n  missing keys: " << join(missing);
    if (!unexpected.empty()) msg << "\n  unexpected keys: " << join(unexpected);
    if (!mismatched.empty()) msg << "\n  mis-shaped keys: " << join(mismatched);
    throw Error(msg.str());
  }

  at::NoGradGuard no_grad;
  for (auto& [name, target] : targets) target.copy_(tensors.at(name).to(target.dtype()));
}

bool prepare_cpu_kernels(torch::nn::Module& model, at::ScalarType compute) {
  if (!cpu::available()) return false;
  at::NoGradGuard no_grad;
  for (const auto& module : model.modules(/*include_self=*/true)) {
    if (auto* block = dynamic_cast<VitBlockImpl*>(module.get())) block->prepare_cpu(compute);
    if (auto* embed = dynamic_cast<PatchEmbedImpl*>(module.get())) embed->prepare_cpu();
  }
  return true;
}

Placement place_model(torch::nn::Module& model, const c10::Device& device, at::ScalarType dtype,
                      bool fused_kernels) {
  const bool cpu_kernel_dtype = dtype == at::kFloat || dtype == at::kBFloat16;
  if (device.is_cpu() && cpu_kernel_dtype && prepare_cpu_kernels(model, dtype)) return {at::kFloat, true};
  model.to(device, dtype);
  if (device.is_cuda() && fused_kernels) {
    for (const auto& module : model.modules(/*include_self=*/true)) {
      if (auto* block = dynamic_cast<VitBlockImpl*>(module.get())) block->prepare_cuda();
    }
  }
  return {dtype, false};
}

std::vector<at::Tensor> forward_in_groups(const at::Tensor& inputs, int64_t group,
                                          const std::function<std::vector<at::Tensor>(const at::Tensor&)>& forward) {
  if (group < 1) throw Error("forward_in_groups: group size must be at least 1");
  const int64_t batch = inputs.size(0);
  std::vector<at::Tensor> gathered;
  for (int64_t start = 0; start < batch; start += group) {
    const int64_t len = std::min(group, batch - start);
    std::vector<at::Tensor> outputs = forward(inputs.narrow(0, start, len));
    if (start == 0) {
      for (const at::Tensor& out : outputs) {
        if (!out.defined()) {
          gathered.emplace_back();
          continue;
        }
        std::vector<int64_t> sizes = out.sizes().vec();
        sizes[0] = batch;
        gathered.push_back(at::empty(sizes, out.options()));
      }
    }
    for (size_t i = 0; i < outputs.size(); ++i) {
      if (gathered[i].defined()) gathered[i].narrow(0, start, len).copy_(outputs[i]);
    }
  }
  return gathered;
}

std::vector<at::Tensor> forward_each_sample(const at::Tensor& inputs,
                                            const std::function<std::vector<at::Tensor>(const at::Tensor&)>& forward) {
  return forward_in_groups(inputs, /*group=*/1, forward);
}

}  // namespace dinoclip

namespace dinoclip {

PatchEmbedImpl::PatchEmbedImpl(int in_channels, int dim, int patch, bool bias) : patch_(patch) {
  weight_ = register_parameter("weight", at::empty({dim, in_channels, patch, patch}));
  if (bias) bias_ = register_parameter("bias", at::empty({dim}));
}

at::Tensor PatchEmbedImpl::forward(const at::Tensor& images) {
  const int64_t batch = images.size(0), channels = images.size(1);
  const int64_t grid_h = images.size(2) / patch_, grid_w = images.size(3) / patch_;
  // [B, C, h, p, w, p] -> [B, h, w, C, p, p]: one row per patch, in the
  // conv weight's (C, ky, kx) order, patches row-major.
  at::Tensor patches = images.view({batch, channels, grid_h, patch_, grid_w, patch_})
                           .permute({0, 2, 4, 1, 3, 5})
                           .reshape({batch * grid_h * grid_w, channels * patch_ * patch_});
  at::Tensor out = packed_.defined() && patches.device().is_cpu() && patches.scalar_type() == at::kFloat &&
                           c10::InferenceMode::is_enabled()
                       ? packed_(patches, at::kFloat)
                       : linear(patches, weight_.view({weight_.size(0), -1}), bias_);
  return out.view({batch, grid_h * grid_w, weight_.size(0)});
}

// Float32 whatever the blocks compute in. Measured with the patch product in
// bf16 at precision=bf16: CLIP ViT-B/32 no faster (ms per image, three runs:
// batch 1 25.0-26.9 vs 25.2-27.0 in float32, batch 8 23.7-23.9 vs
// 23.6-24.3), and DINO's CLS attention moved further from fp32 (max 0.0103
// vs 0.0053 on the fixtures).
void PatchEmbedImpl::prepare_cpu() {
  packed_ = cpu::PackedLinear(weight_.view({weight_.size(0), -1}), bias_, at::kFloat);
}

}  // namespace dinoclip
