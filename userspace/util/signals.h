// SPDX-License-Identifier: GPL-2.0
// How every command learns it should stop: the signals it handles come from a signalfd,
// polled with whatever else it waits on. No handler and no flag to check between a test and
// the wait; the old signal mask is back when the SignalFd goes.
#pragma once

#include <signal.h>

#include <initializer_list>

#include "util/error.h"
#include "util/fd.h"

namespace tcpscope {

class SignalFd {
      public:
	// Blocks the signals in the calling thread (the threads it starts later inherit
	// that) and reads them from a non-blocking signalfd.
	[[nodiscard]] static Result<SignalFd> open(std::initializer_list<int> signals);
	// SIGINT and SIGTERM: what ends watch, stats, serve and top (with more in a terminal).
	[[nodiscard]] static Result<SignalFd> stop_signals() { return open({SIGINT, SIGTERM}); }
	SignalFd(SignalFd &&o) noexcept;
	~SignalFd();
	SignalFd(const SignalFd &) = delete;
	SignalFd &operator=(const SignalFd &) = delete;
	SignalFd &operator=(SignalFd &&) = delete;

	int fd() const { return fd_.get(); }

	// The next pending signal, 0 if none.
	int take() const;

	// Waits up to timeout_ms (-1: no limit) for a signal: the signal, or 0 at the timeout.
	int wait(int timeout_ms) const;

      private:
	SignalFd() = default;
	UniqueFd fd_;
	sigset_t old_ = {};
	bool restore_ = false;
};

} // namespace tcpscope
