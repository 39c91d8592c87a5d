// SPDX-License-Identifier: GPL-2.0
// The exporter loop: one thread serves HTTP and reads the aggs map at each scrape, so a
// scrape always sees the kernel's current counts and nothing is buffered between scrapes.
#include "cmd/serve.h"

#include <signal.h>

#include <cstdio>

#include "kernel/session.h"
#include "net/http_server.h"
#include "output/stats_report.h"
#include "util/signals.h"

namespace tcpscope {

namespace {

// The exporter's own health, after the TCP metrics.
std::vector<MetricFamily> server_metrics(const ServerStats &st)
{
	auto counter = [](const char *name, const char *help, uint64_t v) {
		return MetricFamily{
			name, help, MetricType::counter, {{{}, static_cast<double>(v)}}};
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
	signal(SIGPIPE, SIG_IGN);
	auto stop = SignalFd::stop_signals();
	if (!stop)
		return print_error(stop.error());

	ServerConfig cfg;
	cfg.addr = o.listen;
	auto server = HttpServer::listen(cfg);
	if (!server)
		return print_error(server.error());
	auto session = AggregateSession::open(o.verbose);
	if (!session)
		return print_error(session.error());
	auto &srv = **server;

	srv.route("/metrics", [&](const Request &) {
		Exposition exp;
		auto families = metrics(session->snapshot(), o.per_netns);
		for (auto &f : server_metrics(srv.stats()))
			families.push_back(std::move(f));
		for (const auto &f : families)
			if (auto err = exp.add(f))
				return Response{500, "text/plain; charset=utf-8",
						err->message() + "\n"};
		return Response{200, std::string(Exposition::content_type), exp.text()};
	});
	srv.route("/healthz", [](const Request &) {
		return Response{200, "text/plain; charset=utf-8", "ok\n"};
	});
	srv.watch_fd(stop->fd(), [&] {
		if (stop->take())
			srv.stop();
	});

	fprintf(stderr, "tcpscope: serving http://%s/metrics until interrupted\n",
		srv.addr().str().c_str());
	if (auto err = srv.run())
		return print_error(*err);
	return 0;
}

} // namespace tcpscope
