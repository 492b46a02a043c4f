#include "cli_runner.h"

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>

namespace dinoclip::testing {

CliRun dinoclip_cli(const std::string& arguments) {
  const char* exe = std::getenv("DINOCLIP_CLI");
  const std::string command = std::string(exe ? exe : "dinoclip") + " " + arguments + " 2>&1";
  CliRun run{-1, ""};
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) return run;
  std::array<char, 4096> buffer;
  size_t n;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) run.output.append(buffer.data(), n);
  const int status = ::pclose(pipe);
  run.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

}  // namespace dinoclip::testing
