// A PostgreSQL connection over libpq, with no knowledge of what is stored:
// statements with parameters only (values never enter SQL text), COPY in
// binary format, and errors that name the server (never its password) and
// say what to do.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"

typedef struct pg_conn PGconn;
typedef struct pg_result PGresult;

namespace dinoclip {

// A failure that trying again will not mend: the server answered and refused
// (wrong password, not PostgreSQL's protocol, no such database) or the index
// there cannot take these rows (another model, another size, no pgvector).
// Other dinoclip::Errors from a connection (no server there, connection lost,
// the server starting or shutting down) may pass: a writer retries those.
class PgSetupError : public Error {
 public:
  using Error::Error;
};

// Whether `location` is meant as a PostgreSQL address: a postgresql:// or
// postgres:// URI (libpq's keyword form "host=... dbname=..." is accepted by
// PgConnection too, but a bare argument that looks like a path is a folder).
bool is_postgres_uri(const std::string& location);

// `conninfo` with any password removed, for messages: host, port, user, database.
std::string describe_postgres_address(const std::string& conninfo);

// Throws dinoclip::Error when `conninfo` does not parse as a libpq connection
// string, or carries a password (it belongs in $PGPASSWORD or ~/.pgpass,
// never on a command line where `ps` shows it).
void check_postgres_address(const std::string& conninfo, const std::string& what);

// One result: rows of text values (libpq's text format).
class PgResult {
 public:
  explicit PgResult(PGresult* result);
  PgResult(PgResult&&) noexcept;
  PgResult& operator=(PgResult&&) noexcept;
  ~PgResult();

  int rows() const;
  bool is_null(int row, int column) const;
  std::string text(int row, int column) const;
  int64_t int64(int row, int column) const;
  double real(int row, int column) const;

 private:
  PGresult* result_ = nullptr;
};

class PgConnection {
 public:
  // Connects (libpq reads the password from $PGPASSWORD or ~/.pgpass /
  // $PGPASSFILE). Throws dinoclip::Error naming the address and the reason:
  // no server there, refused password, not PostgreSQL at that port, ...
  // `connect_timeout_s` bounds the wait for an unreachable host.
  explicit PgConnection(const std::string& conninfo, int connect_timeout_s = 10);
  PgConnection(PgConnection&&) noexcept;
  PgConnection& operator=(PgConnection&&) noexcept;
  ~PgConnection();

  // Runs one statement; `params` are sent separately from the SQL (text
  // format; std::nullopt is NULL). Throws dinoclip::Error with the server's
  // message on failure.
  PgResult exec(const std::string& sql, const std::vector<std::optional<std::string>>& params = {});

  // COPY ... FROM STDIN (FORMAT binary) with `data` as the whole stream (see
  // PgCopyBuffer). Throws on failure; the caller's transaction is then aborted.
  void copy_in(const std::string& copy_sql, const std::string& data);

  // Whether the connection is still usable (false after the server went away).
  bool ok() const;
  const std::string& address() const { return address_; }  // for messages: no password
  std::string quote_identifier(const std::string& name) const;
  std::string quote_literal(const std::string& value) const;  // for the few statements without parameters (SET)

 private:
  [[noreturn]] void fail(const std::string& what) const;
  PGconn* conn_ = nullptr;
  std::string address_;
};

// The bytes of a binary COPY stream (PostgreSQL's documented format): the
// header, then rows of fields, each a length and big-endian bytes.
class PgCopyBuffer {
 public:
  PgCopyBuffer();
  void begin_row(int16_t fields);
  void add_int64(int64_t value);
  void add_text(const std::string& value);
  // pgvector's binary `vector`: int16 dimension, int16 0, float4 values.
  void add_vector(const float* values, int dim);
  // The stream so far plus the trailer; the buffer can not be added to after.
  const std::string& finish();
  size_t size() const { return data_.size(); }

 private:
  void put16(uint16_t v);
  void put32(uint32_t v);
  std::string data_;
};

}  // namespace dinoclip
