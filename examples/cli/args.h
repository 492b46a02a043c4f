// A small command-line parser for the dinoclip subcommands:
// "--name value", "--name=value", repeated options, flags and positionals.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace dinoclip::cli {

struct OptionSpec {
  std::string name;      // without dashes
  std::string value;     // placeholder shown in help ("PATH"); empty for a flag
  std::string help;
  bool repeated = false;
};

struct CommandSpec {
  std::string name;
  std::string summary;
  std::string usage;     // e.g. "--weights W --image I [--size 480x480|native] --out DIR"
  std::vector<OptionSpec> options;
  bool takes_positionals = false;
};

class Args {
 public:
  // Throws dinoclip::Error on an unknown option or a missing value.
  static Args parse(const CommandSpec& spec, int argc, char** argv);

  bool has(const std::string& name) const;
  std::string get(const std::string& name, const std::string& fallback = "") const;
  std::string require(const std::string& name) const;
  std::vector<std::string> all(const std::string& name) const;
  int get_int(const std::string& name, int fallback) const;
  const std::vector<std::string>& positionals() const { return positionals_; }
  bool help() const { return help_; }

 private:
  const CommandSpec* spec_ = nullptr;
  std::map<std::string, std::vector<std::string>> values_;
  std::vector<std::string> positionals_;
  bool help_ = false;
};

std::string format_help(const CommandSpec& spec);

}  // namespace dinoclip::cli
