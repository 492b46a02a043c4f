#include "clip_session.h"

#include <nlohmann/json.hpp>

#include "core/threads.h"
#include "io/image_file.h"
#include "scale_option.h"
#include "tasks/zeroshot_texts.h"
#include "text/vocab_path.h"

namespace dinoclip::cli {

const OptionSpec kClipWeights{"weights", "W", "CLIP ViT weights (ViT-B-32.pt TorchScript archive, .pth, .safetensors)"};
const OptionSpec kClipVocab{"vocab", "V", "bpe_simple_vocab_16e6.txt.gz (default: $DINOCLIP_VOCAB, models dirs)"};

ClipSession ClipSession::open(const Args& args) {
  configure_threads();
  ClipModel model = ClipModel::load(args.require("weights"));
  const ScaleMethod method = scale_method_option(args, model.device());
  return ClipSession{std::move(model), BpeTokenizer(find_vocab_file(args.get("vocab"))), method};
}

at::Tensor ClipSession::encode_image_files(const std::vector<std::string>& paths) const {
  std::vector<at::Tensor> inputs;
  for (const auto& path : paths) {
    inputs.push_back(clip_input(read_image(path).view(), model.config().image_resolution, scale_method, model.device()));
  }
  return model.encode_image(at::cat(inputs, 0));
}

at::Tensor ClipSession::encode_texts(const std::vector<std::string>& texts) const {
  return dinoclip::encode_texts(model, tokenizer, texts);
}

std::string json_string(const std::string& text) { return nlohmann::json(text).dump(); }

}  // namespace dinoclip::cli
