// dinoclip: DINO and CLIP from the command line.
#include <c10/util/Exception.h>

#include <cstdio>
#include <cstring>
#include <iostream>

#include "commands.h"
#include "core/error.h"
#include "core/user_message.h"

using dinoclip::cli::Args;
using dinoclip::cli::Command;

namespace {

std::vector<Command> all_commands() {
  std::vector<Command> all;
  for (auto group : {dinoclip::cli::dino_commands, dinoclip::cli::clip_commands, dinoclip::cli::model_commands,
                     dinoclip::cli::bench_commands}) {
    for (auto& c : group()) all.push_back(std::move(c));
  }
#ifdef DINOCLIP_HAVE_GST
  for (auto& c : dinoclip::cli::davis_commands()) all.push_back(std::move(c));
  for (auto& c : dinoclip::cli::index_commands()) all.push_back(std::move(c));
#endif
  return all;
}

void print_overview(const std::vector<Command>& commands) {
  std::cout << "usage: dinoclip COMMAND [options]   (dinoclip COMMAND --help for details)\n\ncommands:\n";
  for (const auto& c : commands) {
    std::string left = "  " + c.spec.name;
    std::cout << left << std::string(left.size() < 20 ? 20 - left.size() : 1, ' ') << c.spec.summary << "\n";
  }
}

}  // namespace

int main(int argc, char** argv) {
  const auto commands = all_commands();
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") || !std::strcmp(argv[1], "help")) {
    print_overview(commands);
    return argc < 2 ? 2 : 0;
  }
  const std::string name = argv[1];
  for (const auto& command : commands) {
    if (command.spec.name != name) continue;
    try {
      Args args = Args::parse(command.spec, argc - 2, argv + 2);
      if (args.help()) {
        std::cout << dinoclip::cli::format_help(command.spec);
        return 0;
      }
      return command.run(args);
    } catch (const dinoclip::Error& e) {
      std::cerr << "dinoclip " << name << ": error: " << e.what() << "\n";
    } catch (const c10::Error& e) {
      std::cerr << "dinoclip " << name << ": error: " << dinoclip::user_message(std::runtime_error(e.what_without_backtrace())) << "\n";
    } catch (const std::exception& e) {
      std::cerr << "dinoclip " << name << ": error: " << dinoclip::user_message(e) << "\n";
    }
    return 1;
  }
  std::cerr << "dinoclip: unknown command '" << name << "'\n\n";
  print_overview(commands);
  return 2;
}
