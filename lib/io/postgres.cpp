#include "io/postgres.h"

#include <arpa/inet.h>
#include <libpq-fe.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "core/error.h"

namespace dinoclip {
namespace {

// libpq's messages end in a newline and may span lines; one line reads better
// inside ours.
std::string one_line(const char* message) {
  std::string text = message ? message : "";
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n') text.replace(i, 1, "; ");
    if (text[i] == '\t') text[i] = ' ';
  }
  return text;
}

// Whether libpq's reason for a failed connection means the server answered
// and refused (trying again will not help), rather than was not there.
bool refused_for_good(const std::string& reason) {
  for (const char* words : {"password authentication failed", "no password supplied", "invalid response",
                            "expected authentication", "unexpected message", "does not exist",
                            "authentication failed", "no pg_hba.conf entry"}) {
    if (reason.find(words) != std::string::npos) return true;
  }
  return false;
}

// What to do about a failed connection, from libpq's words for it.
std::string connect_advice(const std::string& reason) {
  if (reason.find("password authentication failed") != std::string::npos ||
      reason.find("no password supplied") != std::string::npos) {
    return "check the user and its password: the password comes from $PGPASSWORD or ~/.pgpass ($PGPASSFILE), "
           "never from the command line";
  }
  if (reason.find("Connection refused") != std::string::npos || reason.find("could not connect") != std::string::npos ||
      reason.find("timeout expired") != std::string::npos) {
    return "is PostgreSQL running there and listening on that host and port?";
  }
  if (reason.find("invalid response") != std::string::npos ||
      reason.find("expected authentication") != std::string::npos ||
      reason.find("unexpected message") != std::string::npos ||
      reason.find("server closed the connection") != std::string::npos) {
    return "the server at that address does not speak PostgreSQL's protocol: is it the right port?";
  }
  if (reason.find("does not exist") != std::string::npos) return "create it, or name an existing one";
  return "check the address (postgresql://USER@HOST:PORT/DATABASE)";
}

}  // namespace

bool is_postgres_uri(const std::string& location) {
  return location.rfind("postgresql://", 0) == 0 || location.rfind("postgres://", 0) == 0;
}

std::string describe_postgres_address(const std::string& conninfo) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &error);
  if (!options) {
    PQfreemem(error);
    return "(an address libpq cannot parse)";
  }
  std::string host, port, user, dbname;
  for (PQconninfoOption* o = options; o->keyword; ++o) {
    if (!o->val) continue;
    const std::string key = o->keyword;
    if (key == "host" || key == "hostaddr") host = host.empty() ? o->val : host;
    if (key == "port") port = o->val;
    if (key == "user") user = o->val;
    if (key == "dbname") dbname = o->val;
  }
  PQconninfoFree(options);
  std::string text = "postgresql://";
  if (!user.empty()) text += user + "@";
  text += host.empty() ? "localhost" : host;
  if (!port.empty()) text += ":" + port;
  if (!dbname.empty()) text += "/" + dbname;
  return text;
}

void check_postgres_address(const std::string& conninfo, const std::string& what) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &error);
  if (!options) {
    const std::string reason = one_line(error);
    PQfreemem(error);
    throw PgSetupError(what + ": not a PostgreSQL address (" + reason +
                "); give postgresql://USER@HOST:PORT/DATABASE or libpq's \"host=... dbname=...\"");
  }
  bool has_password = false;
  for (PQconninfoOption* o = options; o->keyword; ++o) {
    if (std::strcmp(o->keyword, "password") == 0 && o->val && *o->val) has_password = true;
  }
  PQconninfoFree(options);
  if (has_password) {
    throw PgSetupError(what +
                       ": the address carries a password; anyone can read it from the process list. Remove it and "
                "put it in $PGPASSWORD or ~/.pgpass (HOST:PORT:DATABASE:USER:PASSWORD, mode 0600) instead");
  }
}

PgResult::PgResult(PGresult* result) : result_(result) {}
PgResult::PgResult(PgResult&& other) noexcept : result_(other.result_) { other.result_ = nullptr; }
PgResult& PgResult::operator=(PgResult&& other) noexcept {
  if (this != &other) {
    if (result_) PQclear(result_);
    result_ = other.result_;
    other.result_ = nullptr;
  }
  return *this;
}
PgResult::~PgResult() {
  if (result_) PQclear(result_);
}

int PgResult::rows() const { return result_ ? PQntuples(result_) : 0; }
bool PgResult::is_null(int row, int column) const { return PQgetisnull(result_, row, column) != 0; }
std::string PgResult::text(int row, int column) const {
  return std::string(PQgetvalue(result_, row, column), size_t(PQgetlength(result_, row, column)));
}
int64_t PgResult::int64(int row, int column) const {
  return std::strtoll(PQgetvalue(result_, row, column), nullptr, 10);
}
double PgResult::real(int row, int column) const { return std::strtod(PQgetvalue(result_, row, column), nullptr); }

PgConnection::PgConnection(const std::string& conninfo, int connect_timeout_s)
    : address_(describe_postgres_address(conninfo)) {
  check_postgres_address(conninfo, address_);
  // connect_timeout and a recognisable application_name, unless the address sets its own.
  const std::string timeout = std::to_string(connect_timeout_s);
  // libpq keeps the last value of a repeated keyword: ours first, so the address's own win.
  const char* keywords[] = {"connect_timeout", "application_name", "dbname", nullptr};
  const char* values[] = {timeout.c_str(), "dinoclip", conninfo.c_str(), nullptr};
  conn_ = PQconnectdbParams(keywords, values, /*expand_dbname=*/1);
  if (!conn_) throw Error(address_ + ": cannot connect to PostgreSQL (out of memory)");
  if (PQstatus(conn_) != CONNECTION_OK) {
    const std::string reason = one_line(PQerrorMessage(conn_));
    PQfinish(conn_);
    conn_ = nullptr;
    const std::string message =
        address_ + ": cannot connect to PostgreSQL: " + reason + " (" + connect_advice(reason) + ")";
    if (refused_for_good(reason)) throw PgSetupError(message);
    throw Error(message);
  }
  // Notices (e.g. "relation already exists, skipping") are not for users.
  PQsetNoticeProcessor(
      conn_, [](void*, const char*) {}, nullptr);
}

PgConnection::PgConnection(PgConnection&& other) noexcept : conn_(other.conn_), address_(std::move(other.address_)) {
  other.conn_ = nullptr;
}
PgConnection& PgConnection::operator=(PgConnection&& other) noexcept {
  if (this != &other) {
    if (conn_) PQfinish(conn_);
    conn_ = other.conn_;
    address_ = std::move(other.address_);
    other.conn_ = nullptr;
  }
  return *this;
}
PgConnection::~PgConnection() {
  if (conn_) PQfinish(conn_);
}

bool PgConnection::ok() const { return conn_ && PQstatus(conn_) == CONNECTION_OK; }

void PgConnection::fail(const std::string& what) const {
  const std::string reason = one_line(PQerrorMessage(conn_));
  if (PQstatus(conn_) != CONNECTION_OK) {
    throw Error(address_ + ": lost the connection to PostgreSQL during " + what + ": " + reason);
  }
  throw Error(address_ + ": " + what + " failed: " + reason);
}

PgResult PgConnection::exec(const std::string& sql, const std::vector<std::optional<std::string>>& params) {
  if (!conn_) throw Error(address_ + ": not connected");
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  PGresult* result = PQexecParams(conn_, sql.c_str(), int(params.size()), nullptr, values.data(), nullptr, nullptr,
                                  /*resultFormat=*/0);
  PgResult owned(result);
  const ExecStatusType status = result ? PQresultStatus(result) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    const std::string first_word = sql.substr(0, sql.find_first_of(" \n"));
    fail("the statement " + first_word);
  }
  return owned;
}

void PgConnection::copy_in(const std::string& copy_sql, const std::string& data) {
  if (!conn_) throw Error(address_ + ": not connected");
  {
    PGresult* started = PQexec(conn_, copy_sql.c_str());
    const bool waiting = started && PQresultStatus(started) == PGRES_COPY_IN;
    PQclear(started);
    if (!waiting) fail("COPY");
  }
  constexpr size_t kChunk = size_t(1) << 20;
  for (size_t offset = 0; offset < data.size(); offset += kChunk) {
    const size_t n = std::min(kChunk, data.size() - offset);
    if (PQputCopyData(conn_, data.data() + offset, int(n)) != 1) fail("sending COPY data");
  }
  if (PQputCopyEnd(conn_, nullptr) != 1) fail("ending COPY");
  std::string error;
  while (PGresult* result = PQgetResult(conn_)) {
    if (PQresultStatus(result) != PGRES_COMMAND_OK && error.empty()) error = one_line(PQresultErrorMessage(result));
    PQclear(result);
  }
  if (!error.empty()) {
    if (PQstatus(conn_) != CONNECTION_OK)
      throw Error(address_ + ": lost the connection to PostgreSQL during COPY: " + error);
    throw Error(address_ + ": COPY failed: " + error);
  }
}

std::string PgConnection::quote_identifier(const std::string& name) const {
  char* quoted = PQescapeIdentifier(conn_, name.c_str(), name.size());
  if (!quoted) fail("quoting the name " + name);
  std::string text = quoted;
  PQfreemem(quoted);
  return text;
}

std::string PgConnection::quote_literal(const std::string& value) const {
  char* quoted = PQescapeLiteral(conn_, value.c_str(), value.size());
  if (!quoted) fail("quoting a value");
  std::string text = quoted;
  PQfreemem(quoted);
  return text;
}

PgCopyBuffer::PgCopyBuffer() {
  static const char kSignature[] = "PGCOPY\n\377\r\n";
  data_.append(kSignature, 11);
  put32(0);  // flags
  put32(0);  // header extension length
}

void PgCopyBuffer::put16(uint16_t v) {
  data_.push_back(char(v >> 8));
  data_.push_back(char(v & 0xff));
}

void PgCopyBuffer::put32(uint32_t v) {
  const uint32_t big = htonl(v);
  data_.append(reinterpret_cast<const char*>(&big), 4);
}

void PgCopyBuffer::begin_row(int16_t fields) { put16(uint16_t(fields)); }

void PgCopyBuffer::add_int64(int64_t value) {
  put32(8);
  const uint64_t v = uint64_t(value);
  put32(uint32_t(v >> 32));
  put32(uint32_t(v & 0xffffffffu));
}

void PgCopyBuffer::add_text(const std::string& value) {
  put32(uint32_t(value.size()));
  data_.append(value);
}

void PgCopyBuffer::add_vector(const float* values, int dim) {
  put32(uint32_t(4 + 4 * dim));
  put16(uint16_t(dim));
  put16(0);
  // The floats big-endian, written in place: a byte at a time was most of a
  // bulk load's client time (2,048 appends a 512-d row).
  const size_t at = data_.size();
  data_.resize(at + 4 * size_t(dim));
  char* out = &data_[at];
  for (int i = 0; i < dim; ++i) {
    uint32_t bits;
    std::memcpy(&bits, &values[i], 4);
    bits = htonl(bits);
    std::memcpy(out + 4 * size_t(i), &bits, 4);
  }
}

const std::string& PgCopyBuffer::finish() {
  put16(0xffff);  // the trailer: a field count of -1
  return data_;
}

}  // namespace dinoclip
