#include "tasks/zeroshot_texts.h"

#include <ATen/ATen.h>

#include "core/error.h"
#include "models/clip.h"
#include "tasks/similarity.h"
#include "text/bpe_tokenizer.h"

namespace dinoclip {

at::Tensor encode_texts(const ClipModel& model, const BpeTokenizer& tokenizer, const std::vector<std::string>& texts) {
  const at::Tensor tokens = tokenizer.tokenize(texts, model.config().context_length, /*truncate=*/true);
  return model.encode_text(tokens.to(model.device()));
}

at::Tensor encode_label_prompts(const ClipModel& model, const BpeTokenizer& tokenizer,
                                const std::vector<std::string>& labels, const std::vector<std::string>& templates) {
  if (labels.empty()) throw Error("no labels to encode: give at least one label");
  std::vector<std::string> prompts;
  prompts.reserve(labels.size() * templates.size());
  for (const std::string& label : labels) {
    for (std::string& prompt : expand_templates(label, templates)) prompts.push_back(std::move(prompt));
  }
  return encode_texts(model, tokenizer, prompts)
      .view({static_cast<int64_t>(labels.size()), static_cast<int64_t>(templates.size()), -1});
}

at::Tensor encode_query(const ClipModel& model, const BpeTokenizer& tokenizer, const std::string& query) {
  const at::Tensor embedding = encode_texts(model, tokenizer, {query});
  return l2_normalize_rows(embedding.to(at::kFloat), "query embedding")[0];
}

ZeroShotTexts encode_zero_shot_texts(const ClipModel& model, const BpeTokenizer& tokenizer,
                                     const ZeroShotTextSpec& spec) {
  if (spec.labels.empty() && spec.query.empty()) {
    throw Error("nothing to classify against: give labels (\"a person;a cat\"), a labels file or a query");
  }
  ZeroShotTexts texts;
  if (!spec.labels.empty()) {
    texts.labels = spec.labels;
    texts.templates = spec.templates;
    texts.classifier.emplace(encode_label_prompts(model, tokenizer, spec.labels, spec.templates), model.logit_scale());
  }
  if (!spec.query.empty()) {
    texts.query = spec.query;
    texts.query_embedding = encode_query(model, tokenizer, spec.query);
  }
  return texts;
}

}  // namespace dinoclip
