#include "pg_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

namespace dinoclip::testing {
namespace {
namespace fs = std::filesystem;

constexpr const char* kUser = "dinoclip";
constexpr const char* kPassword = "test-password-of-a-private-server";
constexpr uid_t kNobody = 65534;

std::string shell_quote(const std::string& text) {
  std::string quoted = "'";
  for (char c : text) quoted += (c == '\'') ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

// Runs `command` with /bin/sh; stdout+stderr; throws with them when it fails.
std::string run(const std::string& command, bool check = true) {
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (!pipe) throw std::runtime_error("cannot run: " + command);
  std::string output;
  std::array<char, 4096> buffer;
  size_t n;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) output.append(buffer.data(), n);
  const int status = ::pclose(pipe);
  if (check && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
    throw std::runtime_error("`" + command + "` failed:\n" + output);
  }
  return output;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The parent pid of `pid` from /proc, or -1.
pid_t parent_of(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return -1;
  const size_t close = line.rfind(')');  // the command name may hold spaces
  if (close == std::string::npos) return -1;
  std::istringstream rest(line.substr(close + 2));
  char state;
  pid_t ppid = -1;
  rest >> state >> ppid;
  return ppid;
}

bool alive(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return false;
  const size_t close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() && line[close + 2] != 'Z';
}

}  // namespace

int free_local_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t size = sizeof(address);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) != 0) {
    if (fd >= 0) ::close(fd);
    throw std::runtime_error("cannot find a free port on 127.0.0.1");
  }
  ::close(fd);
  return ntohs(address.sin_port);
}

SuiteServer start_suite_server(const std::string& database) {
  SuiteServer suite;
  const std::string install = PgServer::find_install();
  if (install.empty()) {
    suite.problem = "no PostgreSQL with pgvector: run scripts/pgserver.sh (or set DINOCLIP_PGSERVER to its output)";
    return suite;
  }
  try {
    suite.server = new PgServer(install);
    suite.server->create_database(database);
  } catch (const std::exception& e) {
    delete suite.server;
    suite.server = nullptr;
    suite.problem = std::string("the test server did not start: ") + e.what();
    suite.failed = true;
  }
  return suite;
}

std::string PgServer::find_install() {
  std::vector<std::string> candidates;
  if (const char* env = std::getenv("DINOCLIP_PGSERVER"); env && *env) candidates.push_back(env);
  if (const char* root = std::getenv("DINOCLIP_SOURCE_ROOT"); root && *root) {
    candidates.push_back(std::string(root) + "/.pgserver/pgserver-0.1.4/pgserver/pginstall");
  }
  for (const auto& candidate : candidates) {
    if (fs::exists(candidate + "/bin/postgres") && fs::exists(candidate + "/lib/postgresql/vector.so"))
      return candidate;
  }
  return "";
}

PgServer::PgServer(const std::string& install, const std::string& server_options)
    : install_(install), options_(server_options) {
  // The server outlives pg_ctl, its parent: as a subreaper this process
  // becomes its parent and can reap it after kill_hard() (PID 1 of a
  // container may never reap it, and a zombie's pid still looks alive to the
  // next start's lock-file check).
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  char pattern[] = "/tmp/dinoclip-pg-XXXXXX";
  if (!::mkdtemp(pattern)) throw std::runtime_error("cannot make a folder for the test server");
  dir_ = pattern;
  data_ = dir_ + "/data";
  if (::geteuid() == 0) {
    // The server's user must reach its data folder; nothing else is shared.
    if (::chown(dir_.c_str(), kNobody, kNobody) != 0) throw std::runtime_error("cannot chown " + dir_ + " to nobody");
  }
  if (::geteuid() == 0) {
    // `nobody` must reach the binaries: a checkout under /root (mode 0700) is
    // out of its reach, so the unpacked wheel is copied beside the data then.
    try {
      run_as_owner("test -x " + shell_quote(install_ + "/bin/postgres"));
    } catch (const std::runtime_error&) {
      const fs::path wheel = fs::path(install_).parent_path().parent_path();  // holds pgserver/ and pgserver.libs/
      fs::copy(wheel, dir_ + "/pg", fs::copy_options::recursive);
      install_ = dir_ + "/pg/pgserver/pginstall";
    }
  }
  const std::string pwfile = dir_ + "/pwfile";
  std::ofstream(pwfile) << kPassword << "\n";
  fs::permissions(pwfile,
                  fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::others_read);
  run_as_owner(shell_quote(install_ + "/bin/initdb") + " -D " + shell_quote(data_) + " -U " + kUser +
               " --pwfile=" + shell_quote(pwfile) +
               " --auth-host=scram-sha-256 --auth-local=scram-sha-256 -E UTF8 --locale=C --no-sync --no-instructions");
  fs::remove(pwfile);
  // The clients' password: libpq reads $PGPASSFILE (only when 0600).
  const std::string passfile = dir_ + "/pgpass";
  std::ofstream(passfile) << "127.0.0.1:*:*:" << kUser << ":" << kPassword << "\n";
  fs::permissions(passfile, fs::perms::owner_read | fs::perms::owner_write);
  ::setenv("PGPASSFILE", passfile.c_str(), 1);
  ::unsetenv("PGPASSWORD");
  for (int attempt = 0;; ++attempt) {
    port_ = free_local_port();
    try {
      start();
      break;
    } catch (const std::runtime_error&) {
      if (attempt == 2) throw;  // a port taken in between twice: something else is wrong
    }
  }
}

PgServer::~PgServer() {
  try {
    if (running_) {
      const pid_t postmaster = postmaster_pid();
      run_as_owner(shell_quote(install_ + "/bin/pg_ctl") + " -D " + shell_quote(data_) + " -m immediate -w stop");
      if (postmaster > 0) ::waitpid(postmaster, nullptr, 0);
    }
  } catch (const std::exception&) {
  }
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

std::string PgServer::run_as_owner(const std::string& command) const {
  const std::string prefix = ::geteuid() == 0 ? "setpriv --reuid=65534 --regid=65534 --clear-groups " : "";
  return run("cd / && " + prefix + command);
}

void PgServer::start() {
  // fsync=off: a killed server still finds its WAL in the page cache; only a
  // machine crash would need the disk, and tests do not crash machines.
  const std::string options = "-p " + std::to_string(port_) +
                              " -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c fsync=off " + options_;
  try {
    run_as_owner(shell_quote(install_ + "/bin/pg_ctl") + " -D " + shell_quote(data_) + " -l " +
                 shell_quote(dir_ + "/server.log") + " -w -t 60 -o " + shell_quote(options) + " start");
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(std::string(e.what()) + "\nserver log:\n" + log());
  }
  running_ = true;
}

void PgServer::stop() {
  const pid_t postmaster = postmaster_pid();
  run_as_owner(shell_quote(install_ + "/bin/pg_ctl") + " -D " + shell_quote(data_) + " -m fast -w stop");
  if (postmaster > 0) ::waitpid(postmaster, nullptr, 0);
  running_ = false;
}

int PgServer::postmaster_pid() const {
  std::istringstream pidfile(read_text(data_ + "/postmaster.pid"));
  pid_t postmaster = 0;
  pidfile >> postmaster;
  return postmaster;
}

void PgServer::kill_hard() {
  const pid_t postmaster = postmaster_pid();
  if (postmaster <= 0) throw std::runtime_error("no postmaster.pid in " + data_);
  std::vector<pid_t> victims;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    const pid_t pid = pid_t(std::stol(name));
    if (parent_of(pid) == postmaster) victims.push_back(pid);
  }
  victims.push_back(postmaster);
  for (pid_t pid : victims) ::kill(pid, SIGKILL);
  ::waitpid(postmaster, nullptr, 0);  // ours (see the constructor); an error if not, then it is reaped elsewhere
  for (int i = 0; i < 500; ++i) {
    bool any = false;
    for (pid_t pid : victims) any = any || alive(pid);
    if (!any) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  for (pid_t pid : victims) ::waitpid(pid, nullptr, WNOHANG);  // backends re-parented to this subreaper
  running_ = false;
}

std::string PgServer::uri(const std::string& database) const {
  return std::string("postgresql://") + kUser + "@127.0.0.1:" + std::to_string(port_) + "/" + database;
}

std::string PgServer::psql(const std::string& database, const std::string& sql) const {
  return run(shell_quote(install_ + "/bin/psql") + " -X -At -v ON_ERROR_STOP=1 " + shell_quote(uri(database)) + " -c " +
             shell_quote(sql));
}

void PgServer::create_database(const std::string& name) const { psql("postgres", "CREATE DATABASE \"" + name + "\""); }

std::string PgServer::log() const { return read_text(dir_ + "/server.log"); }

}  // namespace dinoclip::testing
