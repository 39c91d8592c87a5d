// SPDX-License-Identifier: GPL-2.0
// churn: a loopback TCP connection-churn generator for the benchmarks (tools/bench/run.py).
// Each worker thread owns an epoll instance, its listeners and its clients; prints one JSON line.
#include <arpa/inet.h>
#include <getopt.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <barrier>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace {

enum class CloseKind { client, server, rst };

struct Options {
	unsigned workers = 0;     // 0: one per online CPU
	uint64_t connections = 0; // 0: run for duration
	double duration = 5.0;
	unsigned concurrency = 32; // connections in flight per worker
	size_t payload = 64;       // request and response size
	CloseKind close = CloseKind::client;
	unsigned ports = 1; // listening ports per worker
	unsigned base_port = 20000;
};

using Clock = std::chrono::steady_clock;

[[noreturn]] void usage_exit(const char *fmt, const char *arg)
{
	fprintf(stderr, "churn: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nRun 'churn --help' for usage.\n");
	exit(2);
}

void help()
{
	printf("Usage: churn [--connections N | --duration SEC] [--workers N] [--concurrency N]\n"
	       "             [--payload BYTES] [--close client|server|rst] [--ports N]\n"
	       "             [--base-port P]\n"
	       "Opens and closes loopback TCP connections as fast as it can, then prints one\n"
	       "JSON line: {\"connections\":N,\"seconds\":S,\"conn_per_s\":R,\"errors\":E,...}\n\n"
	       "  --connections N   stop after N connections in total\n"
	       "  --duration SEC    stop opening connections after SEC seconds (default 5)\n"
	       "  --workers N       worker threads, each with its own listeners and clients\n"
	       "                    (default: one per online CPU)\n"
	       "  --concurrency N   connections in flight per worker (default 32)\n"
	       "  --payload BYTES   request and response size; 0: connect and close (default 64)\n"
	       "  --close KIND      client: the client closes first (TIME_WAIT on the client);\n"
	       "                    server: the server closes first; rst: the client aborts\n"
	       "                    (SO_LINGER 0, a RST) (default client)\n"
	       "  --ports N         listening ports per worker on 127.0.0.1 (default 1)\n"
	       "  --base-port P     first listening port (default 20000)\n"
	       "Run it in a network namespace of its own: it uses ports base-port and up, and\n"
	       "leaves TIME_WAIT sockets behind.\n");
}

uint64_t parse_u64(const char *flag, const char *s, uint64_t min, uint64_t max)
{
	char *end;

	errno = 0;
	if (!*s || *s == '-')
		usage_exit("failed to parse %s: not a non-negative integer", flag);
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max) {
		char msg[160];
		snprintf(msg, sizeof(msg), "failed to parse %s '%%s': not an integer in %llu..%llu",
			 flag, (unsigned long long)min, (unsigned long long)max);
		usage_exit(msg, s);
	}
	return v;
}

Options parse(int argc, char **argv)
{
	enum { O_CONN = 1, O_DUR, O_WORK, O_CONC, O_PAY, O_CLOSE, O_PORTS, O_BASE, O_HELP };
	static const struct option longopts[] = {
		{"connections", required_argument, nullptr, O_CONN},
		{"duration", required_argument, nullptr, O_DUR},
		{"workers", required_argument, nullptr, O_WORK},
		{"concurrency", required_argument, nullptr, O_CONC},
		{"payload", required_argument, nullptr, O_PAY},
		{"close", required_argument, nullptr, O_CLOSE},
		{"ports", required_argument, nullptr, O_PORTS},
		{"base-port", required_argument, nullptr, O_BASE},
		{"help", no_argument, nullptr, O_HELP},
		{},
	};
	Options o;
	bool have_conn = false, have_dur = false;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", longopts, nullptr)) != -1) {
		switch (c) {
		case O_CONN:
			o.connections = parse_u64("--connections", optarg, 1, UINT64_MAX / 2);
			have_conn = true;
			break;
		case O_DUR: {
			char *end;
			errno = 0;
			o.duration = strtod(optarg, &end);
			if (errno || *end || !*optarg || !std::isfinite(o.duration) ||
			    o.duration <= 0 || o.duration > 86400)
				usage_exit("failed to parse --duration '%s': "
					   "not a number of seconds in (0, 86400]",
					   optarg);
			have_dur = true;
			break;
		}
		case O_WORK:
			o.workers = parse_u64("--workers", optarg, 1, 1024);
			break;
		case O_CONC:
			o.concurrency = parse_u64("--concurrency", optarg, 1, 65536);
			break;
		case O_PAY:
			o.payload = parse_u64("--payload", optarg, 0, 64u << 20);
			break;
		case O_CLOSE:
			if (!strcmp(optarg, "client"))
				o.close = CloseKind::client;
			else if (!strcmp(optarg, "server"))
				o.close = CloseKind::server;
			else if (!strcmp(optarg, "rst"))
				o.close = CloseKind::rst;
			else
				usage_exit("failed to parse --close '%s': "
					   "not one of client, server, rst",
					   optarg);
			break;
		case O_PORTS:
			o.ports = parse_u64("--ports", optarg, 1, 1024);
			break;
		case O_BASE:
			o.base_port = parse_u64("--base-port", optarg, 1, 65535);
			break;
		case O_HELP:
			help();
			exit(0);
		case ':':
			usage_exit("failed to parse %s: missing value", argv[optind - 1]);
		default:
			usage_exit("failed to parse command line: unknown option '%s'",
				   argv[optind - 1]);
		}
	}
	if (optind < argc)
		usage_exit("failed to parse command line: unexpected argument '%s'", argv[optind]);
	if (have_conn && have_dur)
		usage_exit("failed to parse command line: %s",
			   "--connections and --duration exclude each other");
	if (have_conn)
		o.duration = 0;
	if (!o.workers) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		o.workers = n > 0 ? n : 1;
	}
	if (o.base_port + uint64_t(o.workers) * o.ports - 1 > 65535)
		usage_exit("failed to parse command line: %s",
			   "--base-port + --workers * --ports goes beyond port 65535");
	return o;
}

enum class Role { listener, client, server };

// One socket of a worker. Both ends of a connection live in the same worker.
struct Conn {
	Role role;
	int fd = -1;
	size_t sent = 0;
	size_t received = 0;
	bool connected = false;
};

struct Result {
	uint64_t done = 0;
	std::map<std::string, uint64_t> errors; // "connect: Connection refused" -> count
};

class Worker {
      public:
	Worker(const Options &o, unsigned id, uint64_t quota, const std::vector<char> &payload)
		: o_(o), id_(id), quota_(quota), payload_(payload), scratch_(64 * 1024)
	{}

	// Listens on this worker's ports; false (with a message) when it cannot.
	bool setup()
	{
		ep_ = epoll_create1(EPOLL_CLOEXEC);
		if (ep_ < 0)
			return fail_setup("create epoll instance", "");
		for (unsigned i = 0; i < o_.ports; i++) {
			unsigned port = o_.base_port + id_ * o_.ports + i;
			int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
			int one = 1;
			sockaddr_in a = addr(port);
			std::string what = "127.0.0.1:" + std::to_string(port);

			if (fd < 0)
				return fail_setup("create socket for", what);
			setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
			if (bind(fd, (sockaddr *)&a, sizeof(a)) || listen(fd, 4096))
				return fail_setup("listen on", what);
			Conn *l = alloc(Role::listener, fd);
			if (!watch(l))
				return fail_setup("add to epoll", what);
			listeners_.push_back(port);
		}
		return true;
	}

	void run(Clock::time_point deadline)
	{
		epoll_event evs[256];

		deadline_ = deadline;
		for (unsigned i = 0; i < o_.concurrency; i++)
			start_client();
		while (active_ > 0 || servers_ > 0) {
			int n = epoll_wait(ep_, evs, 256, 10);
			if (n < 0 && errno != EINTR) {
				error("epoll_wait", errno);
				break;
			}
			for (int i = 0; i < n; i++) {
				Conn *c = static_cast<Conn *>(evs[i].data.ptr);
				if (c->role == Role::listener)
					accept_all(c);
				else
					progress(c, evs[i].events);
			}
			if (quota_left())
				continue;
			// draining what is in flight: bounded, a stuck connection is an error
			auto now = Clock::now();
			if (drain_end_ == Clock::time_point{})
				drain_end_ = now + std::chrono::seconds(10);
			else if (now >= drain_end_) {
				result.errors["still open 10 s after the end"] += active_;
				break;
			}
		}
	}

	void teardown()
	{
		for (Conn &c : pool_)
			if (c.fd >= 0)
				::close(c.fd);
		if (ep_ >= 0)
			::close(ep_);
	}

	Result result;
	std::string setup_error;

      private:
	static sockaddr_in addr(unsigned port)
	{
		sockaddr_in a{};
		a.sin_family = AF_INET;
		a.sin_port = htons(port);
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		return a;
	}

	bool fail_setup(const char *op, const std::string &what)
	{
		setup_error = std::string("failed to ") + op + (what.empty() ? "" : " ") + what +
			      ": " + strerror(errno);
		return false;
	}

	void error(const char *op, int err)
	{
		result.errors[std::string(op) + ": " + strerror(err)]++;
	}

	Conn *alloc(Role r, int fd)
	{
		Conn *c;
		if (free_.empty()) {
			pool_.emplace_back(); // deque: addresses stay valid
			c = &pool_.back();
		} else {
			c = free_.back();
			free_.pop_back();
		}
		*c = Conn{r, fd};
		return c;
	}

	void release(Conn *c)
	{
		if (c->fd >= 0)
			::close(c->fd); // also removes it from the epoll set
		if (c->role == Role::client)
			active_--;
		else if (c->role == Role::server)
			servers_--;
		c->fd = -1;
		free_.push_back(c);
	}

	static bool client(const Conn *c) { return c->role == Role::client; }

	bool watch(Conn *c)
	{
		epoll_event ev{};
		ev.events = EPOLLIN | EPOLLET;
		if (c->role != Role::listener)
			ev.events |= EPOLLOUT;
		ev.data.ptr = c;
		return epoll_ctl(ep_, EPOLL_CTL_ADD, c->fd, &ev) == 0;
	}

	bool quota_left()
	{
		if (o_.duration == 0)
			return started_ < quota_;
		if (!stopping_ && Clock::now() >= deadline_)
			stopping_ = true;
		return !stopping_;
	}

	void start_client()
	{
		while (quota_left()) {
			int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
			if (fd < 0) {
				error("socket", errno);
				return;
			}
			started_++;
			sockaddr_in a = addr(listeners_[next_port_++ % listeners_.size()]);
			Conn *c = alloc(Role::client, fd);
			active_++;
			if (connect(fd, (sockaddr *)&a, sizeof(a)) && errno != EINPROGRESS) {
				error("connect", errno);
				release(c);
				continue; // try again, while the quota lasts
			}
			if (!watch(c)) {
				error("epoll_ctl", errno);
				release(c);
				continue;
			}
			return;
		}
	}

	void accept_all(Conn *l)
	{
		for (;;) {
			int fd = accept4(l->fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
			if (fd < 0) {
				if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
					error("accept", errno);
				if (errno == EINTR || errno == ECONNABORTED)
					continue;
				return;
			}
			Conn *c = alloc(Role::server, fd);
			servers_++;
			if (!watch(c)) {
				error("epoll_ctl", errno);
				release(c);
				continue;
			}
			progress(c, EPOLLIN | EPOLLOUT); // the request may be there already
		}
	}

	// Sends what is left of the payload; true when all of it is out.
	bool send_rest(Conn *c, bool &failed)
	{
		while (c->sent < o_.payload) {
			size_t len = std::min(o_.payload - c->sent, payload_.size());
			ssize_t n = send(c->fd, payload_.data() + c->sent, len, MSG_NOSIGNAL);
			if (n < 0) {
				if (errno == EINTR)
					continue;
				if (errno != EAGAIN) {
					failed = true;
					error(client(c) ? "send request" : "send response", errno);
				}
				return false;
			}
			c->sent += n;
		}
		return true;
	}

	// Reads up to the payload; true when all of it arrived.
	bool recv_rest(Conn *c, bool &failed)
	{
		while (c->received < o_.payload) {
			ssize_t n = recv(c->fd, scratch_.data(),
					 std::min(o_.payload - c->received, scratch_.size()), 0);
			if (n < 0) {
				if (errno == EINTR)
					continue;
				if (errno != EAGAIN) {
					failed = true;
					error(client(c) ? "recv response" : "recv request", errno);
				}
				return false;
			}
			if (n == 0) {
				failed = true;
				result.errors[client(c) ? "recv response: early EOF"
							: "recv request: early EOF"]++;
				return false;
			}
			c->received += n;
		}
		return true;
	}

	// Waits for the peer's FIN (or its RST in rst mode); true when it came.
	bool peer_closed(Conn *c, bool &failed)
	{
		for (;;) {
			ssize_t n = recv(c->fd, scratch_.data(), scratch_.size(), 0);
			if (n == 0)
				return true;
			if (n > 0) {
				failed = true;
				result.errors["recv: unexpected data"]++;
				return false;
			}
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return false;
			if (errno == ECONNRESET && o_.close == CloseKind::rst && !client(c))
				return true; // the client's RST: what rst mode waits for
			failed = true;
			error("recv", errno);
			return false;
		}
	}

	void progress(Conn *c, uint32_t events)
	{
		bool failed = false;

		if (client(c)) {
			if (!c->connected) {
				if (events & EPOLLERR) {
					int err = 0;
					socklen_t len = sizeof(err);
					getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
					error("connect", err ? err : EIO);
					release(c);
					start_client();
					return;
				}
				if (!(events & EPOLLOUT))
					return;
				c->connected = true;
			}
			if (!send_rest(c, failed) || !recv_rest(c, failed)) {
				if (failed) {
					release(c);
					start_client();
				}
				return;
			}
			if (o_.close == CloseKind::server && !peer_closed(c, failed)) {
				if (failed) {
					release(c);
					start_client();
				}
				return;
			}
			if (o_.close == CloseKind::rst) {
				struct linger lg = {1, 0};
				setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
			}
			result.done++;
			release(c);
			start_client();
			return;
		}

		// server: request in, response out, then close first or wait for the client
		if (!recv_rest(c, failed) || !send_rest(c, failed)) {
			if (failed)
				release(c);
			return;
		}
		if (o_.close != CloseKind::server && !peer_closed(c, failed)) {
			if (failed)
				release(c);
			return;
		}
		release(c);
	}

	const Options &o_;
	unsigned id_;
	uint64_t quota_;
	const std::vector<char> &payload_;
	std::vector<char> scratch_;
	int ep_ = -1;
	std::vector<unsigned> listeners_;
	std::deque<Conn> pool_;
	std::vector<Conn *> free_;
	uint64_t started_ = 0;
	size_t next_port_ = 0;
	long active_ = 0;       // client sockets open
	long servers_ = 0;      // accepted sockets open
	bool stopping_ = false; // --duration is over: no new connections
	Clock::time_point deadline_;
	Clock::time_point drain_end_;
};

void raise_nofile(const Options &o)
{
	struct rlimit r;
	rlim_t need = rlim_t(o.workers) * (2 * o.concurrency + o.ports + 64) + 64;

	if (getrlimit(RLIMIT_NOFILE, &r))
		return;
	if (r.rlim_cur < need) {
		r.rlim_cur = std::min(r.rlim_max, std::max(need, r.rlim_cur));
		setrlimit(RLIMIT_NOFILE, &r);
	}
}

} // namespace

int main(int argc, char **argv)
{
	Options o = parse(argc, argv);
	std::vector<char> payload(std::min<size_t>(std::max<size_t>(o.payload, 1), 1 << 20), 'x');
	std::vector<std::unique_ptr<Worker>> workers;

	raise_nofile(o);
	for (unsigned i = 0; i < o.workers; i++) {
		uint64_t quota = o.connections / o.workers + (i < o.connections % o.workers);
		workers.push_back(std::make_unique<Worker>(o, i, quota, payload));
		if (!workers.back()->setup()) {
			fprintf(stderr, "churn: %s\n", workers.back()->setup_error.c_str());
			for (auto &w : workers)
				w->teardown();
			return 1;
		}
	}

	std::barrier sync(o.workers + 1);
	Clock::time_point start, deadline;
	std::vector<std::thread> threads;
	for (auto &w : workers)
		threads.emplace_back([&, w = w.get()] {
			sync.arrive_and_wait(); // start and deadline are set
			w->run(deadline);
		});
	start = Clock::now();
	deadline = start + std::chrono::duration_cast<Clock::duration>(
				   std::chrono::duration<double>(o.duration));
	sync.arrive_and_wait();
	for (auto &t : threads)
		t.join();
	double secs = std::chrono::duration<double>(Clock::now() - start).count();

	uint64_t done = 0, errors = 0;
	std::map<std::string, uint64_t> kinds;
	for (auto &w : workers) {
		done += w->result.done;
		for (auto &[k, n] : w->result.errors) {
			kinds[k] += n;
			errors += n;
		}
		w->teardown();
	}
	for (auto &[k, n] : kinds)
		fprintf(stderr, "churn: %llu x %s\n", (unsigned long long)n, k.c_str());
	static const char *close_names[] = {"client", "server", "rst"};
	printf("{\"connections\":%llu,\"seconds\":%.6f,\"conn_per_s\":%.1f,\"errors\":%llu,"
	       "\"workers\":%u,\"concurrency\":%u,\"payload\":%zu,\"close\":\"%s\"}\n",
	       (unsigned long long)done, secs, secs > 0 ? done / secs : 0.0,
	       (unsigned long long)errors, o.workers, o.concurrency, o.payload,
	       close_names[int(o.close)]);
	return done ? 0 : 1;
}
