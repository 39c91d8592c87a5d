// SPDX-License-Identifier: GPL-2.0
// The fold from raw kernel events to the connection lifecycle `watch` shows by default
// (--raw: the records as emitted), and watch's filters on the folded events.
#pragma once

#include <optional>
#include <string_view>

#include "event/record.h"

namespace tcpscope {

enum class View { lifecycle, raw };

// A record as the view shows it: one line of output.
struct FoldedEvent {
	const RawEvent *raw;
	std::string_view name; // JSON "event": state, keepalive, conn, tw_enter, ...
	unsigned old_state;
	unsigned new_state;
};

// The record in this view; nullopt when it is folded away (e.g. the full socket's internal
// CLOSE at the TIME_WAIT handoff in the lifecycle view).
std::optional<FoldedEvent> fold(const RawEvent &e, View view);

// watch's user-space filters, which need the lifecycle view (--state, --summary).
struct EventFilter {
	std::optional<unsigned> state; // events entering or leaving it, summaries through it
	bool summary = false;          // connection summaries only (and --snapshot's records)

	bool wants(const FoldedEvent &f) const;
};

} // namespace tcpscope
