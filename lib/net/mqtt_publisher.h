// Publishes text messages to an MQTT broker from its own thread, so the
// caller (a streaming thread) never waits on the network: publish() only
// queues. The thread connects, reconnects with exponential back-off when the
// broker is down or goes away, and drains the queue while connected. Every
// message ends up counted exactly once: published, or dropped (pushed out of a
// full queue, refused by libmosquitto, lost with a broken connection, or still
// queued at stop). Plain C++ over libmosquitto; no GStreamer, so it can be
// tested and reused on its own.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

namespace dinoclip::gst {

struct MqttEndpoint {
  std::string host;
  int port = 1883;
};

// "host:port" or "host" (port 1883); "[::1]:1883" for IPv6 literals. Throws
// std::invalid_argument with a message saying what is wrong.
MqttEndpoint parse_mqtt_address(const std::string& address);

// Why a message cannot be published on `topic`, "" when it can: the rules of
// MQTT 3.1.1 (section 4.7) that libmosquitto applies at each publish, checked
// up front so that a bad topic is refused instead of losing every message.
std::string mqtt_topic_problem(const std::string& topic);

// Why libmosquitto would refuse `client_id` ("" when it would not; empty means
// "the broker assigns one" and is fine).
std::string mqtt_client_id_problem(const std::string& client_id);

struct MqttPublisherOptions {
  MqttEndpoint endpoint;
  std::string topic;
  std::string client_id;   // empty: the broker assigns one
  size_t max_queue = 100;  // messages held while the broker is away
  int qos = 0;
  std::chrono::milliseconds min_backoff{100};
  std::chrono::milliseconds max_backoff{5000};
  int keepalive_s = 30;
  // At stop, how long queued messages may take to go out while connected. The
  // destructor never waits much longer than this: a thread stuck in a blocking
  // connect or name lookup (minutes) is left to finish on its own.
  std::chrono::milliseconds drain_timeout{2000};
};

struct MqttStatus {
  std::uint64_t published = 0;  // handed to the broker (QoS 0: written to its connection)
  std::uint64_t dropped = 0;    // never sent: see the header comment
  std::uint64_t queued = 0;     // waiting now; at stop these become dropped
  std::uint64_t connects = 0;   // successful connections so far
  std::uint64_t refused = 0;    // messages libmosquitto refused to publish (also counted in dropped)
  bool connected = false;
  // Why it is not connected ("" while connected, and before the first attempt ends).
  std::string connection_problem;
  // Why the last refused message was refused ("" when none was).
  std::string refusal;
};

class MqttPublisher {
 public:
  // Starts the thread; the first connection is attempted there (the
  // constructor never blocks on the network). Throws std::runtime_error if
  // libmosquitto cannot create a client.
  explicit MqttPublisher(MqttPublisherOptions options);
  // stop().
  ~MqttPublisher();
  MqttPublisher(const MqttPublisher&) = delete;
  MqttPublisher& operator=(const MqttPublisher&) = delete;

  // Queues one message; never blocks on the network.
  void publish(std::string payload);

  MqttStatus status() const;

  // Stops the thread: queued messages get up to drain_timeout to go out when
  // connected; what is left is counted as dropped, so the final status has
  // published + dropped = messages given to publish(). Returns after about
  // drain_timeout at most, whatever the network does. Later publish() calls
  // count as dropped.
  MqttStatus stop();

 private:
  struct Core;  // shared with the thread, which may outlive this object (see the destructor)
  std::shared_ptr<Core> core_;
  std::thread thread_;
};

}  // namespace dinoclip::gst
