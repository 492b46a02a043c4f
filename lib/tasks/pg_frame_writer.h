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
    // false: the constructor connects (and throws); true: the writing thread
    // does, so a caller that must not wait (a video pipeline) never does.
    bool connect_in_background = false;
  };

  // Connects and opens the table at once, so a wrong address, password or
  // model fails here with the index's message (naming the address); then
  // starts the writing thread. Throws dinoclip::Error. With
  // connect_in_background only the options are checked here.
  explicit PgFrameWriter(Options options);
  // close(), then gone.
  ~PgFrameWriter();
  // Writes what is queued for up to `drain` (the server willing), then stops
  // the thread; what is left is counted as dropped, and later pushes too.
  // The counters keep their final values. Idempotent.
  void close();
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
  // Set once a failure no retry mends (PgSetupError: wrong password, not
  // PostgreSQL, another model's or size's table): the writer then stops,
  // and every frame queued or pushed after counts as dropped.
  std::string fatal_error() const;

  std::chrono::milliseconds drain{2000};  // how long the destructor writes on

 private:
  void run();
  bool write_batch(std::vector<PgFrameRow>& batch);
  void give_up(const std::string& why);

  Options options_;
  std::unique_ptr<PgVideoIndex> index_;  // the writing thread's; null while disconnected
  mutable std::mutex mutex_;
  std::condition_variable wake_, idle_;
  std::deque<PgFrameRow> queue_;
  size_t in_flight_ = 0;  // taken from the queue, not yet written
  bool stopping_ = false;
  std::string last_error_, fatal_error_;
  std::atomic<uint64_t> written_{0}, dropped_{0}, reconnects_{0};
  std::atomic<bool> connected_{false};
  bool ever_connected_ = false;  // the writing thread's (a later connection is a reconnect)
  std::thread thread_;
};

}  // namespace dinoclip
