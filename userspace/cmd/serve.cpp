// SPDX-License-Identifier: GPL-2.0
// The exporter loop: one thread serves HTTP and reads the aggs map at each scrape, so a
// scrape always sees the kernel's current counts and nothing is buffered between scrapes.
#include "cmd/serve.h"

#include <signal.h>

#include <chrono>
#include <cstdio>

#include "cmd/stats.h"

namespace tcpscope {

namespace {

volatile sig_atomic_t stop_requested;

void on_signal(int)
{
	stop_requested = 1;
}

// The exporter's own health, after the TCP metrics.
std::vector<MetricFamily> server_metrics(const ServerStats &st)
{
	auto counter = [](const char *name, const char *help, uint64_t v) {
		return MetricFamily{name, help, MetricType::counter, {{{}, static_cast<double>(v)}}};
	};
	return {
		counter("tcpscope_http_responses_total", "HTTP responses written in full",
			st.responses),
		counter("tcpscope_http_rejected_total",
			"HTTP connections refused at the connection limit", st.rejected),
		counter("tcpscope_http_timeouts_total",
			"HTTP clients dropped for sending or reading too slowly", st.timed_out),
	};
}

} // namespace

int run_serve(const ServeOptions &o)
{
	struct sigaction sa = {}; // no SA_RESTART: the server's poll() returns on a signal
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, nullptr);
	sigaction(SIGTERM, &sa, nullptr);
	signal(SIGPIPE, SIG_IGN);

	ServerConfig cfg;
	cfg.addr = o.listen;
	auto server = HttpServer::listen(cfg);
	if (!server) {
		fprintf(stderr, "tcpscope: %s\n", server.error().message().c_str());
		return 1;
	}
	auto tracer = open_aggregator(o.verbose);
	if (!tracer)
		return 1;
	const auto start = std::chrono::steady_clock::now();
	auto &srv = **server;

	srv.route("/metrics", [&](const Request &) {
		double up = std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
				    .count();
		Exposition exp;
		auto families = metrics(snapshot(*tracer, up), o.per_netns);
		for (auto &f : server_metrics(srv.stats()))
			families.push_back(std::move(f));
		for (const auto &f : families)
			if (auto err = exp.add(f))
				return Response{500, "text/plain; charset=utf-8", err->message() + "\n"};
		return Response{200, std::string(Exposition::content_type), exp.text()};
	});
	srv.route("/healthz", [](const Request &) { return Response{200, "text/plain; charset=utf-8", "ok\n"}; });

	fprintf(stderr, "tcpscope: serving http://%s/metrics until interrupted\n",
		srv.addr().str().c_str());
	if (auto err = srv.run(&stop_requested)) {
		fprintf(stderr, "tcpscope: %s\n", err->message().c_str());
		return 1;
	}
	return 0;
}

} // namespace tcpscope
