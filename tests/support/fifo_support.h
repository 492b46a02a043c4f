// FIFOs (named pipes) for the tests of "never blocks on a FIFO".
#pragma once

#include <functional>
#include <string>

namespace dinoclip::testing {

// A FIFO in a fresh scratch directory; nothing writes to it.
std::string make_fifo();

// The message of the dinoclip::Error that open_it(fifo) throws for a FIFO
// from make_fifo(). open_it must return within 5 s: when it blocks (open()
// waiting for a writer), the test fails and the FIFO is opened for writing
// and closed so that the call returns and the test process can end.
std::string message_for_fifo(const std::function<void(const std::string& fifo)>& open_it);

}  // namespace dinoclip::testing
