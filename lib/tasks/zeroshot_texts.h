// The text side of live zero-shot classification (clipzeroshot): labels x
// prompt templates and an optional event query, tokenized and encoded once,
// then kept as an immutable set that frames are scored against. A new set is
// built whole whenever the texts change, so a reader never sees half of one.
#pragma once

#include <ATen/core/Tensor.h>

#include <optional>
#include <string>
#include <vector>

#include "tasks/zeroshot.h"

namespace dinoclip {

class BpeTokenizer;
class ClipModel;

struct ZeroShotTextSpec {
  std::vector<std::string> labels;     // empty: no classification
  std::vector<std::string> templates;  // prompt templates with "{}" (used with labels)
  std::string query;                   // empty: no event query
};

struct ZeroShotTexts {
  std::vector<std::string> labels;
  std::vector<std::string> templates;
  std::optional<ZeroShotClassifier> classifier;  // when there are labels
  std::string query;
  at::Tensor query_embedding;  // [E] unit length, float32; undefined without a query

  bool has_labels() const { return classifier.has_value(); }
  bool has_query() const { return query_embedding.defined(); }
};

// [n, E] raw encode_text outputs of `texts`, tokenized as CLIP's
// clip.tokenize(..., truncate=True): a text longer than the 77-token context
// keeps its start. The one text encoding of the CLI and clipzeroshot.
at::Tensor encode_texts(const ClipModel& model, const BpeTokenizer& tokenizer, const std::vector<std::string>& texts);

// [L, T, E] raw encode_text outputs of every label in every template. Prompts
// longer than CLIP's 77-token context are truncated (clip.tokenize(...,
// truncate=True)): the start of a long label still counts, the rest is cut.
// Throws dinoclip::Error on no labels or templates, or a template without "{}".
at::Tensor encode_label_prompts(const ClipModel& model, const BpeTokenizer& tokenizer,
                                const std::vector<std::string>& labels, const std::vector<std::string>& templates);

// [E] unit-length embedding of one text (truncated like the prompts).
at::Tensor encode_query(const ClipModel& model, const BpeTokenizer& tokenizer, const std::string& query);

// Encodes the labels (as a ZeroShotClassifier with the model's logit scale)
// and the query. Throws dinoclip::Error when the spec has neither.
ZeroShotTexts encode_zero_shot_texts(const ClipModel& model, const BpeTokenizer& tokenizer,
                                     const ZeroShotTextSpec& spec);

}  // namespace dinoclip
