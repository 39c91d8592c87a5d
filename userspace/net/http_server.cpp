// SPDX-License-Identifier: GPL-2.0
// The HTTP server's loop: a connection goes reading -> writing -> draining -> closed, every
// phase under a deadline, so no client holds a slot, or the loop, longer than its timeouts.
#include "net/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <climits>
#include <ctime>
#include <exception>

namespace tcpscope {

namespace {

constexpr size_t kDrainMax = 64 * 1024; // bytes thrown away after a response, then close
constexpr int kAcceptBurst = 64;        // accept()s per wakeup, so clients get their turn
constexpr auto kAcceptRetry = std::chrono::milliseconds(100); // after EMFILE and friends

const char *reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 414:
		return "URI Too Long";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 503:
		return "Service Unavailable";
	case 505:
		return "HTTP Version Not Supported";
	}
	return status < 400 ? "OK" : status < 500 ? "Client Error" : "Server Error";
}

Response error_response(int status)
{
	Response r;
	r.status = status;
	r.body = fmt::format("{} {}\n", status, reason(status));
	return r;
}

// RFC 9110 IMF-fixdate, spelled out rather than through the locale.
std::string http_date()
{
	static constexpr const char *days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static constexpr const char *months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
						 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	time_t t = time(nullptr);
	struct tm tm;

	gmtime_r(&t, &tm);
	return fmt::format("{}, {:02} {} {} {:02}:{:02}:{:02} GMT", days[tm.tm_wday], tm.tm_mday,
			   months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

bool is_tchar(char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c && std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view s)
{
	return !s.empty() && std::all_of(s.begin(), s.end(), is_tchar);
}

bool iequals(std::string_view a, std::string_view b)
{
	return a.size() == b.size() &&
	       std::equal(a.begin(), a.end(), b.begin(),
			  [](char x, char y) { return (x | 0x20) == (y | 0x20); });
}

bool valid_status(int status)
{
	// 1xx, 204 and 304 may not carry the Content-Length every response here has
	return status >= 200 && status <= 599 && status != 204 && status != 304;
}

} // namespace

// Offset just past the blank line ending the head (CRLF or bare LF), or npos.
size_t head_end(std::string_view b, size_t from)
{
	for (size_t i = from; i < b.size(); i++) {
		if (b[i] != '\n')
			continue;
		if (i + 1 < b.size() && b[i + 1] == '\n')
			return i + 2;
		if (i + 2 < b.size() && b[i + 1] == '\r' && b[i + 2] == '\n')
			return i + 3;
	}
	return std::string_view::npos;
}

// One line of the head without its CRLF or LF; false at the end.
static bool next_line(std::string_view &rest, std::string_view &line)
{
	size_t nl = rest.find('\n');

	if (nl == std::string_view::npos)
		return false;
	line = rest.substr(0, nl);
	rest.remove_prefix(nl + 1);
	if (!line.empty() && line.back() == '\r')
		line.remove_suffix(1);
	return true;
}

// The request line and headers, checked as strictly as RFC 9112 asks of a server: anything
// ambiguous is a 400, not a guess.
int parse_head(std::string_view head, Request &req)
{
	std::string_view line;

	// a server SHOULD ignore at least one empty line before the request line
	if (head.starts_with("\r\n"))
		head.remove_prefix(2);
	else if (head.starts_with("\n"))
		head.remove_prefix(1);
	if (!next_line(head, line))
		return 400;

	size_t sp1 = line.find(' ');
	size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
	if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos)
		return 400;
	std::string_view method = line.substr(0, sp1);
	std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
	std::string_view version = line.substr(sp2 + 1);

	if (!is_token(method) || target.empty())
		return 400;
	for (char c : target)
		if (c <= 0x20 || c >= 0x7f)
			return 400;
	bool http11 = version == "HTTP/1.1";
	if (!http11 && version != "HTTP/1.0") {
		bool http = version.size() == 8 && version.starts_with("HTTP/") &&
			    std::isdigit(static_cast<unsigned char>(version[5])) &&
			    version[6] == '.' &&
			    std::isdigit(static_cast<unsigned char>(version[7]));
		return http ? 505 : 400;
	}
	if (target[0] != '/') {
		// absolute-form, which servers must accept (RFC 9112 3.2.2)
		size_t scheme = target.find("://");
		if (scheme == std::string_view::npos ||
		    !(iequals(target.substr(0, scheme), "http") ||
		      iequals(target.substr(0, scheme), "https")))
			return 400;
		size_t slash = target.find('/', scheme + 3);
		target = slash == std::string_view::npos ? "/" : target.substr(slash);
	}
	size_t q = target.find('?');
	req.method = method;
	req.path = target.substr(0, q);
	req.query = q == std::string_view::npos ? "" : target.substr(q + 1);

	unsigned hosts = 0;
	while (next_line(head, line) && !line.empty()) {
		if (line[0] == ' ' || line[0] == '\t')
			return 400; // obsolete line folding
		size_t colon = line.find(':');
		if (colon == std::string_view::npos || !is_token(line.substr(0, colon)))
			return 400;
		for (char c : line.substr(colon + 1))
			if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f)
				return 400;
		if (iequals(line.substr(0, colon), "host"))
			hosts++;
	}
	if (hosts > 1 || (http11 && hosts == 0))
		return 400;
	return 0;
}

struct HttpServer::Conn {
	enum class Phase { reading, writing, draining, closed };

	UniqueFd fd;
	Phase phase = Phase::reading;
	bool overflow = false; // over the limit: answered 503 without reading the request
	std::string in;        // the request head, at most max_header_bytes
	std::string head, body;
	size_t sent = 0;
	size_t drained = 0;
	Clock::time_point deadline;
};

Result<std::unique_ptr<HttpServer>> HttpServer::listen(const ServerConfig &cfg)
{
	const std::string where = cfg.addr.str();
	std::unique_ptr<HttpServer> s(new HttpServer());
	const int one = 1;

	if (cfg.addr.family != AF_INET && cfg.addr.family != AF_INET6)
		return usage_error("listen on", where, "not an IPv4 or IPv6 address");
	if (cfg.max_connections == 0 || cfg.max_header_bytes < 64 ||
	    cfg.read_timeout.count() <= 0 || cfg.write_timeout.count() <= 0 ||
	    cfg.linger.count() < 0)
		return usage_error("configure", "HTTP server",
				   "connections, timeouts and header limit must be positive");
	s->cfg_ = cfg;
	s->addr_ = cfg.addr;

	UniqueFd fd(socket(cfg.addr.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
	if (fd.get() < 0)
		return sys_error("create socket for", where, errno);
	// restarts must not wait out TIME_WAIT from the last run's scrapes
	if (setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		return sys_error("set SO_REUSEADDR on", where, errno);

	struct sockaddr_storage ss = {};
	socklen_t len;
	if (cfg.addr.family == AF_INET6) {
		// [::] means IPv6 only, whatever net.ipv6.bindv6only says; 0.0.0.0 is separate
		if (setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
			return sys_error("set IPV6_V6ONLY on", where, errno);
		auto *sin6 = reinterpret_cast<struct sockaddr_in6 *>(&ss);
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(cfg.addr.port);
		std::copy_n(cfg.addr.addr.begin(), 16, sin6->sin6_addr.s6_addr);
		len = sizeof(*sin6);
	} else {
		auto *sin = reinterpret_cast<struct sockaddr_in *>(&ss);
		sin->sin_family = AF_INET;
		sin->sin_port = htons(cfg.addr.port);
		std::copy_n(cfg.addr.addr.begin(), 4, reinterpret_cast<uint8_t *>(&sin->sin_addr));
		len = sizeof(*sin);
	}
	if (bind(fd.get(), reinterpret_cast<struct sockaddr *>(&ss), len) < 0 ||
	    ::listen(fd.get(), SOMAXCONN) < 0)
		return sys_error("listen on", where, errno);
	len = sizeof(ss);
	if (getsockname(fd.get(), reinterpret_cast<struct sockaddr *>(&ss), &len) < 0)
		return sys_error("read the bound port of", where, errno);
	s->addr_.port = ntohs(cfg.addr.family == AF_INET6
				      ? reinterpret_cast<struct sockaddr_in6 *>(&ss)->sin6_port
				      : reinterpret_cast<struct sockaddr_in *>(&ss)->sin_port);

	UniqueFd wake(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
	if (wake.get() < 0)
		return sys_error("create eventfd for", "HTTP server on " + where, errno);
	s->listen_fd_ = std::move(fd);
	s->wake_fd_ = std::move(wake);
	return s;
}

HttpServer::~HttpServer() = default;

void HttpServer::route(std::string path, Handler h)
{
	routes_[std::move(path)] = std::move(h);
}

void HttpServer::every(std::chrono::milliseconds period, std::function<void()> fn)
{
	tick_period_ = std::max(period, std::chrono::milliseconds(1));
	tick_ = std::move(fn);
}

void HttpServer::watch_fd(int fd, std::function<void()> fn)
{
	watched_.emplace_back(fd, std::move(fn));
}

void HttpServer::stop()
{
	uint64_t one = 1;
	// async-signal-safe; a full counter (never, in practice) is still readable
	ssize_t n = write(wake_fd_.get(), &one, sizeof(one));
	(void)n;
}

ServerStats HttpServer::stats() const
{
	ServerStats s;
	s.accepted = stats_.accepted.load(std::memory_order_relaxed);
	s.responses = stats_.responses.load(std::memory_order_relaxed);
	s.rejected = stats_.rejected.load(std::memory_order_relaxed);
	s.timed_out = stats_.timed_out.load(std::memory_order_relaxed);
	s.dropped = stats_.dropped.load(std::memory_order_relaxed);
	s.evicted = stats_.evicted.load(std::memory_order_relaxed);
	s.active = stats_.active.load(std::memory_order_relaxed);
	return s;
}

Response HttpServer::dispatch(std::string_view head, bool &is_head, const char *&allow)
{
	Request req;

	if (int status = parse_head(head, req))
		return error_response(status);
	is_head = req.method == "HEAD";
	// every resource here is read-only: any other method is a 405 whatever the path, with
	// or without a body (which is never read)
	if (req.method != "GET" && !is_head) {
		allow = "GET, HEAD";
		return error_response(405);
	}
	auto route = routes_.find(req.path);
	if (route == routes_.end())
		return error_response(404);
	try {
		Response r = route->second(req);
		if (!valid_status(r.status))
			return error_response(500);
		for (char c : r.content_type)
			if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
				return error_response(500); // would split the header
		return r;
	} catch (const std::exception &) {
		return error_response(500);
	}
}

void HttpServer::respond(Conn &c, Response r, bool head, const char *allow, Clock::time_point now)
{
	c.head = fmt::format("HTTP/1.1 {} {}\r\n"
			     "Content-Type: {}\r\n"
			     "Content-Length: {}\r\n"
			     "{}{}{}"
			     "Connection: close\r\n"
			     "Date: {}\r\n"
			     "\r\n",
			     r.status, reason(r.status), r.content_type, r.body.size(),
			     allow ? "Allow: " : "", allow ? allow : "", allow ? "\r\n" : "",
			     http_date());
	c.body = head ? std::string() : std::move(r.body);
	c.in = std::string();
	c.sent = 0;
	c.phase = Conn::Phase::writing;
	c.deadline = now + cfg_.write_timeout;
	write_response(c, now);
}

void HttpServer::write_response(Conn &c, Clock::time_point now)
{
	const size_t total = c.head.size() + c.body.size();

	while (c.sent < total) {
		struct iovec iov[2];
		int n = 0;
		if (c.sent < c.head.size()) {
			iov[n++] = {c.head.data() + c.sent, c.head.size() - c.sent};
			if (!c.body.empty())
				iov[n++] = {c.body.data(), c.body.size()};
		} else {
			size_t off = c.sent - c.head.size();
			iov[n++] = {c.body.data() + off, c.body.size() - off};
		}
		struct msghdr msg = {};
		msg.msg_iov = iov;
		msg.msg_iovlen = n;
		// MSG_NOSIGNAL: a client gone mid-response is EPIPE here, never SIGPIPE
		ssize_t w = sendmsg(c.fd.get(), &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			c.fd.reset();
			c.phase = Conn::Phase::closed;
			stats_.dropped++;
			return;
		}
		c.sent += w;
	}
	stats_.responses++;
	// Closing with unread request bytes would send an RST that can destroy the response
	// in the client's buffer: half-close, then read until EOF for a bounded time.
	shutdown(c.fd.get(), SHUT_WR);
	c.head = std::string();
	c.body = std::string();
	c.phase = Conn::Phase::draining;
	c.deadline = now + cfg_.linger;
	on_ready(c, now);
}

void HttpServer::read_request(Conn &c, Clock::time_point now)
{
	char buf[4096];

	while (c.phase == Conn::Phase::reading) {
		size_t room = cfg_.max_header_bytes - c.in.size();
		ssize_t n = recv(c.fd.get(), buf, std::min(sizeof(buf), room), MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			// gone before a whole request: nobody to answer
			c.fd.reset();
			c.phase = Conn::Phase::closed;
			stats_.dropped++;
			return;
		}
		size_t from = c.in.size() >= 3 ? c.in.size() - 3 : 0;
		c.in.append(buf, n);
		size_t end = head_end(c.in, from);
		if (end != std::string::npos) {
			bool is_head = false;
			const char *allow = nullptr;
			Response r =
				dispatch(std::string_view(c.in).substr(0, end), is_head, allow);
			respond(c, std::move(r), is_head, allow, now);
			return;
		}
		if (c.in.size() >= cfg_.max_header_bytes) {
			// no line end at all: the request line alone is too long
			int status = c.in.find('\n') == std::string::npos ? 414 : 431;
			respond(c, error_response(status), false, nullptr, now);
			return;
		}
	}
}

void HttpServer::on_ready(Conn &c, Clock::time_point now)
{
	char buf[4096];

	switch (c.phase) {
	case Conn::Phase::reading:
		read_request(c, now);
		break;
	case Conn::Phase::writing:
		write_response(c, now);
		break;
	case Conn::Phase::draining:
		while (true) {
			ssize_t n = recv(c.fd.get(), buf, sizeof(buf), MSG_DONTWAIT);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				return;
			if (n > 0 && (c.drained += n) <= kDrainMax)
				continue;
			break; // EOF, error, or more than we are willing to read
		}
		c.fd.reset();
		c.phase = Conn::Phase::closed;
		break;
	case Conn::Phase::closed:
		break;
	}
}

void HttpServer::on_deadline(Conn &c, Clock::time_point now)
{
	switch (c.phase) {
	case Conn::Phase::reading:
		stats_.timed_out++;
		if (!c.in.empty()) {
			respond(c, error_response(408), false, nullptr, now);
			return;
		}
		break; // never said a word: close without one either
	case Conn::Phase::writing:
		stats_.timed_out++;
		break;
	case Conn::Phase::draining:
	case Conn::Phase::closed:
		break;
	}
	c.fd.reset();
	c.phase = Conn::Phase::closed;
}

void HttpServer::accept_all(Clock::time_point now)
{
	for (int i = 0; i < kAcceptBurst; i++) {
		UniqueFd fd(
			accept4(listen_fd_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
		if (fd.get() < 0) {
			if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO ||
			    errno == EPERM)
				continue; // that client only
			// out of descriptors or memory: the listen socket stays readable, so
			// polling it now would spin
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM)
				accept_paused_ = now + kAcceptRetry;
			return;
		}
		stats_.accepted++;
		auto c = std::make_unique<Conn>();
		c->fd = std::move(fd);
		if (conns_.size() - overflow_ >= cfg_.max_connections)
			evict_oldest_reading();
		if (conns_.size() - overflow_ < cfg_.max_connections) {
			c->deadline = now + cfg_.read_timeout;
			conns_.push_back(std::move(c));
			continue;
		}
		stats_.rejected++;
		if (overflow_ >= cfg_.max_connections)
			continue; // closed without a word: 503s are bounded too
		c->overflow = true;
		overflow_++;
		respond(*c, error_response(503), false, nullptr, now);
		conns_.push_back(std::move(c));
	}
}

// At the limit, the oldest connection still waiting for its request makes room: a client
// that holds connections open without a request (or with half of one) loses them to the
// next one, so idle connections cannot keep scrapes out; a scrape sends its request at once.
bool HttpServer::evict_oldest_reading()
{
	// conns_ is in accept order
	auto it = std::find_if(conns_.begin(), conns_.end(), [](const auto &c) {
		return !c->overflow && c->phase == Conn::Phase::reading;
	});
	if (it == conns_.end())
		return false;
	stats_.rejected++;
	stats_.evicted++;
	conns_.erase(it); // closes it: no response, as at its read timeout without a word
	return true;
}

Status HttpServer::run()
{
	using std::chrono::milliseconds;
	std::vector<struct pollfd> pfds;
	Status result;
	auto next_tick = Clock::now() + tick_period_;
	auto reap = [&] {
		std::erase_if(conns_,
			      [](const auto &c) { return c->phase == Conn::Phase::closed; });
		overflow_ = std::count_if(conns_.begin(), conns_.end(),
					  [](const auto &c) { return c->overflow; });
		stats_.active = conns_.size();
	};

	for (;;) {
		auto now = Clock::now();
		if (tick_ && now >= next_tick) {
			tick_();
			now = Clock::now();
			next_tick += tick_period_;
			if (next_tick <= now) // fell behind: no burst of catch-up ticks
				next_tick = now + tick_period_;
		}
		for (auto &c : conns_)
			if (now >= c->deadline)
				on_deadline(*c, now);
		reap();

		auto wake = Clock::time_point::max();
		if (tick_)
			wake = std::min(wake, next_tick);
		for (const auto &c : conns_)
			wake = std::min(wake, c->deadline);
		const bool accepting = now >= accept_paused_;
		if (!accepting)
			wake = std::min(wake, accept_paused_);
		int timeout = -1;
		if (wake != Clock::time_point::max())
			timeout = static_cast<int>(std::clamp<int64_t>(
				std::chrono::ceil<milliseconds>(wake - now).count(), 0, INT_MAX));

		pfds.clear();
		pfds.push_back({wake_fd_.get(), POLLIN, 0});
		pfds.push_back({accepting ? listen_fd_.get() : -1, POLLIN, 0});
		for (const auto &w : watched_)
			pfds.push_back({w.first, POLLIN, 0});
		const size_t first_conn = pfds.size();
		for (const auto &c : conns_)
			pfds.push_back({c->fd.get(),
					short(c->phase == Conn::Phase::writing ? POLLOUT : POLLIN),
					0});

		int n = poll(pfds.data(), pfds.size(), timeout);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			result = sys_error("poll", "HTTP server on " + addr_.str(), errno);
			break;
		}
		if (pfds[0].revents) {
			uint64_t v;
			ssize_t r = read(wake_fd_.get(), &v, sizeof(v));
			(void)r;
			break;
		}
		now = Clock::now();
		for (size_t i = 0; i < conns_.size() && first_conn + i < pfds.size(); i++)
			if (pfds[first_conn + i].revents)
				on_ready(*conns_[i], now);
		for (size_t i = 0; i < watched_.size(); i++) {
			short ev = pfds[2 + i].revents;
			if (ev & POLLNVAL) {
				result = sys_error("poll",
						   fmt::format("watched fd {}", watched_[i].first),
						   EBADF);
				break;
			}
			if (ev)
				watched_[i].second();
		}
		if (result)
			break;
		reap();
		if (pfds[1].revents)
			accept_all(now);
		reap();
	}
	conns_.clear();
	overflow_ = 0;
	stats_.active = 0;
	return result;
}

} // namespace tcpscope
