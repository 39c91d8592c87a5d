// SPDX-License-Identifier: GPL-2.0
// Verdicts: pure functions of a recorded trace (flags, seq/ack arithmetic, counter deltas,
// state paths), never of timing guesses. Unit-tested from recorded traces.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "lab/trace.h"

namespace tcpscope::lab {

enum class VerdictKind { holds, does_not_hold, skipped };

std::string_view verdict_name(VerdictKind k); // "holds", "does_not_hold", "skipped"

struct Verdict {
	VerdictKind kind = VerdictKind::skipped;
	std::string text;   // the closing line: what the trace shows, with the numbers
	std::string reason; // skipped: why
	std::vector<std::pair<std::string, int64_t>> numbers; // "close_segments" -> 3
	std::vector<std::string> paths[2]; // each side's state path, by state name

	int64_t number(const std::string &name, int64_t dflt = -1) const;
};

Verdict judge_handshake(const Trace &t);
Verdict judge_close3(const Trace &t);
Verdict judge_timewait(const Trace &t);
Verdict judge_fin_timeout(const Trace &t);
Verdict judge_reuseaddr(const Trace &t);
Verdict judge_tw_reuse(const Trace &t);
Verdict judge_lastack(const Trace &t);
Verdict judge_keepalive(const Trace &t);
Verdict judge_rst_close(const Trace &t);
Verdict judge_half_close(const Trace &t);
Verdict judge_fastopen(const Trace &t);
Verdict judge_simultaneous(const Trace &t);

// By experiment name; a skipped verdict for an unknown one.
Verdict judge(const Trace &t);

} // namespace tcpscope::lab
