#include "tasks/pg_video_index.h"

#include <ATen/ATen.h>

#include <cmath>
#include <cstdio>
#include <sstream>

#include "core/error.h"
#include "io/postgres.h"
#include "tasks/similarity.h"

namespace dinoclip {
namespace {

constexpr const char* kCatalog = "dinoclip_index_models";
// pgvector's HNSW index arrived in 0.5.0.
constexpr int kMinPgvector[3] = {0, 5, 0};
// HNSW indexes vectors of up to 2,000 dimensions (pgvector's limit).
constexpr int64_t kMaxHnswDim = 2000;
// Up to this size a row (4 bytes a value) fits an 8 KB page with room to spare.
constexpr int64_t kMaxInlineDim = 1024;
// Rows per COPY: bounds the memory of one binary stream (~2 KB a 512-d row).
constexpr size_t kCopyRows = 20000;

using Params = std::vector<std::optional<std::string>>;

std::string float_text(double v) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.9g", v);
  return text;
}

// pgvector's text form "[a,b,c]" (also PostgreSQL's real[] "{a,b,c}" with other brackets).
std::string vector_text(const float* values, int64_t n, char open = '[', char close = ']') {
  std::string text(1, open);
  for (int64_t i = 0; i < n; ++i) {
    if (i) text += ',';
    text += float_text(values[i]);
  }
  return text + close;
}

std::vector<float> parse_real_array(const std::string& text) {
  std::vector<float> values;
  std::string body = text;
  if (body.size() >= 2 && body.front() == '{' && body.back() == '}') body = body.substr(1, body.size() - 2);
  std::stringstream in(body);
  for (std::string item; std::getline(in, item, ',');) values.push_back(std::strtof(item.c_str(), nullptr));
  return values;
}

bool version_at_least(const std::string& version, const int (&minimum)[3]) {
  int parts[3] = {0, 0, 0};
  std::sscanf(version.c_str(), "%d.%d.%d", &parts[0], &parts[1], &parts[2]);
  for (int i = 0; i < 3; ++i) {
    if (parts[i] != minimum[i]) return parts[i] > minimum[i];
  }
  return true;
}

// Runs `body` inside BEGIN/COMMIT; a failure rolls back (when the connection
// is still there to hear it) and rethrows.
template <typename Body>
void in_transaction(PgConnection& db, Body&& body) {
  db.exec("BEGIN");
  try {
    body();
    db.exec("COMMIT");
  } catch (...) {
    if (db.ok()) {
      try {
        db.exec("ROLLBACK");
      } catch (const Error&) {
      }
    }
    throw;
  }
}

}  // namespace

void check_index_table_name(const std::string& table) {
  bool ok = !table.empty() && table.size() <= 63 && !std::isdigit(static_cast<unsigned char>(table[0]));
  for (char c : table) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_');
  if (!ok) {
    throw PgSetupError("table name '" + table +
                "': use letters, digits and underscores (not starting with a digit, at most "
                "63), e.g. " +
                PgVideoIndex::kDefaultTable);
  }
}

struct PgVideoIndex::State {
  std::unique_ptr<PgConnection> db;
  HnswOptions hnsw;
  std::string table;         // as given
  std::string quoted_table;  // as it appears in SQL
  IndexModel model;

  std::string where() const { return db->address() + ", table " + table; }
};

PgVideoIndex::PgVideoIndex() : state_(std::make_unique<State>()) {}
PgVideoIndex::PgVideoIndex(PgVideoIndex&&) noexcept = default;
PgVideoIndex& PgVideoIndex::operator=(PgVideoIndex&&) noexcept = default;
PgVideoIndex::~PgVideoIndex() = default;

namespace {

// The model recorded for `table`, or false when the catalog has no entry (or no catalog exists).
bool read_catalog_model(PgConnection& db, const std::string& table, IndexModel& model) {
  const PgResult exists = db.exec("SELECT to_regclass($1) IS NOT NULL", {std::string(kCatalog)});
  if (exists.text(0, 0) != "t") return false;
  const PgResult row =
      db.exec(std::string("SELECT model, weights, embed_dim, fingerprint FROM ") + kCatalog + " WHERE table_name = $1",
              {table});
  if (row.rows() == 0) return false;
  model.name = row.text(0, 0);
  model.weights = row.text(0, 1);
  model.embed_dim = row.int64(0, 2);
  model.fingerprint = parse_real_array(row.text(0, 3));
  return true;
}

// "vector(512)" for the table's embedding column, "" when the table or column is not there.
std::string embedding_column_type(PgConnection& db, const std::string& quoted_table) {
  const PgResult type = db.exec(
      "SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
      "WHERE a.attrelid = to_regclass($1) AND a.attname = 'embedding' AND NOT a.attisdropped",
      {quoted_table});
  return type.rows() ? type.text(0, 0) : "";
}

void check_table_matches(PgConnection& db, const std::string& quoted_table, const IndexModel& model,
                         const std::string& where) {
  const std::string type = embedding_column_type(db, quoted_table);
  const std::string expected = "vector(" + std::to_string(model.embed_dim) + ")";
  if (type.empty()) {
    throw PgSetupError(where + ": the table is missing (or has no embedding column) although " + kCatalog +
                " lists it; drop its row there or use another --table");
  }
  if (type != expected) {
    throw PgSetupError(where + ": the table's embeddings are " + type + " but its model (" + model.name + ") makes " +
                expected + "; the table was changed by hand: use another --table");
  }
}

}  // namespace

namespace {

// pgvector's limits for m (2..100) and ef_construction (4..1000, at least 2 m).
void check_hnsw_options(const PgVideoIndex::HnswOptions& hnsw) {
  if (hnsw.m < 2 || hnsw.m > 100) throw PgSetupError("HNSW m must be 2 to 100, not " + std::to_string(hnsw.m));
  if (hnsw.ef_construction < 2 * hnsw.m || hnsw.ef_construction > 1000) {
    throw PgSetupError("HNSW ef_construction must be 2 m (" + std::to_string(2 * hnsw.m) + ") to 1000, not " +
                       std::to_string(hnsw.ef_construction));
  }
}

std::string hnsw_index_sql(const std::string& quoted_table, const PgVideoIndex::HnswOptions& hnsw) {
  return "CREATE INDEX ON " + quoted_table + " USING hnsw (embedding vector_cosine_ops) WITH (m = " +
         std::to_string(hnsw.m) + ", ef_construction = " + std::to_string(hnsw.ef_construction) + ")";
}

}  // namespace

PgVideoIndex PgVideoIndex::open_for_writing(const std::string& conninfo, const std::string& table,
                                            const IndexModel& model, const HnswOptions& hnsw) {
  check_hnsw_options(hnsw);
  check_index_table_name(table);
  if (model.embed_dim <= 0 || model.embed_dim > kMaxHnswDim) {
    throw PgSetupError("a PostgreSQL video index holds embeddings of 1 to " + std::to_string(kMaxHnswDim) +
                " values (pgvector's HNSW limit), not " + std::to_string(model.embed_dim));
  }
  PgVideoIndex index;
  State& s = *index.state_;
  s.db = std::make_unique<PgConnection>(conninfo);
  s.hnsw = hnsw;
  s.table = table;
  s.quoted_table = s.db->quote_identifier(table);
  PgConnection& db = *s.db;
  IndexModel recorded;
  bool found = false;
  in_transaction(db, [&] {
    // Writers starting together take turns at creating things.
    db.exec("SELECT pg_advisory_xact_lock(hashtext('dinoclip video index schema'))");
    try {
      db.exec("CREATE EXTENSION IF NOT EXISTS vector");
    } catch (const Error& e) {
      if (!db.ok()) throw;  // the connection went, not pgvector
      throw PgSetupError(s.where() + ": pgvector is not available (" + e.what() +
                  "); install pgvector >= 0.5 on the server "
                  "and run CREATE EXTENSION vector in this database (or let this user do so)");
    }
    const std::string version = db.exec("SELECT extversion FROM pg_extension WHERE extname = 'vector'").text(0, 0);
    if (!version_at_least(version, kMinPgvector)) {
      throw PgSetupError(s.where() + ": pgvector " + version +
                  " has no HNSW index; upgrade it to 0.5 or later "
                  "(ALTER EXTENSION vector UPDATE)");
    }
    db.exec(std::string("CREATE TABLE IF NOT EXISTS ") + kCatalog +
            " (table_name text PRIMARY KEY, model text NOT NULL, weights text NOT NULL, embed_dim integer NOT NULL, "
            "fingerprint real[] NOT NULL, created_at timestamptz NOT NULL DEFAULT now())");
    found = read_catalog_model(db, table, recorded);
    if (found) return;  // checked below, outside the transaction
    if (db.exec("SELECT to_regclass($1) IS NOT NULL", {s.quoted_table}).text(0, 0) == "t") {
      throw PgSetupError(s.where() + ": a table of that name exists and is not a dinoclip video index (no entry in " +
                  kCatalog + "); give another --table");
    }
    const std::string dim = std::to_string(model.embed_dim);
    db.exec("CREATE TABLE " + s.quoted_table +
            " (id bigserial PRIMARY KEY, video text NOT NULL, source_id text NOT NULL DEFAULT '', "
            "time_ns bigint NOT NULL, pts_ns bigint NOT NULL, frame bigint NOT NULL, "
            "inserted_at timestamptz NOT NULL DEFAULT now(), embedding vector(" +
            dim + ") NOT NULL)");
    if (model.embed_dim <= kMaxInlineDim) {
      // Rows in the table itself: a 512-d vector (2 KB) is just above the
      // size PostgreSQL moves out of line (TOAST), and every exact-search row
      // and every insert would then read and write a second table.
      db.exec("ALTER TABLE " + s.quoted_table + " ALTER COLUMN embedding SET STORAGE PLAIN");
    }
    db.exec("CREATE INDEX ON " + s.quoted_table + " (video)");
    db.exec(hnsw_index_sql(s.quoted_table, hnsw));
    db.exec(std::string("INSERT INTO ") + kCatalog +
                " (table_name, model, weights, embed_dim, fingerprint) VALUES ($1, $2, $3, $4, $5)",
            {table, model.name, model.weights, std::to_string(model.embed_dim),
             vector_text(model.fingerprint.data(), int64_t(model.fingerprint.size()), '{', '}')});
  });
  if (found) {
    try {
      recorded.check_same_as(model, s.where());
    } catch (const PgSetupError&) {
      throw;
    } catch (const Error& e) {
      throw PgSetupError(e.what());  // another model's table: no retry mends that
    }
    check_table_matches(db, s.quoted_table, recorded, s.where());
  }
  s.model = found ? recorded : model;
  return index;
}

PgVideoIndex PgVideoIndex::open_for_search(const std::string& conninfo, const std::string& table) {
  check_index_table_name(table);
  PgVideoIndex index;
  State& s = *index.state_;
  s.db = std::make_unique<PgConnection>(conninfo);
  s.table = table;
  s.quoted_table = s.db->quote_identifier(table);
  if (!read_catalog_model(*s.db, table, s.model)) {
    throw Error(s.where() + ": no dinoclip video index there; make one with `dinoclip index VIDEO... --out " +
                describe_postgres_address(conninfo) + (table == kDefaultTable ? "" : " --table " + table) + "`");
  }
  check_table_matches(*s.db, s.quoted_table, s.model, s.where());
  return index;
}

const IndexModel& PgVideoIndex::model() const { return state_->model; }
std::string PgVideoIndex::describe() const { return state_->where(); }

bool PgVideoIndex::has_video(const std::string& video) {
  return state_->db->exec("SELECT 1 FROM " + state_->quoted_table + " WHERE video = $1 LIMIT 1", {video}).rows() > 0;
}

bool PgVideoIndex::has_frame(const PgFrameRow& row) {
  return state_->db
             ->exec("SELECT 1 FROM " + state_->quoted_table +
                        " WHERE video = $1 AND source_id = $2 AND frame = $3 AND pts_ns = $4 LIMIT 1",
                    {row.video, row.source_id, std::to_string(row.frame), std::to_string(row.pts_ns)})
             .rows() > 0;
}

namespace {

// The names of `table`'s HNSW indexes.
std::vector<std::string> hnsw_indexes(PgConnection& db, const std::string& quoted_table) {
  const PgResult found = db.exec(
      "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam "
      "WHERE i.indrelid = to_regclass($1) AND a.amname = 'hnsw'",
      {quoted_table});
  std::vector<std::string> names;
  for (int r = 0; r < found.rows(); ++r) names.push_back(found.text(r, 0));
  return names;
}

}  // namespace

bool PgVideoIndex::has_ann_index() { return !hnsw_indexes(*state_->db, state_->quoted_table).empty(); }

bool PgVideoIndex::drop_ann_index() {
  State& s = *state_;
  bool dropped = false;
  in_transaction(*s.db, [&] {
    s.db->exec("SELECT pg_advisory_xact_lock(hashtext($1), hashtext('hnsw'))", {s.table});
    for (const std::string& name : hnsw_indexes(*s.db, s.quoted_table)) {
      s.db->exec("DROP INDEX IF EXISTS " + s.db->quote_identifier(name));
      dropped = true;
    }
  });
  return dropped;
}

void PgVideoIndex::build_ann_index() {
  State& s = *state_;
  // In memory and with a parallel worker where the server allows (pgvector >= 0.6 builds in parallel).
  s.db->exec("SET maintenance_work_mem = " + s.db->quote_literal(s.hnsw.build_memory));
  s.db->exec("SET max_parallel_maintenance_workers = 1");
  in_transaction(*s.db, [&] {
    // Two loaders finishing together: one builds, the other then finds it built.
    s.db->exec("SELECT pg_advisory_xact_lock(hashtext($1), hashtext('hnsw'))", {s.table});
    if (hnsw_indexes(*s.db, s.quoted_table).empty()) s.db->exec(hnsw_index_sql(s.quoted_table, s.hnsw));
  });
  s.db->exec("RESET maintenance_work_mem");
  s.db->exec("RESET max_parallel_maintenance_workers");
}

int64_t PgVideoIndex::frame_count() {
  return state_->db->exec("SELECT count(*) FROM " + state_->quoted_table).int64(0, 0);
}

int64_t PgVideoIndex::video_count() {
  return state_->db->exec("SELECT count(DISTINCT video) FROM " + state_->quoted_table).int64(0, 0);
}

namespace {

// Unit rows, float32, contiguous on the CPU; throws on a wrong shape or a zero row.
at::Tensor unit_rows(const at::Tensor& embeddings, int64_t rows, int64_t dim, const std::string& what) {
  if (!embeddings.defined() || embeddings.dim() != 2 || embeddings.size(0) != rows || embeddings.size(1) != dim) {
    throw Error(what + ": " + std::to_string(rows) + " frames need embeddings [" + std::to_string(rows) + ", " +
                std::to_string(dim) + "], got " +
                (embeddings.defined() ? c10::str(embeddings.sizes()) : std::string("none")));
  }
  return l2_normalize_rows(embeddings.to(at::kCPU, at::kFloat), what).contiguous();
}

const char* kCopyColumns = " (video, source_id, time_ns, pts_ns, frame, embedding) FROM STDIN (FORMAT binary)";

}  // namespace

void PgVideoIndex::replace_video(const std::string& video, const std::string& source_id,
                                 const std::vector<VideoIndex::FrameStamp>& stamps, const at::Tensor& embeddings) {
  State& s = *state_;
  if (stamps.empty()) throw Error(video + ": no frames to index (is the video empty?)");
  const int64_t dim = s.model.embed_dim;
  const at::Tensor unit = unit_rows(embeddings, int64_t(stamps.size()), dim, video);
  const float* data = unit.data_ptr<float>();
  in_transaction(*s.db, [&] {
    // Two writers of one video: the second waits, then deletes the first's rows.
    s.db->exec("SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))", {s.table, video});
    s.db->exec("DELETE FROM " + s.quoted_table + " WHERE video = $1", {video});
    for (size_t first = 0; first < stamps.size(); first += kCopyRows) {
      PgCopyBuffer copy;
      for (size_t i = first; i < std::min(stamps.size(), first + kCopyRows); ++i) {
        copy.begin_row(6);
        copy.add_text(video);
        copy.add_text(source_id);
        copy.add_int64(stamps[i].time_ns);
        copy.add_int64(stamps[i].pts_ns);
        copy.add_int64(stamps[i].frame);
        copy.add_vector(data + int64_t(i) * dim, int(dim));
      }
      s.db->copy_in("COPY " + s.quoted_table + kCopyColumns, copy.finish());
    }
  });
}

void PgVideoIndex::append_frames(const std::vector<PgFrameRow>& rows) {
  State& s = *state_;
  if (rows.empty()) return;
  const int64_t dim = s.model.embed_dim;
  at::Tensor stacked = at::empty({int64_t(rows.size()), dim});
  for (size_t i = 0; i < rows.size(); ++i) {
    if (int64_t(rows[i].embedding.size()) != dim) {
      throw Error(rows[i].video + ": an embedding of " + std::to_string(rows[i].embedding.size()) +
                  " values cannot join " + s.where() + " (" + std::to_string(dim) + " values, " + s.model.name + ")");
    }
    std::copy(rows[i].embedding.begin(), rows[i].embedding.end(), stacked.data_ptr<float>() + int64_t(i) * dim);
  }
  const at::Tensor unit = l2_normalize_rows(stacked, "frame embeddings").contiguous();
  const float* data = unit.data_ptr<float>();
  in_transaction(*s.db, [&] {
    for (size_t first = 0; first < rows.size(); first += kCopyRows) {
      PgCopyBuffer copy;
      for (size_t i = first; i < std::min(rows.size(), first + kCopyRows); ++i) {
        copy.begin_row(6);
        copy.add_text(rows[i].video);
        copy.add_text(rows[i].source_id);
        copy.add_int64(rows[i].time_ns);
        copy.add_int64(rows[i].pts_ns);
        copy.add_int64(rows[i].frame);
        copy.add_vector(data + int64_t(i) * dim, int(dim));
      }
      s.db->copy_in("COPY " + s.quoted_table + kCopyColumns, copy.finish());
    }
  });
}

std::vector<IndexHit> PgVideoIndex::search(const at::Tensor& query, int64_t k, bool exact, int ef_search) {
  State& s = *state_;
  if (k < 1) throw Error("search: k must be at least 1");
  if (ef_search < 1 || ef_search > 1000) throw Error("search: ef_search must be 1 to 1000 (pgvector's range)");
  const at::Tensor q = query.to(at::kCPU, at::kFloat).reshape({-1}).contiguous();
  if (q.numel() != s.model.embed_dim) {
    throw Error(s.where() + ": a query of " + std::to_string(q.numel()) + " values cannot search embeddings of " +
                std::to_string(s.model.embed_dim));
  }
  const at::Tensor unit = l2_normalize_rows(q.unsqueeze(0), "query embedding")[0].contiguous();
  std::vector<IndexHit> hits;
  in_transaction(*s.db, [&] {
    if (exact) {
      // Without index scans the planner scores every row (a sequential scan and a top-k sort).
      s.db->exec("SET LOCAL enable_indexscan = off");
      s.db->exec("SET LOCAL enable_bitmapscan = off");
    } else {
      s.db->exec("SET LOCAL hnsw.ef_search = " + std::to_string(ef_search));
    }
    const PgResult rows =
        s.db->exec("SELECT video, source_id, time_ns, pts_ns, frame, 1 - (embedding <=> $1::vector) FROM " +
                       s.quoted_table + " ORDER BY embedding <=> $1::vector LIMIT $2",
                   {vector_text(unit.data_ptr<float>(), unit.numel()), std::to_string(k)});
    for (int r = 0; r < rows.rows(); ++r) {
      hits.push_back({rows.text(r, 0), rows.text(r, 1), rows.int64(r, 2), rows.int64(r, 3), rows.int64(r, 4),
                      float(rows.real(r, 5))});
    }
  });
  return hits;
}

}  // namespace dinoclip
