// user_message: allocation failures from LibTorch or the C++ library read as
// "out of memory" with what to reduce, never LibTorch's raw text.
#include <gtest/gtest.h>

#include <new>
#include <stdexcept>

#include "core/error.h"
#include "core/user_message.h"

namespace dinoclip {
namespace {

TEST(UserMessage, LibTorchAllocationFailureSaysOutOfMemoryAndTheSize) {
  const std::runtime_error torch(
      "[enforce fail at alloc_cpu.cpp:75] err == 0. DefaultCPUAllocator: can't allocate memory: you tried to "
      "allocate 68719476736 bytes. Error code 12 (Cannot allocate memory)");
  const std::string message = user_message(torch);
  EXPECT_EQ(message.find("alloc_cpu"), std::string::npos) << message;
  EXPECT_NE(message.find("out of memory (a single allocation of 68.7 GB failed)"), std::string::npos) << message;
  EXPECT_NE(message.find("smaller input size"), std::string::npos) << message;
}

TEST(UserMessage, BadAllocSaysOutOfMemory) {
  EXPECT_EQ(user_message(std::bad_alloc()).rfind("out of memory: ", 0), 0u) << user_message(std::bad_alloc());
}

TEST(UserMessage, OtherErrorsPassThroughWithoutABacktrace) {
  EXPECT_EQ(user_message(Error("model.pth: no such file")), "model.pth: no such file");
  EXPECT_EQ(user_message(std::runtime_error("shape mismatch\nException raised from foo at bar.cpp:1")),
            "shape mismatch");
}

}  // namespace
}  // namespace dinoclip
