#include "tasks/attention_heads.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cctype>

#include "core/error.h"

namespace dinoclip {

AttentionHeads AttentionHeads::parse(const std::string& text) {
  if (text == "mean") return mean();
  if (text == "all") return all();
  const bool digits = !text.empty() && text.size() <= 6 &&
                      std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c); });
  if (!digits) throw Error("head '" + text + "': give a head number (0, 1, ...), mean or all");
  return one(std::stoi(text));
}

std::string AttentionHeads::to_string() const {
  switch (kind) {
    case Kind::kOne:
      return std::to_string(index);
    case Kind::kMean:
      return "mean";
    case Kind::kAll:
      break;
  }
  return "all";
}

at::Tensor select_attention_heads(const at::Tensor& maps, const AttentionHeads& heads) {
  if (maps.dim() != 3 || maps.size(0) < 1) {
    throw Error("attention maps must be [heads, h, w], got " + std::to_string(maps.dim()) + " dimensions");
  }
  switch (heads.kind) {
    case AttentionHeads::Kind::kAll:
      return maps;
    case AttentionHeads::Kind::kMean:
      return maps.mean(0, /*keepdim=*/true);
    case AttentionHeads::Kind::kOne:
      break;
  }
  if (heads.index < 0 || heads.index >= maps.size(0)) {
    throw Error("head " + std::to_string(heads.index) + " does not exist: the model has heads 0.." +
                std::to_string(maps.size(0) - 1) + " (or their mean)");
  }
  return maps.narrow(0, heads.index, 1);
}

}  // namespace dinoclip
