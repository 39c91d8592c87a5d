// SPDX-License-Identifier: GPL-2.0
// Lifecycle folding and the names of the kernel's classification enums.
#include "event/event.h"

#include <array>

namespace tcpscope {

const RawEvent *decode(const void *data, size_t size)
{
	if (size < sizeof(RawEvent))
		return nullptr;
	return static_cast<const RawEvent *>(data);
}

std::optional<Shown> present(const RawEvent &e, View view)
{
	Shown s{&e, {}, e.old_state, e.new_state};
	const bool raw = view == View::raw;

	switch (e.type) {
	case EV_STATE:
		if (!raw && (e.flags & EVF_HANDOFF))
			return std::nullopt;
		s.event = "state";
		return s;
	case EV_TW_ENTER:
		// an orphaned FIN_WAIT2 moving into a timewait socket stays FIN_WAIT2
		if (!raw && e.old_state == e.new_state)
			return std::nullopt;
		s.event = raw ? "tw_enter" : "state";
		return s;
	case EV_TW_SUBSTATE:
		s.event = raw ? "tw_substate" : "state";
		return s;
	case EV_TW_LEAVE:
		s.event = raw ? "tw_leave" : "state";
		return s;
	case EV_KEEPALIVE:
		s.event = "keepalive";
		return s;
	case EV_CONN:
		s.event = "conn";
		return s;
	}
	return std::nullopt;
}

template <size_t N> static std::string_view pick(const std::array<std::string_view, N> &a, unsigned i)
{
	return i < N ? a[i] : "unknown";
}

std::string_view cause_name(unsigned cause)
{
	static constexpr std::array<std::string_view, 4> n{"unknown", "timer", "kill", "netns"};
	static_assert(TW_CAUSE_NETNS == 3);
	return pick(n, cause);
}

std::string_view open_name(unsigned open)
{
	static constexpr std::array<std::string_view, 3> n{"unknown", "active", "passive"};
	static_assert(OPEN_PASSIVE == 2);
	return pick(n, open);
}

std::string_view handshake_name(unsigned hs)
{
	static constexpr std::array<std::string_view, 5> n{"unknown", "3whs", "fastopen",
							   "fastopen_rejected", "none"};
	static_assert(HS_NONE == 4);
	return pick(n, hs);
}

std::string_view close_name(unsigned close)
{
	static constexpr std::array<std::string_view, 10> n{
		"unknown",  "active_4way",  "active_3way", "passive",           "simultaneous",
		"rst_sent", "rst_received", "keepalive_timeout", "abort",         "timeout"};
	static_assert(CLOSE_TIMEOUT == 9);
	return pick(n, close);
}

} // namespace tcpscope
