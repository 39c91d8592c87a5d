// SPDX-License-Identifier: GPL-2.0
// Tests the metrics HTTP server over real sockets on loopback: exact responses, every error
// status, misbehaving clients (slowloris, vanishing, not reading), limits and shutdown.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <thread>

#include "output/exposition.h"
#include "net/http_server.h"
#include "util/signals.h"

namespace tcpscope {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Polls pred until it holds or `bound` passes: never a fixed sleep standing in for a wait.
template <class Pred> bool wait_until(Pred pred, std::chrono::milliseconds bound = 5000ms)
{
	const auto end = Clock::now() + bound;
	while (!pred()) {
		if (Clock::now() > end)
			return false;
		std::this_thread::sleep_for(1ms);
	}
	return true;
}

class Sock {
      public:
	explicit Sock(int fd = -1) : fd_(fd) {}
	~Sock() { reset(); }
	Sock(Sock &&o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
	Sock &operator=(Sock &&o) noexcept
	{
		std::swap(fd_, o.fd_);
		return *this;
	}
	int fd() const { return fd_; }
	void reset()
	{
		if (fd_ >= 0)
			close(fd_);
		fd_ = -1;
	}

      private:
	int fd_ = -1;
};

// A blocking client on loopback with 5 s send and receive timeouts, so no test can hang.
// rcvbuf > 0 shrinks the receive buffer before connecting (a slow reader's window).
Sock connect_to(uint16_t port, int family = AF_INET, int rcvbuf = 0)
{
	Sock s(socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
	struct timeval tv = {5, 0};
	struct sockaddr_storage ss = {};
	socklen_t len;

	if (s.fd() < 0)
		return s;
	setsockopt(s.fd(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(s.fd(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (rcvbuf)
		setsockopt(s.fd(), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (family == AF_INET6) {
		auto *a = reinterpret_cast<struct sockaddr_in6 *>(&ss);
		a->sin6_family = AF_INET6;
		a->sin6_port = htons(port);
		a->sin6_addr = in6addr_loopback;
		len = sizeof(*a);
	} else {
		auto *a = reinterpret_cast<struct sockaddr_in *>(&ss);
		a->sin_family = AF_INET;
		a->sin_port = htons(port);
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(*a);
	}
	if (connect(s.fd(), reinterpret_cast<struct sockaddr *>(&ss), len) < 0)
		s.reset();
	return s;
}

bool send_all(int fd, std::string_view data)
{
	while (!data.empty()) {
		ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		data.remove_prefix(n);
	}
	return true;
}

// Everything up to the server's FIN; "<reset>" or "<timeout>" appended when it ended
// otherwise, so an exact comparison shows how.
std::string read_all(int fd)
{
	std::string out;
	char buf[65536];

	while (true) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n > 0) {
			out.append(buf, n);
			continue;
		}
		if (n == 0)
			return out;
		if (errno == EINTR)
			continue;
		return out +
		       (errno == EAGAIN ? "<timeout>" : "<" + std::string(strerror(errno)) + ">");
	}
}

// "Sun, 06 Nov 1994 08:49:37 GMT" (RFC 9110 IMF-fixdate)
bool imf_fixdate(std::string_view d)
{
	static constexpr std::string_view shape = "Aaa, 00 Aaa 0000 00:00:00 GMT";
	static constexpr std::string_view days = "Mon Tue Wed Thu Fri Sat Sun";
	static constexpr std::string_view months =
		"Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec";

	if (d.size() != shape.size())
		return false;
	for (size_t i = 0; i < d.size(); i++) {
		bool ok = shape[i] == '0'   ? (d[i] >= '0' && d[i] <= '9')
			  : shape[i] == 'A' ? (d[i] >= 'A' && d[i] <= 'Z')
			  : shape[i] == 'a' ? (d[i] >= 'a' && d[i] <= 'z')
					    : d[i] == shape[i];
		if (!ok)
			return false;
	}
	// names sit at multiples of 4; npos % 4 is 3
	return days.find(d.substr(0, 3)) % 4 == 0 && months.find(d.substr(8, 3)) % 4 == 0;
}

// The response with its Date header checked and removed, so that everything else can be
// compared byte for byte.
std::string without_date(const std::string &raw)
{
	size_t head = raw.find("\r\n\r\n");
	size_t date = raw.find("\r\nDate: ");

	if (head == std::string::npos)
		return raw;
	if (date == std::string::npos || date >= head)
		return "<no Date header> " + raw;
	size_t end = raw.find("\r\n", date + 2);
	if (!imf_fixdate(std::string_view(raw).substr(date + 8, end - date - 8)))
		return "<bad Date header> " + raw;
	return raw.substr(0, date) + raw.substr(end);
}

std::string error_reply(int status, const std::string &reason)
{
	std::string body = std::to_string(status) + " " + reason + "\n";
	return "HTTP/1.1 " + std::to_string(status) + " " + reason +
	       "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: " +
	       std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
}

std::string big_body(size_t size)
{
	std::string s;
	s.reserve(size + 32);
	for (size_t line = 0; s.size() < size; line++)
		s += "line " + std::to_string(line) + " of a large metrics page\n";
	s.resize(size);
	return s;
}

class HttpServerTest : public ::testing::Test {
      protected:
	HttpServerTest()
	{
		cfg.addr = *parse_listen("127.0.0.1:1");
		cfg.addr.port = 0;
		Exposition e;
		EXPECT_FALSE(e.add({"tcpscope_events_total",
				    "Events read.",
				    MetricType::counter,
				    {{{}, 7.0}}}));
		metrics = e.text();
	}

	// Listens with cfg and routes /metrics, /healthz and /echo; tests add their own
	// routes between listen() and start().
	void listen()
	{
		auto r = HttpServer::listen(cfg);
		ASSERT_TRUE(r.ok()) << r.error().message();
		server = std::move(*r);
		server->route("/metrics", [this](const Request &) {
			return Response{200, std::string(Exposition::content_type), metrics};
		});
		server->route("/healthz", [](const Request &) {
			return Response{200, "text/plain; charset=utf-8", "ok\n"};
		});
		server->route("/echo", [](const Request &r) {
			return Response{200, "text/plain; charset=utf-8",
					r.method + " " + r.path + " " + r.query + "\n"};
		});
	}

	void start()
	{
		if (!server) {
			ASSERT_NO_FATAL_FAILURE(listen());
		}
		thread = std::thread([this] { result = server->run(); });
	}

	void TearDown() override
	{
		if (!thread.joinable())
			return;
		server->stop();
		thread.join();
		EXPECT_FALSE(result) << result->message();
	}

	uint16_t port() const { return server->addr().port; }

	// One request on a fresh connection: the whole response up to the server's close.
	std::string exchange(std::string_view request)
	{
		Sock s = connect_to(port());
		if (s.fd() < 0)
			return "<connect: " + std::string(strerror(errno)) + ">";
		if (!send_all(s.fd(), request))
			return "<send: " + std::string(strerror(errno)) + ">";
		return read_all(s.fd());
	}

	ServerConfig cfg;
	std::string metrics;
	std::unique_ptr<HttpServer> server;
	std::thread thread;
	Status result;
};

TEST_F(HttpServerTest, GetMetrics)
{
	ASSERT_NO_FATAL_FAILURE(start());
	EXPECT_EQ(without_date(
			  exchange("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n"
				   "User-Agent: Prometheus/2.42.0\r\nAccept: text/plain\r\n\r\n")),
		  "HTTP/1.1 200 OK\r\n"
		  "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
		  "Content-Length: 103\r\n"
		  "Connection: close\r\n"
		  "\r\n"
		  "# HELP tcpscope_events_total Events read.\n"
		  "# TYPE tcpscope_events_total counter\n"
		  "tcpscope_events_total 7\n");
	EXPECT_EQ(without_date(exchange("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")),
		  "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"
		  "Content-Length: 3\r\nConnection: close\r\n\r\nok\n");
	ServerStats st = server->stats();
	EXPECT_EQ(st.accepted, 2u);
	EXPECT_EQ(st.responses, 2u);
	EXPECT_EQ(st.dropped + st.rejected + st.timed_out, 0u);
}

TEST_F(HttpServerTest, HeadHasTheGetLengthButNoBody)
{
	ASSERT_NO_FATAL_FAILURE(start());
	EXPECT_EQ(without_date(exchange("HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n")),
		  "HTTP/1.1 200 OK\r\n"
		  "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
		  "Content-Length: 103\r\n"
		  "Connection: close\r\n"
		  "\r\n");
	EXPECT_EQ(without_date(exchange("HEAD /nope HTTP/1.1\r\nHost: x\r\n\r\n")),
		  "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain; charset=utf-8\r\n"
		  "Content-Length: 14\r\nConnection: close\r\n\r\n");
}

TEST_F(HttpServerTest, Http10WithoutHost)
{
	ASSERT_NO_FATAL_FAILURE(start());
	EXPECT_EQ(without_date(exchange("GET /healthz HTTP/1.0\r\n\r\n")),
		  "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"
		  "Content-Length: 3\r\nConnection: close\r\n\r\nok\n");
}

TEST_F(HttpServerTest, RoutesByPathOnly)
{
	ASSERT_NO_FATAL_FAILURE(start());
	auto ok = [](const std::string &body) {
		return "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"
		       "Content-Length: " +
		       std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
	};
	EXPECT_EQ(without_date(exchange("GET /echo?name[]=a&x=%20 HTTP/1.1\r\nHost: x\r\n\r\n")),
		  ok("GET /echo name[]=a&x=%20\n"));
	EXPECT_EQ(without_date(exchange("HEAD /echo? HTTP/1.1\r\nHost: x\r\n\r\n")),
		  "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"
		  "Content-Length: 12\r\nConnection: close\r\n\r\n");
	// absolute-form, bare LF line ends, a leading empty line: all allowed by RFC 9112
	EXPECT_EQ(without_date(exchange("GET http://127.0.0.1:9977/echo?q HTTP/1.1\r\n"
					"Host: 127.0.0.1:9977\r\n\r\n")),
		  ok("GET /echo q\n"));
	EXPECT_EQ(without_date(exchange("GET HTTP://h HTTP/1.1\r\nHost: h\r\n\r\n")),
		  error_reply(404, "Not Found"));
	EXPECT_EQ(without_date(exchange("GET /echo HTTP/1.1\nHost: x\n\n")), ok("GET /echo \n"));
	EXPECT_EQ(without_date(exchange("\r\nGET /echo HTTP/1.1\r\nhOsT: x\r\n\r\n")),
		  ok("GET /echo \n"));
}

TEST_F(HttpServerTest, NotFound)
{
	ASSERT_NO_FATAL_FAILURE(start());
	const std::string expect = "HTTP/1.1 404 Not Found\r\n"
				   "Content-Type: text/plain; charset=utf-8\r\n"
				   "Content-Length: 14\r\n"
				   "Connection: close\r\n"
				   "\r\n"
				   "404 Not Found\n";
	for (const char *path :
	     {"/", "/nope", "/metrics/", "/Metrics", "/metrics%2F", "/metrics;x"})
		EXPECT_EQ(without_date(exchange("GET " + std::string(path) +
						" HTTP/1.1\r\nHost: x\r\n\r\n")),
			  expect)
			<< path;
}

TEST_F(HttpServerTest, MethodNotAllowed)
{
	ASSERT_NO_FATAL_FAILURE(start());
	const std::string expect = "HTTP/1.1 405 Method Not Allowed\r\n"
				   "Content-Type: text/plain; charset=utf-8\r\n"
				   "Content-Length: 23\r\n"
				   "Allow: GET, HEAD\r\n"
				   "Connection: close\r\n"
				   "\r\n"
				   "405 Method Not Allowed\n";
	EXPECT_EQ(without_date(exchange("POST /metrics HTTP/1.1\r\nHost: x\r\n"
					"Content-Length: 11\r\n\r\nhello=world")),
		  expect);
	EXPECT_EQ(without_date(exchange("DELETE /metrics HTTP/1.1\r\nHost: x\r\n\r\n")), expect);
	EXPECT_EQ(without_date(exchange("get /metrics HTTP/1.1\r\nHost: x\r\n\r\n")), expect);
	EXPECT_EQ(without_date(exchange("OPTIONS /healthz HTTP/1.0\r\n\r\n")), expect);
	// whatever the path, with or without a body
	EXPECT_EQ(without_date(exchange("POST /nope HTTP/1.1\r\nHost: x\r\n\r\n")), expect);
	EXPECT_EQ(without_date(exchange("PUT /nope HTTP/1.1\r\nHost: x\r\n"
					"Content-Length: 3\r\n\r\nabc")),
		  expect);
	EXPECT_EQ(without_date(exchange("POST /metrics HTTP/1.1\r\nHost: x\r\n"
					"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")),
		  expect);
}

struct BadRequest {
	const char *what;
	std::string request;
	int status;
	const char *reason;
};

void PrintTo(const BadRequest &b, std::ostream *os)
{
	*os << b.what;
}

class HttpBadRequest : public HttpServerTest, public ::testing::WithParamInterface<BadRequest> {};

TEST_P(HttpBadRequest, ExactStatus)
{
	const BadRequest &b = GetParam();
	ASSERT_NO_FATAL_FAILURE(start());
	EXPECT_EQ(without_date(exchange(b.request)), error_reply(b.status, b.reason));
	// and the server is still there for the next client
	EXPECT_EQ(without_date(exchange("GET /healthz HTTP/1.0\r\n\r\n")).substr(0, 17),
		  "HTTP/1.1 200 OK\r\n");
}

INSTANTIATE_TEST_SUITE_P(
	Requests, HttpBadRequest,
	::testing::Values(
		BadRequest{"Garbage", "garbage\r\n\r\n", 400, "Bad Request"},
		BadRequest{"Binary", std::string("\x16\x03\x01\x00\xff\x01\x00\x00\r\n\r\n", 12),
			   400, "Bad Request"},
		BadRequest{"EmptyRequestLine", "\r\n\r\n", 400, "Bad Request"},
		BadRequest{"NoVersion", "GET /metrics\r\n\r\n", 400, "Bad Request"},
		BadRequest{"DoubleSpace", "GET  /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 400,
			   "Bad Request"},
		BadRequest{"TrailingSpace", "GET /metrics HTTP/1.1 \r\nHost: x\r\n\r\n", 400,
			   "Bad Request"},
		BadRequest{"Tab", "GET\t/metrics HTTP/1.1\r\nHost: x\r\n\r\n", 400, "Bad Request"},
		BadRequest{"RelativeTarget", "GET metrics HTTP/1.1\r\nHost: x\r\n\r\n", 400,
			   "Bad Request"},
		BadRequest{"OtherScheme", "GET ftp://h/metrics HTTP/1.1\r\nHost: x\r\n\r\n", 400,
			   "Bad Request"},
		BadRequest{"ControlInTarget", "GET /met\x01rics HTTP/1.1\r\nHost: x\r\n\r\n", 400,
			   "Bad Request"},
		BadRequest{"NonAsciiTarget", "GET /m\xc3\xa9trics HTTP/1.1\r\nHost: x\r\n\r\n", 400,
			   "Bad Request"},
		BadRequest{"MethodNotToken", "G(T /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 400,
			   "Bad Request"},
		BadRequest{"LowercaseVersion", "GET /metrics http/1.1\r\nHost: x\r\n\r\n", 400,
			   "Bad Request"},
		BadRequest{"NotHttp", "GET /metrics FTP/1.1\r\nHost: x\r\n\r\n", 400,
			   "Bad Request"},
		BadRequest{"ShortVersion", "GET /metrics HTTP/1\r\nHost: x\r\n\r\n", 400,
			   "Bad Request"},
		BadRequest{"Http2", "GET /metrics HTTP/2.0\r\nHost: x\r\n\r\n", 505,
			   "HTTP Version Not Supported"},
		BadRequest{"Http09", "GET /metrics HTTP/0.9\r\n\r\n", 505,
			   "HTTP Version Not Supported"},
		BadRequest{"Http11WithoutHost", "GET /metrics HTTP/1.1\r\n\r\n", 400,
			   "Bad Request"},
		BadRequest{"TwoHosts", "GET /metrics HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400,
			   "Bad Request"},
		BadRequest{"HeaderWithoutColon",
			   "GET /metrics HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n", 400,
			   "Bad Request"},
		BadRequest{"SpaceInHeaderName",
			   "GET /metrics HTTP/1.1\r\nHost: x\r\nBad Name: v\r\n\r\n", 400,
			   "Bad Request"},
		BadRequest{"SpaceBeforeColon", "GET /metrics HTTP/1.1\r\nHost : x\r\n\r\n", 400,
			   "Bad Request"},
		BadRequest{"EmptyHeaderName", "GET /metrics HTTP/1.1\r\nHost: x\r\n: v\r\n\r\n",
			   400, "Bad Request"},
		BadRequest{"ObsFold", "GET /metrics HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n", 400,
			   "Bad Request"},
		BadRequest{"BareCR", "GET /metrics HTTP/1.1\r\nHost: x\r\nX: a\rb\r\n\r\n", 400,
			   "Bad Request"},
		BadRequest{"NulInHeader",
			   std::string("GET /metrics HTTP/1.1\r\nHost: x\r\nX: a") + '\0' +
				   "b\r\n\r\n",
			   400, "Bad Request"}),
	[](const ::testing::TestParamInfo<BadRequest> &info) {
		return std::string(info.param.what);
	});

TEST_F(HttpServerTest, HeadersTooLarge)
{
	ASSERT_NO_FATAL_FAILURE(start());
	// 20 KiB of headers: more than the server reads, all of which must not turn the
	// 431 into a connection reset
	std::string req = "GET /metrics HTTP/1.1\r\nHost: x\r\n";
	for (int i = 0; i < 200; i++)
		req += "X-Filler-" + std::to_string(i) + ": " + std::string(90, 'v') + "\r\n";
	req += "\r\n";
	ASSERT_GT(req.size(), 20000u);
	EXPECT_EQ(without_date(exchange(req)), error_reply(431, "Request Header Fields Too Large"));
}

TEST_F(HttpServerTest, HeaderLimitIsExact)
{
	cfg.max_header_bytes = 8192;
	ASSERT_NO_FATAL_FAILURE(start());
	auto request_of = [](size_t size) {
		std::string head = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: ";
		head += std::string(size - head.size() - 4, 'p');
		return head + "\r\n\r\n";
	};
	ASSERT_EQ(request_of(8192).size(), 8192u);
	EXPECT_EQ(without_date(exchange(request_of(8192))).substr(0, 17), "HTTP/1.1 200 OK\r\n");
	EXPECT_EQ(without_date(exchange(request_of(8193))),
		  error_reply(431, "Request Header Fields Too Large"));
}

TEST_F(HttpServerTest, RequestLineTooLong)
{
	ASSERT_NO_FATAL_FAILURE(start());
	EXPECT_EQ(without_date(exchange("GET /" + std::string(9000, 'a') +
					" HTTP/1.1\r\nHost: x\r\n\r\n")),
		  error_reply(414, "URI Too Long"));
}

TEST_F(HttpServerTest, SlowlorisDoesNotDelayOthers)
{
	cfg.read_timeout = 1000ms;
	ASSERT_NO_FATAL_FAILURE(start());

	const auto t0 = Clock::now();
	Sock slow = connect_to(port());
	ASSERT_GE(slow.fd(), 0);
	ASSERT_TRUE(send_all(slow.fd(), "GET /metrics HTTP/1.1\r\nHo"));

	const auto t1 = Clock::now();
	EXPECT_EQ(without_date(exchange("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")),
		  "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"
		  "Content-Length: 3\r\nConnection: close\r\n\r\nok\n");
	EXPECT_LT(Clock::now() - t1, 500ms);
	char c;
	EXPECT_EQ(recv(slow.fd(), &c, 1, MSG_DONTWAIT), -1) << "slow client answered already";
	EXPECT_EQ(errno, EAGAIN);

	// the stalled client gets its 408 once read_timeout has passed, not before
	EXPECT_EQ(without_date(read_all(slow.fd())), error_reply(408, "Request Timeout"));
	EXPECT_GE(Clock::now() - t0, cfg.read_timeout);
	EXPECT_EQ(server->stats().timed_out, 1u);
}

TEST_F(HttpServerTest, SilentClientClosedAtReadTimeout)
{
	cfg.read_timeout = 300ms;
	ASSERT_NO_FATAL_FAILURE(start());
	const auto t0 = Clock::now();
	Sock s = connect_to(port());
	ASSERT_GE(s.fd(), 0);
	EXPECT_EQ(read_all(s.fd()), ""); // closed without a word
	EXPECT_GE(Clock::now() - t0, cfg.read_timeout);
	EXPECT_EQ(server->stats().timed_out, 1u);
}

TEST_F(HttpServerTest, HalfRequestThenDisconnect)
{
	ASSERT_NO_FATAL_FAILURE(start());
	{
		Sock s = connect_to(port());
		ASSERT_GE(s.fd(), 0);
		ASSERT_TRUE(send_all(s.fd(), "GET /metr"));
	}
	{
		// half-closed after a request without its blank line: nothing to answer
		Sock s = connect_to(port());
		ASSERT_GE(s.fd(), 0);
		ASSERT_TRUE(send_all(s.fd(), "GET /metrics HTTP/1.1\r\nHost: x\r\n"));
		shutdown(s.fd(), SHUT_WR);
		EXPECT_EQ(read_all(s.fd()), "");
	}
	EXPECT_TRUE(wait_until([&] { return server->stats().dropped == 2; }));
	EXPECT_EQ(without_date(exchange("GET /healthz HTTP/1.0\r\n\r\n")).substr(0, 17),
		  "HTTP/1.1 200 OK\r\n");
	EXPECT_TRUE(wait_until([&] { return server->stats().active == 0; }));
}

TEST_F(HttpServerTest, ClientGoneMidResponse)
{
	// SIGPIPE's default action would end this test binary: prove it is never raised
	struct sigaction dfl = {}, old;
	dfl.sa_handler = SIG_DFL;
	sigaction(SIGPIPE, &dfl, &old);

	ASSERT_NO_FATAL_FAILURE(listen());
	const std::string body = big_body(32 << 20);
	server->route("/big", [&](const Request &) { return Response{200, "text/plain", body}; });
	ASSERT_NO_FATAL_FAILURE(start());
	for (int i = 0; i < 3; i++) {
		Sock s = connect_to(port(), AF_INET, 4096);
		ASSERT_GE(s.fd(), 0);
		ASSERT_TRUE(send_all(s.fd(), "GET /big HTTP/1.1\r\nHost: x\r\n\r\n"));
		char buf[1024];
		ASSERT_GT(recv(s.fd(), buf, sizeof(buf), 0), 0);
		// closing with unread data: the server's next send fails (RST)
	}
	EXPECT_TRUE(wait_until([&] { return server->stats().dropped == 3; }))
		<< "dropped " << server->stats().dropped;
	EXPECT_EQ(server->stats().responses, 0u);
	EXPECT_EQ(without_date(exchange("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")),
		  "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"
		  "Content-Length: 3\r\nConnection: close\r\n\r\nok\n");
	sigaction(SIGPIPE, &old, nullptr);
}

TEST_F(HttpServerTest, SlowReaderGetsWholeBodyWhileOthersAreServed)
{
	ASSERT_NO_FATAL_FAILURE(listen());
	const std::string body = big_body(8 << 20);
	server->route("/big", [&](const Request &) { return Response{200, "text/plain", body}; });
	ASSERT_NO_FATAL_FAILURE(start());

	Sock slow = connect_to(port(), AF_INET, 8192);
	ASSERT_GE(slow.fd(), 0);
	ASSERT_TRUE(send_all(slow.fd(), "GET /big HTTP/1.1\r\nHost: x\r\n\r\n"));
	std::string got;
	char buf[4096];
	while (got.size() < 65536) {
		ssize_t n = recv(slow.fd(), buf, sizeof(buf), 0);
		ASSERT_GT(n, 0);
		got.append(buf, n);
	}
	// the server has most of 8 MiB still to write to this one: others go first
	EXPECT_EQ(server->stats().responses, 0u);
	for (int i = 0; i < 3; i++)
		EXPECT_EQ(without_date(exchange("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")),
			  "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"
			  "Content-Length: 3\r\nConnection: close\r\n\r\nok\n");
	got += read_all(slow.fd());
	const std::string head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
				 "Content-Length: 8388608\r\nConnection: close\r\n\r\n";
	const std::string plain = without_date(got);
	ASSERT_EQ(plain.size(), head.size() + body.size());
	EXPECT_EQ(plain.substr(0, head.size()), head);
	EXPECT_TRUE(plain.compare(head.size(), body.size(), body) == 0) << "body differs";
}

TEST_F(HttpServerTest, StalledReaderDroppedAtWriteTimeout)
{
	cfg.write_timeout = 300ms;
	ASSERT_NO_FATAL_FAILURE(listen());
	const std::string body = big_body(32 << 20);
	server->route("/big", [&](const Request &) { return Response{200, "text/plain", body}; });
	ASSERT_NO_FATAL_FAILURE(start());

	Sock s = connect_to(port(), AF_INET, 4096);
	ASSERT_GE(s.fd(), 0);
	ASSERT_TRUE(send_all(s.fd(), "GET /big HTTP/1.1\r\nHost: x\r\n\r\n"));
	EXPECT_TRUE(wait_until([&] { return server->stats().timed_out == 1; }));
	EXPECT_TRUE(wait_until([&] { return server->stats().active == 0; }));
	EXPECT_EQ(server->stats().responses, 0u);
	EXPECT_EQ(without_date(exchange("GET /healthz HTTP/1.0\r\n\r\n")).substr(0, 17),
		  "HTTP/1.1 200 OK\r\n");
}

// Idle connections at the limit: each new client closes the oldest one still waiting for
// its request, so holding connections open cannot keep a scrape out.
TEST_F(HttpServerTest, IdleConnectionsCannotStarveScrapes)
{
	cfg.max_connections = 2;
	ASSERT_NO_FATAL_FAILURE(start());
	Sock idle1 = connect_to(port()), idle2 = connect_to(port());
	ASSERT_GE(idle1.fd(), 0);
	ASSERT_GE(idle2.fd(), 0);
	ASSERT_TRUE(wait_until([&] { return server->stats().active == 2; }));
	ASSERT_TRUE(send_all(idle2.fd(), "GET /metrics HTTP/1.1\r\n")); // half a request

	for (int i = 0; i < 3; i++)
		EXPECT_EQ(without_date(exchange("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")),
			  "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"
			  "Content-Length: 3\r\nConnection: close\r\n\r\nok\n")
			<< i;
	// the first scrape evicted idle1, the oldest; each scrape's own connection is gone
	// when the next one comes, so idle2 (half a request is still waiting) stays
	EXPECT_EQ(read_all(idle1.fd()), "");
	EXPECT_EQ(server->stats().evicted, 1u);
	EXPECT_EQ(server->stats().rejected, 1u);
	EXPECT_EQ(server->stats().responses, 3u);
	ASSERT_TRUE(wait_until([&] { return server->stats().active == 1; }));
	Sock idle3 = connect_to(port());
	ASSERT_TRUE(wait_until([&] { return server->stats().active == 2; }));
	Sock idle4 = connect_to(port()); // idle2, the oldest, makes room
	EXPECT_EQ(read_all(idle2.fd()), "");
	EXPECT_EQ(server->stats().evicted, 2u);
	EXPECT_EQ(server->stats().active, 2u);
}

// At the limit with no connection waiting for a request (all lingering after their
// response): 503, as many again, then a plain close.
TEST_F(HttpServerTest, BeyondTheLimitAndItsOverflowIsClosed)
{
	cfg.max_connections = 1;
	cfg.linger = 5000ms; // keeps a served connection open while its client does
	ASSERT_NO_FATAL_FAILURE(start());
	Sock served = connect_to(port());
	ASSERT_GE(served.fd(), 0);
	ASSERT_TRUE(send_all(served.fd(), "GET /healthz HTTP/1.0\r\n\r\n"));
	ASSERT_TRUE(wait_until([&] { return server->stats().responses == 1; }));
	Sock refused = connect_to(port());
	ASSERT_GE(refused.fd(), 0);
	EXPECT_EQ(without_date(read_all(refused.fd())), error_reply(503, "Service Unavailable"));
	ASSERT_TRUE(wait_until([&] { return server->stats().active == 2; }));

	std::string third = exchange("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
	EXPECT_TRUE(third == "" || third == "<Connection reset by peer>") << third;
	EXPECT_EQ(server->stats().rejected, 2u);
	EXPECT_EQ(server->stats().evicted, 0u);
	EXPECT_EQ(server->stats().accepted, 3u);
}

TEST_F(HttpServerTest, HandlerErrorsAre500)
{
	ASSERT_NO_FATAL_FAILURE(listen());
	server->route("/throws",
		      [](const Request &) -> Response { throw std::runtime_error("boom"); });
	server->route("/204", [](const Request &) { return Response{204, "text/plain", ""}; });
	server->route("/split", [](const Request &) {
		return Response{200, "text/plain\r\nSet-Cookie: x=1", "body"};
	});
	server->route("/teapot", [](const Request &) {
		return Response{418, "text/plain", "no\n"};
	});
	ASSERT_NO_FATAL_FAILURE(start());
	for (const char *path : {"/throws", "/204", "/split"})
		EXPECT_EQ(without_date(exchange("GET " + std::string(path) + " HTTP/1.0\r\n\r\n")),
			  error_reply(500, "Internal Server Error"))
			<< path;
	EXPECT_EQ(without_date(exchange("GET /teapot HTTP/1.0\r\n\r\n")),
		  "HTTP/1.1 418 Client Error\r\nContent-Type: text/plain\r\n"
		  "Content-Length: 3\r\nConnection: close\r\n\r\nno\n");
}

TEST_F(HttpServerTest, TickRunsInTheServerThread)
{
	ASSERT_NO_FATAL_FAILURE(listen());
	std::atomic<int> ticks{0};
	std::atomic<bool> same_thread{true};
	std::thread::id loop_id;
	server->every(10ms, [&] {
		if (ticks++ == 0)
			loop_id = std::this_thread::get_id();
		else if (std::this_thread::get_id() != loop_id)
			same_thread = false;
	});
	ASSERT_NO_FATAL_FAILURE(start());
	EXPECT_TRUE(wait_until([&] { return ticks >= 5; }));
	EXPECT_EQ(without_date(exchange("GET /healthz HTTP/1.0\r\n\r\n")).substr(0, 17),
		  "HTTP/1.1 200 OK\r\n");
	EXPECT_TRUE(wait_until([&] { return ticks >= 10; }));
	const std::thread::id server_id = thread.get_id();
	server->stop();
	thread.join();
	EXPECT_EQ(loop_id, server_id);
	EXPECT_TRUE(same_thread);
}

TEST_F(HttpServerTest, WatchedFdCallsBack)
{
	ASSERT_NO_FATAL_FAILURE(listen());
	int p[2];
	ASSERT_EQ(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
	Sock rd(p[0]), wr(p[1]);
	std::atomic<int> bytes{0};
	server->watch_fd(rd.fd(), [&] {
		char buf[16];
		ssize_t n;
		while ((n = read(rd.fd(), buf, sizeof(buf))) > 0)
			bytes += n;
	});
	ASSERT_NO_FATAL_FAILURE(start());
	ASSERT_EQ(write(wr.fd(), "abc", 3), 3);
	EXPECT_TRUE(wait_until([&] { return bytes == 3; }));
	ASSERT_EQ(write(wr.fd(), "de", 2), 2);
	EXPECT_TRUE(wait_until([&] { return bytes == 5; }));
	// the loop must be gone before the pipe is closed under it
	server->stop();
	thread.join();
	EXPECT_FALSE(result) << result->message();
}

// How serve stops: its SignalFd watched in the loop, whose handler calls stop().
TEST(HttpServerRun, StopsOnSignal)
{
	ServerConfig cfg;
	cfg.addr = *parse_listen("127.0.0.1:1");
	cfg.addr.port = 0;
	auto server = HttpServer::listen(cfg);
	ASSERT_TRUE(server.ok()) << server.error().message();
	(*server)->route("/healthz", [](const Request &) {
		return Response{200, "text/plain", "ok\n"};
	});

	std::atomic<bool> done{false};
	Status result;
	std::thread t([&] {
		// blocked in this thread only: pthread_kill() below makes it pending here
		auto sig = SignalFd::open({SIGUSR1});
		if (!sig) {
			result = sig.error();
			done = true;
			return;
		}
		(*server)->watch_fd(sig->fd(), [&] {
			if (sig->take())
				(*server)->stop();
		});
		result = (*server)->run();
		done = true;
	});
	// the loop is up once it answers
	Sock s = connect_to((*server)->addr().port);
	ASSERT_GE(s.fd(), 0);
	ASSERT_TRUE(send_all(s.fd(), "GET /healthz HTTP/1.0\r\n\r\n"));
	EXPECT_EQ(without_date(read_all(s.fd())).substr(0, 17), "HTTP/1.1 200 OK\r\n");

	const auto t0 = Clock::now();
	pthread_kill(t.native_handle(), SIGUSR1);
	EXPECT_TRUE(wait_until([&] { return done.load(); }, 2000ms));
	EXPECT_LT(Clock::now() - t0, 1000ms);
	if (!done)
		(*server)->stop();
	t.join();
	EXPECT_FALSE(result);
}

TEST(HttpServerRun, StopBeforeRunReturnsAtOnce)
{
	ServerConfig cfg;
	cfg.addr = *parse_listen("127.0.0.1:1");
	cfg.addr.port = 0;
	auto server = HttpServer::listen(cfg);
	ASSERT_TRUE(server.ok()) << server.error().message();
	(*server)->stop();
	EXPECT_FALSE((*server)->run());
}

ServerConfig config_for(const char *listen)
{
	ServerConfig cfg;
	auto a = parse_listen(listen);
	EXPECT_TRUE(a.ok()) << a.error().message();
	cfg.addr = *a;
	return cfg;
}

TEST(HttpServerListen, PortInUse)
{
	ServerConfig cfg = config_for("127.0.0.1:1");
	cfg.addr.port = 0;
	auto first = HttpServer::listen(cfg);
	ASSERT_TRUE(first.ok()) << first.error().message();
	const uint16_t port = (*first)->addr().port;
	ASSERT_NE(port, 0);
	EXPECT_EQ((*first)->addr().str(), "127.0.0.1:" + std::to_string(port));

	// a second exporter on the same port, SO_REUSEADDR on both
	cfg.addr.port = port;
	auto second = HttpServer::listen(cfg);
	ASSERT_FALSE(second.ok());
	EXPECT_EQ(second.error().err, EADDRINUSE);
	EXPECT_EQ(second.error().message(),
		  "failed to listen on 127.0.0.1:" + std::to_string(port) +
			  ": Address already in use");

	// 0.0.0.0 overlaps 127.0.0.1 as well
	cfg.addr = *parse_listen("0.0.0.0:" + std::to_string(port));
	auto any = HttpServer::listen(cfg);
	ASSERT_FALSE(any.ok());
	EXPECT_EQ(any.error().message(), "failed to listen on 0.0.0.0:" + std::to_string(port) +
						 ": Address already in use");
}

TEST(HttpServerListen, AddressNotAvailable)
{
	// TEST-NET-1 (RFC 5737): never a local address
	auto r = HttpServer::listen(config_for("192.0.2.1:9977"));
	ASSERT_FALSE(r.ok());
	EXPECT_EQ(r.error().err, EADDRNOTAVAIL);
	EXPECT_EQ(r.error().message(),
		  "failed to listen on 192.0.2.1:9977: Cannot assign requested address");
}

TEST(HttpServerListen, PrivilegedPortIsPermissionDenied)
{
	std::ifstream f("/proc/sys/net/ipv4/ip_unprivileged_port_start");
	int start = 0;
	if (!(f >> start) || start <= 80)
		GTEST_SKIP() << "port 80 is not privileged here";

	int p[2];
	ASSERT_EQ(pipe(p), 0);
	pid_t pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		// as nobody, even when the tests run as root
		close(p[0]);
		if (geteuid() == 0 && (setgroups(0, nullptr) || setgid(65534) || setuid(65534)))
			_exit(2);
		auto r = HttpServer::listen(config_for("127.0.0.1:80"));
		std::string msg = r.ok() ? "listened" : r.error().message();
		ssize_t n = write(p[1], msg.data(), msg.size());
		_exit(n == ssize_t(msg.size()) ? 0 : 3);
	}
	close(p[1]);
	Sock rd(p[0]);
	std::string msg;
	char buf[256];
	ssize_t n;
	while ((n = read(rd.fd(), buf, sizeof(buf))) > 0)
		msg.append(buf, n);
	int status;
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(WEXITSTATUS(status), 0);
	EXPECT_EQ(msg, "failed to listen on 127.0.0.1:80: Permission denied");
}

TEST(HttpServerListen, Ipv6LoopbackAndV6Only)
{
	ServerConfig cfg = config_for("[::1]:1");
	cfg.addr.port = 0;
	auto server = HttpServer::listen(cfg);
	if (!server.ok() &&
	    (server.error().err == EADDRNOTAVAIL || server.error().err == EAFNOSUPPORT))
		GTEST_SKIP() << server.error().message();
	ASSERT_TRUE(server.ok()) << server.error().message();
	const uint16_t port = (*server)->addr().port;
	EXPECT_EQ((*server)->addr().str(), "[::1]:" + std::to_string(port));
	(*server)->route("/healthz", [](const Request &) {
		return Response{200, "text/plain", "ok\n"};
	});
	Status result;
	std::thread t([&] { result = (*server)->run(); });
	Sock s = connect_to(port, AF_INET6);
	ASSERT_GE(s.fd(), 0);
	ASSERT_TRUE(send_all(s.fd(), "GET /healthz HTTP/1.1\r\nHost: [::1]\r\n\r\n"));
	EXPECT_EQ(without_date(read_all(s.fd())),
		  "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n"
		  "Connection: close\r\n\r\nok\n");
	(*server)->stop();
	t.join();
	EXPECT_FALSE(result) << result->message();

	// [::] takes IPv6 only: IPv4 on the same port stays free
	ServerConfig any = config_for("[::]:1");
	any.addr.port = 0;
	auto v6 = HttpServer::listen(any);
	ASSERT_TRUE(v6.ok()) << v6.error().message();
	ServerConfig v4 = config_for("0.0.0.0:1");
	v4.addr.port = (*v6)->addr().port;
	auto both = HttpServer::listen(v4);
	EXPECT_TRUE(both.ok()) << both.error().message();
}

struct GoodListen {
	const char *arg;
	int family;
	uint16_t port;
	const char *str;
};

void PrintTo(const GoodListen &g, std::ostream *os)
{
	*os << "'" << g.arg << "'";
}

class HttpParseListenGood : public ::testing::TestWithParam<GoodListen> {};

TEST_P(HttpParseListenGood, Parses)
{
	const GoodListen &g = GetParam();
	auto r = parse_listen(g.arg);
	ASSERT_TRUE(r.ok()) << r.error().message();
	EXPECT_EQ(r->family, g.family);
	EXPECT_EQ(r->port, g.port);
	EXPECT_EQ(r->str(), g.str);
}

INSTANTIATE_TEST_SUITE_P(
	Addresses, HttpParseListenGood,
	::testing::Values(
		GoodListen{"127.0.0.1:9977", AF_INET, 9977, "127.0.0.1:9977"},
		GoodListen{"0.0.0.0:9977", AF_INET, 9977, "0.0.0.0:9977"},
		GoodListen{"10.1.2.3:1", AF_INET, 1, "10.1.2.3:1"},
		GoodListen{"255.255.255.255:65535", AF_INET, 65535, "255.255.255.255:65535"},
		GoodListen{"127.0.0.1:00080", AF_INET, 80, "127.0.0.1:80"},
		GoodListen{"[::1]:9977", AF_INET6, 9977, "[::1]:9977"},
		GoodListen{"[::]:9977", AF_INET6, 9977, "[::]:9977"},
		GoodListen{"[2001:DB8::1]:443", AF_INET6, 443, "[2001:db8::1]:443"},
		GoodListen{"[::ffff:127.0.0.1]:80", AF_INET6, 80, "[::ffff:127.0.0.1]:80"}));

TEST(HttpParseListen, AddressBytes)
{
	auto v4 = parse_listen("192.168.1.2:9977");
	ASSERT_TRUE(v4.ok());
	EXPECT_EQ(v4->addr[0], 192);
	EXPECT_EQ(v4->addr[3], 2);
	auto v6 = parse_listen("[::1]:9977");
	ASSERT_TRUE(v6.ok());
	EXPECT_EQ(v6->addr[15], 1);
	EXPECT_EQ(v6->addr[0], 0);
}

struct BadListen {
	const char *arg;
	const char *detail; // "--listen: <detail> (got '<arg>')"
};

void PrintTo(const BadListen &b, std::ostream *os)
{
	*os << "'" << b.arg << "'";
}

class HttpParseListenBad : public ::testing::TestWithParam<BadListen> {};

TEST_P(HttpParseListenBad, ExactMessage)
{
	const BadListen &b = GetParam();
	auto r = parse_listen(b.arg);
	ASSERT_FALSE(r.ok()) << "'" << b.arg << "' accepted as " << r->str();
	EXPECT_EQ(r.error().err, 0);
	EXPECT_EQ(r.error().message(),
		  "--listen: " + std::string(b.detail) + " (got '" + std::string(b.arg) + "')");
}

INSTANTIATE_TEST_SUITE_P(
	Addresses, HttpParseListenBad,
	::testing::Values(
		BadListen{"", "empty (expected IPV4:PORT or [IPV6]:PORT)"},
		BadListen{"127.0.0.1", "missing ':PORT' (expected IPV4:PORT or [IPV6]:PORT)"},
		BadListen{"9977", "missing ':PORT' (expected IPV4:PORT or [IPV6]:PORT)"},
		BadListen{"127.0.0.1:", "missing port after ':'"},
		BadListen{"[::1]:", "missing port after ':'"},
		BadListen{"127.0.0.1:0", "'0' is not a port (1-65535)"},
		BadListen{"127.0.0.1:65536", "'65536' is not a port (1-65535)"},
		BadListen{"127.0.0.1:99999999999", "'99999999999' is not a port (1-65535)"},
		BadListen{"127.0.0.1:http", "'http' is not a port (1-65535)"},
		BadListen{"127.0.0.1:-1", "'-1' is not a port (1-65535)"},
		BadListen{"127.0.0.1:+80", "'+80' is not a port (1-65535)"},
		BadListen{"127.0.0.1:80x", "'80x' is not a port (1-65535)"},
		BadListen{"127.0.0.1:80 ", "'80 ' is not a port (1-65535)"},
		BadListen{"127.0.0.1: 80", "' 80' is not a port (1-65535)"},
		BadListen{"127.0.0.1:0x50", "'0x50' is not a port (1-65535)"},
		BadListen{
			" 127.0.0.1:80",
			"' 127.0.0.1' is not a numeric IPv4 address (host names are not resolved)"},
		BadListen{"1.2.3:80",
			  "'1.2.3' is not a numeric IPv4 address (host names are not resolved)"},
		BadListen{"256.1.1.1:80", "'256.1.1.1' is not a numeric IPv4 address "
					  "(host names are not resolved)"},
		BadListen{"localhost:9977", "'localhost' is not a numeric IPv4 address "
					    "(host names are not resolved)"},
		BadListen{"127.0.0.1:80:80", "'127.0.0.1:80' is not a numeric IPv4 address "
					     "(host names are not resolved)"},
		BadListen{":9977", "missing address before ':PORT' (0.0.0.0 or [::] for all)"},
		BadListen{"::1:80", "an IPv6 address needs brackets: [ADDR]:PORT"},
		BadListen{"::1", "an IPv6 address needs brackets: [ADDR]:PORT"},
		BadListen{"[::1]80", "expected ':PORT' after ']'"},
		BadListen{"[::1]", "expected ':PORT' after ']'"},
		BadListen{"[::1:80", "missing ']' after the IPv6 address"},
		BadListen{"[]:80", "'' is not a numeric IPv6 address"},
		BadListen{"[127.0.0.1]:80", "'127.0.0.1' is not a numeric IPv6 address"},
		BadListen{"[::1]:80]", "'80]' is not a port (1-65535)"},
		BadListen{"[fe80::1%eth0]:80", "'fe80::1%eth0' is not a numeric IPv6 address"}));

} // namespace
} // namespace tcpscope
