// dinometapublish: one JSON line per frame (metapublish_json) to a file or
// an MQTT broker (mqtt_publisher, its own thread), or each classified frame's
// CLIP image embedding to a PostgreSQL video index (dinometapublish_pg, lib's
// PgFrameWriter on its own thread). Properties, state and the write; the
// JSON, the rows and the network live in their helpers.
#include "dinometapublish/gstdinometapublish.h"

#include <gst/video/video.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "clipzeroshot/clipzeroshot_results.h"
#include "common/param_flags.h"
#include "common/refused_property.h"
#include "dinometapublish/dinometapublish_json.h"
#include "dinometapublish/dinometapublish_pg.h"
#include "net/mqtt_publisher.h"
#include "tasks/pg_frame_writer.h"

GST_DEBUG_CATEGORY_STATIC(dino_meta_publish_debug);
#define GST_CAT_DEFAULT dino_meta_publish_debug

GType gst_dinoclip_dinometapublish_method_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {GST_DINOCLIP_DINOMETAPUBLISH_METHOD_FILE, "JSON lines appended to file-path ('-': stdout)", "file"},
      {GST_DINOCLIP_DINOMETAPUBLISH_METHOD_MQTT, "one MQTT message per frame on topic, to the broker at address",
       "mqtt"},
      {GST_DINOCLIP_DINOMETAPUBLISH_METHOD_POSTGRES,
       "each classified frame's CLIP image embedding as a row of table, in the PostgreSQL (pgvector) at address",
       "postgres"},
      {0, nullptr, nullptr},
  };
  if (g_once_init_enter(&type))
    g_once_init_leave(&type, g_enum_register_static("GstDinoclipDinometapublishMethod", values));
  return type;
}

namespace {

using dinoclip::PgFrameWriter;
using dinoclip::gst::MqttPublisher;

constexpr const char* kStdout = "-";
constexpr const char* kDefaultAddress = "localhost:1883";
constexpr const char* kDefaultTopic = "dinoclip";
constexpr guint kDefaultMaxQueue = 100;

enum {
  PROP_0,
  PROP_METHOD,
  PROP_FILE_PATH,
  PROP_ADDRESS,
  PROP_TOPIC,
  PROP_CLIENT_ID,
  PROP_MAX_QUEUE,
  PROP_INCLUDE_ATTENTION,
  PROP_INCLUDE_EMBEDDING,
  PROP_TABLE,
  PROP_SOURCE_ID,
  PROP_PUBLISHED,
  PROP_DROPPED,
  PROP_CONNECTED,
  PROP_SKIPPED,
};

struct Settings {
  GstDinoclipDinometapublishMethod method = GST_DINOCLIP_DINOMETAPUBLISH_METHOD_FILE;
  std::string file_path = kStdout;
  std::string address = kDefaultAddress;
  std::string topic = kDefaultTopic;
  std::string client_id;
  guint max_queue = kDefaultMaxQueue;
  bool include_attention = false;
  bool include_embedding = false;
  std::string table = dinoclip::PgVideoIndex::kDefaultTable;
  std::string source_id;  // "" : the stream id
};

// Between start() and stop(). Used by the streaming thread without a lock
// (start() and stop() never overlap streaming); Private::state_lock guards
// only the pointer and the publisher's lifetime against property reads.
struct State {
  FILE* file = nullptr;  // method=file (stdout is not ours to close)
  bool owns_file = false;
  std::unique_ptr<MqttPublisher> mqtt;  // method=mqtt
  std::string address;                  // method=mqtt/postgres, for messages (postgres: without a password)
  dinoclip::gst::PgPublish pg;          // method=postgres
  guint max_queue = 0;
  bool warned_unreachable = false;  // one WARNING per outage, an INFO when it is over
  guint64 refusals_reported = 0;
  guint64 frames = 0;
  gint width = 0, height = 0;

  State() = default;
  State(const State&) = delete;
  State& operator=(const State&) = delete;
  ~State() {
    if (owns_file && file) std::fclose(file);
  }
};

// Lock rule: no message is posted and nothing is written while state_lock is
// held (a sync bus handler may read the counters on the posting thread).
struct Private {
  std::mutex settings_lock;
  Settings settings;
  std::mutex state_lock;                                // the state pointer (not its contents) and final_mqtt
  std::unique_ptr<State> state;                         // null outside start()..stop()
  std::optional<dinoclip::gst::MqttStatus> final_mqtt;  // the last run's totals, readable after stop()
  std::atomic<guint64> lines_written{0};                // method=file
  std::atomic<guint64> skipped{0};                      // method=postgres: frames without a fresh embedding
};

}  // namespace

struct _GstDinometapublish {
  GstBaseTransform parent;
  Private* priv;
};

G_DEFINE_TYPE(GstDinometapublish, gst_dinometapublish, GST_TYPE_BASE_TRANSFORM)
GST_ELEMENT_REGISTER_DEFINE(dinometapublish, "dinometapublish", GST_RANK_NONE, GST_TYPE_DINOMETAPUBLISH)

namespace {

GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE("sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS_ANY);
GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE("src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS_ANY);

Settings settings_snapshot(GstDinometapublish* self) {
  std::lock_guard<std::mutex> lock(self->priv->settings_lock);
  return self->priv->settings;
}

// The streaming thread's state (see State): the pointer is read under the
// lock, the contents used without it.
State* streaming_state(GstDinometapublish* self) {
  std::lock_guard<std::mutex> lock(self->priv->state_lock);
  return self->priv->state.get();
}

/* ---- start / stop ---- */

bool open_file(GstDinometapublish* self, State& state, const Settings& settings) {
  if (settings.file_path.empty() || settings.file_path == kStdout) {
    state.file = stdout;
    return true;
  }
  state.file = std::fopen(settings.file_path.c_str(), "a");  // never overwrite what a user has
  if (!state.file) {
    GST_ELEMENT_ERROR(
        self, RESOURCE, OPEN_WRITE,
        ("Could not open \"%s\" for appending JSON lines: %s", settings.file_path.c_str(), std::strerror(errno)),
        ("set file-path to a writable file, or '-' for stdout"));
    return false;
  }
  state.owns_file = true;
  return true;
}

bool start_mqtt(GstDinometapublish* self, State& state, const Settings& settings) {
  dinoclip::gst::MqttPublisherOptions options;
  try {
    options.endpoint = dinoclip::gst::parse_mqtt_address(settings.address);
  } catch (const std::exception& e) {
    GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS, ("Bad MQTT address: %s", e.what()),
                      ("address=%s", settings.address.c_str()));
    return false;
  }
  const std::string topic_problem = dinoclip::gst::mqtt_topic_problem(settings.topic);
  if (!topic_problem.empty()) {
    GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS, ("Bad topic property: %s", topic_problem.c_str()),
                      ("set topic to one MQTT topic name, e.g. topic=dinoclip/camera1"));
    return false;
  }
  const std::string id_problem = dinoclip::gst::mqtt_client_id_problem(settings.client_id);
  if (!id_problem.empty()) {
    GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS, ("Bad mqtt-client-id property: %s", id_problem.c_str()),
                      ("unset it to let the broker assign one"));
    return false;
  }
  options.topic = settings.topic;
  options.client_id = settings.client_id;
  options.max_queue = settings.max_queue;
  try {
    state.mqtt = std::make_unique<MqttPublisher>(options);
  } catch (const std::exception& e) {
    GST_ELEMENT_ERROR(self, LIBRARY, INIT, ("Could not start the MQTT client: %s", e.what()), (nullptr));
    return false;
  }
  state.address = settings.address;
  state.max_queue = settings.max_queue;
  GST_INFO_OBJECT(self, "publishing to mqtt://%s:%d topic '%s' (connecting in the background)",
                  options.endpoint.host.c_str(), options.endpoint.port, options.topic.c_str());
  return true;
}

gboolean gst_dinometapublish_start(GstBaseTransform* trans) {
  auto* self = GST_DINOMETAPUBLISH(trans);
  const Settings settings = settings_snapshot(self);
  auto state = std::make_unique<State>();
  bool ok = false;
  switch (settings.method) {
    case GST_DINOCLIP_DINOMETAPUBLISH_METHOD_FILE:
      ok = open_file(self, *state, settings);
      break;
    case GST_DINOCLIP_DINOMETAPUBLISH_METHOD_MQTT:
      ok = start_mqtt(self, *state, settings);
      break;
    case GST_DINOCLIP_DINOMETAPUBLISH_METHOD_POSTGRES:
      ok = dinoclip::gst::pg_publish_start(GST_ELEMENT(self), state->pg, settings.address, settings.table,
                                           settings.max_queue);
      if (ok) {
        GST_INFO_OBJECT(self, "storing CLIP embeddings in %s, table %s (connecting on the first embedding)",
                        state->pg.address.c_str(), state->pg.table.c_str());
      }
      break;
  }
  if (!ok) return FALSE;
  std::lock_guard<std::mutex> lock(self->priv->state_lock);
  self->priv->state = std::move(state);
  self->priv->final_mqtt.reset();
  self->priv->lines_written = 0;
  self->priv->skipped = 0;
  return TRUE;
}

gboolean gst_dinometapublish_stop(GstBaseTransform* trans) {
  auto* self = GST_DINOMETAPUBLISH(trans);
  State* state = streaming_state(self);
  std::optional<dinoclip::gst::MqttStatus> final_status;
  if (state && state->mqtt) {
    // Drains the queue (bounded by the publisher's drain timeout); what is
    // left counts as dropped, so published + dropped = frames. The counters
    // stay readable meanwhile: the state is still in place.
    final_status = state->mqtt->stop();
    GST_INFO_OBJECT(
        self, "MQTT: %" G_GUINT64_FORMAT " published, %" G_GUINT64_FORMAT " dropped of %" G_GUINT64_FORMAT " frames",
        final_status->published, final_status->dropped, state->frames);
  }
  if (state && state->pg.writer) {
    // As MQTT: writes what is queued for up to the writer's drain time; the rest counts as dropped.
    state->pg.writer->close();
    final_status = dinoclip::gst::MqttStatus{};
    final_status->published = state->pg.writer->written();
    final_status->dropped = state->pg.writer->dropped();
    GST_INFO_OBJECT(self,
                    "PostgreSQL: %" G_GUINT64_FORMAT " stored, %" G_GUINT64_FORMAT " dropped, %" G_GUINT64_FORMAT
                    " skipped (no fresh embedding) of %" G_GUINT64_FORMAT " frames",
                    final_status->published, final_status->dropped, self->priv->skipped.load(), state->frames);
  }
  std::unique_ptr<State> stopping;
  {
    std::lock_guard<std::mutex> lock(self->priv->state_lock);
    stopping = std::move(self->priv->state);
    self->priv->final_mqtt = final_status;
  }
  return TRUE;  // the State's destructor closes the file
}

gboolean gst_dinometapublish_set_caps(GstBaseTransform* trans, GstCaps* incaps, GstCaps*) {
  auto* self = GST_DINOMETAPUBLISH(trans);
  GstVideoInfo info;
  const bool video = gst_video_info_from_caps(&info, incaps);
  if (State* state = streaming_state(self)) {
    state->width = video ? GST_VIDEO_INFO_WIDTH(&info) : 0;
    state->height = video ? GST_VIDEO_INFO_HEIGHT(&info) : 0;
  }
  return TRUE;  // any caps: non-video frames just have no "resolution"
}

/* ---- per frame ---- */

dinoclip::gst::FrameJsonContext frame_context(GstDinometapublish* self, const State& state, const Settings& settings,
                                              GstBuffer* buffer) {
  dinoclip::gst::FrameJsonContext context;
  const dinoclip::gst::FrameTimes times = dinoclip::gst::frame_times(GST_BASE_TRANSFORM(self)->segment, buffer);
  context.timestamp = times.timestamp;
  context.duration = times.duration;
  context.running_time = times.running_time;
  context.stream_time = times.stream_time;
  gchar* stream_id = gst_pad_get_stream_id(GST_BASE_TRANSFORM_SINK_PAD(self));
  if (stream_id) context.stream_id = stream_id;
  g_free(stream_id);
  context.frame = state.frames;
  context.width = state.width;
  context.height = state.height;
  context.include_attention = settings.include_attention;
  context.include_embedding = settings.include_embedding;
  return context;
}

GstFlowReturn write_line(GstDinometapublish* self, State& state, std::string line) {
  if (state.mqtt) {
    state.mqtt->publish(std::move(line));
    return GST_FLOW_OK;
  }
  line += '\n';
  if (std::fwrite(line.data(), 1, line.size(), state.file) != line.size() || std::fflush(state.file) != 0) {
    const Settings settings = settings_snapshot(self);
    GST_ELEMENT_ERROR(self, RESOURCE, WRITE,
                      ("Could not write a JSON line to \"%s\": %s", settings.file_path.c_str(), std::strerror(errno)),
                      ("is the disk full or the file gone?"));
    return GST_FLOW_ERROR;
  }
  ++self->priv->lines_written;
  return GST_FLOW_OK;
}

// Says on the bus, once per outage, that the broker cannot be reached and
// results are being lost, and when it is back; and the first message
// libmosquitto refused. Streaming thread, no lock held.
void report_mqtt_status(GstDinometapublish* self, State& state) {
  const dinoclip::gst::MqttStatus status = state.mqtt->status();
  if (!state.warned_unreachable && !status.connected && !status.connection_problem.empty()) {
    state.warned_unreachable = true;
    GST_ELEMENT_WARNING(self, RESOURCE, WRITE,
                        ("MQTT broker at %s unreachable (%s): frames' results are being dropped (the newest %u are "
                         "kept for when it is back; see 'dropped'); retrying in the background",
                         state.address.c_str(), status.connection_problem.c_str(), state.max_queue),
                        ("check that a broker listens on address=%s", state.address.c_str()));
  } else if (state.warned_unreachable && status.connected) {
    state.warned_unreachable = false;
    GST_ELEMENT_INFO(self, RESOURCE, WRITE,
                     ("Connected to the MQTT broker at %s again; %" G_GUINT64_FORMAT " results dropped so far",
                      state.address.c_str(), status.dropped),
                     (nullptr));
  }
  if (status.refused > state.refusals_reported) {
    if (state.refusals_reported == 0) {
      GST_ELEMENT_WARNING(self, RESOURCE, WRITE, ("A frame's result was dropped: %s", status.refusal.c_str()),
                          ("counted in 'dropped'; further refusals are only counted"));
    }
    state.refusals_reported = status.refused;
  }
}

// The stream's name for method=postgres rows: source-id, else the stream id
// (from stream-start), else the element's name.
std::string pg_source_id(GstDinometapublish* self, const Settings& settings) {
  if (!settings.source_id.empty()) return settings.source_id;
  std::string id;
  if (gchar* stream_id = gst_pad_get_stream_id(GST_BASE_TRANSFORM_SINK_PAD(self))) {
    id = stream_id;
    g_free(stream_id);
  } else if (gchar* name = gst_element_get_name(self)) {
    id = name;
    g_free(name);
  }
  return id;
}

GstFlowReturn gst_dinometapublish_transform_ip(GstBaseTransform* trans, GstBuffer* buffer) {
  auto* self = GST_DINOMETAPUBLISH(trans);
  try {
    const Settings settings = settings_snapshot(self);
    State* state = streaming_state(self);
    if (!state) return GST_FLOW_FLUSHING;  // not started
    if (settings.method == GST_DINOCLIP_DINOMETAPUBLISH_METHOD_POSTGRES && !state->mqtt && !state->file) {
      std::optional<dinoclip::gst::PgFrame> frame =
          dinoclip::gst::pg_frame(buffer, trans->segment, pg_source_id(self, settings), state->frames++);
      if (!frame) ++self->priv->skipped;
      // The writer's pointer is read by counters() under state_lock.
      return dinoclip::gst::pg_publish_frame(GST_ELEMENT(self), state->pg, std::move(frame), self->priv->state_lock);
    }
    std::string line = dinoclip::gst::frame_json(buffer, frame_context(self, *state, settings, buffer));
    ++state->frames;
    const GstFlowReturn ret = write_line(self, *state, std::move(line));
    if (state->mqtt) report_mqtt_status(self, *state);
    return ret;
  } catch (const std::exception& e) {  // allocation failures and the like: never into GStreamer
    GST_ELEMENT_ERROR(self, STREAM, FAILED, ("dinometapublish: %s", e.what()), (nullptr));
    return GST_FLOW_ERROR;
  }
}

/* ---- properties ---- */

// Connection properties apply in start(); changing them later would be
// silently ignored, so the change is refused with a warning instead.
bool refused_while_running(GstDinometapublish* self, const char* property) {
  if (!streaming_state(self)) return false;
  dinoclip::gst::warn_refused_property(GST_ELEMENT(self), GST_CAT_DEFAULT, property);  // no lock held: it posts
  return true;
}

std::string string_of(const GValue* value) { return g_value_get_string(value) ? g_value_get_string(value) : ""; }

void gst_dinometapublish_set_property(GObject* object, guint prop_id, const GValue* value, GParamSpec* pspec) {
  auto* self = GST_DINOMETAPUBLISH(object);
  const bool connection_property = prop_id == PROP_METHOD || prop_id == PROP_FILE_PATH || prop_id == PROP_ADDRESS ||
                                   prop_id == PROP_TOPIC || prop_id == PROP_CLIENT_ID || prop_id == PROP_MAX_QUEUE ||
                                   prop_id == PROP_TABLE || prop_id == PROP_SOURCE_ID;
  if (connection_property && refused_while_running(self, pspec->name)) return;
  std::lock_guard<std::mutex> lock(self->priv->settings_lock);
  Settings& s = self->priv->settings;
  switch (prop_id) {
    case PROP_METHOD:
      s.method = GstDinoclipDinometapublishMethod(g_value_get_enum(value));
      break;
    case PROP_FILE_PATH:
      s.file_path = string_of(value);
      break;
    case PROP_ADDRESS:
      s.address = string_of(value);
      break;
    case PROP_TOPIC:
      s.topic = string_of(value);
      break;
    case PROP_CLIENT_ID:
      s.client_id = string_of(value);
      break;
    case PROP_MAX_QUEUE:
      s.max_queue = g_value_get_uint(value);
      break;
    case PROP_INCLUDE_ATTENTION:
      s.include_attention = g_value_get_boolean(value);
      break;
    case PROP_INCLUDE_EMBEDDING:
      s.include_embedding = g_value_get_boolean(value);
      break;
    case PROP_TABLE:
      s.table = string_of(value);
      break;
    case PROP_SOURCE_ID:
      s.source_id = string_of(value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      break;
  }
}

// The counters: the MQTT publisher's or the PostgreSQL writer's (the last
// run's after stop()), or the lines written to the file. The publisher's own
// lock is only ever held briefly; the writer's counters are atomics.
dinoclip::gst::MqttStatus counters(GstDinometapublish* self) {
  std::lock_guard<std::mutex> lock(self->priv->state_lock);
  if (self->priv->state && self->priv->state->mqtt) return self->priv->state->mqtt->status();
  if (self->priv->state && self->priv->state->pg.writer) {
    const PgFrameWriter& writer = *self->priv->state->pg.writer;
    dinoclip::gst::MqttStatus pg;
    pg.published = writer.written();
    pg.dropped = writer.dropped();
    pg.connected = writer.connected();
    return pg;
  }
  if (!self->priv->state && self->priv->final_mqtt) return *self->priv->final_mqtt;
  dinoclip::gst::MqttStatus file_counters;
  file_counters.published = self->priv->lines_written.load();
  return file_counters;
}

void gst_dinometapublish_get_property(GObject* object, guint prop_id, GValue* value, GParamSpec* pspec) {
  auto* self = GST_DINOMETAPUBLISH(object);
  switch (prop_id) {
    case PROP_PUBLISHED:
      g_value_set_uint64(value, counters(self).published);
      return;
    case PROP_DROPPED:
      g_value_set_uint64(value, counters(self).dropped);
      return;
    case PROP_CONNECTED:
      g_value_set_boolean(value, counters(self).connected);
      return;
    case PROP_SKIPPED:
      g_value_set_uint64(value, self->priv->skipped.load());
      return;
    default:
      break;
  }
  std::lock_guard<std::mutex> lock(self->priv->settings_lock);
  const Settings& s = self->priv->settings;
  switch (prop_id) {
    case PROP_METHOD:
      g_value_set_enum(value, s.method);
      break;
    case PROP_FILE_PATH:
      g_value_set_string(value, s.file_path.c_str());
      break;
    case PROP_ADDRESS:
      g_value_set_string(value, s.address.c_str());
      break;
    case PROP_TOPIC:
      g_value_set_string(value, s.topic.c_str());
      break;
    case PROP_CLIENT_ID:
      g_value_set_string(value, s.client_id.empty() ? nullptr : s.client_id.c_str());
      break;
    case PROP_MAX_QUEUE:
      g_value_set_uint(value, s.max_queue);
      break;
    case PROP_INCLUDE_ATTENTION:
      g_value_set_boolean(value, s.include_attention);
      break;
    case PROP_INCLUDE_EMBEDDING:
      g_value_set_boolean(value, s.include_embedding);
      break;
    case PROP_TABLE:
      g_value_set_string(value, s.table.c_str());
      break;
    case PROP_SOURCE_ID:
      g_value_set_string(value, s.source_id.empty() ? nullptr : s.source_id.c_str());
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      break;
  }
}

void install_properties(GObjectClass* klass) {
  using dinoclip::gst::kParamAnyTime;
  using dinoclip::gst::kParamLoadTime;
  using dinoclip::gst::kParamReadOnly;
  g_object_class_install_property(
      klass, PROP_METHOD,
      g_param_spec_enum("method", "Method",
                        "Where the results go: file (JSON lines to file-path, appended, flushed per frame), mqtt "
                        "(JSON messages to address, topic; sent from a background thread) or postgres (each classified "
                        "frame's CLIP image embedding as a row of table at address; written from a background "
                        "thread); read in READY",
                        GST_TYPE_DINOCLIP_DINOMETAPUBLISH_METHOD, GST_DINOCLIP_DINOMETAPUBLISH_METHOD_FILE,
                        kParamLoadTime));
  g_object_class_install_property(
      klass, PROP_FILE_PATH,
      g_param_spec_string("file-path", "File path",
                          "[method=file] File the JSON lines are appended to (created if missing, never truncated); "
                          "'-' writes to stdout",
                          kStdout, kParamLoadTime));
  g_object_class_install_property(
      klass, PROP_ADDRESS,
      g_param_spec_string("address", "Address",
                          "[method=mqtt] The MQTT broker as host:port (port 1883 when left out), e.g. localhost:1883. "
                          "[method=postgres] A libpq connection string, e.g. \"host=db dbname=videos user=me\" or "
                          "postgresql://me@db:5432/videos; a password in it is refused (use $PGPASSWORD or ~/.pgpass)",
                          kDefaultAddress, kParamLoadTime));
  g_object_class_install_property(
      klass, PROP_TOPIC,
      g_param_spec_string("topic", "Topic",
                          "[method=mqtt] MQTT topic each frame's JSON message is published on: not empty, no wildcard "
                          "('+', '#'), not starting with '$', UTF-8 without control characters (else refused in "
                          "READY->PAUSED)",
                          kDefaultTopic, kParamLoadTime));
  g_object_class_install_property(
      klass, PROP_CLIENT_ID,
      g_param_spec_string("mqtt-client-id", "MQTT client id",
                          "[method=mqtt] Client identifier sent to the broker (UTF-8, no control characters); unset: "
                          "the broker assigns one",
                          nullptr, kParamLoadTime));
  g_object_class_install_property(
      klass, PROP_MAX_QUEUE,
      g_param_spec_uint("max-queue-size", "Max queue size",
                        "[method=mqtt] Messages held while the broker is unreachable; when full, the oldest is dropped "
                        "(counted in 'dropped'); 0 drops every frame while disconnected; what is still held at stop "
                        "is dropped too. [method=postgres] Rows waiting to be written (at least 1); when full, the "
                        "new frame's row is dropped (counted in 'dropped')",
                        0, 1000000, kDefaultMaxQueue, kParamLoadTime));
  g_object_class_install_property(
      klass, PROP_INCLUDE_ATTENTION,
      g_param_spec_boolean("include-attention", "Include attention",
                           "Add the CLS attention [heads, grid_h * grid_w] as base64 float32 (little-endian) to each "
                           "line that has DINO features",
                           FALSE, kParamAnyTime));
  g_object_class_install_property(
      klass, PROP_INCLUDE_EMBEDDING,
      g_param_spec_boolean("include-embedding", "Include embedding",
                           "Add the DINO CLS token (the frame embedding, dim floats) as base64 float32 (little-endian) "
                           "to each line that has DINO features",
                           FALSE, kParamAnyTime));
  g_object_class_install_property(
      klass, PROP_TABLE,
      g_param_spec_string("table", "Table",
                          "[method=postgres] The video index table (letters, digits, underscores): created with its "
                          "HNSW index on the first embedding when missing; one made by another model or of another "
                          "size is refused. `dinoclip search-index ADDRESS --table TABLE` searches it",
                          dinoclip::PgVideoIndex::kDefaultTable, kParamLoadTime));
  g_object_class_install_property(
      klass, PROP_SOURCE_ID,
      g_param_spec_string("source-id", "Source id",
                          "[method=postgres] The stream's name in the rows (their video and source_id columns, what "
                          "search results show), e.g. camera-1; unset: the stream id from stream-start, else the "
                          "element's name",
                          nullptr, kParamLoadTime));
  g_object_class_install_property(
      klass, PROP_PUBLISHED,
      g_param_spec_uint64("published", "Published",
                          "Frames published since start: lines written (file), messages handed to the broker (mqtt) or "
                          "rows committed (postgres); after stop, the last run's total. mqtt: published + dropped = "
                          "frames once stopped; postgres: published + dropped + skipped = frames once stopped",
                          0, G_MAXUINT64, 0, kParamReadOnly));
  g_object_class_install_property(
      klass, PROP_DROPPED,
      g_param_spec_uint64("dropped", "Dropped",
                          "[method=mqtt] Frames whose message was never sent: pushed out of the full queue while the "
                          "broker was unreachable, refused by libmosquitto, lost with a broken connection, or still "
                          "queued at stop. [method=postgres] Frames whose row was never stored: the queue full while "
                          "the server was unreachable or slow, still queued at stop, or after a fatal error",
                          0, G_MAXUINT64, 0, kParamReadOnly));
  g_object_class_install_property(
      klass, PROP_CONNECTED,
      g_param_spec_boolean("connected", "Connected",
                           "[method=mqtt/postgres] Whether the element is connected to the broker / server right now",
                           FALSE, kParamReadOnly));
  g_object_class_install_property(
      klass, PROP_SKIPPED,
      g_param_spec_uint64("skipped", "Skipped",
                          "[method=postgres] Frames with no CLIP embedding computed for them, so no row: no "
                          "classification meta (put clipzeroshot upstream), or one carried from an earlier frame "
                          "(inference-interval > 1, async-inference)",
                          0, G_MAXUINT64, 0, kParamReadOnly));
}

void gst_dinometapublish_finalize(GObject* object) {
  delete GST_DINOMETAPUBLISH(object)->priv;
  G_OBJECT_CLASS(gst_dinometapublish_parent_class)->finalize(object);
}

}  // namespace

static void gst_dinometapublish_class_init(GstDinometapublishClass* klass) {
  auto* gobject_class = G_OBJECT_CLASS(klass);
  auto* element_class = GST_ELEMENT_CLASS(klass);
  auto* trans_class = GST_BASE_TRANSFORM_CLASS(klass);

  GST_DEBUG_CATEGORY_INIT(dino_meta_publish_debug, "dinometapublish", 0, "dinoclip JSON / MQTT / PostgreSQL publisher");

  gobject_class->set_property = gst_dinometapublish_set_property;
  gobject_class->get_property = gst_dinometapublish_get_property;
  gobject_class->finalize = gst_dinometapublish_finalize;
  install_properties(gobject_class);

  gst_element_class_set_static_metadata(
      element_class, "dinoclip metadata publisher", "Filter/Analyzer/Video",
      "Publishes each frame's dinoclip results (features shape, labels and scores, per-class area, box and IoU, "
      "timestamps) as one JSON line to a file, stdout or an MQTT broker, or each classified frame's CLIP embedding "
      "to a PostgreSQL (pgvector) video index; buffers pass through unchanged",
      "dinoclip contributors");
  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_add_static_pad_template(element_class, &src_template);
  gst_type_mark_as_plugin_api(GST_TYPE_DINOCLIP_DINOMETAPUBLISH_METHOD, GstPluginAPIFlags(0));

  trans_class->passthrough_on_same_caps = TRUE;  // reads metas only
  trans_class->transform_ip_on_passthrough = TRUE;
  trans_class->start = gst_dinometapublish_start;
  trans_class->stop = gst_dinometapublish_stop;
  trans_class->set_caps = gst_dinometapublish_set_caps;
  trans_class->transform_ip = gst_dinometapublish_transform_ip;
}

static void gst_dinometapublish_init(GstDinometapublish* self) {
  self->priv = new Private;
  gst_base_transform_set_in_place(GST_BASE_TRANSFORM(self), TRUE);
  gst_base_transform_set_qos_enabled(GST_BASE_TRANSFORM(self), FALSE);
}
