// SPDX-License-Identifier: GPL-2.0
// Owner of the BPF side: picks hooks for the running kernel, loads the skeleton, attaches,
// and drains the ring buffer. Move-only; everything is released in the destructor.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "util/error.h"
#include "event/record.h"
#include "kernel/health.h"
#include "net/port.h"

struct tcpscope_bpf;
struct bpf_link;
struct ring_buffer;

namespace tcpscope {

struct TracerConfig {
	unsigned family = 0;
	uint32_t netns = 0;
	uint32_t pid = 0;
	std::optional<PortSet> lports;
	std::optional<PortSet> dports;
	bool events = true;       // records on the ring buffer (watch)
	bool aggregate = false;   // in-kernel aggregates (stats, serve), seeded by seed()
	bool netns_allow = false; // only the namespaces given to allow_netns() (lab)
	bool snapshot = false;    // seed() lists the sockets it walks (watch --snapshot)
};

// A hook the kernel could not give us, and what is missing because of it.
struct Degraded {
	std::string feature;
	std::string impact;
};

// "tcpscope: degraded: <feature> unavailable on this kernel: <impact>" on stderr, each.
void report_degraded(const std::vector<Degraded> &degraded);

// libbpf's own log on stderr (-v) or nowhere: the agent reports failures in its own words.
void set_libbpf_verbose(bool verbose);

class Tracer {
      public:
	using Sink = std::function<int(const RawEvent &)>;

	// Loads and attaches. Notes on chosen hooks go to `log` (shown with -v), features
	// this kernel cannot provide to `degraded`.
	static Result<std::unique_ptr<Tracer>> open(const TracerConfig &cfg, Sink sink,
						    std::vector<std::string> &log,
						    std::vector<Degraded> &degraded);
	~Tracer();
	Tracer(const Tracer &) = delete;
	Tracer &operator=(const Tracer &) = delete;

	// Waits up to timeout_ms for a batch of events (the kernel side wakes us only for a
	// batch), then hands every queued event to the sink. Returns the number consumed or a
	// negative errno (or the sink's negative return).
	int poll(int timeout_ms);
	// Hands every event queued now to the sink, without waiting: the last read at exit.
	int consume();
	KernelCounters counters() const;
	// Per attached program, the runs the kernel skipped because the program was already
	// running on that CPU (bpf_prog_info.recursion_misses).
	std::vector<NamedCount> recursion_misses() const;
	// With TracerConfig::netns_allow: adds (or removes) a namespace the programs follow;
	// 0 or a negative errno (E2BIG: TCPSCOPE_NETNS_ALLOW_MAX already there).
	int allow_netns(uint32_t inode, bool allow);

	// Walks the sockets of every network namespace (only TracerConfig::netns's, when set)
	// once: in aggregate mode, so the state gauges count the sockets that existed before
	// the programs were attached; with TracerConfig::snapshot, to append a record of each
	// socket the filters let through to *snapshot, in the order walked. Returns the
	// namespaces walked; one that could not be entered is a message in `failed`.
	Result<size_t> seed(std::vector<std::string> &failed,
			    std::vector<SockEvent> *snapshot = nullptr);
	// Aggregate mode: walks the sockets of namespace `netns` (an inode) and puts the gauges
	// right from the kernel's state where a hook missed a change: a late FIN_WAIT2 ->
	// TIME_WAIT, a transition in a run the kernel skipped (the recount_sockets iterator).
	// 0 or a positive errno.
	int recount(uint32_t netns);
	// The aggs and ports_agg maps' file descriptors (kernel/aggregates.h reads them).
	int aggs_fd() const;
	int ports_fd() const;

      private:
	Tracer() = default;
	static int on_sample(void *ctx, void *data, size_t size);

	struct tcpscope_bpf *skel_ = nullptr;
	std::vector<struct bpf_link *> links_;
	struct bpf_link *seed_link_ = nullptr;
	struct bpf_link *recount_link_ = nullptr;
	std::map<uint64_t, std::string> netns_paths_; // inode -> a path that opens it
	bool aggregate_ = false;
	uint32_t netns_ = 0; // TracerConfig::netns
	struct ring_buffer *rb_ = nullptr;
	Sink sink_;
};

} // namespace tcpscope
