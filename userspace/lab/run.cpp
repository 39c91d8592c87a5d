// SPDX-License-Identifier: GPL-2.0
// The experiment drivers. Every step waits on a condition (a segment seen, a state reached, a
// socket readable) with a bound, never on a sleep; a missed bound fails the run and names the
// condition.
#include "lab/run.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <functional>

#include <fmt/format.h>

#include "event/fold.h"
#include "event/states.h"
#include "kernel/tracer.h"
#include "lab/tap.h"
#include "lab/topology.h"
#include "util/signals.h"

namespace tcpscope::lab {

namespace {

constexpr uint16_t kServerPort = 8080;

uint64_t mono_ns()
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return uint64_t(ts.tv_sec) * 1000000000ull + ts.tv_nsec;
}

int64_t realtime_offset_ns()
{
	struct timespec r, m;
	clock_gettime(CLOCK_REALTIME, &r);
	clock_gettime(CLOCK_MONOTONIC, &m);
	return (int64_t(r.tv_sec) - m.tv_sec) * 1000000000ll + (r.tv_nsec - m.tv_nsec);
}

} // namespace

// One run: its topology, tap and trace, and the steps the drivers are written in.
struct Lab::Ctx {
	Lab &lab;
	Topology topo;
	std::unique_ptr<Tap> tap;
	Trace &trace;

	// Drains both ring buffers, waiting up to ms for the tap.
	Status pump(int ms)
	{
		int n = lab.tracer_->poll(0);
		if (n < 0 && n != -EINTR)
			return sys_error("poll", "tracer ring buffer", -n);
		n = tap->poll(ms);
		if (n < 0 && n != -EINTR)
			return sys_error("poll", "tap ring buffer", -n);
		if (lab.stop_.take())
			return Error{"run", "experiment " + trace.experiment, EINTR, "interrupted"};
		return std::nullopt;
	}

	// Pumps until pred() holds; a bound missed is an error naming the condition.
	Status wait(const std::function<bool()> &pred, int bound_ms, const std::string &what)
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

	// Like wait(), for a socket becoming readable or writable.
	Status wait_fd(int fd, short events, int bound_ms, const std::string &what)
	{
		return wait(
			[&] {
				struct pollfd p = {fd, events, 0};
				return ::poll(&p, 1, 0) > 0;
			},
			bound_ms, what);
	}

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

	// Sockets live as long as the run: closing them at the end is not part of the trace.
	std::vector<UniqueFd> socks;

	bool seen_state(Side s, unsigned state) const
	{
		for (auto st : state_path(trace, s))
			if (st == state)
				return true;
		return false;
	}

	bool seen_packet(Side from, uint8_t mask, uint8_t value) const
	{
		return find_packet(trace, from, mask, value).has_value();
	}

	// A packet from `from` acknowledging `ack` (raw).
	bool seen_ack(Side from, uint32_t ack) const
	{
		for (const auto &p : trace.packets)
			if (p.from == from && (p.flags & kAck) && p.ack == ack)
				return true;
		return false;
	}

	// Waits until sock_diag shows that side's connection socket in `state`; the snapshot
	// that showed it joins the trace.
	Status wait_diag(Side side, unsigned state, int bound_ms)
	{
		const uint16_t mine = side == Side::client ? trace.client_port : trace.server_port;
		const uint16_t peer = side == Side::client ? trace.server_port : trace.client_port;
		std::optional<Error> err;
		auto st = wait(
			[&] {
				auto d = topo.diag(side, mine, peer);
				if (!d) {
					err = d.error();
					return true;
				}
				if (!*d || (*d)->state != state)
					return false;
				(*d)->ts_ns = mono_ns();
				trace.snapshots.push_back(**d);
				return true;
			},
			bound_ms,
			fmt::format("sock_diag to show the {}'s socket in {}", side_name(side),
				    state_name(state)));
		return err ? err : st;
	}

	static struct sockaddr_in addr(const char *ip, uint16_t port)
	{
		struct sockaddr_in a = {};
		a.sin_family = AF_INET;
		a.sin_port = htons(port);
		inet_pton(AF_INET, ip, &a.sin_addr);
		return a;
	}

	// A socket owned by the run; its descriptor.
	Result<int> socket(Side s)
	{
		auto fd = topo.tcp_socket(s);
		if (!fd)
			return fd.error();
		socks.push_back(std::move(*fd));
		return socks.back().get();
	}

	// close(2) of a run's socket (the closing is part of the experiment)
	int close(int fd)
	{
		for (auto &s : socks)
			if (s.get() == fd)
				return ::close(s.release());
		errno = EBADF;
		return -1;
	}

	Result<int> listener()
	{
		auto fd = socket(Side::server);
		if (!fd)
			return fd;
		auto a = addr(Topology::kServerAddr, kServerPort);
		if (call(Side::server, "bind()",
			 [&] { return bind(*fd, (sockaddr *)&a, sizeof(a)); }) < 0)
			return sys_error("bind", "server socket", errno);
		if (call(Side::server, "listen()", [&] { return listen(*fd, 16); }) < 0)
			return sys_error("listen", "server socket", errno);
		trace.server_port = kServerPort;
		return fd;
	}

	// connect() and accept(): both ends ESTABLISHED.
	Status open_pair(int lfd, int &c, int &s)
	{
		auto fd = socket(Side::client);
		if (!fd)
			return fd.error();
		c = *fd;
		auto a = addr(Topology::kServerAddr, kServerPort);
		if (call(Side::client, "connect()",
			 [&] { return connect(c, (sockaddr *)&a, sizeof(a)); }) < 0 &&
		    errno != EINPROGRESS)
			return sys_error("connect", "client socket", errno);
		if (auto e = wait_fd(c, POLLOUT, 2000, "the client's connect() to complete"))
			return e;
		int err = 0;
		socklen_t len = sizeof(err);
		getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err)
			return sys_error("connect", "client socket", err);
		struct sockaddr_in me = {};
		len = sizeof(me);
		getsockname(c, (sockaddr *)&me, &len);
		trace.client_port = ntohs(me.sin_port);
		if (auto e = wait_fd(lfd, POLLIN, 2000, "a connection to accept"))
			return e;
		s = int(call(Side::server, "accept()", [&] {
			return accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
		}));
		if (s < 0)
			return sys_error("accept", "server socket", errno);
		socks.emplace_back(s);
		return wait(
			[&] {
				return seen_state(Side::client, TCP_ESTABLISHED) &&
				       seen_state(Side::server, TCP_ESTABLISHED);
			},
			2000, "ESTABLISHED on both sides");
	}

	// recv() once the socket is readable: the bytes read, 0 at EOF.
	Result<long> recv_some(Side side, int fd, size_t max, const std::string &what)
	{
		if (auto e = wait_fd(fd, POLLIN, 2000, what))
			return *e;
		std::vector<char> buf(max);
		long n = call(side, "recv()", [&] { return recv(fd, buf.data(), buf.size(), 0); });
		if (n < 0)
			return sys_error("recv", std::string(side_name(side)) + " socket", errno);
		return n;
	}
};

namespace {

using Driver = Status (*)(Lab::Ctx &c, const std::string &variant);

Status drive_handshake(Lab::Ctx &c, const std::string &)
{
	auto l = c.listener();
	if (!l)
		return l.error();
	int cl, sv;
	if (auto e = c.open_pair(*l, cl, sv))
		return e;
	return c.wait([&] { return c.trace.packets.size() >= 3; }, 1000,
		      "the handshake's three segments on c0");
}

Status drive_close3(Lab::Ctx &c, const std::string &variant)
{
	auto l = c.listener();
	if (!l)
		return l.error();
	int cl, sv;
	if (auto e = c.open_pair(*l, cl, sv))
		return e;
	const uint32_t c_isn = *isn(c.trace, Side::client);

	// data first: it sets the receiver's ato (tcp_event_data_recv), so the ACK of the FIN
	// is delayed by at least TCP_DELACK_MIN, not sent at the next jiffy
	if (c.call(Side::client, "send(5)", [&] { return send(cl, "hello", 5, 0); }) != 5)
		return sys_error("send", "client socket", errno);
	auto n = c.recv_some(Side::server, sv, 64, "the server to read the 5 bytes");
	if (!n)
		return n.error();
	if (auto e = c.wait([&] { return c.seen_ack(Side::server, c_isn + 6); }, 1000,
			    "the server's ACK of the 5 bytes"))
		return e;

	c.call(Side::client, "close()", [&] { return c.close(cl); });
	auto eof = c.recv_some(Side::server, sv, 64, "EOF at the server");
	if (!eof)
		return eof.error();
	if (*eof != 0)
		return Error{"run", "close3", EPROTO, "the server read data after the FIN"};
	const uint32_t fin_end = c_isn + 7;
	if (variant == "quickack") {
		int one = 1;
		c.call(Side::server, "setsockopt(TCP_QUICKACK, 1)", [&] {
			return setsockopt(sv, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
		});
	} else if (variant == "late-close") {
		// the delayed-ACK timer (40-200 ms) fires well inside the bound
		auto e = c.wait([&] { return c.seen_ack(Side::server, fin_end); }, 500,
				"the server's ACK of the FIN");
		if (e && e->err != ETIMEDOUT)
			return e;
		if (e)
			c.trace.notes.push_back("no ACK of the FIN within 500 ms: closed anyway");
	}
	c.call(Side::server, "close()", [&] { return c.close(sv); });
	const uint32_t s_isn = *isn(c.trace, Side::server);
	if (auto e = c.wait(
		    [&] {
			    return c.seen_state(Side::server, TCP_CLOSE) &&
				   c.seen_ack(Side::client, s_isn + 2);
		    },
		    2000, "the server's CLOSE and the client's ACK of its FIN"))
		return e;
	// an orphaned FIN_WAIT2 timewait socket turned TIME_WAIT may reach the tracer only
	// when it leaves (Documentation/tcpscope/kernel.rst): the kernel's own view settles it
	return c.wait_diag(Side::client, TCP_TIME_WAIT, 1000);
}

Driver driver_of(const std::string &name)
{
	if (name == "handshake")
		return drive_handshake;
	if (name == "close3")
		return drive_close3;
	return nullptr;
}

} // namespace

Result<std::unique_ptr<Lab>> Lab::open(const SignalFd &stop, bool verbose)
{
	std::unique_ptr<Lab> lab(new Lab(stop));
	set_libbpf_verbose(verbose);
	TracerConfig cfg;
	cfg.family = AF_INET;
	std::vector<std::string> log;
	std::vector<Degraded> degraded;
	Lab *self = lab.get();
	auto tracer = Tracer::open(
		cfg,
		[self](const RawEvent &e) {
			if (!self->cur_)
				return 0;
			auto f = fold(e, View::lifecycle);
			if (!f || f->name != "state")
				return 0;
			Side side;
			if (e.netns == self->cur_->topo.inode(Side::client))
				side = Side::client;
			else if (e.netns == self->cur_->topo.inode(Side::server))
				side = Side::server;
			else
				return 0;
			self->cur_->trace.transitions.push_back(
				{e.ts_ns, side, f->old_state, f->new_state, e.sport, e.dport});
			return 0;
		},
		log, degraded);
	if (!tracer)
		return tracer.error();
	lab->tracer_ = std::move(*tracer);
	if (verbose)
		for (const auto &l : log)
			fprintf(stderr, "tcpscope: hook %s\n", l.c_str());
	for (const auto &d : degraded)
		lab->degraded_.push_back("tracer: " + d.feature + " unavailable: " + d.impact);
	return lab;
}

Lab::Lab(const SignalFd &stop) : stop_(stop) {}

Lab::~Lab() = default;

Result<RunResult> Lab::run(const Experiment &e, const Variant &v)
{
	RunResult r;
	Trace &t = r.trace;
	t.experiment = e.name;
	t.variant = v.name;
	t.client_addr = Topology::kClientAddr;
	t.server_addr = Topology::kServerAddr;
	t.notes = degraded_;
	t.realtime_off_ns = realtime_offset_ns();

	Driver drive = driver_of(e.name);
	if (!drive)
		return Error{"run", "experiment " + e.name, ENOSYS, "not implemented"};
	auto topo = Topology::create();
	if (!topo)
		return topo.error();
	Ctx c{*this, std::move(*topo), nullptr, t};
	auto tap = Tap::attach(c.topo, [&t](Packet &&p) { t.packets.push_back(std::move(p)); });
	if (!tap)
		return tap.error();
	c.tap = std::move(*tap);

	Counters before[2];
	for (Side s : {Side::client, Side::server}) {
		auto n = c.topo.counters(s);
		if (!n)
			return n.error();
		before[s == Side::client ? 0 : 1] = std::move(*n);
	}
	// the tracer's ring may still hold events of an earlier run: drained before this one
	(void)tracer_->poll(0);
	cur_ = &c;
	t.t0_ns = mono_ns();
	Status st = drive(c, v.name);
	if (!st)
		st = c.pump(0); // what the last condition's segment or event left queued
	cur_ = nullptr;
	if (st && st->err == EINTR)
		return *st;

	for (Side s : {Side::client, Side::server}) {
		auto n = c.topo.counters(s);
		if (!n)
			return n.error();
		int i = s == Side::client ? 0 : 1;
		t.counters[i] = counter_deltas(before[i], *n);
	}
	if (uint64_t lost = c.tap->lost())
		return Error{"capture", "segments", ENOSPC,
			     fmt::format("{} lost (tap ring buffer full)", lost)};
	if (uint64_t lost = tracer_->counters().lost)
		t.notes.push_back(fmt::format("tracer: {} events lost since start (ring buffer "
					      "full)",
					      lost));
	std::stable_sort(t.packets.begin(), t.packets.end(),
			 [](const Packet &a, const Packet &b) { return a.ts_ns < b.ts_ns; });
	std::stable_sort(
		t.transitions.begin(), t.transitions.end(),
		[](const Transition &a, const Transition &b) { return a.ts_ns < b.ts_ns; });
	// a state the kernel showed that the tracer did not (yet) report
	for (const auto &sn : t.snapshots) {
		auto path = state_path(t, sn.side);
		if (path.empty() || path.back() != sn.state)
			t.notes.push_back(fmt::format(
				"{}: sock_diag shows {}, the tracer's last state is {}: an orphaned "
				"FIN_WAIT2 timewait socket's FIN_WAIT2 -> TIME_WAIT reaches the tracer "
				"only when it leaves (tcpscope-kernel(7), Late FIN_WAIT2 -> TIME_WAIT)",
				side_name(sn.side), state_name(sn.state),
				path.empty() ? "none" : state_name(path.back())));
	}
	if (st) {
		r.failed = st;
		r.verdict.kind = VerdictKind::skipped;
		r.verdict.reason = "the run failed: " + st->message();
		return r;
	}
	r.verdict = judge(t);
	return r;
}

} // namespace tcpscope::lab
