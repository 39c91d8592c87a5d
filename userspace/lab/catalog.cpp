// SPDX-License-Identifier: GPL-2.0
// The catalog of experiments; each one's setup and kernel code: Documentation/tcpscope/lab.rst.
#include "lab/catalog.h"

namespace tcpscope::lab {

const std::vector<Experiment> &catalog()
{
	static const std::vector<Experiment> all = {
		{"handshake",
		 "a connection opens with a three-way handshake: SYN, SYN-ACK (ack=x+1), ACK; the "
		 "server goes from LISTEN to SYN_RCVD when the SYN arrives",
		 "S0 S2 S3",
		 {{"default", "connect() to a listener"}}},
		{"close3",
		 "with delayed ACK the close takes three segments: the passive closer's ACK of the "
		 "FIN rides on its own FIN (FIN, FIN+ACK, ACK)",
		 "S4",
		 {{"default", "the client sends 5 bytes and closes; the server reads to EOF and "
			      "closes at once"},
		  {"quickack", "the server sets TCP_QUICKACK after recv() returns 0, then closes"},
		  {"late-close", "the server closes only when its ACK of the FIN went out alone, "
				 "or 500 ms after EOF"},
		  {"kmod-quickack", "tcpscope.ko's quickack=1 in the server's namespace (needs the "
				    "module loaded)"},
		  {"kmod-delack", "tcpscope.ko's delack_max_ms=12 in the server's namespace, the "
				  "server closing late (needs the module loaded)"}}},
		{"timewait",
		 "TIME_WAIT lasts 2MSL, four minutes with RFC 1122's two-minute MSL, and "
		 "tcp_fin_timeout sets the MSL",
		 "S0 S1 S2 S3",
		 {{"default", "the client closes first, with tcp_fin_timeout=60"},
		  {"fin-timeout-5", "the same with the client's tcp_fin_timeout=5"}}},
		{"fin-timeout",
		 "tcp_fin_timeout is the MSL: it sets how long the active closer waits in TIME_WAIT",
		 "S0",
		 {{"default", "the client closes, the server never does; client tcp_fin_timeout=5"},
		  {"60", "the same with tcp_fin_timeout=60 (its end only with --long)"}}},
		{"reuseaddr",
		 "a server restarted while its connections are in TIME_WAIT cannot bind its port; "
		 "SO_REUSEADDR on the new socket lets it",
		 "S0",
		 {{"default", "no SO_REUSEADDR on the old or the new listener"},
		  {"new-only", "SO_REUSEADDR on the new listener only"},
		  {"both", "SO_REUSEADDR on the old and the new listener"}}},
		{"tw-reuse",
		 "the client's TIME_WAIT holds its port: a new connection from that port fails "
		 "until TIME_WAIT ends",
		 "S0",
		 {{"default", "one local port; tcp_tw_reuse left at 2 (loopback only)"},
		  {"off", "tcp_tw_reuse=0"},
		  {"on", "tcp_tw_reuse=1, the reconnect a second after the last timestamp"},
		  {"no-timestamps", "tcp_tw_reuse=1 with tcp_timestamps=0"},
		  {"bind", "bind() to the port with SO_REUSEADDR, then connect(), both times"}}},
		{"lastack",
		 "TIME_WAIT is there for a lost last ACK: the passive closer retransmits its FIN, "
		 "the TIME_WAIT side ACKs it again and restarts its 2MSL timer",
		 "S1 S2",
		 {{"default", "the client's last ACK dropped once"},
		  {"no-tw", "the same with the client's tcp_max_tw_buckets=0: no TIME_WAIT"}}},
		{"keepalive",
		 "keepalive closes a connection whose peer stays silent: after 2 hours idle it "
		 "probes every 75 s and gives up after 10 probes",
		 "S0 S2 S3",
		 {{"default", "idle 2 s, interval 1 s, 3 probes on the client; the server's "
			      "application silent"},
		  {"dead", "the same, every segment from the server dropped"}}},
		{"rst-close",
		 "close() starts the four-way close: the closer sends a FIN",
		 "S0 S1 S2 S3",
		 {{"default", "the server sends 100 bytes, the client closes without reading them"},
		  {"read", "the client reads them, then closes"},
		  {"linger0", "the client reads them, sets SO_LINGER {1, 0}, closes"}}},
		{"half-close",
		 "after sending its FIN the closer can still receive the peer's data (half-close)",
		 "S2 S3",
		 {{"default",
		   "the client calls shutdown(SHUT_WR); the server answers EOF with 4 KB"},
		  {"close", "the client calls close() instead"}}},
		{"fastopen",
		 "Fast Open is a two-way handshake: the data rides in the SYN and no third "
		 "segment is needed",
		 "S4",
		 {{"default", "server tcp_fastopen=3, client 1: a cookie, then data in the SYN"},
		  {"server-1", "server tcp_fastopen=1 (client only)"},
		  {"client-0", "client tcp_fastopen=0"}}},
		{"simultaneous",
		 "a connection can also open with four segments, when both ends connect at once; "
		 "and when both close at once their FINs cross and both go through CLOSING",
		 "S2",
		 {{"default",
		   "both ends bind and connect() to each other at once, then both "
		   "shutdown(); the tap drops each side's first SYN and first FIN, so the "
		   "retransmissions cross"},
		  {"netem", "the same with a 100 ms sch_netem delay on c0 instead of drops (needs "
			    "sch_netem)"}}},
	};
	return all;
}

const Experiment *find_experiment(std::string_view name)
{
	for (const auto &e : catalog())
		if (e.name == name)
			return &e;
	return nullptr;
}

const Variant *find_variant(const Experiment &e, std::string_view name)
{
	for (const auto &v : e.variants)
		if (v.name == name)
			return &v;
	return nullptr;
}

std::optional<std::string> check_names(std::string_view name, std::string_view variant)
{
	if (name == "list" || name == "all")
		return std::nullopt;
	const Experiment *e = find_experiment(name);
	if (!e)
		return "'" + std::string(name) + "' is not an experiment (tcpscope lab list)";
	if (!variant.empty() && variant != "list" && !find_variant(*e, variant))
		return "'" + std::string(variant) + "' is not a variant of " + e->name +
		       " (tcpscope lab " + e->name + " --variant list)";
	return std::nullopt;
}

} // namespace tcpscope::lab
