#include "net/mqtt_publisher.h"

#include <mosquitto.h>
#include <netdb.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <stdexcept>
#include <utility>

namespace dinoclip::gst {
namespace {

// How long one mosquitto_loop() waits on the socket: the longest a queued
// message waits before it is sent while connected.
constexpr int kLoopTimeoutMs = 20;

// How much longer than drain_timeout the destructor waits for the thread.
constexpr std::chrono::milliseconds kStopGrace{500};

void init_library_once() {
  static const int initialised = [] { return mosquitto_lib_init(); }();
  (void)initialised;
}

// A libmosquitto result in words, with the system's reason where it has one.
// Call right after the failing call (it reads errno).
std::string describe(int rc) {
  if (rc == MOSQ_ERR_ERRNO) return std::strerror(errno);
  if (rc == MOSQ_ERR_EAI) return std::string("name lookup failed: ") + gai_strerror(errno);
  return mosquitto_strerror(rc);
}

// mosquitto_publish's refusals of the message itself: sending it again would
// fail again. Anything else is the connection's fault and is retried.
bool refuses_the_message(int rc) {
  return rc == MOSQ_ERR_INVAL || rc == MOSQ_ERR_MALFORMED_UTF8 || rc == MOSQ_ERR_PAYLOAD_SIZE ||
         rc == MOSQ_ERR_OVERSIZE_PACKET || rc == MOSQ_ERR_QOS_NOT_SUPPORTED || rc == MOSQ_ERR_NOT_SUPPORTED ||
         rc == MOSQ_ERR_NOMEM;
}

constexpr size_t kMaxMqttString = 65535;  // MQTT strings carry a 16-bit length

}  // namespace

MqttEndpoint parse_mqtt_address(const std::string& address) {
  if (address.empty()) throw std::invalid_argument("the MQTT address is empty; give host:port, e.g. localhost:1883");
  if (address.find("://") != std::string::npos) {
    throw std::invalid_argument("'" + address + "': give host:port without a scheme, e.g. localhost:1883");
  }
  MqttEndpoint endpoint;
  std::string port_text;
  if (address.front() == '[') {  // [IPv6]:port
    const size_t close = address.find(']');
    if (close == std::string::npos) throw std::invalid_argument("'" + address + "': missing ']' after the IPv6 host");
    endpoint.host = address.substr(1, close - 1);
    if (close + 1 < address.size()) {
      if (address[close + 1] != ':') throw std::invalid_argument("'" + address + "': expected ':' after ']'");
      port_text = address.substr(close + 2);
    }
  } else {
    const size_t colon = address.rfind(':');
    endpoint.host = address.substr(0, colon);
    if (colon != std::string::npos) port_text = address.substr(colon + 1);
  }
  if (endpoint.host.empty()) throw std::invalid_argument("'" + address + "' has no host; give host:port");
  if (endpoint.host.find_first_of(" \t\r\n") != std::string::npos) {
    throw std::invalid_argument("'" + address + "': the host contains white space");
  }
  if (!port_text.empty() || address.back() == ':') {
    char* end = nullptr;
    errno = 0;
    const long port = std::strtol(port_text.c_str(), &end, 10);
    if (port_text.empty() || *end != '\0' || errno != 0 || port < 1 || port > 65535) {
      throw std::invalid_argument("'" + address + "': the port must be a number in 1..65535");
    }
    endpoint.port = int(port);
  }
  return endpoint;
}

namespace {

// An MQTT string (topic, client id): at most 65535 bytes of UTF-8 without
// control characters, as libmosquitto checks it.
std::string mqtt_string_problem(const std::string& what, const std::string& text) {
  if (text.size() > kMaxMqttString) {
    return "the " + what + " is " + std::to_string(text.size()) + " bytes long; MQTT allows at most 65535";
  }
  if (mosquitto_validate_utf8(text.data(), int(text.size())) != MOSQ_ERR_SUCCESS) {
    return "the " + what + " is not valid UTF-8 or contains a control character, which MQTT forbids";
  }
  return "";
}

}  // namespace

std::string mqtt_topic_problem(const std::string& topic) {
  if (topic.empty()) return "the topic must not be empty; give one, e.g. topic=dinoclip/camera1";
  const std::string problem = mqtt_string_problem("topic", topic);
  if (!problem.empty()) return problem;
  if (topic.find_first_of("+#") != std::string::npos) {
    return "'" + topic +
           "' contains a wildcard ('+' or '#'): MQTT allows wildcards in subscriptions only, never in "
           "the topic a message is published on; name one topic, e.g. cams/front";
  }
  if (topic.front() == '$') {
    return "'" + topic +
           "' starts with '$': MQTT reserves those topics for the broker ($SYS/...) and applications "
           "cannot use them";
  }
  return "";
}

std::string mqtt_client_id_problem(const std::string& client_id) {
  return client_id.empty() ? "" : mqtt_string_problem("client id", client_id);
}

struct MqttPublisher::Core {
  explicit Core(MqttPublisherOptions o) : options(std::move(o)), backoff(options.min_backoff) {}
  ~Core() {
    if (client) mosquitto_destroy(client);
  }

  void run();
  bool connect();
  void send_queued();
  void connection_failed(const std::string& why);
  void wait_backoff();
  bool should_stop(bool socket_open);

  static void on_connect(struct mosquitto*, void* self, int rc);
  static void on_disconnect(struct mosquitto*, void* self, int rc);
  static void on_publish(struct mosquitto*, void* self, int mid);

  const MqttPublisherOptions options;
  struct mosquitto* client = nullptr;
  bool ever_connected = false;  // the thread only

  mutable std::mutex mutex;      // everything below; never held across a libmosquitto call
  std::condition_variable wake;  // stop requested
  std::condition_variable finished_changed;
  std::deque<std::string> queue;
  MqttStatus status;
  std::int64_t in_flight = 0;      // handed to libmosquitto, not yet written (signed: on_publish may come first)
  bool refused_by_broker = false;  // this connection attempt got a negative CONNACK
  std::chrono::milliseconds backoff;
  bool stopping = false;
  bool abandoned = false;  // the destructor left without the thread (stuck in a blocking connect)
  std::chrono::steady_clock::time_point stop_deadline{};
  bool finished = false;
};

MqttPublisher::MqttPublisher(MqttPublisherOptions options) : core_(std::make_shared<Core>(std::move(options))) {
  init_library_once();
  const std::string& id = core_->options.client_id;
  core_->client = mosquitto_new(id.empty() ? nullptr : id.c_str(), /*clean_session=*/true, core_.get());
  if (!core_->client) {
    const std::string problem = mqtt_client_id_problem(id);
    throw std::runtime_error(problem.empty() ? "libmosquitto could not create an MQTT client (out of memory?)"
                                             : problem);
  }
  mosquitto_connect_callback_set(core_->client, &Core::on_connect);
  mosquitto_disconnect_callback_set(core_->client, &Core::on_disconnect);
  mosquitto_publish_callback_set(core_->client, &Core::on_publish);
  thread_ = std::thread([core = core_] { core->run(); });  // the thread keeps the core alive
}

MqttPublisher::~MqttPublisher() { stop(); }

MqttStatus MqttPublisher::stop() {
  if (!thread_.joinable()) return status();
  std::unique_lock<std::mutex> lock(core_->mutex);
  core_->stopping = true;
  core_->stop_deadline = std::chrono::steady_clock::now() + core_->options.drain_timeout;
  core_->wake.notify_all();
  const bool finished =
      core_->finished_changed.wait_until(lock, core_->stop_deadline + kStopGrace, [this] { return core_->finished; });
  if (!finished) {
    // A blocking connect or name lookup (the OS gives up after minutes): what
    // is queued will never go out; the thread ends on its own and frees the core.
    core_->abandoned = true;
    core_->status.dropped += core_->queue.size();
    core_->queue.clear();
  }
  lock.unlock();
  if (finished) {
    thread_.join();
  } else {
    thread_.detach();
  }
  return status();
}

void MqttPublisher::publish(std::string payload) {
  std::lock_guard<std::mutex> lock(core_->mutex);
  // max_queue 0 keeps nothing while disconnected, but a message still passes
  // through the queue to the thread while connected.
  const size_t limit = std::max<size_t>(core_->options.max_queue, core_->status.connected ? 1 : 0);
  if (core_->stopping || limit == 0) {
    ++core_->status.dropped;
    return;
  }
  while (core_->queue.size() >= limit) {
    core_->queue.pop_front();
    ++core_->status.dropped;
  }
  core_->queue.push_back(std::move(payload));
}

MqttStatus MqttPublisher::status() const {
  std::lock_guard<std::mutex> lock(core_->mutex);
  MqttStatus copy = core_->status;
  copy.queued = core_->queue.size() + std::uint64_t(std::max<std::int64_t>(core_->in_flight, 0));
  return copy;
}

void MqttPublisher::Core::on_connect(struct mosquitto*, void* self, int rc) {
  auto* core = static_cast<Core*>(self);
  std::lock_guard<std::mutex> lock(core->mutex);
  if (rc == 0) {
    core->status.connected = true;
    core->status.connection_problem.clear();
    ++core->status.connects;
    core->backoff = core->options.min_backoff;
  } else {
    core->refused_by_broker = true;
    core->status.connection_problem = std::string("the broker refused the connection: ") + mosquitto_connack_string(rc);
  }
}

void MqttPublisher::Core::on_disconnect(struct mosquitto*, void* self, int) {
  auto* core = static_cast<Core*>(self);
  std::lock_guard<std::mutex> lock(core->mutex);
  core->status.connected = false;
}

void MqttPublisher::Core::on_publish(struct mosquitto*, void* self, int) {
  auto* core = static_cast<Core*>(self);
  std::lock_guard<std::mutex> lock(core->mutex);
  --core->in_flight;
  ++core->status.published;
}

// Opens the TCP connection (blocking: name lookup and connect, on this thread
// only); the CONNACK then arrives through mosquitto_loop and on_connect.
bool MqttPublisher::Core::connect() {
  const int rc = ever_connected ? mosquitto_reconnect(client)
                                : mosquitto_connect(client, options.endpoint.host.c_str(), options.endpoint.port,
                                                    options.keepalive_s);
  if (rc == MOSQ_ERR_SUCCESS) {
    ever_connected = true;
    std::lock_guard<std::mutex> lock(mutex);
    refused_by_broker = false;
    return true;
  }
  const std::string why = describe(rc);
  std::lock_guard<std::mutex> lock(mutex);
  status.connection_problem =
      "cannot connect to " + options.endpoint.host + ":" + std::to_string(options.endpoint.port) + ": " + why;
  return false;
}

// The socket broke (or the broker refused us): what libmosquitto had not
// written yet is gone with it.
void MqttPublisher::Core::connection_failed(const std::string& why) {
  std::lock_guard<std::mutex> lock(mutex);
  const bool was_connected = status.connected;
  status.connected = false;
  status.dropped += std::uint64_t(std::max<std::int64_t>(in_flight, 0));
  in_flight = 0;
  if (!refused_by_broker) {
    status.connection_problem = (was_connected ? "the connection was lost: " : "no answer to CONNECT: ") + why;
  }
  refused_by_broker = false;
}

void MqttPublisher::Core::send_queued() {
  for (;;) {
    std::string payload;
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (!status.connected || queue.empty() || abandoned) return;
      payload = std::move(queue.front());
      queue.pop_front();
      ++in_flight;  // before the call: on_publish may run inside it
    }
    const int rc = mosquitto_publish(client, nullptr, options.topic.c_str(), int(payload.size()), payload.data(),
                                     options.qos, /*retain=*/false);
    if (rc == MOSQ_ERR_SUCCESS) continue;
    const std::string why = describe(rc);
    std::lock_guard<std::mutex> lock(mutex);
    --in_flight;
    if (!refuses_the_message(rc)) {
      queue.push_front(std::move(payload));  // the connection's fault: sent again after reconnecting
      return;
    }
    ++status.dropped;
    ++status.refused;
    status.refusal = "libmosquitto refused to publish on '" + options.topic + "': " + why;
  }
}

void MqttPublisher::Core::wait_backoff() {
  std::unique_lock<std::mutex> lock(mutex);
  const std::chrono::milliseconds delay = backoff;
  backoff = std::min(backoff * 2, options.max_backoff);
  wake.wait_for(lock, delay, [this] { return stopping; });
}

// At stop: go on while connected (or connecting) and messages remain, until the deadline.
bool MqttPublisher::Core::should_stop(bool socket_open) {
  std::lock_guard<std::mutex> lock(mutex);
  if (abandoned) return true;
  if (!stopping) return false;
  return !socket_open || (queue.empty() && in_flight <= 0) || std::chrono::steady_clock::now() >= stop_deadline;
}

void MqttPublisher::Core::run() {
  bool socket_open = false;
  while (!should_stop(socket_open)) {
    if (!socket_open) {
      socket_open = connect();
      if (!socket_open) {
        wait_backoff();
        continue;
      }
    }
    send_queued();
    const int rc = mosquitto_loop(client, kLoopTimeoutMs, 1);
    if (rc != MOSQ_ERR_SUCCESS) {
      connection_failed(describe(rc));
      socket_open = false;
      wait_backoff();
    }
  }
  if (socket_open) {
    mosquitto_disconnect(client);
    mosquitto_loop(client, kLoopTimeoutMs, 1);  // lets the DISCONNECT packet out
  }
  std::lock_guard<std::mutex> lock(mutex);
  status.dropped += queue.size() + std::uint64_t(std::max<std::int64_t>(in_flight, 0));  // never sent
  queue.clear();
  in_flight = 0;
  status.connected = false;
  finished = true;
  finished_changed.notify_all();
}

}  // namespace dinoclip::gst
