// SPDX-License-Identifier: GPL-2.0
// The steps experiments are written in: one run's topology, tap and trace, and the actions
// and waits of its drivers. Every wait is on a condition (a segment seen, a state reached, a
// socket readable) with a bound, never a sleep; a missed bound is an error naming it.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "lab/tap.h"
#include "lab/topology.h"
#include "lab/trace.h"
#include "util/fd.h"

namespace tcpscope {
class Tracer;
class SignalFd;
} // namespace tcpscope

namespace tcpscope::lab {

constexpr uint16_t kServerPort = 8080;
// The bound of a step the kernel completes at once (a segment on the veth, a state change):
// microseconds normally, so it is only hit when something is wrong or the machine stalls.
constexpr int kStepMs = 5000;

uint64_t mono_ns();

// A driver's "this kernel or machine lacks what the variant needs": the run is reported as
// skipped with the reason, never as a pass.
inline Error skip(std::string reason)
{
	return Error{"skip", "", EOPNOTSUPP, std::move(reason)};
}
inline bool is_skip(const Error &e)
{
	return e.op == "skip";
}

class Steps {
      public:
	Steps(Tracer &tracer, const SignalFd &stop, Topology topo, Trace &trace, bool long_runs)
		: tracer_(tracer), stop_(stop), topo(std::move(topo)), trace(trace),
		  long_runs(long_runs)
	{}

	Tracer &tracer_;
	const SignalFd &stop_;
	Topology topo;
	std::unique_ptr<Tap> tap;
	Trace &trace;
	const bool long_runs; // --long: the real 60 s and longer timers
	// Set by a driver whose set-up lost a race it cannot control (why): the run is
	// incomplete and done once more, as one the tracer left incomplete.
	std::string not_set_up;

	// Drains both ring buffers, waiting up to ms for the tap; EINTR on Ctrl-C.
	Status pump(int ms);
	// Pumps until pred() holds; a bound missed is an error naming the condition.
	Status wait(const std::function<bool()> &pred, int bound_ms, const std::string &what);
	// Until a socket is readable (POLLIN) or writable (POLLOUT), or has an error.
	Status wait_fd(int fd, short events, int bound_ms, const std::string &what);

	// Runs one system call, recorded at its start with its result and errno.
	template <class F> long call(Side s, std::string what, F &&fn)
	{
		const uint64_t ts = mono_ns();
		long ret = long(fn());
		int err = ret < 0 ? errno : 0;
		trace.calls.push_back({ts, s, std::move(what), ret, err});
		errno = err;
		return ret;
	}

	// A sysctl of one side's namespace, set and written into the trace's setup.
	Status sysctl(Side s, const std::string &key, const std::string &value);
	// An integer socket option, recorded as a call.
	Status sockopt(Side s, int fd, int level, int opt, int value, const std::string &name);
	// Drop rule on the tap, written into the trace's setup.
	Status drop(Side from, unsigned count, uint8_t mask, uint8_t value,
		    const std::string &what);

	// A socket owned by the run (closed after the trace ends, unless closed by a step).
	Result<int> socket(Side s);
	int close(int fd);                              // close(2) of a run's socket, as a step
	void adopt(int fd) { socks_.emplace_back(fd); } // a socket made by a step (accept)

	static struct sockaddr_in addr(const char *ip, uint16_t port);
	// A listener on the server's kServerPort; reuseaddr sets SO_REUSEADDR before bind().
	Result<int> listener(bool reuseaddr = false);
	// connect() from the client (its port in trace.client_port) and accept(): both ends
	// ESTABLISHED. With data, the connect is sendto(MSG_FASTOPEN).
	Status open_pair(int lfd, int &c, int &s, const std::string &fastopen_data = "");
	// recv() once readable: bytes read, 0 at EOF, or the error (its errno in the trace).
	Result<long> recv_some(Side side, int fd, size_t max, const std::string &what);
	// Until sock_diag shows that side's connection socket in `state` (or gone, with
	// state 0); the snapshot joins the trace.
	Status wait_diag(Side side, unsigned state, int bound_ms);

	bool seen_state(Side s, unsigned state) const;
	// a segment from `from` acknowledging `ack` (raw)
	bool seen_ack(Side from, uint32_t ack) const;
	size_t count_packets(Side from, uint8_t mask, uint8_t value) const;

      private:
	std::vector<UniqueFd> socks_;
};

} // namespace tcpscope::lab
