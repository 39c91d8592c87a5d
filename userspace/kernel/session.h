// SPDX-License-Identifier: GPL-2.0
// The BPF side in aggregate mode, as stats, serve and top use it: attached without ring
// buffer records, the existing sockets walked, then read as snapshots.
#pragma once

#include <chrono>
#include <map>
#include <memory>

#include "kernel/aggregates.h"
#include "kernel/netns.h"
#include "kernel/tracer.h"
#include "util/error.h"

namespace tcpscope {

class AggregateSession {
      public:
	using Clock = std::chrono::steady_clock;

	// Loads, attaches and walks the sockets of every namespace. Notes go to stderr: the
	// hooks chosen (verbose), degraded features and namespaces not walked (always).
	// netns (0: all): only that namespace is tracked, in kernel, by its inode and cookie
	[[nodiscard]] static Result<AggregateSession> open(bool verbose, uint32_t netns = 0);

	// The current aggregates and agent counters; the per-port rows only when asked (top):
	// up to 16 Ki map entries, two system calls each.
	Snapshot snapshot(bool ports = false) const;

	// When the programs were attached, and the seconds since.
	Clock::time_point start() const { return start_; }
	double uptime() const;

      private:
	AggregateSession() = default;
	std::unique_ptr<Tracer> tracer_;
	mutable uint64_t misses_recounted_ = 0; // program runs skipped, as of the last recount
	mutable Clock::time_point missed_at_;   // when they last grew
	mutable Clock::time_point walked_at_;   // the last walk of every namespace
	mutable std::map<uint32_t, Clock::time_point> walked_ns_; // each namespace's last walk
	Clock::time_point start_;
	// each snapshot's tw_limit; mutable: a cache of namespace paths, not state a reader sees
	mutable std::unique_ptr<NetnsSysctl> tw_limit_ =
		std::make_unique<NetnsSysctl>("net/ipv4/tcp_max_tw_buckets");
};

} // namespace tcpscope
