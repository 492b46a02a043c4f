// The PostgreSQL video index (PgVideoIndex, and the folder/PostgreSQL
// interface the CLI uses) against a real PostgreSQL with pgvector started
// here on a free 127.0.0.1 port (scripts/pgserver.sh unpacks it): the same
// answers as the folder index, re-indexing replacing rows, refused models,
// names with SQL in them, 8 writers at once, and what users meet when the
// server is down, killed mid-write, the password is wrong, or the address is
// not PostgreSQL.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <thread>

#include "core/error.h"
#include "io/postgres.h"
#include "pg_server.h"
#include "tasks/pg_frame_writer.h"
#include "tasks/pg_video_index.h"
#include "tasks/video_index_store.h"
#include "test_support.h"

using namespace dinoclip;
using dinoclip::testing::message_of;
using dinoclip::testing::PgServer;
namespace fs = std::filesystem;

namespace {

constexpr int64_t kDim = 32;
constexpr const char* kDatabase = "videos";

IndexModel test_model(int64_t dim = kDim, float first = 0.5f) {
  IndexModel model;
  model.name = "CLIP test (64 px, embed " + std::to_string(dim) + ")";
  model.weights = "/models/test-" + std::to_string(dim) + ".pt";
  model.embed_dim = dim;
  model.fingerprint.assign(8, 0.25f);
  model.fingerprint[0] = first;
  return model;
}

std::vector<VideoIndex::FrameStamp> stamps(int n, int64_t first_frame = 0) {
  std::vector<VideoIndex::FrameStamp> out;
  for (int i = 0; i < n; ++i) {
    const int64_t frame = first_frame + i * 25;
    out.push_back({frame * 40000000, frame * 40000000 + 80000000, frame});
  }
  return out;
}

at::Tensor random_rows(int64_t n, int64_t dim, uint64_t seed) {
  at::Generator generator = at::detail::createCPUGenerator(seed);
  return at::randn({n, dim}, generator);
}

class PgIndex : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const dinoclip::testing::SuiteServer suite = dinoclip::testing::start_suite_server(kDatabase);
    server_ = suite.server;
    *skip_ = suite.problem;
    *failed_to_start_ = suite.failed;
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  void SetUp() override {
    if (*failed_to_start_) FAIL() << *skip_;
    if (!skip_->empty()) {
      if (dinoclip::testing::running_in_ci()) FAIL() << *skip_ << " (CI=true)";
      GTEST_SKIP() << *skip_;
    }
    if (!server_->running()) server_->start();  // after a test that stopped it
    // One table per test, named after it.
    table_ = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    for (char& c : table_) c = char(std::tolower(static_cast<unsigned char>(c)));
    table_ = table_.substr(0, 60);
  }

  std::string uri() const { return server_->uri(kDatabase); }
  std::string sql(const std::string& statement) const { return server_->psql(kDatabase, statement); }
  int64_t count(const std::string& where = "true") const {
    return std::stoll(sql("SELECT count(*) FROM " + table_ + " WHERE " + where));
  }

  static PgServer* server_;
  static std::string* skip_;
  static bool* failed_to_start_;
  std::string table_;
};

PgServer* PgIndex::server_ = nullptr;
std::string* PgIndex::skip_ = new std::string;
bool* PgIndex::failed_to_start_ = new bool(false);

TEST_F(PgIndex, SearchesExactlyAsTheFolderIndexAndHnswFindsTheSameFrames) {
  const std::string folder = dinoclip::testing::temp_dir() + "/folder-index";
  auto pg = open_index_for_writing(uri(), table_, test_model());
  auto local = open_index_for_writing(folder, "", test_model());
  const std::vector<std::string> videos = {"/v/beach.mp4", "/v/harbour.mkv", "file:///v/market.webm"};
  for (size_t v = 0; v < videos.size(); ++v) {
    const at::Tensor rows = random_rows(40 + 10 * int64_t(v), kDim, 7 + v);
    pg->put_video({videos[v], "every 1s"}, stamps(int(rows.size(0)), int64_t(v)), rows);
    local->put_video({videos[v], "every 1s"}, stamps(int(rows.size(0)), int64_t(v)), rows);
  }
  pg->commit();
  local->commit();
  EXPECT_EQ(pg->frame_count(), 40 + 50 + 60);
  EXPECT_EQ(pg->video_count(), 3);

  auto pg_search = open_index_for_search(uri(), table_);
  auto local_search = open_index_for_search(folder, "");
  int agreeing = 0, compared = 0;
  for (int q = 0; q < 8; ++q) {
    const at::Tensor query = random_rows(1, kDim, 100 + q)[0] * 3;  // any length: search normalises
    const auto expected = local_search->search(query, 10, {});
    IndexSearchOptions exact;
    exact.exact = true;
    const auto found = pg_search->search(query, 10, exact);
    ASSERT_EQ(found.size(), expected.size());
    for (size_t i = 0; i < found.size(); ++i) {
      EXPECT_EQ(found[i].video, expected[i].video) << "query " << q << " rank " << i;
      EXPECT_EQ(found[i].frame, expected[i].frame) << "query " << q << " rank " << i;
      EXPECT_EQ(found[i].time_ns, expected[i].time_ns);
      EXPECT_EQ(found[i].pts_ns, expected[i].pts_ns);
      // pgvector scores in float32 like the folder's product, in another order of sums.
      EXPECT_NEAR(found[i].score, expected[i].score, 1e-5) << "query " << q << " rank " << i;
    }
    // HNSW over 150 rows with 100 candidates: the same frames (recall 1 here).
    std::set<std::pair<std::string, int64_t>> want;
    for (const auto& hit : expected) want.insert({hit.video, hit.frame});
    for (const auto& hit : pg_search->search(query, 10, {})) {
      agreeing += int(want.count({hit.video, hit.frame}));
      ++compared;
    }
  }
  EXPECT_EQ(agreeing, compared);
}

// `dinoclip index` into an empty table: the HNSW index dropped for the load and
// built once after, with the graph shape asked for; searches work throughout.
TEST_F(PgIndex, ABulkLoadDropsTheHnswIndexAndBuildsItOnceWithTheShapeAskedFor) {
  PgVideoIndex::HnswOptions hnsw;
  hnsw.m = 8;
  hnsw.ef_construction = 40;
  hnsw.build_memory = "64MB";
  auto index = open_index_for_writing(uri(), table_, test_model(), hnsw);
  const std::string indexdef = "SELECT indexdef FROM pg_indexes WHERE tablename = '" + table_ + "' AND indexdef LIKE '%USING hnsw%'";
  EXPECT_NE(sql(indexdef).find("WITH (m='8', ef_construction='40')"), std::string::npos) << sql(indexdef);
  index->start_bulk_load();
  EXPECT_EQ(sql(indexdef), "");
  const at::Tensor rows = random_rows(300, kDim, 11);
  index->put_video({"/v/long.mp4", ""}, stamps(300), rows);
  auto searcher = open_index_for_search(uri(), table_);
  const at::Tensor query = rows[17];
  EXPECT_EQ(searcher->search(query, 1, {}).at(0).frame, 17 * 25) << "without the HNSW index: a full scan";
  index->finish_bulk_load();
  index->finish_bulk_load();  // a second finish (another loader) finds it built
  EXPECT_NE(sql(indexdef).find("WITH (m='8', ef_construction='40')"), std::string::npos) << sql(indexdef);
  EXPECT_EQ(sql("SELECT count(*) FROM pg_indexes WHERE tablename = '" + table_ + "' AND indexdef LIKE '%USING hnsw%'"), "1\n");
  EXPECT_EQ(searcher->search(query, 1, {}).at(0).frame, 17 * 25) << "through the rebuilt index";
  // Shapes pgvector would refuse are refused before anything is made.
  for (auto [m, ef] : {std::pair{1, 64}, std::pair{16, 20}, std::pair{101, 400}}) {
    PgVideoIndex::HnswOptions bad;
    bad.m = m;
    bad.ef_construction = ef;
    const std::string message = message_of([&] { open_index_for_writing(uri(), table_.substr(0, 40) + "_bad", test_model(), bad); });
    EXPECT_NE(message.find("HNSW"), std::string::npos) << message;
  }
  EXPECT_EQ(sql("SELECT to_regclass('" + table_.substr(0, 40) + "_bad') IS NULL"), "t\n");
}

TEST_F(PgIndex, ReindexingAVideoReplacesItsRowsAndLeavesOthers) {
  auto index = open_index_for_writing(uri(), table_, test_model());
  index->put_video({"/v/a.mp4", ""}, stamps(10), random_rows(10, kDim, 1));
  index->put_video({"/v/b.mp4", ""}, stamps(4), random_rows(4, kDim, 2));
  index->put_video({"/v/a.mp4", ""}, stamps(7, /*first_frame=*/1), random_rows(7, kDim, 3));
  EXPECT_EQ(count("video = '/v/a.mp4'"), 7);
  EXPECT_EQ(count("video = '/v/a.mp4' AND frame % 25 = 1"), 7);  // the new rows only
  EXPECT_EQ(count("video = '/v/b.mp4'"), 4);
  // The rows are what the user asked for: unit vectors, now() stamps, '' as the source of a file.
  EXPECT_EQ(sql("SELECT count(*) FROM " + table_ + " WHERE abs(vector_norm(embedding) - 1) > 1e-5"), "0\n");
  EXPECT_EQ(sql("SELECT count(*) FROM " + table_ + " WHERE inserted_at > now() - interval '1 hour' AND source_id = ''"),
            "11\n");
  EXPECT_EQ(sql("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = '" + table_ +
                "'::regclass AND attname = 'embedding'"),
            "vector(32)\n");
  EXPECT_NE(sql("SELECT indexdef FROM pg_indexes WHERE tablename = '" + table_ + "'")
                .find("hnsw (embedding vector_cosine_ops)"),
            std::string::npos);
}

TEST_F(PgIndex, RejectsAnotherModelATableOfAnotherDimensionAndForeignTables) {
  open_index_for_writing(uri(), table_, test_model())->put_video({"/v/a.mp4", ""}, stamps(3), random_rows(3, kDim, 1));
  std::string message = message_of([&] { open_index_for_writing(uri(), table_, test_model(/*dim=*/16)); });
  EXPECT_NE(message.find("cannot join an index of size 32"), std::string::npos) << message;
  EXPECT_NE(message.find("table " + table_), std::string::npos) << message;
  message = message_of([&] { open_index_for_writing(uri(), table_, test_model(kDim, /*first=*/0.9f)); });
  EXPECT_NE(message.find("are not the ones that made the index"), std::string::npos) << message;
  // Searching with another model's query size is refused too.
  auto search = open_index_for_search(uri(), table_);
  message = message_of([&] { search->search(at::ones({16}), 5, {}); });
  EXPECT_NE(message.find("a query of 16 values cannot search embeddings of 32"), std::string::npos) << message;
  // A table someone else made under that name, and one changed by hand.
  sql("CREATE TABLE their_frames (id int)");
  message = message_of([&] { open_index_for_writing(uri(), "their_frames", test_model()); });
  EXPECT_NE(message.find("exists and is not a dinoclip video index"), std::string::npos) << message;
  sql("ALTER TABLE " + table_ + " DROP COLUMN embedding");
  sql("ALTER TABLE " + table_ + " ADD COLUMN embedding vector(16)");
  message = message_of([&] { open_index_for_writing(uri(), table_, test_model()); });
  EXPECT_NE(message.find("embeddings are vector(16)"), std::string::npos) << message;
  message = message_of([&] { open_index_for_search(uri(), "no_such_index"); });
  EXPECT_NE(message.find("no dinoclip video index there"), std::string::npos) << message;
  message = message_of([&] { open_index_for_writing(uri(), "frames; DROP TABLE x", test_model()); });
  EXPECT_NE(message.find("use letters, digits and underscores"), std::string::npos) << message;
  EXPECT_EQ(count(), 3);  // nothing indexed was lost
}

TEST_F(PgIndex, VideoNamesWithQuotesAndSqlAreStoredAsGiven) {
  const std::vector<std::string> names = {
      "/v/it's.mp4",
      "/v/x'); DROP TABLE " + table_ + "; --.mp4",
      "/v/\"quoted\" \\back\\slash\ttab\nnewline.mp4",
      "/v/' OR '1'='1",
      "/v/日本語 $1 %s.mp4",
  };
  auto index = open_index_for_writing(uri(), table_, test_model());
  for (size_t i = 0; i < names.size(); ++i) {
    index->put_video({names[i], ""}, stamps(2), random_rows(2, kDim, 10 + i));
  }
  EXPECT_EQ(count(), 2 * int64_t(names.size()));  // the table is still there, every row in it
  for (const auto& name : names) EXPECT_TRUE(index->has_video(name)) << name;
  EXPECT_FALSE(index->has_video("/v/"));
  EXPECT_FALSE(index->has_video("/v/x"));
  std::set<std::string> found;
  IndexSearchOptions exact;
  exact.exact = true;
  for (const auto& hit : index->search(at::ones({kDim}), 100, exact)) found.insert(hit.video);
  EXPECT_EQ(found, std::set<std::string>(names.begin(), names.end()));
  // Re-indexing one of them replaces its rows only.
  index->put_video({names[3], ""}, stamps(5), random_rows(5, kDim, 99));
  EXPECT_EQ(count(), 2 * int64_t(names.size()) + 3);
}

TEST_F(PgIndex, EightWritersAtOnceEveryRowArrivesOnce) {
  constexpr int kWriters = 8, kVideos = 4, kRows = 30;
  std::vector<std::thread> writers;
  std::vector<std::string> errors(kWriters);
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      try {
        // Each opens the table on its own connection: the first creates it, the others wait and find it.
        auto index = open_index_for_writing(uri(), table_, test_model());
        for (int v = 0; v < kVideos; ++v) {
          index->put_video({"/cam" + std::to_string(w) + "/" + std::to_string(v) + ".mp4", ""}, stamps(kRows),
                           random_rows(kRows, kDim, uint64_t(w * 100 + v)));
        }
        // Every writer also indexes one shared video: they take turns, one copy remains.
        index->put_video({"/shared.mp4", ""}, stamps(kRows), random_rows(kRows, kDim, uint64_t(w)));
      } catch (const std::exception& e) {
        errors[size_t(w)] = e.what();
      }
    });
  }
  for (auto& t : writers) t.join();
  for (int w = 0; w < kWriters; ++w) EXPECT_EQ(errors[size_t(w)], "") << "writer " << w;
  EXPECT_EQ(count(), int64_t(kWriters * kVideos * kRows + kRows));
  EXPECT_EQ(sql("SELECT count(*) FROM (SELECT DISTINCT video, frame FROM " + table_ + ") d"),
            std::to_string(kWriters * kVideos * kRows + kRows) + "\n");
  EXPECT_EQ(count("video = '/shared.mp4'"), kRows);
}

TEST_F(PgIndex, RejectsAServerThatIsDownNamingTheAddress) {
  const int port = dinoclip::testing::free_local_port();
  const std::string address = "postgresql://dinoclip@127.0.0.1:" + std::to_string(port) + "/videos";
  for (const auto& open : std::vector<std::function<void()>>{[&] { open_index_for_writing(address, "", test_model()); },
                                                             [&] { open_index_for_search(address, ""); }}) {
    const std::string message = message_of(open);
    EXPECT_NE(message.find("postgresql://dinoclip@127.0.0.1:" + std::to_string(port) + "/videos: cannot connect"),
              std::string::npos)
        << message;
    EXPECT_NE(message.find("is PostgreSQL running there"), std::string::npos) << message;
  }
}

TEST_F(PgIndex, RejectsAWrongPasswordAndAPasswordInTheAddress) {
  const std::string good = std::getenv("PGPASSFILE");
  const std::string bad = dinoclip::testing::temp_dir() + "/wrong-pgpass";
  std::ofstream(bad) << "127.0.0.1:*:*:dinoclip:not-the-password\n";
  fs::permissions(bad, fs::perms::owner_read | fs::perms::owner_write);
  ::setenv("PGPASSFILE", bad.c_str(), 1);
  std::string message = message_of([&] { open_index_for_search(uri(), ""); });
  ::setenv("PGPASSFILE", good.c_str(), 1);
  EXPECT_NE(message.find("password authentication failed for user \"dinoclip\""), std::string::npos) << message;
  EXPECT_NE(message.find("$PGPASSWORD or ~/.pgpass"), std::string::npos) << message;
  EXPECT_NE(message.find("127.0.0.1:" + std::to_string(server_->port())), std::string::npos) << message;

  const std::string with_password =
      "postgresql://dinoclip:hunter2@127.0.0.1:" + std::to_string(server_->port()) + "/videos";
  message = message_of([&] { open_index_for_writing(with_password, "", test_model()); });
  EXPECT_NE(message.find("the address carries a password"), std::string::npos) << message;
  EXPECT_EQ(message.find("hunter2"), std::string::npos) << "a message repeated the password: " << message;
  // libpq's keyword form, which the library takes too (the CLI takes URIs).
  message = message_of([&] { PgVideoIndex::open_for_search("host=127.0.0.1 password=hunter2 dbname=videos", "t"); });
  EXPECT_NE(message.find("the address carries a password"), std::string::npos) << message;
  EXPECT_EQ(message.find("hunter2"), std::string::npos) << message;
}

TEST_F(PgIndex, RejectsAddressesThatAreNotPostgres) {
  std::string message = message_of([&] { open_index_for_search("http://127.0.0.1:8080/videos", ""); });
  EXPECT_NE(message.find("not a PostgreSQL address (http://)"), std::string::npos) << message;
  message = message_of([&] { open_index_for_search("postgresql://127.0.0.1:notaport:/x?nonsense=1", ""); });
  EXPECT_NE(message.find("not a PostgreSQL address"), std::string::npos) << message;

  // A server on that port that speaks something else (HTTP).
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof(address);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  ASSERT_EQ(::listen(listener, 4), 0);
  ASSERT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &size), 0);
  std::atomic<bool> done{false};
  std::thread http([&] {
    while (!done) {
      const int client = ::accept(listener, nullptr, nullptr);
      if (client < 0) break;
      const char reply[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
      (void)!::write(client, reply, sizeof(reply) - 1);
      ::close(client);
    }
  });
  const std::string uri_http = "postgresql://dinoclip@127.0.0.1:" + std::to_string(ntohs(address.sin_port)) + "/videos";
  message = message_of([&] { open_index_for_search(uri_http, ""); });
  done = true;
  ::shutdown(listener, SHUT_RDWR);
  ::close(listener);
  http.join();
  EXPECT_NE(message.find(uri_http + ": cannot connect"), std::string::npos) << message;
  EXPECT_NE(message.find("does not speak PostgreSQL"), std::string::npos) << message;
}

TEST_F(PgIndex, AServerKilledMidWriteKeepsEveryCommittedVideoWhole) {
  auto index = open_index_for_writing(uri(), table_, test_model());
  for (int v = 0; v < 4; ++v) {
    index->put_video({"/v/" + std::to_string(v) + ".mp4", ""}, stamps(50), random_rows(50, kDim, uint64_t(v)));
  }
  // Re-index video 0 with many rows (several COPYs into an HNSW-indexed
  // table) and kill the server while that transaction is under way.
  std::string writer_error;
  std::atomic<bool> finished{false};
  std::thread writer([&] {
    try {
      auto other = open_index_for_writing(uri(), table_, test_model());
      other->put_video({"/v/0.mp4", ""}, stamps(60000, /*first_frame=*/3), random_rows(60000, kDim, 42));
    } catch (const std::exception& e) {
      writer_error = e.what();
    }
    finished = true;
  });
  bool seen = false;
  for (int i = 0; i < 3000 && !seen && !finished; ++i) {
    seen = sql("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'COPY%' AND state = 'active'") != "0\n";
    if (!seen) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_TRUE(seen) << "the re-indexing COPY finished before it could be interrupted; give it more rows";
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  server_->kill_hard();
  writer.join();
  EXPECT_NE(writer_error.find("lost the connection"), std::string::npos) << writer_error;
  server_->start();
  // The committed videos, whole; video 0 with its old rows, none of the new ones.
  EXPECT_EQ(count(), 4 * 50);
  for (int v = 0; v < 4; ++v) EXPECT_EQ(count("video = '/v/" + std::to_string(v) + ".mp4'"), 50);
  EXPECT_EQ(count("frame % 25 = 3"), 0);
  // And the index takes writes again.
  auto after = open_index_for_writing(uri(), table_, test_model());
  after->put_video({"/v/0.mp4", ""}, stamps(5), random_rows(5, kDim, 5));
  EXPECT_EQ(count(), 3 * 50 + 5);
}

// The live path: a stream's frames queued and written from the writer's own
// thread while the server goes away and comes back.
TEST_F(PgIndex, TheFrameWriterKeepsTakingFramesWhileTheServerIsDownAndCountsDrops) {
  PgFrameWriter::Options options;
  options.conninfo = uri();
  options.table = table_;
  options.model = test_model();
  options.max_queued = 50;
  options.batch = 10;
  options.first_backoff = std::chrono::milliseconds(20);
  options.max_backoff = std::chrono::milliseconds(200);
  PgFrameWriter writer(options);
  const at::Tensor rows = random_rows(300, kDim, 3);
  int64_t frame = 0;
  auto push = [&](int n) {
    int accepted = 0;
    for (int i = 0; i < n; ++i, ++frame) {
      PgFrameRow row{"rtsp://cam-1/live", "pipeline-1", frame * 40000000, frame * 40000000 + 1000, frame, {}};
      row.embedding.assign(rows[frame].data_ptr<float>(), rows[frame].data_ptr<float>() + kDim);
      accepted += writer.push(std::move(row)) ? 1 : 0;
    }
    return accepted;
  };
  EXPECT_EQ(push(40), 40);  // within the queue's bound
  ASSERT_TRUE(writer.flush(std::chrono::seconds(20))) << writer.last_error();
  EXPECT_EQ(writer.written(), 40u);
  EXPECT_EQ(writer.dropped(), 0u);

  server_->stop();
  // Nothing is written now: the queue fills to its bound, the rest is dropped and counted.
  EXPECT_EQ(push(200), 50);
  EXPECT_EQ(writer.dropped(), 150u);
  EXPECT_FALSE(writer.flush(std::chrono::milliseconds(300)));
  EXPECT_NE(writer.last_error().find(uri().substr(0, uri().rfind('/'))), std::string::npos) << writer.last_error();
  EXPECT_FALSE(writer.connected());

  server_->start();
  ASSERT_TRUE(writer.flush(std::chrono::seconds(30))) << writer.last_error();
  EXPECT_GE(writer.reconnects(), 1u);
  EXPECT_EQ(writer.written(), 90u);
  EXPECT_EQ(push(10), 10);
  ASSERT_TRUE(writer.flush(std::chrono::seconds(20))) << writer.last_error();
  // Every accepted frame once: 40 + 50 + 10.
  EXPECT_EQ(count(), 100);
  EXPECT_EQ(sql("SELECT count(DISTINCT frame) FROM " + table_ + " WHERE source_id = 'pipeline-1'"), "100\n");
}

}  // namespace

namespace {

// The folder side of put_video: re-indexing a video replaces its rows and
// keeps every other video's rows, stamps and embeddings as they were.
TEST(FolderIndexStore, ReplacingAVideoKeepsTheOtherVideosRows) {
  const std::string dir = dinoclip::testing::temp_dir() + "/replace-folder";
  const at::Tensor a = random_rows(4, kDim, 1), b = random_rows(3, kDim, 2), c = random_rows(2, kDim, 3);
  {
    auto index = open_index_for_writing(dir, "", test_model());
    index->put_video({"/v/a.mp4", "every 1s"}, stamps(4), a);
    index->put_video({"/v/b.mp4", "every 1s"}, stamps(3), b);
    index->commit();
  }
  auto index = open_index_for_writing(dir, "", test_model());
  index->put_video({"/v/a.mp4", "every 2s"}, stamps(2, /*first_frame=*/1), c);
  index->commit();
  const VideoIndex loaded = VideoIndex::load(dir);
  ASSERT_EQ(loaded.videos().size(), 2u);
  EXPECT_EQ(loaded.videos()[0].path, "/v/b.mp4");
  EXPECT_EQ(loaded.videos()[1].path, "/v/a.mp4");
  EXPECT_EQ(loaded.videos()[1].sampling, "every 2s");
  ASSERT_EQ(loaded.size(), 5);
  for (int64_t row = 0; row < 3; ++row) {
    EXPECT_EQ(loaded.frames()[size_t(row)].video, 0);
    EXPECT_EQ(loaded.frames()[size_t(row)].frame, row * 25);
  }
  EXPECT_EQ(loaded.frames()[3].frame, 1);
  EXPECT_EQ(loaded.frames()[4].frame, 26);
  EXPECT_TENSOR_NEAR(loaded.embeddings().narrow(0, 0, 3), b / b.norm(2, 1, true), 1e-6);
  EXPECT_TENSOR_NEAR(loaded.embeddings().narrow(0, 3, 2), c / c.norm(2, 1, true), 1e-6);
  // A wrong size leaves the index as it was.
  EXPECT_THROW(index->put_video({"/v/b.mp4", ""}, stamps(2), random_rows(3, kDim, 4)), Error);
  EXPECT_EQ(index->frame_count(), 5);
  EXPECT_TRUE(index->has_video("/v/b.mp4"));
}

}  // namespace
