// SPDX-License-Identifier: GPL-2.0
// Output formats of `watch`: aligned text, JSON (one object per line), CSV.
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <memory>
#include <string_view>

#include "event/fold.h"

namespace tcpscope {

enum class OutputFormat { text, json, csv };

struct Clock {
	uint64_t start_ns = 0;    // CLOCK_MONOTONIC at start: text times are relative to it
	int64_t realtime_off = 0; // CLOCK_REALTIME - CLOCK_MONOTONIC, for -T
	bool wall = false;        // -T
};

class Formatter {
      public:
	virtual ~Formatter() = default;
	virtual void header(fmt::memory_buffer &out) = 0;
	virtual void event(const FoldedEvent &s, fmt::memory_buffer &out) = 0;
};

std::unique_ptr<Formatter> make_formatter(OutputFormat f, const Clock &clock);

// "127.0.0.1", "::1"
void format_addr(fmt::memory_buffer &out, unsigned family, const uint8_t *addr);

} // namespace tcpscope
