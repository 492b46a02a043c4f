// open_regular_file and its callers in lib/io: a directory, a FIFO, a device
// and a socket are refused with a message naming the path and what it is,
// and nothing blocks (a FIFO without a writer would make open() wait forever).
#include "io/regular_file.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <string>

#include "io/checkpoint.h"
#include "io/file_util.h"
#include "io/image_file.h"
#include "io/mapped_file.h"
#include "io/npy.h"
#include "io/torchscript.h"
#include "fifo_support.h"
#include "test_support.h"

namespace dinoclip {
namespace {

using testing::message_for_fifo;
using testing::message_of;
using testing::temp_dir;

void expect_mentions(const std::string& message, const std::string& path, const std::string& what) {
  EXPECT_NE(message.find(path), std::string::npos) << message;
  EXPECT_NE(message.find(what), std::string::npos) << message;
}

// A listening Unix socket at a fresh path (closed with the object).
struct UnixSocket {
  std::string path = temp_dir() + "/socket";
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  UnixSocket() {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      ADD_FAILURE() << "cannot make a socket at " << path << ": " << std::strerror(errno);
    }
  }
  ~UnixSocket() {
    if (fd >= 0) ::close(fd);
  }
};

TEST(RegularFile, OpensARegularFile) {
  const std::string path = temp_dir() + "/text.txt";
  std::ofstream(path) << "hello";
  const FileDescriptor file = open_regular_file(path);
  char bytes[8] = {};
  ASSERT_EQ(::read(file.get(), bytes, sizeof bytes), 5);  // blocking again, reads as usual
  EXPECT_EQ(std::string(bytes, 5), "hello");
  EXPECT_NO_THROW(require_regular_file(path));
  EXPECT_NO_THROW(require_regular_or_missing(path));
  EXPECT_EQ(read_file(path), "hello");
}

TEST(RegularFile, RejectsMissingFile) {
  const std::string path = temp_dir() + "/missing.bin";
  expect_mentions(message_of([&] { open_regular_file(path); }), path, "cannot open");
  expect_mentions(message_of([&] { require_regular_file(path); }), path, "cannot open");
  EXPECT_NO_THROW(require_regular_or_missing(path));
}

TEST(RegularFile, RejectsDirectory) {
  const std::string dir = temp_dir();
  expect_mentions(message_of([&] { open_regular_file(dir); }), dir, "is a directory");
  expect_mentions(message_of([&] { require_regular_file(dir); }), dir, "is a directory");
  expect_mentions(message_of([&] { require_regular_or_missing(dir); }), dir, "is a directory");
}

TEST(RegularFile, RejectsDevice) {
  expect_mentions(message_of([] { open_regular_file("/dev/null"); }), "/dev/null", "is a device");
  expect_mentions(message_of([] { require_regular_file("/dev/zero"); }), "/dev/zero", "is a device");
  // Writing "over" /dev/null would replace the device node by a file.
  expect_mentions(message_of([] { write_file_atomically("/dev/null", "x"); }), "/dev/null", "is a device");
}

TEST(RegularFile, RejectsSocket) {
  const UnixSocket socket;
  expect_mentions(message_of([&] { open_regular_file(socket.path); }), socket.path, "is a socket");
  expect_mentions(message_of([&] { require_regular_file(socket.path); }), socket.path, "is a socket");
}

TEST(RegularFile, RejectsFifoWithoutBlocking) {
  expect_mentions(message_for_fifo([](const std::string& fifo) { open_regular_file(fifo); }), "fifo", "is a FIFO");
  expect_mentions(message_for_fifo([](const std::string& fifo) { require_regular_file(fifo); }), "fifo", "is a FIFO");
  expect_mentions(message_for_fifo([](const std::string& fifo) { open_regular_file(fifo, O_RDWR | O_CREAT, 0644); }),
                  "fifo", "is a FIFO");
}

// Every reader of lib/io that takes a user's path.
TEST(RegularFile, ReadersRejectFifoWithoutBlocking) {
  const auto fifo_error = [](void (*read)(const std::string&)) { return message_for_fifo(read); };
  EXPECT_NE(fifo_error([](const std::string& p) { read_file(p); }).find("is a FIFO"), std::string::npos);
  EXPECT_NE(fifo_error([](const std::string& p) { MappedFile file(p); }).find("is a FIFO"), std::string::npos);
  EXPECT_NE(fifo_error([](const std::string& p) { load_checkpoint(p); }).find("is a FIFO"), std::string::npos);
  EXPECT_NE(fifo_error([](const std::string& p) { read_npy(p); }).find("is a FIFO"), std::string::npos);
  EXPECT_NE(fifo_error([](const std::string& p) { read_image(p); }).find("is a FIFO"), std::string::npos);
  EXPECT_NE(fifo_error([](const std::string& p) { read_label_png(p); }).find("is a FIFO"), std::string::npos);
  EXPECT_NE(fifo_error([](const std::string& p) { read_torchscript(p); }).find("is a FIFO"), std::string::npos);
  EXPECT_NE(fifo_error([](const std::string& p) { write_file_atomically(p, "x"); }).find("is a FIFO"),
            std::string::npos);
}

}  // namespace
}  // namespace dinoclip
