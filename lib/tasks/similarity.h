// Cosine similarity between CLIP text and image embeddings, as CLIP computes it:
// every row divided by its L2 norm, then one matrix product.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>

namespace dinoclip {

// x [..., E] / ||x|| over the last dimension (x / x.norm(dim=-1, keepdim=True)),
// in float32 or wider. Throws dinoclip::Error if `x` is not floating point, is
// empty, or has a row of norm 0 (its direction, hence any cosine, is undefined);
// `what` names the tensor in the message ("image embeddings").
at::Tensor l2_normalize_rows(const at::Tensor& x, const std::string& what);

// text [N, E], image [M, E] (raw encode_text / encode_image outputs) -> [N, M]
// cosines, row = text, column = image. Half/bfloat16 inputs are computed in
// float32. Throws dinoclip::Error on wrong ranks, E mismatch, different devices.
at::Tensor cosine_similarity_matrix(const at::Tensor& text, const at::Tensor& image);

}  // namespace dinoclip
