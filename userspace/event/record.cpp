// SPDX-License-Identifier: GPL-2.0
// decode() and the names of the kernel's classification enums.
#include "event/record.h"

#include <array>

namespace tcpscope {

const RawEvent *decode(const void *data, size_t size)
{
	if (size < sizeof(RawEvent))
		return nullptr;
	const auto *e = static_cast<const RawEvent *>(data);
	if (has_sock_stats(e->type) && size < sizeof(SockEvent))
		return nullptr;
	return e;
}

template <size_t N>
static std::string_view pick(const std::array<std::string_view, N> &a, unsigned i)
{
	return i < N ? a[i] : "unknown";
}

std::string_view cause_name(unsigned cause)
{
	static constexpr std::array<std::string_view, 4> n{"unknown", "timer", "kill", "netns"};
	static_assert(TCPSCOPE_TW_CAUSE_NETNS == 3);
	return pick(n, cause);
}

std::string_view open_name(unsigned open)
{
	static constexpr std::array<std::string_view, 3> n{"unknown", "active", "passive"};
	static_assert(TCPSCOPE_OPEN_PASSIVE == 2);
	return pick(n, open);
}

std::string_view handshake_name(unsigned hs)
{
	static constexpr std::array<std::string_view, 5> n{"unknown", "3whs", "fastopen",
							   "fastopen_rejected", "none"};
	static_assert(TCPSCOPE_HS_NONE == 4);
	return pick(n, hs);
}

std::string_view close_name(unsigned close)
{
	static constexpr std::array<std::string_view, 10> n{
		"unknown",  "active_4way",  "active_3way",       "passive", "simultaneous",
		"rst_sent", "rst_received", "keepalive_timeout", "abort",   "timeout"};
	static_assert(TCPSCOPE_CLOSE_TIMEOUT == 9);
	return pick(n, close);
}

} // namespace tcpscope
