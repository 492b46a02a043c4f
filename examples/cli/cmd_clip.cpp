// tokenize, clip-embed: CLIP's tokenizer and encoders from the command line.
#include <ATen/ATen.h>

#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "clip_session.h"
#include "commands.h"
#include "core/error.h"
#include "io/npy.h"
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

}  // namespace

std::vector<Command> clip_commands() {
  return {
      {{"tokenize", "CLIP token ids (77 per text) as JSON arrays", "--vocab V [--truncate] TEXT...",
        {kClipVocab, {"truncate", "", "cut texts longer than 77 tokens instead of failing"}},
        /*takes_positionals=*/true},
       tokenize},
      {{"clip-embed", "CLIP image/text embeddings and logits as .npy files",
        "--weights W [--vocab V] [--image I]... [--text T]... --out DIR",
        {kClipWeights, kClipVocab, {"image", "I", "picture", true}, {"text", "T", "text", true},
         {"out", "DIR", "output folder: image_embeddings.npy, text_embeddings.npy, logits.npy"}}},
       clip_embed},
  };
}

}  // namespace dinoclip::cli
