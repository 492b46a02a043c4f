// A private PostgreSQL server with pgvector for one test program: initdb into
// a scratch folder, started on a free 127.0.0.1 port, stopped (and its files
// removed) by the destructor. The binaries come from scripts/pgserver.sh
// (PyPI's pgserver wheel): $DINOCLIP_PGSERVER, else the repository's
// .pgserver/ unpacked by that script. PostgreSQL refuses to run as root, so
// as root the server runs as `nobody`.
//
// Connections use password authentication: the superuser `dinoclip` with the
// password in a passfile ($PGPASSFILE is pointed at it), so tests exercise
// the same path as users (a password never in an address).
#pragma once

#include <string>

namespace dinoclip::testing {

class PgServer {
 public:
  // The binaries' folder, or "" when scripts/pgserver.sh has not been run.
  static std::string find_install();

  // Throws std::runtime_error with initdb's or the server's log when it cannot start.
  // `server_options`: more "-c name=value" for the server (the benchmark's memory settings).
  explicit PgServer(const std::string& install, const std::string& server_options = "");
  ~PgServer();
  PgServer(const PgServer&) = delete;
  PgServer& operator=(const PgServer&) = delete;

  int port() const { return port_; }
  // postgresql://dinoclip@127.0.0.1:PORT/DB (no password: it is in the passfile).
  std::string uri(const std::string& database = "postgres") const;
  // Creates a database (from a test: a fresh one per test).
  void create_database(const std::string& name) const;
  // Runs `sql` with psql, returns its output (-At: unaligned, tuples only); throws on failure.
  std::string psql(const std::string& database, const std::string& sql) const;

  void stop();       // pg_ctl stop -m fast
  void kill_hard();  // SIGKILL to the server and every backend: a crash
  void start();      // (again) on the same port; crash recovery runs as needed
  bool running() const { return running_; }
  std::string log() const;  // the server's log file

 private:
  int postmaster_pid() const;                                  // from postmaster.pid, 0 if none
  std::string run_as_owner(const std::string& command) const;  // shell command, as the data folder's owner
  std::string install_, options_, dir_, data_;
  int port_ = 0;
  bool running_ = false;
};

// A test suite's server with `database` made: `server` is null and `problem`
// says why when the binaries are missing (`failed` false: skip, except under
// CI=true) or the server would not start (`failed` true: a failure).
struct SuiteServer {
  PgServer* server = nullptr;
  std::string problem;
  bool failed = false;
};
SuiteServer start_suite_server(const std::string& database);

// A TCP port on 127.0.0.1 that was free a moment ago.
int free_local_port();

}  // namespace dinoclip::testing
