// The dinoclip subcommands, grouped by file (cmd_*.cpp).
#pragma once

#include <functional>
#include <vector>

#include "args.h"

namespace dinoclip::cli {

struct Command {
  CommandSpec spec;
  std::function<int(const Args&)> run;
};

std::vector<Command> dino_commands();   // dino-features, attention, pca
std::vector<Command> bench_commands();  // bench
std::vector<Command> model_commands();  // make-model, make-picture
std::vector<Command> clip_commands();   // tokenize, clip-embed, classify, search
#ifdef DINOCLIP_HAVE_GST
std::vector<Command> davis_commands();  // make-sequence, davis
std::vector<Command> index_commands();  // index, search-index
#endif

}  // namespace dinoclip::cli
