// Publishes text messages to an MQTT broker from its own thread, so the
// caller (a streaming thread) never waits on the network: publish() only
// queues. The thread connects, reconnects with exponential back-off when the
// broker is down or goes away, and drains the queue while connected. A full
// queue drops its oldest message (counted). Plain C++ over libmosquitto; no
// GStreamer, so it can be tested and reused on its own.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

struct mosquitto;

namespace dinoclip::gst {

struct MqttEndpoint {
  std::string host;
  int port = 1883;
};

// "host:port" or "host" (port 1883); "[::1]:1883" for IPv6 literals. Throws
// std::invalid_argument with a message saying what is wrong.
MqttEndpoint parse_mqtt_address(const std::string& address);

struct MqttPublisherOptions {
  MqttEndpoint endpoint;
  std::string topic;
  std::string client_id;  // empty: the broker assigns one
  size_t max_queue = 100;  // messages held while the broker is away
  int qos = 0;
  std::chrono::milliseconds min_backoff{100};
  std::chrono::milliseconds max_backoff{5000};
  int keepalive_s = 30;
};

struct MqttCounters {
  std::uint64_t published = 0;   // handed to the broker (QoS 0: written; QoS 1/2: acknowledged)
  std::uint64_t dropped = 0;     // pushed out of a full queue, never sent
  std::uint64_t queued = 0;      // waiting now
  std::uint64_t connects = 0;    // successful connections so far
  bool connected = false;
};

class MqttPublisher {
 public:
  // Starts the thread; the first connection is attempted there (the
  // constructor never blocks on the network). Throws std::runtime_error if
  // libmosquitto cannot create a client.
  explicit MqttPublisher(MqttPublisherOptions options);
  // Stops the thread: gives queued messages up to `drain_timeout` to go out
  // when connected, then disconnects.
  ~MqttPublisher();
  MqttPublisher(const MqttPublisher&) = delete;
  MqttPublisher& operator=(const MqttPublisher&) = delete;

  // Queues one message; never blocks on the network.
  void publish(std::string payload);

  MqttCounters counters() const;
  // The last connection error, for logs ("" when none).
  std::string last_error() const;

  std::chrono::milliseconds drain_timeout{2000};

 private:
  void run();
  bool try_connect();
  void send_queued();
  void wait_backoff();

  static void on_connect(struct mosquitto*, void* self, int rc);
  static void on_disconnect(struct mosquitto*, void* self, int rc);
  static void on_publish(struct mosquitto*, void* self, int mid);

  MqttPublisherOptions options_;
  struct mosquitto* client_ = nullptr;
  bool ever_connected_ = false;  // publisher thread only
  std::chrono::milliseconds backoff_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::string> queue_;
  MqttCounters counters_;
  std::string last_error_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace dinoclip::gst
