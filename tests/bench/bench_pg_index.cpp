// Benchmark (not a test) of the PostgreSQL video index on a private server
// (scripts/pgserver.sh): N synthetic 512-d frame embeddings (default
// 1,000,000) loaded with COPY, the HNSW index built, inserts with the index in
// place, k=10 queries through HNSW (p50/p99, recall@10 against exact search)
// and exactly, the folder index's exact search on the same rows, and 8
// writers at once. Prints one line per measurement.
//
//   meson test -C build --benchmark pg-index          (1,000,000 rows)
//   DINOCLIP_PGSERVER=$(scripts/pgserver.sh) build/tests/bench/bench_pg_index --rows 200000 \
//       [--m 16] [--ef-construction 64] [--ef-search N] [--build-memory 3GB]
//
// Each line ends with the machine's load average at that moment (timings on
// a shared machine are only comparable at similar load).
//
// The embeddings: real CLIP embeddings of video frames have a low intrinsic
// dimension and consecutive frames are alike, so each synthetic video is a
// random walk in a 32-d latent space mapped into 512-d by one fixed random
// matrix, plus isotropic noise, L2-normalised (see make_video).
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>
#include <string>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <thread>
#include <vector>

#include "pg_server.h"
#include "tasks/pg_video_index.h"
#include "tasks/retriever.h"

using namespace dinoclip;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int64_t kDim = 512, kLatent = 32, kFramesPerVideo = 1000, kTopK = 10;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

const at::Tensor& mixing() {
  static const at::Tensor matrix =
      at::randn({kLatent, kDim}, at::detail::createCPUGenerator(1)) / std::sqrt(double(kLatent));
  return matrix;
}

// Video `v`'s frames: latent u_t = 0.98 u_{t-1} + 0.2 z_t (stationary, unit
// variance), x_t = normalise(u_t A + 0.3 e_t).
at::Tensor make_video(int64_t v, int64_t frames) {
  at::Generator generator = at::detail::createCPUGenerator(1000 + uint64_t(v));
  const at::Tensor steps = at::randn({frames, kLatent}, generator) * 0.2;
  at::Tensor latent = at::empty({frames, kLatent});
  at::Tensor u = at::randn({kLatent}, generator);
  for (int64_t t = 0; t < frames; ++t) {
    u = u * 0.98 + steps[t];
    latent[t] = u;
  }
  const at::Tensor x = at::mm(latent, mixing()) + at::randn({frames, kDim}, generator) * 0.3;
  return x / x.norm(2, 1, true);
}

at::Tensor make_queries(int64_t n) {
  at::Generator generator = at::detail::createCPUGenerator(7);
  const at::Tensor x = at::mm(at::randn({n, kLatent}, generator), mixing()) + at::randn({n, kDim}, generator) * 0.3;
  return x / x.norm(2, 1, true);
}

std::vector<VideoIndex::FrameStamp> stamps(int64_t frames) {
  std::vector<VideoIndex::FrameStamp> out;
  for (int64_t t = 0; t < frames; ++t) out.push_back({t * 1000000000, t * 1000000000 + 80000000, t * 25});
  return out;
}

std::string video_name(int64_t v) { return "/cam/" + std::to_string(v) + ".mp4"; }

IndexModel bench_model() {
  IndexModel model;
  model.name = "synthetic 512-d";
  model.weights = "(none)";
  model.embed_dim = kDim;
  model.fingerprint.assign(8, 0.f);
  return model;
}

// " [load 1.23]": the 1-minute load average now.
std::string load() {
  std::ifstream in("/proc/loadavg");
  std::string one;
  in >> one;
  return " [load " + one + "]";
}

double percentile(std::vector<double> values, double p) {
  std::sort(values.begin(), values.end());
  return values[std::min(values.size() - 1, size_t(p * double(values.size())))];
}

}  // namespace

int main(int argc, char** argv) {
  int64_t rows = 1000000;
  PgVideoIndex::HnswOptions hnsw;
  hnsw.build_memory = "3GB";
  std::vector<int> ef_searches = {40, 100, 200, 400, 800};
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const char* value = i + 1 < argc ? argv[i + 1] : "";
    if (arg == "--rows") rows = std::atoll(value), ++i;
    else if (arg == "--m") hnsw.m = std::atoi(value), ++i;
    else if (arg == "--ef-construction") hnsw.ef_construction = std::atoi(value), ++i;
    else if (arg == "--build-memory") hnsw.build_memory = value, ++i;
    else if (arg == "--ef-search") ef_searches = {std::atoi(value)}, ++i;
    else if (std::isdigit(static_cast<unsigned char>(arg[0]))) rows = std::atoll(arg.c_str());
    else {
      std::fprintf(stderr,
                   "usage: bench_pg_index [--rows N] [--m M] [--ef-construction E] [--ef-search N] "
                   "[--build-memory 3GB]\n");
      return 2;
    }
  }
  const int64_t videos = std::max<int64_t>(1, rows / kFramesPerVideo);
  const std::string install = testing::PgServer::find_install();
  if (install.empty()) {
    std::fprintf(stderr, "no PostgreSQL with pgvector: run scripts/pgserver.sh first\n");
    return 1;
  }
  // Room for the HNSW build in memory, and for the index and table in shared buffers.
  testing::PgServer server(install,
                           "-c shared_buffers=3GB -c max_parallel_maintenance_workers=1 "
                           "-c max_wal_size=16GB -c checkpoint_timeout=30min");
  server.create_database("bench");
  const std::string uri = server.uri("bench");
  std::printf("server: %s", server.psql("bench", "SELECT version()").c_str());
  std::printf("rows: %lld synthetic %lld-d embeddings (%lld videos of %lld frames), %d client threads%s\n",
              (long long)(videos * kFramesPerVideo), (long long)kDim, (long long)videos, (long long)kFramesPerVideo,
              at::get_num_threads(), load().c_str());
  std::fflush(stdout);

  // 1. Bulk load as `dinoclip index` does into an empty table: the HNSW
  // index dropped first, built once after (pgvector's advice for loading).
  PgVideoIndex index = PgVideoIndex::open_for_writing(uri, "bench", bench_model(), hnsw);
  index.drop_ann_index();
  double generate_s = 0;
  auto start = Clock::now();
  for (int64_t v = 0; v < videos; ++v) {
    const auto made = Clock::now();
    const at::Tensor frames = make_video(v, kFramesPerVideo);
    generate_s += seconds_since(made);
    index.replace_video(video_name(v), "", stamps(kFramesPerVideo), frames);
  }
  const double load_s = seconds_since(start) - generate_s;
  std::printf(
      "load (binary COPY, no ANN index, one writer, one transaction per 1000-frame video): %.1f s, %.0f rows/s%s\n",
      load_s, double(videos * kFramesPerVideo) / load_s, load().c_str());
  std::fflush(stdout);
  start = Clock::now();
  index.build_ann_index();
  const double build_s = seconds_since(start);
  std::printf("HNSW build (m=%d, ef_construction=%d, maintenance_work_mem %s, 2 processes): %.1f s%s\n", hnsw.m,
              hnsw.ef_construction, hnsw.build_memory.c_str(), build_s, load().c_str());
  std::printf("bulk load + build: %.0f rows/s\n", double(videos * kFramesPerVideo) / (load_s + build_s));
  std::printf("sizes: table %s, HNSW index %s",
              server.psql("bench", "SELECT pg_size_pretty(pg_table_size('bench'))").c_str(),
              server.psql("bench",
                          "SELECT pg_size_pretty(sum(pg_relation_size(indexrelid))) FROM pg_index i JOIN pg_class c "
                          "ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam WHERE a.amname = 'hnsw'")
                  .c_str());
  std::fflush(stdout);

  // 2. Inserts with the HNSW index in place (a live system).
  constexpr int64_t kLiveVideos = 10;
  start = Clock::now();
  for (int64_t v = 0; v < kLiveVideos; ++v) {
    index.replace_video(video_name(videos + v), "", stamps(kFramesPerVideo), make_video(videos + v, kFramesPerVideo));
  }
  const double live_s = seconds_since(start);
  std::printf("insert with the HNSW index in place: %lld rows in %.1f s, %.0f rows/s (incl. generation)%s\n",
              (long long)(kLiveVideos * kFramesPerVideo), live_s, double(kLiveVideos * kFramesPerVideo) / live_s,
              load().c_str());
  std::fflush(stdout);

  // 3. Queries: exact (the reference), then HNSW at several ef_search.
  constexpr int64_t kQueries = 200, kExactQueries = 50;
  const at::Tensor queries = make_queries(kQueries);
  std::vector<std::set<std::string>> truth;
  std::vector<double> exact_ms;
  for (int64_t q = 0; q < kExactQueries; ++q) {
    start = Clock::now();
    const auto hits = index.search(queries[q], kTopK, /*exact=*/true);
    exact_ms.push_back(1e3 * seconds_since(start));
    std::set<std::string> ids;
    for (const auto& hit : hits) ids.insert(hit.video + "#" + std::to_string(hit.frame));
    truth.push_back(ids);
  }
  std::printf("exact search in PostgreSQL (sequential scan): p50 %.0f ms, p99 %.0f ms over %lld queries%s\n",
              percentile(exact_ms, 0.5), percentile(exact_ms, 0.99), (long long)kExactQueries, load().c_str());
  std::fflush(stdout);
  for (int ef : ef_searches) {
    std::vector<double> ms;
    double found = 0;
    index.search(queries[0], kTopK, false, ef);  // warm-up
    for (int64_t q = 0; q < kQueries; ++q) {
      start = Clock::now();
      const auto hits = index.search(queries[q], kTopK, false, ef);
      ms.push_back(1e3 * seconds_since(start));
      if (q < kExactQueries) {
        for (const auto& hit : hits)
          found += double(truth[size_t(q)].count(hit.video + "#" + std::to_string(hit.frame)));
      }
    }
    std::printf("HNSW k=%lld ef_search=%d: p50 %.2f ms, p99 %.2f ms over %lld queries; recall@10 %.3f%s\n",
                (long long)kTopK, ef, percentile(ms, 0.5), percentile(ms, 0.99), (long long)kQueries,
                found / double(kExactQueries * kTopK), load().c_str());
    std::fflush(stdout);
  }

  // 4. The folder index's exact search (one matrix-vector product) on the same rows.
  {
    const int64_t n = (videos + kLiveVideos) * kFramesPerVideo;
    at::Tensor all = at::empty({n, kDim});
    std::vector<std::string> ids;
    for (int64_t v = 0; v < videos + kLiveVideos; ++v) {
      all.narrow(0, v * kFramesPerVideo, kFramesPerVideo).copy_(make_video(v, kFramesPerVideo));
    }
    const EmbeddingIndex folder = EmbeddingIndex::from_unit_rows(all);
    std::vector<double> ms;
    double agree = 0;
    folder.search(queries[0], kTopK);
    for (int64_t q = 0; q < kExactQueries; ++q) {  // ~1 s each at 1M rows: as many as PostgreSQL's exact ones
      start = Clock::now();
      const SearchResult found = folder.search(queries[q], kTopK);
      ms.push_back(1e3 * seconds_since(start));
      for (int64_t row : found.indices) {
        agree += double(truth[size_t(q)].count(video_name(row / kFramesPerVideo) + "#" +
                                               std::to_string((row % kFramesPerVideo) * 25)));
      }
    }
    std::printf(
        "folder index exact search (EmbeddingIndex, %d threads): p50 %.1f ms, p99 %.1f ms over %lld "
        "queries; same top-10 as PostgreSQL's exact search: %.3f%s\n",
        at::get_num_threads(), percentile(ms, 0.5), percentile(ms, 0.99), (long long)kExactQueries,
        agree / double(kExactQueries * kTopK), load().c_str());
    std::fflush(stdout);
  }

  // 5. 8 writers at once into a fresh table with its HNSW index.
  {
    constexpr int kWriters = 8, kVideosEach = 10, kFrames = 250;
    std::vector<std::thread> writers;
    std::vector<std::string> errors(kWriters);
    start = Clock::now();
    for (int w = 0; w < kWriters; ++w) {
      writers.emplace_back([&, w] {
        try {
          PgVideoIndex own = PgVideoIndex::open_for_writing(uri, "bench_writers", bench_model());
          for (int v = 0; v < kVideosEach; ++v) {
            const int64_t id = 100000 + w * kVideosEach + v;
            own.replace_video(video_name(id), "writer" + std::to_string(w), stamps(kFrames), make_video(id, kFrames));
          }
        } catch (const std::exception& e) {
          errors[size_t(w)] = e.what();
        }
      });
    }
    for (auto& t : writers) t.join();
    const double s = seconds_since(start);
    for (int w = 0; w < kWriters; ++w) {
      if (!errors[size_t(w)].empty()) std::printf("writer %d failed: %s\n", w, errors[size_t(w)].c_str());
    }
    const std::string total = server.psql("bench", "SELECT count(*) FROM bench_writers");
    const std::string distinct =
        server.psql("bench", "SELECT count(*) FROM (SELECT DISTINCT video, frame FROM bench_writers) d");
    std::printf(
        "8 writers at once (HNSW in place): %d rows expected, %lld stored, %lld distinct, %.1f s (%.0f rows/s)%s\n",
        kWriters * kVideosEach * kFrames, std::atoll(total.c_str()), std::atoll(distinct.c_str()), s,
        double(kWriters * kVideosEach * kFrames) / s, load().c_str());
  }
  return 0;
}
