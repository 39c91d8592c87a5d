// SPDX-License-Identifier: GPL-2.0
// One driver per experiment. Steps wait on what the kernel does (segments on c0, states from
// the tracer, sock_diag), with bounds well above the kernel's own timers.
#include "lab/drivers.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include <fmt/format.h>

#include "event/states.h"

namespace tcpscope::lab {

namespace {

constexpr uint8_t kAllFlags = kFin | kSyn | kRst | kPsh | kAck | kUrg;

Status fail(const std::string &what, const std::string &detail)
{
	return Error{"run", what, EPROTO, detail};
}

// Data from the client, read by the server and acknowledged: it sets the server's ato
// (tcp_event_data_recv()), so its ACK of a later FIN is delayed by at least TCP_DELACK_MIN.
Status hello(Steps &s, int cl, int sv)
{
	const uint32_t c_isn = *isn(s.trace, Side::client, s.trace.client_port);
	if (s.call(Side::client, "send(5)", [&] { return send(cl, "hello", 5, 0); }) != 5)
		return sys_error("send", "client socket", errno);
	auto n = s.recv_some(Side::server, sv, 64, "the server to read the 5 bytes");
	if (!n)
		return n.error();
	return s.wait([&] { return s.seen_ack(Side::server, c_isn + 6); }, kStepMs,
		      "the server's ACK of the 5 bytes");
}

// The client closes, the server reads EOF (its socket now CLOSE_WAIT).
Status client_closes(Steps &s, int cl, int sv)
{
	s.call(Side::client, "close()", [&] { return s.close(cl); });
	auto eof = s.recv_some(Side::server, sv, 64, "EOF at the server");
	if (!eof)
		return eof.error();
	if (*eof != 0)
		return fail("close", "the server read data after the FIN");
	return std::nullopt;
}

// The server closes too; done when it is CLOSE and the client acknowledged its FIN.
Status server_closes(Steps &s, int sv)
{
	s.call(Side::server, "close()", [&] { return s.close(sv); });
	const uint32_t s_isn = *isn(s.trace, Side::server, s.trace.client_port);
	return s.wait(
		[&] {
			if (!s.seen_state(Side::server, TCP_CLOSE))
				return false;
			for (const auto &p : s.trace.packets) // the ACK of the server's FIN
				if (p.from == Side::client && !p.dropped && (p.flags & kAck) &&
				    p.ack - s_isn >= 2 && p.ack - s_isn < 0x80000000u)
					return true;
			return false;
		},
		kStepMs, "the server's CLOSE and the client's ACK of its FIN");
}

Status drive_handshake(Steps &s, const std::string &)
{
	auto l = s.listener();
	if (!l)
		return l.error();
	int cl, sv;
	if (auto e = s.open_pair(*l, cl, sv))
		return e;
	return s.wait([&] { return s.trace.packets.size() >= 3; }, kStepMs,
		      "the handshake's three segments on c0");
}

// tcpscope.ko's per-namespace knob, written in the server's namespace; a skip without it.
Status kmod_knob(Steps &s, const std::string &knob, const std::string &value)
{
	auto have = s.topo.read_sysctl(Side::server, "net.tcpscope." + knob);
	if (!have)
		return skip("tcpscope.ko is not loaded (no /proc/sys/net/tcpscope/" + knob +
			    "): its knobs only exist with the module, which needs a kernel with "
			    "module support");
	return s.sysctl(Side::server, "net.tcpscope." + knob, value);
}

Status drive_close3(Steps &s, const std::string &variant)
{
	// the module's knobs act on connections that reach ESTABLISHED after the write
	if (variant == "kmod-quickack")
		if (auto e = kmod_knob(s, "quickack", "1"))
			return e;
	if (variant == "kmod-delack")
		if (auto e = kmod_knob(s, "delack_max_ms", "12"))
			return e;
	auto l = s.listener();
	if (!l)
		return l.error();
	int cl, sv;
	if (auto e = s.open_pair(*l, cl, sv))
		return e;
	if (auto e = hello(s, cl, sv))
		return e;
	if (auto e = client_closes(s, cl, sv))
		return e;
	const uint32_t fin_end = *isn(s.trace, Side::client, s.trace.client_port) + 7;
	if (variant == "quickack") {
		if (auto e = s.sockopt(Side::server, sv, IPPROTO_TCP, TCP_QUICKACK, 1,
				       "TCP_QUICKACK"))
			return e;
	} else if (variant == "late-close" || variant == "kmod-delack") {
		// the delayed-ACK timer (40-200 ms) fires well inside the bound
		auto e = s.wait([&] { return s.seen_ack(Side::server, fin_end); }, 500,
				"the server's ACK of the FIN");
		if (e && e->err != ETIMEDOUT)
			return e;
		if (e)
			s.trace.notes.push_back("no ACK of the FIN within 500 ms: closed anyway");
	}
	if (auto e = server_closes(s, sv))
		return e;
	// an orphaned FIN_WAIT2 timewait socket turned TIME_WAIT may reach the tracer only
	// when it leaves (Documentation/tcpscope/kernel.rst): the kernel's own view settles it
	return s.wait_diag(Side::client, TCP_TIME_WAIT, kStepMs);
}

// The client's TIME_WAIT, its timer right after entry and, with --long, its end.
Status drive_timewait(Steps &s, const std::string &variant)
{
	if (auto e = s.sysctl(Side::client, "net.ipv4.tcp_fin_timeout",
			      variant == "fin-timeout-5" ? "5" : "60"))
		return e;
	auto l = s.listener();
	if (!l)
		return l.error();
	int cl, sv;
	if (auto e = s.open_pair(*l, cl, sv))
		return e;
	if (auto e = hello(s, cl, sv))
		return e;
	if (auto e = client_closes(s, cl, sv))
		return e;
	if (auto e = server_closes(s, sv))
		return e;
	if (auto e = s.wait_diag(Side::client, TCP_TIME_WAIT, kStepMs))
		return e;
	if (!s.long_runs) {
		s.trace.notes.push_back("the 60 s TIME_WAIT is timed from its timer (sock_diag); "
					"--long waits for its end");
		return std::nullopt;
	}
	return s.wait(
		[&] {
			for (const auto &t : s.trace.transitions)
				if (t.side == Side::client && t.old_state == TCP_TIME_WAIT &&
				    t.new_state == TCP_CLOSE)
					return true;
			return false;
		},
		75000, "the client's TIME_WAIT to end");
}

// An orphaned FIN_WAIT2: the server never closes.
Status drive_fin_timeout(Steps &s, const std::string &variant)
{
	const bool sixty = variant == "60";
	if (auto e = s.sysctl(Side::client, "net.ipv4.tcp_fin_timeout", sixty ? "60" : "5"))
		return e;
	auto l = s.listener();
	if (!l)
		return l.error();
	int cl, sv;
	if (auto e = s.open_pair(*l, cl, sv))
		return e;
	if (auto e = client_closes(s, cl, sv))
		return e;
	if (auto e = s.wait_diag(Side::client, TCP_FIN_WAIT2, kStepMs))
		return e;
	if (!sixty || s.long_runs) {
		if (auto e = s.wait(
			    [&] {
				    for (const auto &t : s.trace.transitions)
					    if (t.side == Side::client &&
						t.old_state == TCP_FIN_WAIT2 &&
						t.new_state == TCP_CLOSE)
						    return true;
				    return false;
			    },
			    sixty ? 75000 : 10000, "the orphaned FIN_WAIT2 to end"))
			return e;
	} else {
		s.trace.notes.push_back("the 60 s FIN_WAIT2 is timed from its timer (sock_diag); "
					"--long waits for its end");
	}
	// the server, still CLOSE_WAIT, writes: the client's side answers with a reset
	if (s.call(Side::server, "send(5)", [&] { return send(sv, "late!", 5, 0); }) != 5)
		return sys_error("send", "server socket", errno);
	if (auto e = s.wait(
		    [&] {
			    return s.count_packets(Side::client, kRst, kRst) > 0 &&
				   s.seen_state(Side::server, TCP_CLOSE);
		    },
		    kStepMs, "the client's reset and the server's CLOSE"))
		return e;
	// its FIN came long ago (recv() says EOF); the reset shows on the next send(): EPIPE,
	// tcp_reset() in CLOSE_WAIT
	s.call(Side::server, "send(5) again", [&] { return send(sv, "late!", 5, MSG_NOSIGNAL); });
	return std::nullopt;
}

// The server closes first (its TIME_WAIT), its listener goes, a new one binds the port.
Status drive_reuseaddr(Steps &s, const std::string &variant)
{
	auto l = s.listener(variant == "both");
	if (!l)
		return l.error();
	int cl, sv;
	if (auto e = s.open_pair(*l, cl, sv))
		return e;
	s.call(Side::server, "close()", [&] { return s.close(sv); });
	auto eof = s.recv_some(Side::client, cl, 64, "EOF at the client");
	if (!eof)
		return eof.error();
	s.call(Side::client, "close()", [&] { return s.close(cl); });
	s.call(Side::server, "close() listener", [&] { return s.close(*l); });
	if (auto e = s.wait_diag(Side::server, TCP_TIME_WAIT, kStepMs))
		return e;
	auto fd = s.socket(Side::server);
	if (!fd)
		return fd.error();
	if (variant != "default")
		if (auto e = s.sockopt(Side::server, *fd, SOL_SOCKET, SO_REUSEADDR, 1,
				       "SO_REUSEADDR"))
			return e;
	auto a = Steps::addr(Topology::kServerAddr, kServerPort);
	if (s.call(Side::server, "bind()", [&] { return bind(*fd, (sockaddr *)&a, sizeof(a)); }) ==
	    0)
		s.call(Side::server, "listen()", [&] { return listen(*fd, 16); });
	return std::nullopt;
}

// The client's one local port, held by its TIME_WAIT, asked for again.
Status drive_tw_reuse(Steps &s, const std::string &variant)
{
	if (auto e = s.sysctl(Side::client, "net.ipv4.ip_local_port_range", "40000 40000"))
		return e;
	const char *reuse = variant == "on" || variant == "no-timestamps" ? "1"
			    : variant == "default"                        ? nullptr
									  : "0";
	if (reuse)
		if (auto e = s.sysctl(Side::client, "net.ipv4.tcp_tw_reuse", reuse))
			return e;
	if (variant == "no-timestamps")
		if (auto e = s.sysctl(Side::client, "net.ipv4.tcp_timestamps", "0"))
			return e;
	const bool bound = variant == "bind";
	auto l = s.listener();
	if (!l)
		return l.error();
	const auto srv = Steps::addr(Topology::kServerAddr, kServerPort);
	const auto me = Steps::addr(Topology::kClientAddr, 40000);
	auto bind_client = [&](int fd) -> Status {
		if (auto e = s.sockopt(Side::client, fd, SOL_SOCKET, SO_REUSEADDR, 1,
				       "SO_REUSEADDR"))
			return e;
		if (s.call(Side::client, "bind(40000)",
			   [&] { return bind(fd, (sockaddr *)&me, sizeof(me)); }) < 0)
			return sys_error("bind", "client socket", errno);
		return std::nullopt;
	};
	int cl, sv;
	if (bound) {
		// open_pair() with a bound client: the same steps by hand
		auto fd = s.socket(Side::client);
		if (!fd)
			return fd.error();
		cl = *fd;
		if (auto e = bind_client(cl))
			return e;
		if (s.call(Side::client, "connect()",
			   [&] { return connect(cl, (sockaddr *)&srv, sizeof(srv)); }) < 0 &&
		    errno != EINPROGRESS)
			return sys_error("connect", "client socket", errno);
		s.trace.client_port = 40000;
		if (auto e = s.wait_fd(*l, POLLIN, kStepMs, "a connection to accept"))
			return e;
		sv = int(s.call(Side::server, "accept()", [&] {
			return accept4(*l, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
		}));
		if (sv < 0)
			return sys_error("accept", "server socket", errno);
		s.adopt(sv);
	} else if (auto e = s.open_pair(*l, cl, sv)) {
		return e;
	}
	if (auto e = hello(s, cl, sv))
		return e;
	if (auto e = client_closes(s, cl, sv))
		return e;
	if (auto e = server_closes(s, sv))
		return e;
	if (auto e = s.wait_diag(Side::client, TCP_TIME_WAIT, kStepMs))
		return e;
	if (variant == "on") {
		// tcp_twsk_unique() reuses the port once the second of the last timestamp the
		// TIME_WAIT socket recorded is over (up to 6.13) or tcp_tw_reuse_delay ms after
		// it entered TIME_WAIT (6.14 on): both are waited for, whichever this kernel has
		uint64_t last = 0, entry = 0;
		for (const auto &p : s.trace.packets)
			if (p.from == Side::server)
				last = p.ts_ns;
		for (const auto &t : s.trace.transitions)
			if (t.side == Side::client && t.new_state == TCP_TIME_WAIT)
				entry = t.ts_ns;
		uint64_t delay_ms = 0;
		if (auto d = s.topo.read_sysctl(Side::client, "net.ipv4.tcp_tw_reuse_delay")) {
			delay_ms = std::stoull(*d);
			s.trace.setup.push_back("client net.ipv4.tcp_tw_reuse_delay=" + *d +
						" (the default)");
		}
		// ktime_get_seconds() moves with the timekeeper's tick: 20 ms past the second
		const uint64_t after =
			std::max((last / 1000000000ull + 1) * 1000000000ull + 20000000ull,
				 (entry ? entry : last) + (delay_ms + 1) * 1000000ull);
		if (auto e = s.wait([&] { return mono_ns() > after; }, int(delay_ms) + 1100,
				    "the reuse delay on the tw socket's clock"))
			return e;
	}
	auto fd = s.socket(Side::client);
	if (!fd)
		return fd.error();
	if (bound)
		if (auto e = bind_client(*fd))
			return e;
	long r = s.call(Side::client, "connect() again",
			[&] { return connect(*fd, (sockaddr *)&srv, sizeof(srv)); });
	if (r < 0 && errno != EINPROGRESS)
		return std::nullopt; // the outcome: the verdict reads the errno
	if (auto e = s.wait_fd(*fd, POLLOUT, kStepMs, "the second connect() to complete"))
		return e;
	if (auto e = s.wait_fd(*l, POLLIN, kStepMs, "the second connection to accept"))
		return e;
	return std::nullopt;
}

// The client's last ACK dropped once: the server's FIN comes again.
Status drive_lastack(Steps &s, const std::string &variant)
{
	if (variant == "no-tw")
		if (auto e = s.sysctl(Side::client, "net.ipv4.tcp_max_tw_buckets", "0"))
			return e;
	auto l = s.listener();
	if (!l)
		return l.error();
	int cl, sv;
	if (auto e = s.open_pair(*l, cl, sv))
		return e;
	if (auto e = hello(s, cl, sv))
		return e;
	if (auto e = client_closes(s, cl, sv))
		return e;
	// the client sends nothing until the server's FIN: its next bare ACK is the last
	if (auto e = s.drop(Side::client, 1, kAllFlags, kAck, "the client's next bare ACK, once"))
		return e;
	s.call(Side::server, "close()", [&] { return s.close(sv); });
	// the server's FIN again after its retransmission timer, then its CLOSE on the
	// client's answer (an ACK, or a reset without a TIME_WAIT socket)
	if (auto e = s.wait([&] { return s.seen_state(Side::server, TCP_CLOSE); }, 5000,
			    "the server's CLOSE"))
		return e;
	if (variant == "no-tw")
		return std::nullopt;
	return s.wait_diag(Side::client, TCP_TIME_WAIT, kStepMs);
}

Status drive_keepalive(Steps &s, const std::string &variant)
{
	for (const char *k : {"net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_keepalive_intvl",
			      "net.ipv4.tcp_keepalive_probes"}) {
		auto v = s.topo.read_sysctl(Side::client, k);
		if (!v)
			return v.error();
		s.trace.setup.push_back(fmt::format("client {}={} (the namespace's default, "
						    "overridden per socket)",
						    k, *v));
	}
	auto l = s.listener();
	if (!l)
		return l.error();
	int cl, sv;
	if (auto e = s.open_pair(*l, cl, sv))
		return e;
	const struct {
		int level, opt, value;
		const char *name;
	} opts[] = {{SOL_SOCKET, SO_KEEPALIVE, 1, "SO_KEEPALIVE"},
		    {IPPROTO_TCP, TCP_KEEPIDLE, 2, "TCP_KEEPIDLE"},
		    {IPPROTO_TCP, TCP_KEEPINTVL, 1, "TCP_KEEPINTVL"},
		    {IPPROTO_TCP, TCP_KEEPCNT, 3, "TCP_KEEPCNT"}};
	for (const auto &[lvl, opt, v, name] : opts)
		if (auto e = s.sockopt(Side::client, cl, lvl, opt, v, name))
			return e;
	if (variant == "default") {
		// one probe and the server kernel's answer
		const uint32_t c_isn = *isn(s.trace, Side::client, s.trace.client_port);
		return s.wait(
			[&] {
				bool probe = false;
				for (const auto &p : s.trace.packets) {
					if (p.from == Side::client && p.flags == kAck && !p.len &&
					    p.seq == c_isn) // snd_una - 1: tcp_xmit_probe_skb()
						probe = true;
					else if (probe && p.from == Side::server)
						return true;
				}
				return false;
			},
			5000, "a keepalive probe and its answer");
	}
	if (auto e = s.drop(Side::server, 1000, 0, 0, "every segment from the server"))
		return e;
	if (auto e = s.wait([&] { return s.count_packets(Side::client, kRst, kRst) > 0; }, 10000,
			    "the client's reset after its last probe"))
		return e;
	auto r = s.recv_some(Side::client, cl, 64, "the client's error");
	if (r)
		return fail("keepalive", "the client read after the timeout");
	// the reset reaches the server, whose application never noticed anything
	return s.wait([&] { return s.seen_state(Side::server, TCP_CLOSE); }, kStepMs,
		      "the server's CLOSE on the reset");
}

// The server sends 100 bytes; the client closes without reading them, after, or with
// SO_LINGER {1, 0}.
Status drive_rst_close(Steps &s, const std::string &variant)
{
	auto l = s.listener();
	if (!l)
		return l.error();
	int cl, sv;
	if (auto e = s.open_pair(*l, cl, sv))
		return e;
	std::string data(100, 'x');
	if (s.call(Side::server, "send(100)", [&] { return send(sv, data.data(), 100, 0); }) != 100)
		return sys_error("send", "server socket", errno);
	if (auto e = s.wait_fd(cl, POLLIN, kStepMs, "the 100 bytes at the client"))
		return e;
	if (variant != "default") {
		auto n = s.recv_some(Side::client, cl, 200, "the 100 bytes");
		if (!n)
			return n.error();
	}
	if (variant == "linger0") {
		struct linger lg = {1, 0};
		if (s.call(Side::client, "setsockopt(SO_LINGER, {1, 0})", [&] {
			    return setsockopt(cl, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		    }) < 0)
			return sys_error("set", "SO_LINGER", errno);
	}
	s.call(Side::client, "close()", [&] { return s.close(cl); });
	if (variant == "read") {
		auto eof = s.recv_some(Side::server, sv, 64, "EOF at the server");
		if (!eof)
			return eof.error();
		return server_closes(s, sv);
	}
	if (auto e = s.wait([&] { return s.seen_state(Side::server, TCP_CLOSE); }, kStepMs,
			    "the server's CLOSE"))
		return e;
	auto r = s.recv_some(Side::server, sv, 64, "the reset at the server");
	if (r)
		return fail("rst-close", "the server read after the reset");
	return std::nullopt;
}

// The client shuts down its sending side (or closes); the server answers EOF with 4 KB.
Status drive_half_close(Steps &s, const std::string &variant)
{
	auto l = s.listener();
	if (!l)
		return l.error();
	int cl, sv;
	if (auto e = s.open_pair(*l, cl, sv))
		return e;
	if (variant == "close")
		s.call(Side::client, "close()", [&] { return s.close(cl); });
	else
		s.call(Side::client, "shutdown(SHUT_WR)", [&] { return shutdown(cl, SHUT_WR); });
	auto eof = s.recv_some(Side::server, sv, 64, "EOF at the server");
	if (!eof)
		return eof.error();
	std::string data(4096, 'y');
	if (s.call(Side::server, "send(4096)", [&] { return send(sv, data.data(), 4096, 0); }) !=
	    4096)
		return sys_error("send", "server socket", errno);
	if (variant == "close") {
		if (auto e = s.wait([&] { return s.seen_state(Side::server, TCP_CLOSE); }, kStepMs,
				    "the server's CLOSE"))
			return e;
		// it had the FIN (recv() says EOF): the reset shows on the next send(), EPIPE
		s.call(Side::server, "send(5) again",
		       [&] { return send(sv, "more!", 5, MSG_NOSIGNAL); });
		return std::nullopt;
	}
	long got = 0;
	while (got < 4096) {
		auto n = s.recv_some(Side::client, cl, 8192, "the 4096 bytes at the client");
		if (!n)
			return n.error();
		if (*n == 0)
			return fail("half-close", "EOF before 4096 bytes");
		got += *n;
	}
	return std::nullopt;
}

// Two connections: the first gets a cookie, the second carries its data in the SYN.
Status drive_fastopen(Steps &s, const std::string &variant)
{
	if (auto e = s.sysctl(Side::server, "net.ipv4.tcp_fastopen",
			      variant == "server-1" ? "1" : "3"))
		return e;
	if (auto e = s.sysctl(Side::client, "net.ipv4.tcp_fastopen",
			      variant == "client-0" ? "0" : "1"))
		return e;
	auto l = s.listener();
	if (!l)
		return l.error();
	if (auto e = s.sockopt(Side::server, *l, IPPROTO_TCP, TCP_FASTOPEN, 16, "TCP_FASTOPEN"))
		return e;
	for (int round = 0; round < 2; round++) {
		int cl, sv;
		auto e = s.open_pair(*l, cl, sv, "hello");
		if (e && e->err == EOPNOTSUPP && variant == "client-0")
			return std::nullopt; // the outcome: the verdict reads the errno
		if (e)
			return e;
		// sendto() returns the bytes that rode in the SYN; without a cookie none did
		// (tcp_send_syn_data() sent a cookie request) and they go now
		const Call *tfo = find_call(s.trace, Side::client, "sendto(", true);
		if (tfo && tfo->ret <= 0 &&
		    s.call(Side::client, "send(5)", [&] { return send(cl, "hello", 5, 0); }) != 5)
			return sys_error("send", "client socket", errno);
		auto n = s.recv_some(Side::server, sv, 64, "the server to read the 5 bytes");
		if (!n)
			return n.error();
		const uint16_t port = s.trace.client_port;
		const uint32_t c_isn = *isn(s.trace, Side::client, port);
		if (auto e2 = s.wait([&] { return s.seen_ack(Side::server, c_isn + 6); }, kStepMs,
				     "the server's ACK of the 5 bytes"))
			return e2;
		if (round == 1)
			break;
		if (auto e2 = client_closes(s, cl, sv))
			return e2;
		if (auto e2 = server_closes(s, sv))
			return e2;
	}
	return std::nullopt;
}

// Runs a command inside one side's namespace (tc for sch_netem): its exit status.
Result<int> run_in(Steps &s, Side side, std::vector<std::string> argv)
{
	std::vector<char *> args;
	for (auto &a : argv)
		args.push_back(a.data());
	args.push_back(nullptr);
	const int ns = s.topo.ns_fd(side);
	pid_t pid = fork();
	if (pid < 0)
		return sys_error("fork", argv[0], errno);
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		if (null >= 0) {
			dup2(null, 1);
			dup2(null, 2);
		}
		if (setns(ns, CLONE_NEWNET) == 0)
			execvp(args[0], args.data());
		_exit(127);
	}
	int status = 0;
	if (waitpid(pid, &status, 0) < 0)
		return sys_error("wait for", argv[0], errno);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

// Both ends connect to each other, then both shut down their sending side.
Status drive_simultaneous(Steps &s, const std::string &variant)
{
	constexpr uint16_t kClientPort = 5000, kPeerPort = 6000;
	if (variant == "netem") {
		auto rc = run_in(
			s, Side::client,
			{"tc", "qdisc", "add", "dev", "c0", "root", "netem", "delay", "100ms"});
		if (!rc)
			return rc.error();
		if (*rc)
			return skip("no sch_netem on this kernel (tc qdisc add ... netem exits " +
				    std::to_string(*rc) +
				    "; Debian builds it as a module, this kernel has no module "
				    "support): the default variant uses the tap's drops instead");
		s.trace.setup.push_back("client c0: tc qdisc netem delay 100ms");
	} else {
		if (auto e = s.drop(Side::client, 1, kSyn | kAck, kSyn, "the client's first SYN"))
			return e;
		if (auto e = s.drop(Side::server, 1, kSyn | kAck, kSyn, "the server's first SYN"))
			return e;
	}
	int fd[2];
	const Side sides[2] = {Side::client, Side::server};
	const char *addrs[2] = {Topology::kClientAddr, Topology::kServerAddr};
	const uint16_t ports[2] = {kClientPort, kPeerPort};
	for (int i = 0; i < 2; i++) {
		auto f = s.socket(sides[i]);
		if (!f)
			return f.error();
		fd[i] = *f;
		auto me = Steps::addr(addrs[i], ports[i]);
		if (s.call(sides[i], fmt::format("bind({})", ports[i]),
			   [&] { return bind(fd[i], (sockaddr *)&me, sizeof(me)); }) < 0)
			return sys_error("bind", std::string(side_name(sides[i])) + " socket",
					 errno);
	}
	s.trace.client_port = kClientPort;
	s.trace.server_port = kPeerPort;
	for (int i = 0; i < 2; i++) {
		auto peer = Steps::addr(addrs[1 - i], ports[1 - i]);
		if (s.call(sides[i], "connect()",
			   [&] { return connect(fd[i], (sockaddr *)&peer, sizeof(peer)); }) < 0 &&
		    errno != EINPROGRESS)
			return sys_error("connect", std::string(side_name(sides[i])) + " socket",
					 errno);
	}
	// the first SYNs are lost: both retransmit after the initial RTO (1 s)
	if (auto e = s.wait(
		    [&] {
			    return s.seen_state(Side::client, TCP_ESTABLISHED) &&
				   s.seen_state(Side::server, TCP_ESTABLISHED);
		    },
		    4000, "ESTABLISHED on both sides"))
		return e;
	if (variant != "netem") {
		if (auto e = s.drop(Side::client, 1, kFin, kFin, "the client's first FIN"))
			return e;
		if (auto e = s.drop(Side::server, 1, kFin, kFin, "the server's first FIN"))
			return e;
	}
	for (int i = 0; i < 2; i++)
		s.call(sides[i], "shutdown(SHUT_WR)", [&] { return shutdown(fd[i], SHUT_WR); });
	if (auto e = s.wait_diag(Side::client, TCP_TIME_WAIT, 5000))
		return e;
	if (auto e = s.wait_diag(Side::server, TCP_TIME_WAIT, 5000))
		return e;
	// The FINs cross only if each side sends its FIN before the other's arrives. The
	// retransmission timers are armed at the two shutdown() calls: when those straddle a
	// jiffy (likelier in a slow guest), one FIN goes out a tick first, is acknowledged, and
	// that side takes FIN_WAIT2 instead of CLOSING. The set-up failed, not the claim.
	if (!s.seen_state(Side::client, TCP_CLOSING) || !s.seen_state(Side::server, TCP_CLOSING))
		s.not_set_up = "the FINs did not cross (one was acknowledged before the other "
			       "side sent its own)";
	return std::nullopt;
}

} // namespace

Driver driver_of(const std::string &name)
{
	static const std::pair<const char *, Driver> drivers[] = {
		{"handshake", drive_handshake}, {"close3", drive_close3},
		{"timewait", drive_timewait},   {"fin-timeout", drive_fin_timeout},
		{"reuseaddr", drive_reuseaddr}, {"tw-reuse", drive_tw_reuse},
		{"lastack", drive_lastack},     {"keepalive", drive_keepalive},
		{"rst-close", drive_rst_close}, {"half-close", drive_half_close},
		{"fastopen", drive_fastopen},   {"simultaneous", drive_simultaneous},
	};
	for (const auto &[n, d] : drivers)
		if (name == n)
			return d;
	return nullptr;
}

} // namespace tcpscope::lab
