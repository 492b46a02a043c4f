#include "args.h"

#include <sstream>

#include "core/error.h"

namespace dinoclip::cli {
namespace {

const OptionSpec* find_option(const CommandSpec& spec, const std::string& name) {
  for (const auto& o : spec.options)
    if (o.name == name) return &o;
  return nullptr;
}

}  // namespace

Args Args::parse(const CommandSpec& spec, int argc, char** argv) {
  Args args;
  args.spec_ = &spec;
  for (int i = 0; i < argc; ++i) {
    std::string token = argv[i];
    if (token == "-h" || token == "--help") {
      args.help_ = true;
      continue;
    }
    if (token.size() > 2 && token.compare(0, 2, "--") == 0) {
      std::string name = token.substr(2), value;
      bool inline_value = false;
      if (auto eq = name.find('='); eq != std::string::npos) {
        value = name.substr(eq + 1);
        name = name.substr(0, eq);
        inline_value = true;
      }
      const OptionSpec* option = find_option(spec, name);
      if (!option) throw Error("dinoclip " + spec.name + ": unknown option --" + name + " (see --help)");
      if (option->value.empty()) {
        value = "1";
      } else if (!inline_value) {
        if (i + 1 >= argc) throw Error("dinoclip " + spec.name + ": --" + name + " needs a value " + option->value);
        value = argv[++i];
      }
      if (!option->repeated && args.values_.count(name)) {
        throw Error("dinoclip " + spec.name + ": --" + name + " given twice");
      }
      args.values_[name].push_back(value);
    } else if (token.size() == 2 && token[0] == '-' && token[1] != '-') {
      // Short aliases: -o, -k.
      std::string name = token[1] == 'o' ? "out" : token[1] == 'k' ? "k" : "";
      if (name.empty() || !find_option(spec, name)) throw Error("dinoclip " + spec.name + ": unknown option " + token);
      if (i + 1 >= argc) throw Error("dinoclip " + spec.name + ": " + token + " needs a value");
      args.values_[name].push_back(argv[++i]);
    } else {
      if (!spec.takes_positionals) throw Error("dinoclip " + spec.name + ": unexpected argument '" + token + "'");
      args.positionals_.push_back(token);
    }
  }
  return args;
}

bool Args::has(const std::string& name) const { return values_.count(name) > 0; }

std::string Args::get(const std::string& name, const std::string& fallback) const {
  auto it = values_.find(name);
  return it == values_.end() ? fallback : it->second.back();
}

std::string Args::require(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) {
    throw Error("dinoclip " + spec_->name + ": --" + name + " is required\nusage: dinoclip " + spec_->name + " " +
                spec_->usage);
  }
  return it->second.back();
}

std::vector<std::string> Args::all(const std::string& name) const {
  auto it = values_.find(name);
  return it == values_.end() ? std::vector<std::string>{} : it->second;
}

int Args::get_int(const std::string& name, int fallback) const {
  if (!has(name)) return fallback;
  const std::string text = get(name);
  try {
    size_t used = 0;
    int value = std::stoi(text, &used);
    if (used == text.size()) return value;
  } catch (const std::exception&) {
  }
  throw Error("dinoclip " + spec_->name + ": --" + name + " expects an integer, got '" + text + "'");
}

std::string format_help(const CommandSpec& spec) {
  std::ostringstream out;
  out << "usage: dinoclip " << spec.name << " " << spec.usage << "\n\n" << spec.summary << "\n\noptions:\n";
  for (const auto& o : spec.options) {
    std::string left = "  --" + o.name + (o.value.empty() ? "" : " " + o.value);
    out << left << std::string(left.size() < 28 ? 28 - left.size() : 1, ' ') << o.help
        << (o.repeated ? " (repeatable)" : "") << "\n";
  }
  out << "  -h, --help                  this help\n";
  return out.str();
}

}  // namespace dinoclip::cli
