// dinometapublish: buffers carrying hand-made dinoclip metas (exact values)
// through the element, the JSON lines read back with nlohmann::json and
// compared with the metas; method=mqtt against a real mosquitto broker on a
// free loopback port, read back with a real libmosquitto subscriber,
// including frames queued and dropped while the broker is down.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gst/dinoclip/dinoclip-meta.h>
#include <mosquitto.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <cstring>
#include <fstream>
#include <future>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "element_test_util.h"
#include "net/mqtt_publisher.h"
#include "roi_reader.h"

namespace dinoclip::testing {
namespace {

using nlohmann::json;

constexpr int kWidth = 32, kHeight = 24;
constexpr GstClockTime kFrame = GST_SECOND / 25;

/* ---- hand-made metas ---- */

// A 3x2 patch grid, D = 4, 2 heads; values i * 0.25 - 1 so every float is exact.
GstDinoclipFeatures* make_features() {
  const GstDinoclipFeaturesShape shape{/*grid_height=*/2, /*grid_width=*/3,   /*dim=*/4,
                                       /*n_heads=*/2,
                                       /*patch_size=*/8,  /*input_width=*/24, /*input_height=*/16};
  std::vector<gfloat> tokens(7 * 4), attention(2 * 6);
  for (size_t i = 0; i < tokens.size(); ++i) tokens[i] = gfloat(i) * 0.25f - 1.0f;
  for (size_t i = 0; i < attention.size(); ++i) attention[i] = gfloat(i) / 16.0f;
  return gst_dinoclip_features_new(&shape, tokens.data(), attention.data());
}

// A 4x3 class map with classes 0, 1, 2 and a "dinoseg" ROI for class 2 the
// way dinoseg attaches it (box, class_id, area, iou).
void add_segmentation(GstBuffer* buffer) {
  const guint8 map[] = {0, 0, 1, 1,  //
                        0, 2, 2, 1,  //
                        0, 2, 0, 0};
  GstDinoclipSegmentation* s = gst_dinoclip_segmentation_new(4, 3, 3, map, nullptr);
  gst_buffer_add_dinoclip_segmentation_meta(buffer, s, FALSE);
  gst_dinoclip_segmentation_unref(s);
  GstVideoRegionOfInterestMeta* roi = gst_buffer_add_video_region_of_interest_meta(buffer, "dinoseg", 8, 8, 16, 16);
  gst_video_region_of_interest_meta_add_param(
      roi,
      gst_structure_new("detection", "class_id", G_TYPE_INT, 2, "label", G_TYPE_STRING, "class-2", "area", G_TYPE_INT64,
                        gint64(3), "area_fraction", G_TYPE_DOUBLE, 0.25, "iou", G_TYPE_DOUBLE, 0.5, nullptr));
}

GstBuffer* frame_with_metas(int index) {
  GstBuffer* buffer = gst_buffer_new_allocate(nullptr, gsize(kWidth) * kHeight * 3, nullptr);
  gst_buffer_memset(buffer, 0, guint8(index), gsize(kWidth) * kHeight * 3);
  GST_BUFFER_PTS(buffer) = GstClockTime(index) * kFrame;
  GST_BUFFER_DURATION(buffer) = kFrame;
  GstDinoclipFeatures* features = make_features();
  gst_buffer_add_dinoclip_features_meta(buffer, features, index % 2 == 1, GST_BUFFER_PTS(buffer));
  gst_dinoclip_features_unref(features);
  const gchar* labels[] = {"a cat", "a dog", "a car"};
  const gfloat scores[] = {0.25f, 0.625f, 0.125f};
  GstDinoclipClassification* c = gst_dinoclip_classification_new(labels, scores, 3, 2);
  gst_buffer_add_dinoclip_classification_meta(buffer, c, FALSE);
  gst_dinoclip_classification_unref(c);
  add_segmentation(buffer);
  return buffer;
}

Harness publish_harness(const std::string& properties) {
  Harness h(gst_harness_new_parse(("dinometapublish " + properties).c_str()));
  gst_harness_set_src_caps_str(h.get(), caps_string(GST_VIDEO_FORMAT_RGB, kWidth, kHeight).c_str());
  return h;
}

GstPtr<GstElement> publisher_of(GstHarness* h) { return harness_element(h, "dinometapublish"); }

guint64 counter(GstHarness* h, const char* name) { return uint64_property(h, "dinometapublish", name); }

std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::vector<guint8> base64_bytes(const std::string& text) {
  gsize n = 0;
  guchar* decoded = g_base64_decode(text.c_str(), &n);
  std::vector<guint8> bytes(decoded, decoded + n);
  g_free(decoded);
  return bytes;
}

std::vector<guint8> float_bytes(const gfloat* data, gsize n) {
  const auto* bytes = reinterpret_cast<const guint8*>(data);
  return std::vector<guint8>(bytes, bytes + n * sizeof(gfloat));
}

// Every field of a line against the metas of the buffer it describes.
void expect_line_matches(const json& line, GstBuffer* buffer, int index, bool with_tensors) {
  const std::string where = "frame " + std::to_string(index);
  EXPECT_EQ(line.at("frame").get<int>(), index) << where;
  EXPECT_EQ(line.at("timestamp").get<guint64>(), GST_BUFFER_PTS(buffer)) << where;
  EXPECT_EQ(line.at("duration").get<guint64>(), kFrame) << where;
  EXPECT_EQ(line.at("running_time").get<guint64>(), GST_BUFFER_PTS(buffer)) << where;  // segment from 0
  EXPECT_EQ(line.at("resolution").at("width").get<int>(), kWidth);
  EXPECT_EQ(line.at("resolution").at("height").get<int>(), kHeight);
  EXPECT_FALSE(line.at("stream_id").get<std::string>().empty()) << where;

  GstDinoclipFeaturesMeta* fmeta = gst_buffer_get_dinoclip_features_meta(buffer);
  ASSERT_NE(fmeta, nullptr);
  const GstDinoclipFeaturesShape* shape = gst_dinoclip_features_get_shape(fmeta->features);
  const json& f = line.at("features");
  EXPECT_EQ(f.at("grid_height").get<guint>(), shape->grid_height);
  EXPECT_EQ(f.at("grid_width").get<guint>(), shape->grid_width);
  EXPECT_EQ(f.at("dim").get<guint>(), shape->dim);
  EXPECT_EQ(f.at("n_heads").get<guint>(), shape->n_heads);
  EXPECT_EQ(f.at("patch_size").get<guint>(), shape->patch_size);
  EXPECT_EQ(f.at("carried").get<bool>(), bool(fmeta->carried)) << where;
  EXPECT_EQ(f.at("source_timestamp").get<guint64>(), fmeta->source_pts);
  if (with_tensors) {
    gsize n = 0;
    const gfloat* attention = gst_dinoclip_features_get_cls_attention(fmeta->features, &n);
    EXPECT_EQ(base64_bytes(f.at("cls_attention").at("base64")), float_bytes(attention, n)) << where;
    EXPECT_EQ(f.at("cls_attention").at("shape"), json({2, 6}));
    const gfloat* cls = gst_dinoclip_features_get_cls_token(fmeta->features, &n);
    EXPECT_EQ(base64_bytes(f.at("embedding").at("base64")), float_bytes(cls, n)) << where;
  } else {
    EXPECT_FALSE(f.contains("cls_attention"));
    EXPECT_FALSE(f.contains("embedding"));
  }

  const json& c = line.at("classification");
  EXPECT_EQ(c.at("label"), "a dog");
  EXPECT_EQ(c.at("label_id"), 1);
  EXPECT_EQ(c.at("confidence").get<double>(), 0.625);
  ASSERT_EQ(c.at("top").size(), 2u);
  EXPECT_EQ(c.at("top")[1].at("label"), "a cat");
  EXPECT_EQ(c.at("top")[1].at("confidence").get<double>(), 0.25);

  const json& s = line.at("segmentation");
  EXPECT_EQ(s.at("width"), 4);
  EXPECT_EQ(s.at("height"), 3);
  EXPECT_EQ(s.at("n_classes"), 3);
  ASSERT_EQ(s.at("classes").size(), 1u);
  const json& region = s.at("classes")[0];
  EXPECT_EQ(region.at("class_id"), 2);
  EXPECT_EQ(region.at("label"), "class-2");
  EXPECT_EQ(region.at("area"), 3);
  EXPECT_EQ(region.at("area_fraction").get<double>(), 0.25);
  EXPECT_EQ(region.at("iou").get<double>(), 0.5);
  EXPECT_EQ(region.at("bbox"), json({{"x", 8}, {"y", 8}, {"width", 16}, {"height", 16}}));
}

/* ---- method=file ---- */

TEST(DinoMetaPublish, FileGetsOneJsonLinePerFrameAppendedAfterWhatWasThere) {
  const std::string path = temp_dir() + "/out.jsonl";
  std::ofstream(path) << "{\"kept\":true}\n";  // a user's earlier results: never overwritten
  Harness h = publish_harness("method=file file-path=\"" + path + "\" include-attention=true include-embedding=true");
  std::vector<Buffer> outs;
  for (int i = 0; i < 3; ++i) {
    GstBuffer* in = frame_with_metas(i);
    const std::vector<guint8> pixels = buffer_bytes(in);
    outs.emplace_back(gst_harness_push_and_pull(h.get(), in));
    EXPECT_EQ(buffer_bytes(outs.back().get()), pixels) << "passthrough";
    EXPECT_EQ(read_lines(path).size(), size_t(i) + 2) << "flushed per frame";
  }
  EXPECT_EQ(counter(h.get(), "published"), 3u);
  EXPECT_EQ(counter(h.get(), "dropped"), 0u);
  const std::vector<std::string> lines = read_lines(path);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0], "{\"kept\":true}");
  for (int i = 0; i < 3; ++i) expect_line_matches(json::parse(lines[size_t(i) + 1]), outs[size_t(i)].get(), i, true);
}

TEST(DinoMetaPublish, FrameWithoutMetasHasOnlyTimesAndTensorsAreOptIn) {
  const std::string path = temp_dir() + "/plain.jsonl";
  Harness h = publish_harness("file-path=\"" + path + "\"");
  Buffer meta_out(gst_harness_push_and_pull(h.get(), frame_with_metas(0)));
  GstBuffer* bare = gst_buffer_new_allocate(nullptr, gsize(kWidth) * kHeight * 3, nullptr);
  GST_BUFFER_PTS(bare) = kFrame;
  Buffer bare_out(gst_harness_push_and_pull(h.get(), bare));
  const std::vector<std::string> lines = read_lines(path);
  ASSERT_EQ(lines.size(), 2u);
  expect_line_matches(json::parse(lines[0]), meta_out.get(), 0, /*with_tensors=*/false);
  const json plain = json::parse(lines[1]);
  EXPECT_EQ(plain.at("frame"), 1);
  EXPECT_EQ(plain.at("timestamp").get<guint64>(), kFrame);
  EXPECT_TRUE(plain.at("duration").is_null());
  EXPECT_FALSE(plain.contains("features") || plain.contains("classification") || plain.contains("segmentation"));
}

TEST(DinoMetaPublish, RejectsAnUnwritableFileNamingIt) {
  const std::string path = temp_dir() + "/no/such/dir/out.jsonl";
  StartResult r = start_element("dinometapublish file-path=\"" + path + "\"");
  EXPECT_EQ(r.ret, GST_STATE_CHANGE_FAILURE);
  ASSERT_NE(r.error, nullptr);
  EXPECT_NE(std::string(r.error->message).find(path), std::string::npos) << r.error->message;
  g_error_free(r.error);
}

TEST(DinoMetaPublish, RejectsABadMqttAddress) {
  for (const char* address : {"localhost:0", "localhost:http", ":1883", "[::1", "mqtt://localhost:1883"}) {
    StartResult r = start_element(std::string("dinometapublish method=mqtt address=\"") + address + "\"");
    EXPECT_EQ(r.ret, GST_STATE_CHANGE_FAILURE) << address;
    ASSERT_NE(r.error, nullptr) << address;
    EXPECT_NE(std::string(r.error->message).find("MQTT address"), std::string::npos) << r.error->message;
    g_error_free(r.error);
  }
}

TEST(DinoMetaPublish, RefusesConnectionChangesWhileRunningWithAWarningMessage) {
  const std::string path = temp_dir() + "/a.jsonl";
  Harness h = publish_harness("file-path=\"" + path + "\"");
  GstPtr<GstBus> bus(gst_bus_new());
  gst_element_set_bus(h->element, bus.get());
  Buffer(gst_harness_push_and_pull(h.get(), frame_with_metas(0)));
  g_object_set(publisher_of(h.get()).get(), "file-path", "/tmp/elsewhere.jsonl", nullptr);
  gchar* now = nullptr;
  g_object_get(publisher_of(h.get()).get(), "file-path", &now, nullptr);
  EXPECT_EQ(std::string(now), path);
  g_free(now);
  GstMessage* warning = gst_bus_timed_pop_filtered(bus.get(), 5 * GST_SECOND, GST_MESSAGE_WARNING);  // posted async
  ASSERT_NE(warning, nullptr);
  GError* error = nullptr;
  gst_message_parse_warning(warning, &error, nullptr);
  EXPECT_NE(std::string(error->message).find("file-path"), std::string::npos) << error->message;
  g_error_free(error);
  gst_message_unref(warning);
  gst_element_set_bus(h->element, nullptr);
}

TEST(DinoMetaPublish, PropertyDefaultsAndBlurbs) {
  GstPtr<GstElement> e(gst_element_factory_make("dinometapublish", nullptr));
  ASSERT_NE(e, nullptr);
  gchar *path = nullptr, *address = nullptr, *topic = nullptr;
  gint method = -1;
  guint queue = 0;
  g_object_get(e.get(), "file-path", &path, "address", &address, "topic", &topic, "method", &method, "max-queue-size",
               &queue, nullptr);
  EXPECT_STREQ(path, "-");
  EXPECT_STREQ(address, "localhost:1883");
  EXPECT_STREQ(topic, "dinoclip");
  EXPECT_EQ(method, 0);  // file
  EXPECT_EQ(queue, 100u);
  g_free(path);
  g_free(address);
  g_free(topic);
  expect_useful_blurbs(e.get());
}

/* ---- method=mqtt against a real broker ---- */

// A port nothing listens on right now (the kernel's choice), on 127.0.0.1.
int free_loopback_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

bool port_accepts(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(uint16_t(port));
  const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return ok;
}

std::string mosquitto_binary() {
  gchar* found = g_find_program_in_path("mosquitto");
  std::string path = found ? found : "";
  g_free(found);
  if (path.empty() && g_file_test("/usr/sbin/mosquitto", G_FILE_TEST_IS_EXECUTABLE)) path = "/usr/sbin/mosquitto";
  return path;
}

// mosquitto on 127.0.0.1:port only. Persistence keeps the subscriber's
// session (and the messages queued for it) across a restart, so messages the
// element publishes right after the restart are not lost to the race between
// its reconnect and the subscriber's.
class Broker {
 public:
  Broker(std::string binary, int port) : binary_(std::move(binary)), port_(port), dir_(temp_dir()) {
    config_ = dir_ + "/mosquitto.conf";
    std::ofstream(config_) << "listener " << port_ << " 127.0.0.1\nallow_anonymous true\npersistence true\n"
                           << "persistence_location " << dir_
                           << "/\nqueue_qos0_messages true\n"
                           // Run as root, mosquitto would switch to user "mosquitto", which cannot write here.
                           << "user " << g_get_user_name() << "\n";
  }
  ~Broker() { stop(); }

  bool start() {
    const gchar* argv[] = {binary_.c_str(), "-c", config_.c_str(), nullptr};
    GError* error = nullptr;
    if (!g_spawn_async(nullptr, const_cast<gchar**>(argv), nullptr,
                       GSpawnFlags(G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL),
                       nullptr, nullptr, &pid_, &error)) {
      ADD_FAILURE() << "cannot start mosquitto: " << error->message;
      g_error_free(error);
      return false;
    }
    for (int i = 0; i < 200 && !port_accepts(port_); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(25));
    return port_accepts(port_);
  }

  // SIGTERM: mosquitto saves its sessions, then exits.
  void stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    waitpid(pid_, nullptr, 0);
    g_spawn_close_pid(pid_);
    pid_ = 0;
  }

 private:
  std::string binary_;
  int port_;
  std::string dir_, config_;
  GPid pid_ = 0;
};

// A libmosquitto subscriber (persistent session, QoS 1) collecting payloads.
class Subscriber {
 public:
  Subscriber(int port, const std::string& topic) : topic_(topic) {
    mosquitto_lib_init();
    client_ = mosquitto_new("dinoclip-test-subscriber", /*clean_session=*/false, this);
    mosquitto_connect_callback_set(client_, [](struct mosquitto* m, void* self, int rc) {
      if (rc == 0) mosquitto_subscribe(m, nullptr, static_cast<Subscriber*>(self)->topic_.c_str(), 1);
    });
    mosquitto_subscribe_callback_set(client_, [](struct mosquitto*, void* self, int, int, const int*) {
      static_cast<Subscriber*>(self)->subscribed_ = true;
    });
    mosquitto_message_callback_set(client_, [](struct mosquitto*, void* self, const struct mosquitto_message* m) {
      auto* sub = static_cast<Subscriber*>(self);
      std::lock_guard<std::mutex> lock(sub->mutex_);
      sub->messages_.emplace_back(static_cast<const char*>(m->payload), size_t(m->payloadlen));
    });
    mosquitto_reconnect_delay_set(client_, 1, 1, false);
    mosquitto_connect(client_, "127.0.0.1", port, 30);
    mosquitto_loop_start(client_);
  }
  ~Subscriber() {
    mosquitto_disconnect(client_);
    mosquitto_loop_stop(client_, true);
    mosquitto_destroy(client_);
  }

  bool wait_subscribed() {
    for (int i = 0; i < 400 && !subscribed_; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(25));
    return subscribed_;
  }

  // Waits (up to 20 s) for `count` messages in all; returns what arrived.
  std::vector<std::string> wait_for(size_t count) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      {
        std::lock_guard<std::mutex> lock(mutex_);
        if (messages_.size() >= count) break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    std::lock_guard<std::mutex> lock(mutex_);
    return messages_;
  }

 private:
  std::string topic_;
  struct mosquitto* client_ = nullptr;
  std::atomic<bool> subscribed_{false};
  std::mutex mutex_;
  std::vector<std::string> messages_;
};

bool element_connected(GstHarness* h, bool wanted) {
  for (int i = 0; i < 400; ++i) {
    gboolean connected = !wanted;
    g_object_get(publisher_of(h).get(), "connected", &connected, nullptr);
    if (bool(connected) == wanted) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  return false;
}

// The publisher thread counts a message once libmosquitto has written it, which
// may be just after the subscriber has it: wait (up to 20 s) for the count.
guint64 wait_for_counter(GstHarness* h, const char* name, guint64 wanted) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  guint64 value = counter(h, name);
  while (value != wanted && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    value = counter(h, name);
  }
  return value;
}

#define REQUIRE_MOSQUITTO(var)                                                                  \
  const std::string var = mosquitto_binary();                                                   \
  if (var.empty()) {                                                                            \
    if (running_in_ci()) FAIL() << "mosquitto is not installed (scripts/install-deps.sh)";      \
    GTEST_SKIP() << "mosquitto is not installed (apt-get install mosquitto mosquitto-clients)"; \
  }

TEST(DinoMetaPublish, MqttMessagesReachARealBrokerAndQueueWhileItIsDown) {
  REQUIRE_MOSQUITTO(binary);
  const int port = free_loopback_port();
  Broker broker(binary, port);
  ASSERT_TRUE(broker.start()) << "mosquitto did not listen on 127.0.0.1:" << port;
  const std::string topic = "dinoclip/test/" + std::to_string(port);
  Subscriber subscriber(port, topic);
  ASSERT_TRUE(subscriber.wait_subscribed());

  Harness h = publish_harness("method=mqtt address=127.0.0.1:" + std::to_string(port) + " topic=" + topic +
                              " max-queue-size=3");
  ASSERT_TRUE(element_connected(h.get(), true)) << "no connection to the broker";  // else the queue of 3 overflows
  std::vector<Buffer> outs;
  for (int i = 0; i < 4; ++i) {  // one by one: the thread sends every 20 ms, a burst of 4 would overflow 3
    outs.emplace_back(gst_harness_push_and_pull(h.get(), frame_with_metas(i)));
    subscriber.wait_for(size_t(i) + 1);
  }
  std::vector<std::string> got = subscriber.wait_for(4);
  ASSERT_EQ(got.size(), 4u);
  for (int i = 0; i < 4; ++i) expect_line_matches(json::parse(got[size_t(i)]), outs[size_t(i)].get(), i, false);
  EXPECT_EQ(wait_for_counter(h.get(), "published", 4), 4u);
  EXPECT_EQ(counter(h.get(), "dropped"), 0u);

  // Broker down: the stream goes on; the last 3 frames wait, 2 are dropped.
  broker.stop();
  ASSERT_TRUE(element_connected(h.get(), false)) << "the element did not notice the broker going away";
  const auto before = std::chrono::steady_clock::now();
  for (int i = 4; i < 9; ++i) outs.emplace_back(gst_harness_push_and_pull(h.get(), frame_with_metas(i)));
  EXPECT_LT(std::chrono::steady_clock::now() - before, std::chrono::seconds(1)) << "the video must not wait";
  EXPECT_EQ(counter(h.get(), "dropped"), 2u);
  EXPECT_EQ(counter(h.get(), "published"), 4u);

  // Back up: the element reconnects by itself and sends what it kept (frames 6, 7, 8).
  ASSERT_TRUE(broker.start());
  got = subscriber.wait_for(7);
  ASSERT_EQ(got.size(), 7u);
  for (int i = 4; i < 7; ++i) {
    expect_line_matches(json::parse(got[size_t(i)]), outs[size_t(i) + 2].get(), i + 2, false);
  }
  EXPECT_EQ(wait_for_counter(h.get(), "published", 7), 7u);
  EXPECT_EQ(counter(h.get(), "dropped"), 2u);
}

TEST(DinoMetaPublish, MqttWithoutABrokerNeverBlocksAndCountsDrops) {
  const int port = free_loopback_port();  // nothing listens there
  Harness h = publish_harness("method=mqtt address=127.0.0.1:" + std::to_string(port) + " max-queue-size=2");
  const auto before = std::chrono::steady_clock::now();
  for (int i = 0; i < 10; ++i) Buffer(gst_harness_push_and_pull(h.get(), frame_with_metas(i)));
  EXPECT_LT(std::chrono::steady_clock::now() - before, std::chrono::seconds(1));
  EXPECT_EQ(counter(h.get(), "published"), 0u);
  EXPECT_EQ(counter(h.get(), "dropped"), 8u);
  gboolean connected = TRUE;
  g_object_get(publisher_of(h.get()).get(), "connected", &connected, nullptr);
  EXPECT_FALSE(connected);
  gst_element_set_state(h->element, GST_STATE_NULL);
  EXPECT_EQ(counter(h.get(), "dropped"), 10u) << "the 2 still queued at stop count as dropped";
}


/* ---- nothing lost silently: refused values, an unreachable broker, lock order ---- */

// The element made from code (no parse-launch quoting) with `strings` set, taken
// to PAUSED: the state change and the error it posted.
StartResult start_publisher(const std::vector<std::pair<const char*, std::string>>& strings) {
  GstPtr<GstElement> element(gst_element_factory_make("dinometapublish", nullptr));
  gst_util_set_object_arg(G_OBJECT(element.get()), "method", "mqtt");
  g_object_set(element.get(), "address", ("127.0.0.1:" + std::to_string(free_loopback_port())).c_str(), nullptr);
  for (const auto& [name, value] : strings) g_object_set(element.get(), name, value.c_str(), nullptr);
  GstPtr<GstBus> bus(gst_bus_new());
  gst_element_set_bus(element.get(), bus.get());
  StartResult result{gst_element_set_state(element.get(), GST_STATE_PAUSED)};
  if (GstMessage* message = pop_error(bus.get())) {
    gst_message_parse_error(message, &result.error, nullptr);
    gst_message_unref(message);
  }
  gst_element_set_state(element.get(), GST_STATE_NULL);
  gst_element_set_bus(element.get(), nullptr);
  return result;
}

void expect_refused(const std::vector<std::pair<const char*, std::string>>& strings, const std::string& property,
                    const std::string& rule) {
  const std::string what = std::string(strings.back().first) + "=\"" + strings.back().second + "\"";
  StartResult r = start_publisher(strings);
  EXPECT_EQ(r.ret, GST_STATE_CHANGE_FAILURE) << what;
  ASSERT_NE(r.error, nullptr) << what;
  const std::string message = r.error->message;
  EXPECT_NE(message.find(property), std::string::npos) << what << ": " << message;
  EXPECT_NE(message.find(rule), std::string::npos) << what << ": " << message;
  g_error_free(r.error);
}

// Before: a wildcard topic ran to EOS with every result lost and nothing
// counted; an empty one failed later with a not-linked error.
TEST(DinoMetaPublish, RejectsTopicsMqttForbidsNamingThePropertyAndTheRule) {
  expect_refused({{"topic", "cams/#"}}, "topic", "wildcard");
  expect_refused({{"topic", "cams/+/front"}}, "topic", "wildcard");
  expect_refused({{"topic", ""}}, "topic", "must not be empty");
  expect_refused({{"topic", "$SYS/dinoclip"}}, "topic", "reserves");
  expect_refused({{"topic", "caf\xc3"}}, "topic", "UTF-8");
  expect_refused({{"topic", "cams\tfront"}}, "topic", "control character");
  expect_refused({{"topic", std::string(70000, 'a')}}, "topic", "at most 65535");
  StartResult fine = start_publisher({{"topic", "cams/front/caf\xc3\xa9"}});
  EXPECT_NE(fine.ret, GST_STATE_CHANGE_FAILURE);
  EXPECT_EQ(fine.error, nullptr);
}

TEST(DinoMetaPublish, RejectsClientIdsLibmosquittoRefusesNamingTheProperty) {
  expect_refused({{"mqtt-client-id", "cam\xff"}}, "mqtt-client-id", "UTF-8");
  expect_refused({{"mqtt-client-id", "cam\n1"}}, "mqtt-client-id", "control character");
  expect_refused({{"mqtt-client-id", std::string(70000, 'c')}}, "mqtt-client-id", "at most 65535");
}

// Records the messages a harness's element posts through a sync handler that,
// as an application's may, reads the counters on the posting thread: a message
// posted while the element holds its lock deadlocks here.
class BusRecorder {
 public:
  explicit BusRecorder(GstHarness* h) : h_(h), element_(publisher_of(h)), bus_(gst_bus_new()) {
    gst_bus_set_sync_handler(bus_.get(), &BusRecorder::on_message, this, nullptr);
    gst_element_set_bus(h->element, bus_.get());
  }
  ~BusRecorder() { gst_element_set_bus(h_->element, nullptr); }

  std::vector<std::string> texts(GstMessageType type) {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<std::string> out;
    for (const auto& [t, text] : messages_) {
      if (t == type) out.push_back(text);
    }
    return out;
  }
  size_t count(GstMessageType type) { return texts(type).size(); }
  int counter_reads() const { return counter_reads_; }

 private:
  static GstBusSyncReply on_message(GstBus*, GstMessage* message, gpointer data) {
    auto* self = static_cast<BusRecorder*>(data);
    GError* error = nullptr;
    switch (GST_MESSAGE_TYPE(message)) {
      case GST_MESSAGE_ERROR: gst_message_parse_error(message, &error, nullptr); break;
      case GST_MESSAGE_WARNING: gst_message_parse_warning(message, &error, nullptr); break;
      case GST_MESSAGE_INFO: gst_message_parse_info(message, &error, nullptr); break;
      default: return GST_BUS_DROP;
    }
    guint64 published = 0, dropped = 0;
    gboolean connected = FALSE;
    g_object_get(self->element_.get(), "published", &published, "dropped", &dropped, "connected", &connected, nullptr);
    ++self->counter_reads_;
    std::lock_guard<std::mutex> lock(self->mutex_);
    self->messages_.emplace_back(GST_MESSAGE_TYPE(message), error->message);
    g_error_free(error);
    return GST_BUS_DROP;
  }

  GstHarness* h_;
  GstPtr<GstElement> element_;
  GstPtr<GstBus> bus_;
  std::mutex mutex_;
  std::vector<std::pair<GstMessageType, std::string>> messages_;
  std::atomic<int> counter_reads_{0};
};

// Pushes frames (one every 10 ms, at most 2000) until the recorder holds
// `count` messages of `type`; returns the frames pushed. Every frame must come out.
int push_until(GstHarness* h, BusRecorder& bus, GstMessageType type, size_t count, int* next_index) {
  int pushed = 0;
  for (int i = 0; i < 2000 && bus.count(type) < count; ++i, ++pushed) {
    Buffer out(gst_harness_push_and_pull(h, frame_with_metas((*next_index)++)));
    EXPECT_TRUE(out) << "the video stopped";
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return pushed;
}

// Before: nothing on the bus, rc 0, results lost without a word.
TEST(DinoMetaPublish, MqttBrokerDownFromTheStartWarnsOnceAndCountsEveryFrame) {
  const int port = free_loopback_port();  // nothing listens there
  const std::string address = "127.0.0.1:" + std::to_string(port);
  Harness h = publish_harness("method=mqtt address=" + address + " max-queue-size=3");
  BusRecorder bus(h.get());
  int frames = 0;
  push_until(h.get(), bus, GST_MESSAGE_WARNING, 1, &frames);
  for (int i = 0; i < 5; ++i) Buffer(gst_harness_push_and_pull(h.get(), frame_with_metas(frames++)));
  const std::vector<std::string> warnings = bus.texts(GST_MESSAGE_WARNING);
  ASSERT_EQ(warnings.size(), 1u) << "one warning per outage, not one per frame";
  EXPECT_NE(warnings[0].find(address), std::string::npos) << warnings[0];
  EXPECT_NE(warnings[0].find("Connection refused"), std::string::npos) << warnings[0];
  EXPECT_NE(warnings[0].find("dropped"), std::string::npos) << warnings[0];
  EXPECT_EQ(bus.count(GST_MESSAGE_ERROR), 0u);
  EXPECT_EQ(counter(h.get(), "published"), 0u);
  EXPECT_EQ(counter(h.get(), "dropped"), guint64(frames) - 3) << "the newest 3 wait in the queue";
  gst_element_set_state(h->element, GST_STATE_NULL);  // what still waits is given up: dropped
  EXPECT_EQ(counter(h.get(), "dropped"), guint64(frames));
  EXPECT_EQ(counter(h.get(), "published"), 0u);
}

// The broker goes away and comes back: one WARNING, one INFO, and in the end
// every frame counted once, published ones received by a real subscriber.
TEST(DinoMetaPublish, MqttBrokerGoingAwayAndBackIsSaidOnTheBusAndCountersAddUp) {
  REQUIRE_MOSQUITTO(binary);
  const int port = free_loopback_port();
  Broker broker(binary, port);
  ASSERT_TRUE(broker.start()) << "mosquitto did not listen on 127.0.0.1:" << port;
  const std::string topic = "dinoclip/away/" + std::to_string(port);
  Subscriber subscriber(port, topic);
  ASSERT_TRUE(subscriber.wait_subscribed());
  const std::string address = "127.0.0.1:" + std::to_string(port);
  Harness h = publish_harness("method=mqtt address=" + address + " topic=" + topic + " max-queue-size=2");
  BusRecorder bus(h.get());
  ASSERT_TRUE(element_connected(h.get(), true));
  int frames = 0;
  for (; frames < 3; ++frames) {
    Buffer(gst_harness_push_and_pull(h.get(), frame_with_metas(frames)));
    subscriber.wait_for(size_t(frames) + 1);
  }
  broker.stop();
  ASSERT_TRUE(element_connected(h.get(), false));
  push_until(h.get(), bus, GST_MESSAGE_WARNING, 1, &frames);
  for (int i = 0; i < 4; ++i) Buffer(gst_harness_push_and_pull(h.get(), frame_with_metas(frames++)));
  EXPECT_EQ(bus.count(GST_MESSAGE_WARNING), 1u);
  EXPECT_NE(bus.texts(GST_MESSAGE_WARNING).at(0).find(address), std::string::npos);

  ASSERT_TRUE(broker.start());
  push_until(h.get(), bus, GST_MESSAGE_INFO, 1, &frames);
  ASSERT_EQ(bus.count(GST_MESSAGE_INFO), 1u) << "no word that the broker is back";
  EXPECT_NE(bus.texts(GST_MESSAGE_INFO).at(0).find(address), std::string::npos);
  EXPECT_EQ(bus.count(GST_MESSAGE_WARNING), 1u);
  EXPECT_EQ(bus.count(GST_MESSAGE_ERROR), 0u);
  EXPECT_EQ(bus.counter_reads(), 2);

  gst_element_set_state(h->element, GST_STATE_NULL);
  const guint64 published = counter(h.get(), "published"), dropped = counter(h.get(), "dropped");
  EXPECT_EQ(published + dropped, guint64(frames)) << published << " published, " << dropped << " dropped";
  EXPECT_GE(published, 3u + 2u) << "the first 3 and the 2 kept while it was away";
  EXPECT_EQ(subscriber.wait_for(size_t(published)).size(), size_t(published));
}

// lib/net on its own: a message libmosquitto refuses is dropped and counted,
// never retried forever at the head of the queue (before: kept, never counted).
TEST(MqttPublisher, MessagesLibmosquittoRefusesAreCountedAsDropped) {
  REQUIRE_MOSQUITTO(binary);
  const int port = free_loopback_port();
  Broker broker(binary, port);
  ASSERT_TRUE(broker.start());
  dinoclip::gst::MqttPublisherOptions options;
  options.endpoint = {"127.0.0.1", port};
  options.topic = "cams/#";  // the element refuses it up front; the library must not lose it silently either
  dinoclip::gst::MqttPublisher publisher(options);
  for (int i = 0; i < 200 && !publisher.status().connected; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(25));
  ASSERT_TRUE(publisher.status().connected);
  for (int i = 0; i < 5; ++i) publisher.publish("{\"frame\":" + std::to_string(i) + "}");
  const dinoclip::gst::MqttStatus status = publisher.stop();
  EXPECT_EQ(status.published, 0u);
  EXPECT_EQ(status.dropped, 5u);
  EXPECT_EQ(status.refused, 5u);
  EXPECT_NE(status.refusal.find("cams/#"), std::string::npos) << status.refusal;
}

// A listener whose accept queue is full: the kernel drops further SYNs, so a
// blocking connect to it hangs for minutes (all on loopback).
class UnansweringListener {
 public:
  UnansweringListener() {
    listener_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    listen(listener_, 0);
    socklen_t len = sizeof addr;
    getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    for (int i = 0; i < 2; ++i) {  // fill the accept queue (backlog 0 admits one) and then some
      const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
      connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
      fillers_.push_back(fd);
    }
  }
  ~UnansweringListener() {
    for (int fd : fillers_) close(fd);
    close(listener_);
  }
  int port() const { return port_; }
  // Connections to the port still waiting for the SYN's answer (/proc/net/tcp state 02).
  int connecting() const {
    std::ifstream tcp("/proc/net/tcp");
    char wanted[16];
    std::snprintf(wanted, sizeof wanted, ":%04X", port_);
    int count = 0;
    for (std::string line; std::getline(tcp, line);) {
      std::istringstream fields(line);
      std::string slot, local, remote, state;
      fields >> slot >> local >> remote >> state;
      if (remote.size() > 5 && remote.substr(remote.size() - 5) == wanted && state == "02") ++count;
    }
    return count;
  }
  // Waits (up to 20 s) until one more connection than `before` is stuck connecting.
  bool wait_connecting(int before) const {
    for (int i = 0; i < 800; ++i) {
      if (connecting() > before) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    return false;
  }

 private:
  int listener_ = -1;
  int port_ = 0;
  std::vector<int> fillers_;
};

// Before: stop joined a thread blocked in connect() for the OS's SYN timeout (~2 min).
TEST(DinoMetaPublish, StoppingWhileTheBrokerNeverAnswersTheConnectReturnsPromptly) {
  UnansweringListener listener;
  const int before = listener.connecting();
  Harness h = publish_harness("method=mqtt address=127.0.0.1:" + std::to_string(listener.port()));
  Buffer(gst_harness_push_and_pull(h.get(), frame_with_metas(0)));
  ASSERT_TRUE(listener.wait_connecting(before)) << "the element never tried to connect";
  const auto start = std::chrono::steady_clock::now();
  gst_element_set_state(h->element, GST_STATE_NULL);
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_LT(took, std::chrono::seconds(5)) << "stop waited for the connect";  // the drain timeout is 2 s
  EXPECT_EQ(counter(h.get(), "dropped"), 1u);
  EXPECT_EQ(counter(h.get(), "published"), 0u);
}

TEST(MqttPublisher, StopKeepsToTheDrainTimeoutWhileConnectIsBlocked) {
  UnansweringListener listener;
  const int before = listener.connecting();
  dinoclip::gst::MqttPublisherOptions options;
  options.endpoint = {"127.0.0.1", listener.port()};
  options.topic = "dinoclip";
  options.drain_timeout = std::chrono::milliseconds(300);
  dinoclip::gst::MqttPublisher publisher(options);
  publisher.publish("{}");
  ASSERT_TRUE(listener.wait_connecting(before));
  const auto start = std::chrono::steady_clock::now();
  const dinoclip::gst::MqttStatus status = publisher.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(300 + 1500));
  EXPECT_EQ(status.dropped, 1u);
  EXPECT_EQ(status.published + status.dropped, 1u);
}

// #24: an application's sync bus handler reads the counters while the element
// posts an error (file-path=/dev/full: every write fails). Before: the error was
// posted under the element's lock and the handler deadlocked on it. Run in a
// child process with an alarm, so a deadlock fails the test instead of hanging it.
TEST(DinoMetaPublish, SyncBusHandlerReadingCountersWhenAnErrorIsPostedDoesNotDeadlock) {
  if (!g_file_test("/dev/full", G_FILE_TEST_EXISTS)) GTEST_SKIP() << "no /dev/full";
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        alarm(30);
        Harness h = publish_harness("file-path=/dev/full");
        BusRecorder bus(h.get());
        const GstFlowReturn ret = gst_harness_push(h.get(), frame_with_metas(0));
        const bool ok = ret == GST_FLOW_ERROR && bus.count(GST_MESSAGE_ERROR) == 1 && bus.counter_reads() == 1;
        std::fprintf(stderr, "flow %s, %zu errors\n", gst_flow_get_name(ret), bus.count(GST_MESSAGE_ERROR));
        std::_Exit(ok ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "flow error, 1 errors");
}

// #24: a file write that blocks (a FIFO nobody reads) must not block property
// reads: the write happens outside the element's lock. Before: the getter waited
// for the write.
TEST(DinoMetaPublish, PropertyReadsDoNotWaitForABlockedFileWrite) {
  const std::string fifo = temp_dir() + "/blocked.fifo";
  unlink(fifo.c_str());  // left by an earlier repetition (--gtest_repeat)
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0) << std::strerror(errno);
  const int reader = open(fifo.c_str(), O_RDONLY | O_NONBLOCK);  // so the element's open does not block
  ASSERT_GE(reader, 0);
  const int capacity = fcntl(reader, F_SETPIPE_SZ, 4096);
  ASSERT_GT(capacity, 0);
  // include-attention with a 64x64 grid: one line is far larger than the pipe.
  Harness h = publish_harness("file-path=\"" + fifo + "\" include-attention=true");
  GstBuffer* big = gst_buffer_new_allocate(nullptr, gsize(kWidth) * kHeight * 3, nullptr);
  GST_BUFFER_PTS(big) = 0;
  const GstDinoclipFeaturesShape shape{64, 64, 4, 2, 8, 512, 512};
  std::vector<gfloat> tokens((64 * 64 + 1) * 4, 0.5f), attention(2 * 64 * 64, 0.25f);
  GstDinoclipFeatures* features = gst_dinoclip_features_new(&shape, tokens.data(), attention.data());
  gst_buffer_add_dinoclip_features_meta(big, features, FALSE, 0);
  gst_dinoclip_features_unref(features);
  std::atomic<bool> pushed{false};
  std::thread pusher([&] {
    gst_harness_push(h.get(), big);
    pushed = true;
  });
  // The pipe full and the push not back: the streaming thread is blocked in write().
  bool blocked = false;
  for (int i = 0; i < 800 && !blocked; ++i) {
    int available = 0;
    ioctl(reader, FIONREAD, &available);
    blocked = available >= capacity && !pushed;
    if (!blocked) std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  std::promise<guint64> got;
  std::thread getter([&] { got.set_value(counter(h.get(), "published")); });
  std::future<guint64> value = got.get_future();
  const bool answered = value.wait_for(std::chrono::seconds(2)) == std::future_status::ready;
  std::vector<char> sink(65536);
  while (!pushed) {  // let the write finish whatever happened
    if (::read(reader, sink.data(), sink.size()) <= 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  pusher.join();
  getter.join();
  close(reader);
  unlink(fifo.c_str());
  EXPECT_TRUE(blocked) << "the write never blocked: the test proves nothing";
  EXPECT_TRUE(answered) << "reading 'published' waited for a blocked file write";
  EXPECT_EQ(value.get(), 0u);  // the line was not written yet when it was read
}

}  // namespace
}  // namespace dinoclip::testing
