// Writes a live stream's frame embeddings into a PostgreSQL video index from
// its own thread, so the video never waits for the database: push() only
// queues (a bounded queue; a frame that finds it full is dropped and
// counted), the thread writes batches (one transaction each), and a server
// that goes away is reconnected with back-off while frames keep arriving.
// A batch that failed is written again after reconnecting unless it is found
// to have committed, so no frame is stored twice.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "tasks/pg_video_index.h"

namespace dinoclip {

class PgFrameWriter {
 public:
  struct Options {
    std::string conninfo;
    std::string table = PgVideoIndex::kDefaultTable;
    IndexModel model;          // the model that made the embeddings (checked against the table's)
    size_t max_queued = 1024;  // frames waiting; more are dropped
    size_t batch = 64;         // frames per transaction at most
    std::chrono::milliseconds first_backoff{200};
    std::chrono::milliseconds max_backoff{10000};
  };

  // Connects and opens the table at once, so a wrong address, password or
  // model fails here with the index's message (naming the address); then
  // starts the writing thread. Throws dinoclip::Error.
  explicit PgFrameWriter(Options options);
  // Writes what is queued for up to `drain` (the server willing), then stops;
  // what is left is counted as dropped.
  ~PgFrameWriter();
  PgFrameWriter(const PgFrameWriter&) = delete;
  PgFrameWriter& operator=(const PgFrameWriter&) = delete;

  // Queues one frame; false (and dropped() grows) when the queue is full. Never blocks on the server.
  bool push(PgFrameRow row);

  // Waits until everything queued so far is written (true) or `timeout` passes (false).
  bool flush(std::chrono::milliseconds timeout);

  uint64_t written() const { return written_; }
  uint64_t dropped() const { return dropped_; }
  uint64_t reconnects() const { return reconnects_; }
  bool connected() const { return connected_; }
  std::string last_error() const;

  std::chrono::milliseconds drain{2000};  // how long the destructor writes on

 private:
  void run();
  bool write_batch(std::vector<PgFrameRow>& batch);

  Options options_;
  std::unique_ptr<PgVideoIndex> index_;  // the writing thread's; null while disconnected
  mutable std::mutex mutex_;
  std::condition_variable wake_, idle_;
  std::deque<PgFrameRow> queue_;
  size_t in_flight_ = 0;  // taken from the queue, not yet written
  bool stopping_ = false;
  std::string last_error_;
  std::atomic<uint64_t> written_{0}, dropped_{0}, reconnects_{0};
  std::atomic<bool> connected_{false};
  std::thread thread_;
};

}  // namespace dinoclip
