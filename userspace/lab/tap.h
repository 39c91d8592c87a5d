// SPDX-License-Identifier: GPL-2.0
// The packet tap: lab_tap.bpf.c on c0's clsact ingress and egress (every segment between the
// two namespaces crosses c0), its records decoded into Packets on the tracer's clock, and the
// experiment's scripted drops. Detached with the namespace; the object is freed here.
#pragma once

#include <functional>
#include <memory>

#include "lab/topology.h"
#include "lab/trace.h"

struct lab_tap_bpf;
struct ring_buffer;

namespace tcpscope::lab {

class Tap {
      public:
	using Sink = std::function<void(Packet &&)>;

	[[nodiscard]] static Result<std::unique_ptr<Tap>> attach(const Topology &topo, Sink sink);
	~Tap();
	Tap(const Tap &) = delete;
	Tap &operator=(const Tap &) = delete;

	// Waits up to timeout_ms for segments and hands each to the sink: the number consumed
	// or a negative errno.
	int poll(int timeout_ms);
	// Drops the next `count` segments leaving `from` whose flags & mask == value.
	Status drop(Side from, unsigned count, uint8_t mask, uint8_t value);
	// Records the ring buffer had no room for (the run is then incomplete).
	uint64_t lost() const;

      private:
	Tap() = default;
	static int on_sample(void *ctx, void *data, size_t size);

	struct lab_tap_bpf *skel_ = nullptr;
	struct ring_buffer *rb_ = nullptr;
	Sink sink_;
};

} // namespace tcpscope::lab
