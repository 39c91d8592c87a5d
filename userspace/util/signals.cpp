// SPDX-License-Identifier: GPL-2.0
// The signalfd behind every command's stop.
#include "util/signals.h"

#include <poll.h>
#include <sys/signalfd.h>

#include <cerrno>

namespace tcpscope {

Result<SignalFd> SignalFd::open(std::initializer_list<int> signals)
{
	SignalFd s;
	sigset_t set;

	sigemptyset(&set);
	for (int sig : signals)
		sigaddset(&set, sig);
	if (sigprocmask(SIG_BLOCK, &set, &s.old_) < 0)
		return sys_error("block", "signals", errno);
	s.restore_ = true;
	s.fd_.reset(signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
	if (!s.fd_)
		return sys_error("create", "signalfd", errno); // ~SignalFd unblocks them
	return s;
}

SignalFd::SignalFd(SignalFd &&o) noexcept
	: fd_(std::move(o.fd_)), old_(o.old_), restore_(std::exchange(o.restore_, false))
{}

SignalFd::~SignalFd()
{
	if (restore_)
		sigprocmask(SIG_SETMASK, &old_, nullptr);
}

int SignalFd::take() const
{
	struct signalfd_siginfo si;

	if (read(fd_.get(), &si, sizeof(si)) != sizeof(si))
		return 0;
	return static_cast<int>(si.ssi_signo);
}

int SignalFd::wait(int timeout_ms) const
{
	struct pollfd pfd = {fd_.get(), POLLIN, 0};

	if (poll(&pfd, 1, timeout_ms) <= 0)
		return 0;
	return take();
}

} // namespace tcpscope
