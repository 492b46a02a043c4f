// dinometapublish method=postgres against a real PostgreSQL with pgvector
// started here on a free 127.0.0.1 port (scripts/pgserver.sh; skipped with a
// message without it, failed under CI=true): buffers carrying hand-made
// classification metas with CLIP embeddings, the rows read back with psql
// and compared with the metas; the server stopped and restarted under a
// running stream; addresses, passwords and tables that cannot work.
#include <gst/dinoclip/dinoclip-meta.h>
#include <sys/stat.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "element_test_util.h"
#include "pg_server.h"
#include "tasks/pg_video_index.h"
#include "tasks/video_index.h"
#include "test_support.h"

namespace dinoclip::testing {
namespace {

constexpr int kWidth = 32, kHeight = 24;
constexpr int64_t kDim = 16;
constexpr GstClockTime kFrame = GST_SECOND / 25;
constexpr const char* kDatabase = "live";

IndexModel test_model(int64_t dim = kDim, const std::string& weights = "/models/clip-test.pt", float first = 0.5f) {
  IndexModel model;
  model.name = "CLIP test (32 px, embed " + std::to_string(dim) + ")";
  model.weights = weights;
  model.embed_dim = dim;
  model.fingerprint.assign(4, 0.5f);
  model.fingerprint[0] = first;
  return model;
}

// Frame i's embedding: exact binary fractions, not unit length (the element stores them normalised).
std::vector<gfloat> embedding_of(int index, int64_t dim = kDim) {
  std::vector<gfloat> values(size_t(dim), 0.0f);
  for (int64_t d = 0; d < dim; ++d) values[size_t(d)] = gfloat(((index * 7 + d * 3) % 11) - 5) * 0.25f;
  values[size_t(index % dim)] += 4.0f;  // never all zero
  return values;
}

struct FrameSpec {
  bool classification = true;
  bool carried = false;
  bool embedding = true;
  GstClockTime source_pts = GST_CLOCK_TIME_NONE;  // NONE: the buffer's own PTS
  int64_t dim = kDim;
  std::string model = index_model_to_json(test_model());
};

GstBuffer* frame(int index, const FrameSpec& spec = {}) {
  GstBuffer* buffer = gst_buffer_new_allocate(nullptr, gsize(kWidth) * kHeight * 3, nullptr);
  gst_buffer_memset(buffer, 0, guint8(index), gsize(kWidth) * kHeight * 3);
  GST_BUFFER_PTS(buffer) = GstClockTime(index) * kFrame;
  GST_BUFFER_DURATION(buffer) = kFrame;
  if (!spec.classification) return buffer;
  const gchar* labels[] = {"a cat", "a dog"};
  const gfloat scores[] = {0.25f, 0.75f};
  GstDinoclipClassification* c = gst_dinoclip_classification_new(labels, scores, 2, 2);
  if (spec.embedding) {
    const std::vector<gfloat> values = embedding_of(index, spec.dim);
    gst_dinoclip_classification_set_embedding(c, values.data(), guint(values.size()), spec.model.c_str());
  }
  const GstClockTime source = GST_CLOCK_TIME_IS_VALID(spec.source_pts) ? spec.source_pts : GST_BUFFER_PTS(buffer);
  gst_buffer_add_dinoclip_classification_meta_full(buffer, c, spec.carried, source);
  gst_dinoclip_classification_unref(c);
  return buffer;
}

GstPtr<GstElement> publisher_of(GstHarness* h) { return harness_element(h, "dinometapublish"); }

guint64 counter(GstHarness* h, const char* name) { return uint64_property(h, "dinometapublish", name); }

bool connected(GstHarness* h) {
  gboolean value = FALSE;
  g_object_get(publisher_of(h).get(), "connected", &value, nullptr);
  return value;
}

// Waits up to `seconds` for `done`.
template <typename Done>
bool wait_for(Done done, int seconds = 30) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

// The texts of the messages of `type` on `bus` so far.
std::vector<std::string> texts(GstBus* bus, GstMessageType type) {
  std::vector<std::string> found;
  while (GstMessage* m = gst_bus_pop_filtered(bus, type)) {
    GError* error = nullptr;
    if (type == GST_MESSAGE_WARNING) gst_message_parse_warning(m, &error, nullptr);
    if (type == GST_MESSAGE_ERROR) gst_message_parse_error(m, &error, nullptr);
    if (type == GST_MESSAGE_INFO) gst_message_parse_info(m, &error, nullptr);
    if (error) found.push_back(error->message);
    g_clear_error(&error);
    gst_message_unref(m);
  }
  return found;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string all;
  for (const std::string& line : lines) all += line + "\n";
  return all;
}

class PgPublish : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const SuiteServer suite = start_suite_server(kDatabase);
    server_ = suite.server;
    *skip_ = suite.problem;
    *failed_ = suite.failed;
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  void SetUp() override {
    if (*failed_) FAIL() << *skip_;
    if (!skip_->empty()) {
      if (running_in_ci()) FAIL() << *skip_ << " (CI=true)";
      GTEST_SKIP() << *skip_;
    }
    if (!server_->running()) server_->start();
    table_ = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    for (char& c : table_) c = char(std::tolower(static_cast<unsigned char>(c)));
    table_ = table_.substr(0, 60);
  }

  std::string uri() const { return server_->uri(kDatabase); }
  std::string sql(const std::string& statement) const { return server_->psql(kDatabase, statement); }

  // dinometapublish method=postgres in a harness with its own bus.
  Harness harness(const std::string& more = "", const std::string& address = "") {
    const std::string launch = "dinometapublish method=postgres address=\"" + (address.empty() ? uri() : address) +
                               "\" table=" + table_ + " " + more;
    Harness h(gst_harness_new_parse(launch.c_str()));
    bus_.reset(gst_bus_new());
    gst_element_set_bus(h->element, bus_.get());
    gst_harness_set_src_caps_str(h.get(), caps_string(GST_VIDEO_FORMAT_RGB, kWidth, kHeight).c_str());
    return h;
  }

  static PgServer* server_;
  static std::string* skip_;
  static bool* failed_;
  std::string table_;
  GstPtr<GstBus> bus_;
};

PgServer* PgPublish::server_ = nullptr;
std::string* PgPublish::skip_ = new std::string;
bool* PgPublish::failed_ = new bool(false);

TEST_F(PgPublish, RowsHoldTheMetasEmbeddingsWithTheStreamsIdsAndTimestamps) {
  Harness h = harness("source-id=\"camera-1's door\"");
  // A segment whose stream time starts at 10 s: rows keep the PTS and the stream time apart.
  GstSegment segment;
  gst_segment_init(&segment, GST_FORMAT_TIME);
  segment.time = 10 * GST_SECOND;
  ASSERT_TRUE(gst_harness_push_event(h.get(), gst_event_new_segment(&segment)));
  // 0-5 fresh; 6 without meta, 7 carried, 8 a classification without an embedding: skipped;
  // 9 computed on frame 8's picture (async-inference): stored with frame 8's PTS.
  for (int i = 0; i < 10; ++i) {
    FrameSpec spec;
    spec.classification = i != 6;
    spec.carried = i == 7;
    spec.embedding = i != 8;
    if (i == 9) spec.source_pts = 8 * kFrame;
    GstBuffer* in = frame(i, spec);
    const std::vector<guint8> pixels = buffer_bytes(in);
    Buffer out(gst_harness_push_and_pull(h.get(), in));
    EXPECT_EQ(buffer_bytes(out.get()), pixels) << "passthrough";
  }
  ASSERT_TRUE(wait_for([&] { return counter(h.get(), "published") == 7; })) << counter(h.get(), "published");
  EXPECT_TRUE(connected(h.get()));
  EXPECT_EQ(counter(h.get(), "skipped"), 3u);
  EXPECT_EQ(counter(h.get(), "dropped"), 0u);

  const std::string rows =
      sql("SELECT frame, pts_ns, time_ns, video, source_id, embedding::text FROM " + table_ + " ORDER BY frame");
  std::istringstream lines(rows);
  const std::vector<int> stored = {0, 1, 2, 3, 4, 5, 9};
  for (int expected : stored) {
    std::string line;
    ASSERT_TRUE(std::getline(lines, line)) << rows;
    std::vector<std::string> fields;
    std::istringstream split(line);
    for (std::string field; std::getline(split, field, '|');) fields.push_back(field);
    ASSERT_EQ(fields.size(), 6u) << line;
    const int picture = expected == 9 ? 8 : expected;  // the frame the embedding was computed on
    EXPECT_EQ(std::stoll(fields[0]), expected) << line;
    EXPECT_EQ(std::stoll(fields[1]), int64_t(picture * kFrame)) << line;
    EXPECT_EQ(std::stoll(fields[2]), int64_t(10 * GST_SECOND + picture * kFrame)) << line;
    EXPECT_EQ(fields[3], "camera-1's door");
    EXPECT_EQ(fields[4], "camera-1's door");
    // The stored vector is the meta's, normalised (float32 printed by pgvector: 1e-6).
    const std::vector<gfloat> meta = embedding_of(expected == 9 ? 9 : expected);
    double norm = 0;
    for (gfloat v : meta) norm += double(v) * v;
    norm = std::sqrt(norm);
    std::string body = fields[5].substr(1, fields[5].size() - 2);
    std::istringstream values(body);
    int64_t d = 0;
    for (std::string value; std::getline(values, value, ','); ++d) {
      ASSERT_LT(d, kDim);
      EXPECT_NEAR(std::stod(value), meta[size_t(d)] / norm, 1e-6) << "frame " << expected << " value " << d;
    }
    EXPECT_EQ(d, kDim);
  }
  gst_element_set_state(h->element, GST_STATE_NULL);
  EXPECT_EQ(counter(h.get(), "published"), 7u) << "the last run's total after stop";
  // The table is a video index `dinoclip search-index` opens: the model recorded is the meta's.
  PgVideoIndex index = PgVideoIndex::open_for_search(uri(), table_);
  EXPECT_EQ(index.model().name, test_model().name);
  EXPECT_EQ(index.frame_count(), 7);
}

TEST_F(PgPublish, KeepsFlowingWhileTheServerIsDownCountsDropsAndReconnects) {
  Harness h = harness("max-queue-size=20 source-id=cam");
  int next = 0;
  auto push = [&](int n) {
    for (int i = 0; i < n; ++i, ++next) {
      const auto start = std::chrono::steady_clock::now();
      ASSERT_EQ(gst_harness_push(h.get(), frame(next)), GST_FLOW_OK) << "frame " << next;
      gst_buffer_unref(gst_harness_pull(h.get()));
      EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1)) << "the video waited";
    }
  };
  push(10);
  ASSERT_TRUE(wait_for([&] { return counter(h.get(), "published") == 10; }));

  server_->stop();
  push(100);  // 20 queued for when it is back, 80 dropped
  EXPECT_EQ(counter(h.get(), "dropped"), 80u);
  ASSERT_TRUE(wait_for([&] { return !connected(h.get()); }));
  push(1);  // reports the outage (on the streaming thread); dropped: the queue is full
  const std::vector<std::string> warnings = texts(bus_.get(), GST_MESSAGE_WARNING);
  ASSERT_EQ(warnings.size(), 1u) << joined(warnings);
  EXPECT_NE(warnings[0].find("PostgreSQL at postgresql://dinoclip@127.0.0.1:" + std::to_string(server_->port()) +
                             "/live unreachable"),
            std::string::npos)
      << warnings[0];
  EXPECT_NE(warnings[0].find("retrying in the background"), std::string::npos) << warnings[0];
  EXPECT_EQ(counter(h.get(), "dropped"), 81u);

  server_->start();
  ASSERT_TRUE(wait_for([&] { return counter(h.get(), "published") == 30 && connected(h.get()); }))
      << counter(h.get(), "published");
  push(10);
  ASSERT_TRUE(wait_for([&] { return counter(h.get(), "published") == 40; }));
  const std::vector<std::string> infos = texts(bus_.get(), GST_MESSAGE_INFO);
  ASSERT_EQ(infos.size(), 1u) << joined(infos);
  EXPECT_NE(infos[0].find("again; 81 embeddings dropped so far"), std::string::npos) << infos[0];
  // Every accepted frame once: 10, 20 queued through the outage, 10 after.
  EXPECT_EQ(sql("SELECT count(*), count(DISTINCT frame) FROM " + table_), "40|40\n");
  EXPECT_EQ(sql("SELECT max(frame) FROM " + table_), "120\n");
  gst_element_set_state(h->element, GST_STATE_NULL);
  EXPECT_EQ(counter(h.get(), "published") + counter(h.get(), "dropped"), 121u);
}

TEST_F(PgPublish, StartsWithTheServerDownWarnsNamingTheAddressAndWritesWhenItComes) {
  // As method=mqtt: the pipeline runs, the element says so once, counts what it drops, and writes
  // what it kept once the server is there.
  server_->stop();
  Harness h = harness("max-queue-size=5");
  std::vector<std::string> warnings;
  int next = 0;
  auto push_one = [&] {
    EXPECT_EQ(gst_harness_push(h.get(), frame(next++)), GST_FLOW_OK);
    gst_buffer_unref(gst_harness_pull(h.get()));
  };
  ASSERT_TRUE(wait_for([&] {
    push_one();
    warnings = texts(bus_.get(), GST_MESSAGE_WARNING);
    return !warnings.empty();
  }));
  ASSERT_EQ(warnings.size(), 1u) << joined(warnings);
  EXPECT_NE(warnings[0].find("PostgreSQL at postgresql://dinoclip@127.0.0.1:" + std::to_string(server_->port()) +
                             "/live unreachable"),
            std::string::npos)
      << warnings[0];
  EXPECT_NE(warnings[0].find("Connection refused"), std::string::npos) << warnings[0];
  for (int i = 0; i < 10; ++i) push_one();
  EXPECT_FALSE(connected(h.get()));
  EXPECT_EQ(counter(h.get(), "published"), 0u);
  EXPECT_EQ(counter(h.get(), "dropped"), guint64(next - 5)) << "5 kept for later";

  server_->start();
  ASSERT_TRUE(wait_for([&] { return counter(h.get(), "published") == 5 && connected(h.get()); }));
  EXPECT_EQ(sql("SELECT count(*), min(frame), max(frame) FROM " + table_), "5|0|4\n");
  gst_element_set_state(h->element, GST_STATE_NULL);
}

// A stream that ends in error (an element message): the first ERROR text within `frames` pushes.
std::string push_until_error(GstHarness* h, GstBus* bus, int frames) {
  for (int i = 0; i < frames; ++i) {
    const GstFlowReturn ret = gst_harness_push(h, frame(i));
    if (ret != GST_FLOW_OK) break;
    gst_buffer_unref(gst_harness_pull(h));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return joined(texts(bus, GST_MESSAGE_ERROR));
}

TEST_F(PgPublish, RejectsAWrongPasswordNamingTheAddress) {
  const std::string good = std::getenv("PGPASSFILE");
  const std::string bad = temp_dir() + "/wrong-pgpass-element";
  std::ofstream(bad) << "127.0.0.1:*:*:dinoclip:not-the-password\n";
  ::chmod(bad.c_str(), 0600);
  ::setenv("PGPASSFILE", bad.c_str(), 1);
  Harness h = harness();
  const std::string errors = push_until_error(h.get(), bus_.get(), 200);
  ::setenv("PGPASSFILE", good.c_str(), 1);
  EXPECT_NE(errors.find("password authentication failed for user \"dinoclip\""), std::string::npos) << errors;
  EXPECT_NE(errors.find("127.0.0.1:" + std::to_string(server_->port())), std::string::npos) << errors;
  EXPECT_NE(errors.find("$PGPASSWORD or ~/.pgpass"), std::string::npos) << errors;
}

TEST_F(PgPublish, RejectsATableOfAnotherDimensionOrModel) {
  PgVideoIndex::open_for_writing(uri(), table_, test_model(/*dim=*/8));
  {
    Harness h = harness();
    const std::string errors = push_until_error(h.get(), bus_.get(), 200);
    EXPECT_NE(errors.find("table " + table_), std::string::npos) << errors;
    EXPECT_NE(errors.find("embed 8"), std::string::npos) << errors;  // the table's model, named
  }
  const std::string other = table_.substr(0, 50) + "_model";
  PgVideoIndex::open_for_writing(uri(), other, test_model(kDim, "/models/another-clip.pt", /*first=*/0.75f));
  {
    const std::string launch =
        "dinometapublish method=postgres address=\"" + uri() + "\" table=" + other;
    Harness h(gst_harness_new_parse(launch.c_str()));
    bus_.reset(gst_bus_new());
    gst_element_set_bus(h->element, bus_.get());
    gst_harness_set_src_caps_str(h.get(), caps_string(GST_VIDEO_FORMAT_RGB, kWidth, kHeight).c_str());
    const std::string errors = push_until_error(h.get(), bus_.get(), 200);
    EXPECT_NE(errors.find("/models/another-clip.pt"), std::string::npos) << errors;
  }
  EXPECT_EQ(sql("SELECT count(*) FROM " + table_), "0\n");
}

TEST_F(PgPublish, RejectsEmbeddingsOfAnotherModelMidStream) {
  Harness h = harness();
  ASSERT_EQ(gst_harness_push(h.get(), frame(0)), GST_FLOW_OK);
  gst_buffer_unref(gst_harness_pull(h.get()));
  FrameSpec other;
  other.model = index_model_to_json(test_model(kDim, "/models/other.pt"));
  EXPECT_EQ(gst_harness_push(h.get(), frame(1, other)), GST_FLOW_ERROR);
  const std::string errors = joined(texts(bus_.get(), GST_MESSAGE_ERROR));
  EXPECT_NE(errors.find("another model"), std::string::npos) << errors;
  EXPECT_NE(errors.find("/models/other.pt"), std::string::npos) << errors;
}

TEST_F(PgPublish, RejectsAPasswordInTheAddressAndBadTableNamesAtStart) {
  const std::string port = std::to_string(server_->port());
  for (const std::string& address :
       {"postgresql://dinoclip:hunter2@127.0.0.1:" + port + "/live", "host=127.0.0.1 port=" + port + " password=hunter2"}) {
    GstPtr<GstElement> element(gst_element_factory_make("dinometapublish", nullptr));
    gst_util_set_object_arg(G_OBJECT(element.get()), "method", "postgres");
    g_object_set(element.get(), "address", address.c_str(), nullptr);
    GstPtr<GstBus> bus(gst_bus_new());
    gst_element_set_bus(element.get(), bus.get());
    EXPECT_EQ(gst_element_set_state(element.get(), GST_STATE_PAUSED), GST_STATE_CHANGE_FAILURE) << address;
    const std::string message = pop_error_message(bus.get());
    EXPECT_NE(message.find("the address carries a password"), std::string::npos) << message;
    EXPECT_EQ(message.find("hunter2"), std::string::npos) << "a message repeated the password: " << message;
    gst_element_set_state(element.get(), GST_STATE_NULL);
    gst_element_set_bus(element.get(), nullptr);
  }
  for (const std::string table : {"frames; DROP TABLE x", "1frames", ""}) {
    GstPtr<GstElement> element(gst_element_factory_make("dinometapublish", nullptr));
    gst_util_set_object_arg(G_OBJECT(element.get()), "method", "postgres");
    g_object_set(element.get(), "address", uri().c_str(), "table", table.c_str(), nullptr);
    GstPtr<GstBus> bus(gst_bus_new());
    gst_element_set_bus(element.get(), bus.get());
    EXPECT_EQ(gst_element_set_state(element.get(), GST_STATE_PAUSED), GST_STATE_CHANGE_FAILURE) << table;
    const std::string message = pop_error_message(bus.get());
    EXPECT_NE(message.find("Bad table property"), std::string::npos) << message;
    gst_element_set_state(element.get(), GST_STATE_NULL);
    gst_element_set_bus(element.get(), nullptr);
  }
}

}  // namespace
}  // namespace dinoclip::testing
