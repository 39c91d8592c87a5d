// SPDX-License-Identifier: GPL-2.0
// A small HTTP/1.1 server for metrics scrapes: one thread, non-blocking sockets, poll(), one
// request per connection, and every client bounded in time, bytes and number.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/listen_addr.h"
#include "util/error.h"
#include "util/fd.h"

namespace tcpscope {

struct Request {
	std::string method; // GET or HEAD by the time a handler sees it
	std::string path;   // origin-form path, no query
	std::string query;  // after '?', undecoded
};

struct Response {
	int status = 200;
	std::string content_type = "text/plain; charset=utf-8";
	std::string body; // not sent for HEAD; Content-Length always is
};

using Handler = std::function<Response(const Request &)>;

// How the server reads a request, apart for the unit tests and the fuzzer (tools/fuzz/):
// head_end() is the offset just past the blank line ending the head (CRLF or bare LF),
// searched from `from`, or npos; parse_head() checks the request line and headers as
// strictly as RFC 9112 asks of a server: 0 and req filled, or the status to answer (400,
// 505).
size_t head_end(std::string_view buf, size_t from);
int parse_head(std::string_view head, Request &req);

struct ServerConfig {
	ListenAddr addr;
	std::chrono::milliseconds read_timeout{10000};  // from accept to the end of the headers
	std::chrono::milliseconds write_timeout{10000}; // for the whole response
	std::chrono::milliseconds linger{1000}; // reading what a client still sends after it
	// beyond: the oldest still reading its request is closed; none: 503 (as many again),
	// then plain close
	size_t max_connections = 64;
	size_t max_header_bytes = 8192; // request line and headers; beyond: 414 or 431
};

struct ServerStats {
	uint64_t accepted = 0;
	uint64_t responses = 0; // written in full, any status
	uint64_t rejected = 0;  // at the connection limit: answered 503 or closed, or evicted
	uint64_t evicted = 0;   // of those: closed before its request to make room
	uint64_t timed_out = 0; // request or response not done within its timeout
	uint64_t dropped = 0;   // client closed or reset before its response was written
	uint64_t active = 0;    // connections open now
};

class HttpServer {
      public:
	// Binds (SO_REUSEADDR; IPV6_V6ONLY for IPv6) and listens. Errors name the address:
	// "failed to listen on 127.0.0.1:9977: Address already in use".
	static Result<std::unique_ptr<HttpServer>> listen(const ServerConfig &cfg);
	~HttpServer();
	HttpServer(const HttpServer &) = delete;
	HttpServer &operator=(const HttpServer &) = delete;

	// Setup, before run(). GET and HEAD on exactly `path` call h; other methods get 405,
	// other paths 404. A handler that throws answers 500.
	void route(std::string path, Handler h);
	// fn runs in the loop every `period` (first after one period): periodic work such as
	// reading BPF maps, in the same thread as the handlers, so no locking between them.
	void every(std::chrono::milliseconds period, std::function<void()> fn);
	// fn runs in the loop whenever fd is readable (a ring buffer's epoll fd, a pipe).
	void watch_fd(int fd, std::function<void()> fn);

	// Serves until stop(); a signal ends it through watch_fd() on a SignalFd
	// (util/signals.h) whose handler calls stop(). Open connections are closed on return.
	// Returns the error that ended the loop, nullopt when stopped.
	Status run();
	// From any thread or a signal handler: run() returns promptly.
	void stop();

	const ListenAddr &addr() const { return addr_; } // with the bound port
	ServerStats stats() const;                       // from any thread

      private:
	struct Conn;
	using Clock = std::chrono::steady_clock;

	HttpServer() = default;
	void accept_all(Clock::time_point now);
	bool evict_oldest_reading();
	void on_ready(Conn &c, Clock::time_point now);
	void on_deadline(Conn &c, Clock::time_point now);
	void read_request(Conn &c, Clock::time_point now);
	void respond(Conn &c, Response r, bool head, const char *allow, Clock::time_point now);
	void write_response(Conn &c, Clock::time_point now);
	Response dispatch(std::string_view head, bool &is_head, const char *&allow);

	ServerConfig cfg_;
	ListenAddr addr_;
	UniqueFd listen_fd_;
	UniqueFd wake_fd_; // eventfd: stop()
	std::map<std::string, Handler, std::less<>> routes_;
	std::chrono::milliseconds tick_period_{0};
	std::function<void()> tick_;
	std::vector<std::pair<int, std::function<void()>>> watched_;
	std::vector<std::unique_ptr<Conn>> conns_;
	size_t overflow_ = 0;             // 503 connections among conns_
	Clock::time_point accept_paused_; // out of file descriptors: retry accept() then

	struct Counters {
		std::atomic<uint64_t> accepted{0}, responses{0}, rejected{0}, timed_out{0},
			dropped{0}, active{0}, evicted{0};
	} stats_;
};

} // namespace tcpscope
