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

// The text LibTorch 2.11's CUDA caching allocator throws (its pieces are in
// libc10_cuda.so; the numbers are an example), with the backtrace it appends.
constexpr const char* kCudaOutOfMemory =
    "CUDA out of memory. Tried to allocate 20.00 MiB. GPU 1 has a total capacity of 139.80 GiB of which 3.56 MiB "
    "is free. Including non-PyTorch memory, this process has 139.79 GiB memory in use. Of the allocated memory "
    "138.12 GiB is allocated by PyTorch, and 1.02 GiB is reserved by PyTorch but unallocated. If reserved but "
    "unallocated memory is large try setting PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True to avoid "
    "fragmentation.  See documentation for Memory Management  "
    "(https://docs.pytorch.org/docs/stable/notes/cuda.html#optimizing-memory-usage-with-pytorch-cuda-alloc-conf)\n"
    "Exception raised from malloc at /pytorch/c10/cuda/CUDACachingAllocator.cpp:1430 (most recent call first):";

TEST(UserMessage, CudaOutOfMemoryNamesTheSizeTheGpuAndWhatToChange) {
  const std::string message = user_message(std::runtime_error(kCudaOutOfMemory));
  EXPECT_EQ(message.rfind("out of GPU memory on cuda:1 (an allocation of 20.00 MiB failed; 3.56 MiB of 139.80 GiB "
                          "free): ", 0),
            0u)
      << message;
  EXPECT_NE(message.find("batch-size"), std::string::npos) << message;
  EXPECT_NE(message.find("precision=bf16"), std::string::npos) << message;
  EXPECT_NE(message.find("PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True"), std::string::npos) << "keeps the hint";
  EXPECT_EQ(message.find("0.0 GB"), std::string::npos) << "20.00 MiB is not 20 bytes: " << message;
  EXPECT_EQ(message.find("Exception raised"), std::string::npos) << message;
}

TEST(UserMessage, CudaOutOfMemoryWithoutDetailsStillAdvises) {
  const std::string message = user_message(std::runtime_error("CUDA out of memory. Tried to allocate more than 1EB memory."));
  EXPECT_EQ(message.rfind("out of GPU memory", 0), 0u) << message;
  EXPECT_NE(message.find("batch-size"), std::string::npos) << message;
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
