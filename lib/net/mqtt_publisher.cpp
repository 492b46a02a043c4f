#include "net/mqtt_publisher.h"

#include <mosquitto.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <stdexcept>
#include <utility>

namespace dinoclip::gst {
namespace {

// How long one mosquitto_loop() waits on the socket: the longest a queued
// message waits before it is sent while connected.
constexpr int kLoopTimeoutMs = 20;

void init_library_once() {
  static const int initialised = [] { return mosquitto_lib_init(); }();
  (void)initialised;
}

}  // namespace

MqttEndpoint parse_mqtt_address(const std::string& address) {
  if (address.empty()) throw std::invalid_argument("the MQTT address is empty; give host:port, e.g. localhost:1883");
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

MqttPublisher::MqttPublisher(MqttPublisherOptions options)
    : options_(std::move(options)), backoff_(options_.min_backoff) {
  init_library_once();
  client_ = mosquitto_new(options_.client_id.empty() ? nullptr : options_.client_id.c_str(), /*clean_session=*/true,
                          this);
  if (!client_) throw std::runtime_error("libmosquitto could not create an MQTT client (out of memory?)");
  mosquitto_connect_callback_set(client_, &MqttPublisher::on_connect);
  mosquitto_disconnect_callback_set(client_, &MqttPublisher::on_disconnect);
  mosquitto_publish_callback_set(client_, &MqttPublisher::on_publish);
  thread_ = std::thread([this] { run(); });
}

MqttPublisher::~MqttPublisher() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
  mosquitto_destroy(client_);
}

void MqttPublisher::publish(std::string payload) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (options_.max_queue == 0) {
    ++counters_.dropped;
    return;
  }
  while (queue_.size() >= options_.max_queue) {
    queue_.pop_front();
    ++counters_.dropped;
  }
  queue_.push_back(std::move(payload));
}

MqttCounters MqttPublisher::counters() const {
  std::lock_guard<std::mutex> lock(mutex_);
  MqttCounters copy = counters_;
  copy.queued = queue_.size();
  return copy;
}

std::string MqttPublisher::last_error() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return last_error_;
}

void MqttPublisher::on_connect(struct mosquitto*, void* self, int rc) {
  auto* publisher = static_cast<MqttPublisher*>(self);
  std::lock_guard<std::mutex> lock(publisher->mutex_);
  if (rc == 0) {
    publisher->counters_.connected = true;
    ++publisher->counters_.connects;
    publisher->backoff_ = publisher->options_.min_backoff;
  } else {
    publisher->last_error_ = std::string("the broker refused the connection: ") + mosquitto_connack_string(rc);
  }
}

void MqttPublisher::on_disconnect(struct mosquitto*, void* self, int) {
  auto* publisher = static_cast<MqttPublisher*>(self);
  std::lock_guard<std::mutex> lock(publisher->mutex_);
  publisher->counters_.connected = false;
}

void MqttPublisher::on_publish(struct mosquitto*, void* self, int) {
  auto* publisher = static_cast<MqttPublisher*>(self);
  std::lock_guard<std::mutex> lock(publisher->mutex_);
  ++publisher->counters_.published;
}

// Opens the TCP connection (blocking, on this thread only); the CONNACK then
// arrives through mosquitto_loop and on_connect.
bool MqttPublisher::try_connect() {
  const int rc = ever_connected_ ? mosquitto_reconnect(client_)
                                 : mosquitto_connect(client_, options_.endpoint.host.c_str(), options_.endpoint.port,
                                                     options_.keepalive_s);
  if (rc == MOSQ_ERR_SUCCESS) {
    ever_connected_ = true;
    return true;
  }
  std::lock_guard<std::mutex> lock(mutex_);
  last_error_ = "cannot connect to " + options_.endpoint.host + ":" + std::to_string(options_.endpoint.port) + ": " +
                (rc == MOSQ_ERR_ERRNO ? std::string(mosquitto_strerror(errno)) : mosquitto_strerror(rc));
  return false;
}

void MqttPublisher::send_queued() {
  for (;;) {
    std::string payload;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!counters_.connected || queue_.empty()) return;
      payload = std::move(queue_.front());
      queue_.pop_front();
    }
    const int rc = mosquitto_publish(client_, nullptr, options_.topic.c_str(), int(payload.size()), payload.data(),
                                     options_.qos, /*retain=*/false);
    if (rc != MOSQ_ERR_SUCCESS) {
      std::lock_guard<std::mutex> lock(mutex_);
      queue_.push_front(std::move(payload));  // not sent: keep it for the next connection
      last_error_ = std::string("publish failed: ") + mosquitto_strerror(rc);
      return;
    }
  }
}

void MqttPublisher::wait_backoff() {
  std::unique_lock<std::mutex> lock(mutex_);
  const std::chrono::milliseconds delay = backoff_;
  backoff_ = std::min(backoff_ * 2, options_.max_backoff);
  wake_.wait_for(lock, delay, [this] { return stopping_; });
}

void MqttPublisher::run() {
  bool socket_open = false;
  std::chrono::steady_clock::time_point drain_deadline{};
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopping_) {
        if (drain_deadline == std::chrono::steady_clock::time_point{}) {
          drain_deadline = std::chrono::steady_clock::now() + drain_timeout;
        }
        if (!counters_.connected || queue_.empty() || std::chrono::steady_clock::now() >= drain_deadline) break;
      }
    }
    if (!socket_open) {
      socket_open = try_connect();
      if (!socket_open) {
        wait_backoff();
        continue;
      }
    }
    send_queued();
    const int rc = mosquitto_loop(client_, kLoopTimeoutMs, 1);
    if (rc != MOSQ_ERR_SUCCESS) {
      socket_open = false;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        counters_.connected = false;
        last_error_ = std::string("connection lost: ") + mosquitto_strerror(rc);
      }
      wait_backoff();
    }
  }
  if (socket_open) {
    mosquitto_disconnect(client_);
    mosquitto_loop(client_, kLoopTimeoutMs, 1);  // lets the DISCONNECT packet out
  }
}

}  // namespace dinoclip::gst
