// Where `dinoclip index` writes and `dinoclip search-index` reads, behind one
// interface: a folder (VideoIndex, the embedded default: one person's
// videos, exact search) or a PostgreSQL table with pgvector (PgVideoIndex:
// many writers, HNSW search). The location says which: postgresql://... or
// postgres://... is a server, anything else with "://" is refused, the rest
// is a folder. The CLI and the elements call these functions, so the same
// location gets the same answer and the same error whichever way a user
// comes in.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tasks/pg_video_index.h"
#include "tasks/video_index.h"

namespace dinoclip {

struct IndexSearchOptions {
  bool exact = false;  // PostgreSQL: score every row instead of the HNSW index (the folder is always exact)
  int ef_search = PgVideoIndex::kDefaultEfSearch;
};

class VideoIndexStore {
 public:
  virtual ~VideoIndexStore() = default;

  virtual const IndexModel& model() const = 0;
  virtual std::string describe() const = 0;  // for messages: the folder, or the server and table
  virtual int64_t frame_count() = 0;
  virtual int64_t video_count() = 0;
  virtual bool has_video(const std::string& video) = 0;

  // One video's rows as one unit, replacing any rows of that video: the rows
  // are all stored or none (a folder holds them until commit(), a server
  // commits each video at once). Throws dinoclip::Error on a size mismatch.
  virtual void put_video(const IndexedVideo& video, const std::vector<VideoIndex::FrameStamp>& stamps,
                         const at::Tensor& embeddings) = 0;
  // Makes the videos put so far durable (the folder's save; a server has nothing left to do).
  virtual void commit() = 0;

  // Many rows at once: a server drops its HNSW index at the start (rows then
  // go in at COPY speed) and builds it once at the finish, which also builds
  // one found missing (a bulk load that was interrupted). A folder has
  // nothing to do.
  virtual void start_bulk_load() {}
  virtual void finish_bulk_load() {}

  // The k frames closest to `query` [E] by cosine, best first.
  virtual std::vector<IndexHit> search(const at::Tensor& query, int64_t k, const IndexSearchOptions& options) = 0;
};

// Throws dinoclip::Error for a location with "://" that is not postgresql:// or postgres://.
bool is_postgres_index(const std::string& location);

// Opens `location` for adding `model`'s embeddings: a folder is created (or
// loaded and locked against other runs; it must be new, empty or an index),
// a PostgreSQL `table` created when absent. A model other than the index's is
// refused, naming both. `table` is for PostgreSQL only ("" = the default).
// `hnsw` shapes a PostgreSQL table's index when the table is created here.
std::unique_ptr<VideoIndexStore> open_index_for_writing(const std::string& location, const std::string& table,
                                                        const IndexModel& model,
                                                        const PgVideoIndex::HnswOptions& hnsw = {});

// Opens an existing index at `location` for searching.
std::unique_ptr<VideoIndexStore> open_index_for_search(const std::string& location, const std::string& table);

}  // namespace dinoclip
