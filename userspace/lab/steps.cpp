// SPDX-License-Identifier: GPL-2.0
// The steps: socket calls on either side, waits on the trace, sysctls and drops as setup.
#include "lab/steps.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>

#include <cerrno>
#include <ctime>

#include <fmt/format.h>

#include "event/states.h"
#include "kernel/tracer.h"
#include "util/signals.h"

namespace tcpscope::lab {

uint64_t mono_ns()
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return uint64_t(ts.tv_sec) * 1000000000ull + ts.tv_nsec;
}

Status Steps::pump(int ms)
{
	int n = tracer_.poll(0);
	if (n < 0 && n != -EINTR)
		return sys_error("poll", "tracer ring buffer", -n);
	n = tap->poll(ms);
	if (n < 0 && n != -EINTR)
		return sys_error("poll", "tap ring buffer", -n);
	if (stop_.take())
		return Error{"run", "experiment " + trace.experiment, EINTR, "interrupted"};
	return std::nullopt;
}

Status Steps::wait(const std::function<bool()> &pred, int bound_ms, const std::string &what)
{
	const uint64_t end = mono_ns() + uint64_t(bound_ms) * 1000000ull;
	for (;;) {
		if (auto e = pump(0))
			return e;
		if (pred())
			return std::nullopt;
		if (mono_ns() >= end)
			return Error{"wait for", what, ETIMEDOUT,
				     fmt::format("not seen within {} ms", bound_ms)};
		if (auto e = pump(2))
			return e;
	}
}

Status Steps::wait_fd(int fd, short events, int bound_ms, const std::string &what)
{
	return wait(
		[&] {
			struct pollfd p = {fd, events, 0};
			return ::poll(&p, 1, 0) > 0;
		},
		bound_ms, what);
}

Status Steps::sysctl(Side s, const std::string &key, const std::string &value)
{
	if (auto e = topo.sysctl(s, key, value))
		return e;
	trace.setup.push_back(fmt::format("{} {}={}", side_name(s), key, value));
	return std::nullopt;
}

Status Steps::sockopt(Side s, int fd, int level, int opt, int value, const std::string &name)
{
	if (call(s, fmt::format("setsockopt({}, {})", name, value),
		 [&] { return setsockopt(fd, level, opt, &value, sizeof(value)); }) < 0)
		return sys_error("set", name, errno);
	return std::nullopt;
}

Status Steps::drop(Side from, unsigned count, uint8_t mask, uint8_t value, const std::string &what)
{
	if (auto e = tap->drop(from, count, mask, value))
		return e;
	trace.setup.push_back(fmt::format("tap on c0 drops {}", what));
	return std::nullopt;
}

Result<int> Steps::socket(Side s)
{
	auto fd = topo.tcp_socket(s);
	if (!fd)
		return fd.error();
	socks_.push_back(std::move(*fd));
	return socks_.back().get();
}

int Steps::close(int fd)
{
	for (auto &s : socks_)
		if (s.get() == fd)
			return ::close(s.release());
	errno = EBADF;
	return -1;
}

struct sockaddr_in Steps::addr(const char *ip, uint16_t port)
{
	struct sockaddr_in a = {};
	a.sin_family = AF_INET;
	a.sin_port = htons(port);
	inet_pton(AF_INET, ip, &a.sin_addr);
	return a;
}

Result<int> Steps::listener(bool reuseaddr)
{
	auto fd = socket(Side::server);
	if (!fd)
		return fd;
	if (reuseaddr)
		if (auto e =
			    sockopt(Side::server, *fd, SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR"))
			return *e;
	auto a = addr(Topology::kServerAddr, kServerPort);
	if (call(Side::server, "bind()", [&] { return bind(*fd, (sockaddr *)&a, sizeof(a)); }) < 0)
		return sys_error("bind", "server socket", errno);
	if (call(Side::server, "listen()", [&] { return listen(*fd, 16); }) < 0)
		return sys_error("listen", "server socket", errno);
	trace.server_port = kServerPort;
	return fd;
}

Status Steps::open_pair(int lfd, int &c, int &s, const std::string &fastopen_data)
{
	auto fd = socket(Side::client);
	if (!fd)
		return fd.error();
	c = *fd;
	auto a = addr(Topology::kServerAddr, kServerPort);
	long r;
	if (fastopen_data.empty())
		r = call(Side::client, "connect()",
			 [&] { return connect(c, (sockaddr *)&a, sizeof(a)); });
	else
		r = call(Side::client,
			 fmt::format("sendto({}, MSG_FASTOPEN)", fastopen_data.size()), [&] {
				 return sendto(c, fastopen_data.data(), fastopen_data.size(),
					       MSG_FASTOPEN, (sockaddr *)&a, sizeof(a));
			 });
	if (r < 0 && errno != EINPROGRESS)
		return sys_error("connect", "client socket", errno);
	struct sockaddr_in me = {};
	socklen_t len = sizeof(me);
	getsockname(c, (sockaddr *)&me, &len);
	trace.client_port = ntohs(me.sin_port);
	if (auto e = wait_fd(c, POLLOUT, kStepMs, "the client's connect() to complete"))
		return e;
	int err = 0;
	len = sizeof(err);
	getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &len);
	if (err)
		return sys_error("connect", "client socket", err);
	if (auto e = wait_fd(lfd, POLLIN, kStepMs, "a connection to accept"))
		return e;
	s = int(call(Side::server, "accept()",
		     [&] { return accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC); }));
	if (s < 0)
		return sys_error("accept", "server socket", errno);
	socks_.emplace_back(s);
	return wait(
		[&] {
			return seen_state(Side::client, TCP_ESTABLISHED) &&
			       seen_state(Side::server, TCP_ESTABLISHED);
		},
		kStepMs, "ESTABLISHED on both sides");
}

Result<long> Steps::recv_some(Side side, int fd, size_t max, const std::string &what)
{
	if (auto e = wait_fd(fd, POLLIN, kStepMs, what))
		return *e;
	std::vector<char> buf(max);
	long n = call(side, "recv()", [&] { return recv(fd, buf.data(), buf.size(), 0); });
	if (n < 0)
		return sys_error("recv", std::string(side_name(side)) + " socket", errno);
	return n;
}

Status Steps::wait_diag(Side side, unsigned state, int bound_ms)
{
	const uint16_t mine = side == Side::client ? trace.client_port : trace.server_port;
	const uint16_t peer = side == Side::client ? trace.server_port : trace.client_port;
	Status err;
	auto st = wait(
		[&] {
			const uint64_t before = mono_ns();
			auto d = topo.diag(side, mine, peer);
			if (!d) {
				err = d.error();
				return true;
			}
			if (!*d && state == 0) { // gone
				trace.snapshots.push_back({mono_ns(), side, 0, 0, 0});
				return true;
			}
			if (!*d || (*d)->state != state)
				return false;
			// the kernel read the timer during the query: stamped at its middle
			(*d)->ts_ns = before + (mono_ns() - before) / 2;
			trace.snapshots.push_back(**d);
			return true;
		},
		bound_ms,
		state ? fmt::format("sock_diag to show the {}'s socket in {}", side_name(side),
				    state_name(state))
		      : fmt::format("the {}'s socket to be gone (sock_diag)", side_name(side)));
	return err ? err : st;
}

bool Steps::seen_state(Side s, unsigned state) const
{
	for (auto st : state_path(trace, s))
		if (st == state)
			return true;
	return false;
}

bool Steps::seen_ack(Side from, uint32_t ack) const
{
	for (const auto &p : trace.packets)
		if (p.from == from && !p.dropped && (p.flags & kAck) && p.ack == ack)
			return true;
	return false;
}

size_t Steps::count_packets(Side from, uint8_t mask, uint8_t value) const
{
	size_t n = 0;
	for (const auto &p : trace.packets)
		n += p.from == from && (p.flags & mask) == value;
	return n;
}

} // namespace tcpscope::lab
