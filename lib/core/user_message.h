// What to tell a user about an exception from below the core.
#pragma once

#include <exception>
#include <string>

namespace dinoclip {

// An allocation failure (std::bad_alloc, LibTorch's "enforce fail at
// alloc_cpu.cpp ... you tried to allocate N bytes") becomes "out of memory
// (a single allocation of N GB failed): ..." with what to reduce; anything
// else is returned as it is, without LibTorch's C++ backtrace.
std::string user_message(const std::exception& error);

}  // namespace dinoclip
