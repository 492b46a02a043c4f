// The video index in a PostgreSQL table with pgvector: the shared index that
// indexers on many machines and live pipelines write to, searched with an
// HNSW index (cosine distance) or exactly.
//
// One table per model: TABLE holds
//   id bigserial, video text, source_id text, time_ns, pts_ns, frame bigint,
//   inserted_at timestamptz, embedding vector(D)   (unit rows)
// with an HNSW index on embedding (vector_cosine_ops) and a b-tree on video.
// The table dinoclip_index_models records which model made each table (name,
// weights, size, fingerprint, as the folder index's manifest does): writing
// or searching with another model is refused, so embedding spaces never mix.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tasks/video_index.h"

namespace dinoclip {

class PgConnection;

// One frame row as the live path writes it (a stream's frame, not a file's).
struct PgFrameRow {
  std::string video;      // the stream's URI or name
  std::string source_id;  // which pipeline/camera wrote it
  int64_t time_ns = 0;    // stream time
  int64_t pts_ns = 0;
  int64_t frame = 0;
  std::vector<float> embedding;  // [D], normalised on write
};

// One search result, whichever store answered it.
struct IndexHit {
  std::string video;
  std::string source_id;  // "" for files indexed by `dinoclip index`
  int64_t time_ns = 0;
  int64_t pts_ns = 0;
  int64_t frame = 0;
  float score = 0;  // cosine similarity
};

// The HNSW graph's shape (pgvector's `m` and `ef_construction`), fixed when
// the index is built: more of either finds more of the true neighbours
// and costs build time (docs/search.md has measurements).
struct PgHnswOptions {
  int m = 16;
  int ef_construction = 64;
  // maintenance_work_mem for a build: a graph that fits is built in memory
  // (many times faster); 1M 512-d rows take about 2.5 GB.
  std::string build_memory = "1GB";
};

class PgVideoIndex {
 public:
  static constexpr const char* kDefaultTable = "dinoclip_frames";
  // HNSW candidate list at query time (pgvector's hnsw.ef_search). Its
  // default, 40, found 47% of the true top-10 of 1M frames in
  // tests/bench/bench_pg_index; 400 found 96.4% at p50 8 ms, p99 14 ms on a
  // loaded 2-core machine (docs/search.md).
  static constexpr int kDefaultEfSearch = 400;

  using HnswOptions = PgHnswOptions;

  // Connects to `conninfo` and opens `table` for writing `model`'s
  // embeddings: creates the pgvector extension, the table, its indexes and
  // its catalog entry when absent (several writers starting at once take
  // turns). Throws dinoclip::Error naming the address and the table when the
  // server cannot be reached, pgvector is missing or older than 0.5, the
  // table is another model's or of another size, or is not a dinoclip index.
  // `hnsw` shapes the index of a table created here (an existing one keeps its own).
  static PgVideoIndex open_for_writing(const std::string& conninfo, const std::string& table, const IndexModel& model,
                                       const HnswOptions& hnsw = {});
  // Connects and reads the table's model; throws when there is no such index.
  static PgVideoIndex open_for_search(const std::string& conninfo, const std::string& table);

  const IndexModel& model() const;
  std::string describe() const;  // "postgresql://me@host:5432/db, table frames"

  bool has_video(const std::string& video);
  int64_t frame_count();
  int64_t video_count();

  // Replaces every row of `video` by these, in one transaction: a reader sees
  // the old rows or the new ones, never a mix; a failure (or a server killed
  // mid-write) leaves the old rows. Writers of the same video take turns.
  void replace_video(const std::string& video, const std::string& source_id,
                     const std::vector<VideoIndex::FrameStamp>& stamps, const at::Tensor& embeddings);
  // Adds rows (a live stream's frames) in one transaction.
  void append_frames(const std::vector<PgFrameRow>& rows);
  // Whether a row of that video, source, frame number and timestamp is there.
  bool has_frame(const PgFrameRow& row);

  // Bulk loading, pgvector's advice for many rows: drop the HNSW index, COPY
  // the rows in (each then costs a write, not a graph insertion: ~50x
  // faster), build the index once. Searches meanwhile score every row.
  // drop_ann_index() says whether there was one; build_ann_index() makes it
  // (with the options given at open, in parallel, in build_memory) unless
  // there is one.
  bool drop_ann_index();
  bool has_ann_index();
  void build_ann_index();

  // The k frames closest to `query` [D] by cosine, best first: through the
  // HNSW index (approximate; `ef_search` candidates), or by scoring every row
  // when `exact`.
  std::vector<IndexHit> search(const at::Tensor& query, int64_t k, bool exact, int ef_search = kDefaultEfSearch);

  PgVideoIndex(PgVideoIndex&&) noexcept;
  PgVideoIndex& operator=(PgVideoIndex&&) noexcept;
  ~PgVideoIndex();

 private:
  PgVideoIndex();
  struct State;
  std::unique_ptr<State> state_;
};

// Throws dinoclip::Error unless `table` is a plain SQL name (letters, digits,
// underscores; not starting with a digit; at most 63 bytes).
void check_index_table_name(const std::string& table);

}  // namespace dinoclip
