// SPDX-License-Identifier: GPL-2.0
// One frame of `top` from two snapshots of the aggregates: plain lines, no escape sequences.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "cli/options.h"
#include "kernel/aggregates.h"

namespace tcpscope {

// The layout is drawn for 80 columns; narrower screens cut every line.
inline constexpr size_t layout_cols = 80;

// Where a frame goes: its size in character cells and whether keys are read (the title
// then says how to quit).
struct TopScreen {
	size_t cols = 80;
	size_t rows = 24;
	bool keys = true;
};

// One frame: at most screen.rows lines of at most screen.cols characters, no trailing
// blanks, no escape sequences. Rates are over now.uptime - prev->uptime; without prev
// (the first frame) they are "-". Lists are cut to fit: transitions first, then ports.
std::vector<std::string> render_top(const Snapshot &now, const Snapshot *prev,
				    const TopOptions &opts, const TopScreen &screen);

} // namespace tcpscope
