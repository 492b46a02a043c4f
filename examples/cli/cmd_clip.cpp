// tokenize, clip-embed: CLIP's tokenizer and encoders from the command line.
#include <ATen/ATen.h>

#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "clip_session.h"
#include "scale_option.h"
#include "commands.h"
#include "core/error.h"
#include "io/npy.h"
#include "tasks/label_spec.h"
#include "tasks/retriever.h"
#include "tasks/zeroshot.h"
#include "tasks/zeroshot_texts.h"
#include "text/vocab_path.h"

namespace dinoclip::cli {
namespace {

int tokenize(const Args& args) {
  BpeTokenizer tokenizer(find_vocab_file(args.get("vocab")));
  if (args.positionals().empty()) throw Error("tokenize: give one or more texts");
  const bool truncate = args.has("truncate");
  for (const auto& text : args.positionals()) {
    std::cout << nlohmann::json(tokenizer.tokenize_one(text, BpeTokenizer::kContextLength, truncate)).dump() << "\n";
  }
  return 0;
}

int clip_embed(const Args& args) {
  const auto images = args.all("image"), texts = args.all("text");
  if (images.empty() && texts.empty()) throw Error("clip-embed: give at least one --image or --text");
  ClipSession clip = ClipSession::open(args);
  const std::string out = args.require("out");
  std::error_code ec;
  std::filesystem::create_directories(out, ec);
  if (ec) throw Error(out + ": cannot create output folder (" + ec.message() + ")");
  at::Tensor image_features, text_features;
  if (!images.empty()) {
    image_features = clip.encode_image_files(images);
    write_npy(out + "/image_embeddings.npy", image_features);
  }
  if (!texts.empty()) {
    text_features = clip.encode_texts(texts);
    write_npy(out + "/text_embeddings.npy", text_features);
  }
  if (image_features.defined() && text_features.defined()) {
    write_npy(out + "/logits.npy", clip.model.logits_per_image(image_features, text_features));
  }
  std::cout << clip.model.describe() << ": " << images.size() << " image(s), " << texts.size() << " text(s) -> "
            << out << "/\n";
  return 0;
}

int classify(const Args& args) {
  // clipzeroshot's rules: the same labels and templates are accepted or refused either way.
  const std::vector<std::string> labels = parse_labels(args.require("labels"));
  const std::vector<std::string> templates = parse_templates(args.get("template", "a photo of {}."));
  if (args.positionals().empty()) throw Error("classify: give one or more pictures");
  ClipSession clip = ClipSession::open(args);
  ZeroShotClassifier classifier(encode_label_prompts(clip.model, clip.tokenizer, labels, templates),
                                clip.model.logit_scale());
  const double threshold = std::stod(args.get("unknown-threshold", "0"));
  for (const auto& image : args.positionals()) {
    const at::Tensor embedding = clip.encode_image_files({image});
    const at::Tensor probs = classifier.probabilities(embedding)[0];
    const ZeroShotResult result = classifier.classify(embedding, 1, threshold)[0];
    nlohmann::ordered_json line;
    line["image"] = image;
    line["label"] = result.unknown ? "unknown" : labels[result.top[0].label];
    line["score"] = result.top[0].probability;
    nlohmann::ordered_json scores;
    for (size_t i = 0; i < labels.size(); ++i) scores[labels[i]] = probs[int64_t(i)].item<float>();
    line["scores"] = scores;
    std::cout << line.dump() << "\n";
  }
  return 0;
}

int search(const Args& args) {
  const auto images = args.positionals();
  if (images.empty()) throw Error("search: give the pictures to search");
  const int k = args.get_int("k", 5);
  if (k < 1) throw Error("search: -k must be at least 1");
  ClipSession clip = ClipSession::open(args);
  EmbeddingIndex index;
  index.add(clip.encode_image_files(images));
  SearchResult found = index.search(clip.encode_texts({args.require("query")})[0], k);
  for (size_t i = 0; i < found.indices.size(); ++i) {
    nlohmann::ordered_json line;
    line["image"] = images[size_t(found.indices[i])];
    line["score"] = found.scores[i];
    std::cout << line.dump() << "\n";
  }
  return 0;
}

}  // namespace

std::vector<Command> clip_commands() {
  return {
      {{"tokenize", "CLIP token ids (77 per text) as JSON arrays", "--vocab V [--truncate] TEXT...",
        {kClipVocab, {"truncate", "", "cut texts longer than 77 tokens instead of failing"}},
        /*takes_positionals=*/true},
       tokenize},
      {{"clip-embed", "CLIP image/text embeddings and logits as .npy files",
        "--weights W [--vocab V] [--image I]... [--text T]... --out DIR",
        {kClipWeights, kClipVocab, kScaleMethod, {"image", "I", "picture", true}, {"text", "T", "text", true},
         {"out", "DIR", "output folder: image_embeddings.npy, text_embeddings.npy, logits.npy"}}},
       clip_embed},
      {{"classify", "CLIP zero-shot classification: one JSON line per picture",
        "--weights W --labels \"a person;an animal;food\" [--template \"a photo of {}.\"] IMAGE...",
        {kClipWeights, kClipVocab, kScaleMethod,
         {"labels", "L1;L2;...", "labels separated by ';', trimmed; an empty one is an error (as clipzeroshot)"},
         {"template", "T1|T2", "prompt template(s) with {} (default \"a photo of {}.\"); several are averaged"},
         {"unknown-threshold", "P", "below this top probability the label is \"unknown\" (default 0)"}},
        /*takes_positionals=*/true},
       classify},
      {{"search", "rank pictures by CLIP similarity to a text: ranked JSON lines",
        "--weights W --query \"sports\" [-k 5] IMAGE...",
        {kClipWeights, kClipVocab, kScaleMethod, {"query", "TEXT", "what to look for"}, {"k", "N", "results (default 5)"}},
        /*takes_positionals=*/true},
       search},
  };
}

}  // namespace dinoclip::cli
