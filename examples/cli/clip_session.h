// What the CLIP subcommands share: the model, the tokenizer, picture loading.
#pragma once

#include <ATen/ATen.h>

#include <string>
#include <vector>

#include "args.h"
#include "models/clip.h"
#include "text/bpe_tokenizer.h"
#include "vision/device_preprocess.h"

namespace dinoclip::cli {

extern const OptionSpec kClipWeights;
extern const OptionSpec kClipVocab;

struct ClipSession {
  ClipModel model;
  BpeTokenizer tokenizer;
  ScaleMethod scale_method;  // --scale-method

  static ClipSession open(const Args& args);

  // [n, embed] raw encode_image of picture files (CLIP preprocessing by scale_method).
  at::Tensor encode_image_files(const std::vector<std::string>& paths) const;
  // [n, embed] raw encode_text; texts longer than the context are truncated.
  at::Tensor encode_texts(const std::vector<std::string>& texts) const;
};

// JSON string literal (quotes and escapes) for the CLI's JSON-lines output.
std::string json_string(const std::string& text);

}  // namespace dinoclip::cli
