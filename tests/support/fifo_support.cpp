#include "fifo_support.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <future>

#include "test_support.h"

namespace dinoclip::testing {

std::string make_fifo() {
  static int count = 0;
  const std::string path = temp_dir() + "/fifo" + std::to_string(++count);
  if (::mkfifo(path.c_str(), 0600) != 0) ADD_FAILURE() << "mkfifo " << path << ": " << std::strerror(errno);
  return path;
}

std::string message_for_fifo(const std::function<void(const std::string& fifo)>& open_it) {
  const std::string fifo = make_fifo();
  auto result = std::async(std::launch::async, [&] { return message_of([&] { open_it(fifo); }); });
  if (result.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
    ADD_FAILURE() << fifo << ": the call blocked on a FIFO for 5 s";
    for (int i = 0; i < 100 && result.wait_for(std::chrono::milliseconds(50)) != std::future_status::ready; ++i) {
      const int writer = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK);  // lets a blocked open() return
      if (writer >= 0) ::close(writer);
    }
  }
  return result.get();
}

}  // namespace dinoclip::testing
