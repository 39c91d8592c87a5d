// SPDX-License-Identifier: GPL-2.0
// TCP state names. Numbers come from <netinet/tcp.h>, never typed in by hand.
#include "event/states.h"

#include <netinet/tcp.h>

#include <array>
#include <cctype>
#include <string>

namespace tcpscope {

namespace {
struct Name {
	unsigned state;
	std::string_view name;
};

constexpr std::array<Name, 11> names{{
	{TCP_ESTABLISHED, "ESTABLISHED"},
	{TCP_SYN_SENT, "SYN_SENT"},
	{TCP_SYN_RECV, "SYN_RECV"},
	{TCP_FIN_WAIT1, "FIN_WAIT1"},
	{TCP_FIN_WAIT2, "FIN_WAIT2"},
	{TCP_TIME_WAIT, "TIME_WAIT"},
	{TCP_CLOSE, "CLOSE"},
	{TCP_CLOSE_WAIT, "CLOSE_WAIT"},
	{TCP_LAST_ACK, "LAST_ACK"},
	{TCP_LISTEN, "LISTEN"},
	{TCP_CLOSING, "CLOSING"},
}};
} // namespace

std::string_view state_name(unsigned state)
{
	for (const auto &n : names)
		if (n.state == state)
			return n.name;
	// TCP_NEW_SYN_RECV and later additions never reach the tracepoint as TCP states
	return "UNKNOWN";
}

std::optional<unsigned> parse_state(std::string_view name)
{
	std::string up;
	for (char ch : name)
		up += static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
	std::string_view s(up);
	if (s.substr(0, 4) == "TCP_")
		s.remove_prefix(4);
	for (const auto &n : names)
		if (n.name == s)
			return n.state;
	return std::nullopt;
}

} // namespace tcpscope
