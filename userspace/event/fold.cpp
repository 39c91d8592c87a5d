// SPDX-License-Identifier: GPL-2.0
// The lifecycle fold: which raw records a view shows, under which event name.
#include "event/fold.h"

namespace tcpscope {

std::optional<FoldedEvent> fold(const RawEvent &e, View view)
{
	FoldedEvent s{&e, {}, e.old_state, e.new_state};
	const bool raw = view == View::raw;

	switch (e.type) {
	case TCPSCOPE_EV_STATE:
		if (!raw && (e.flags & TCPSCOPE_EVF_HANDOFF))
			return std::nullopt;
		s.name = "state";
		return s;
	case TCPSCOPE_EV_TW_ENTER:
		// an orphaned FIN_WAIT2 moving into a timewait socket stays FIN_WAIT2
		if (!raw && e.old_state == e.new_state)
			return std::nullopt;
		s.name = raw ? "tw_enter" : "state";
		return s;
	case TCPSCOPE_EV_TW_SUBSTATE:
		s.name = raw ? "tw_substate" : "state";
		return s;
	case TCPSCOPE_EV_TW_LEAVE:
		s.name = raw ? "tw_leave" : "state";
		return s;
	case TCPSCOPE_EV_KEEPALIVE:
		s.name = "keepalive";
		return s;
	case TCPSCOPE_EV_CONN:
		s.name = "conn";
		return s;
	case TCPSCOPE_EV_SNAPSHOT:
		s.name = "snapshot";
		return s;
	}
	return std::nullopt;
}

bool EventFilter::wants(const FoldedEvent &f) const
{
	const RawEvent &e = *f.raw;

	// --snapshot's records were asked for: --summary keeps them
	if (summary && e.type != TCPSCOPE_EV_CONN && e.type != TCPSCOPE_EV_SNAPSHOT)
		return false;
	if (!state)
		return true;
	if (e.type == TCPSCOPE_EV_CONN) {
		for (unsigned i = 0; i < e.path_len && i < TCPSCOPE_PATH_MAX; i++)
			if (path_state(e, i) == *state)
				return true;
		return false;
	}
	return f.old_state == *state || f.new_state == *state;
}

} // namespace tcpscope
