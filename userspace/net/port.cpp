// SPDX-License-Identifier: GPL-2.0
// parse_port(): the one reading of a port number, for -L/-D and --listen.
#include "net/port.h"

#include <charconv>

namespace tcpscope {

std::optional<uint16_t> parse_port(std::string_view s)
{
	unsigned v = 0;

	if (s.empty() || s.size() > 5)
		return std::nullopt;
	// from_chars() takes no sign and no blanks: digits only
	auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
	if (ec != std::errc() || p != s.data() + s.size() || v < 1 || v > 65535)
		return std::nullopt;
	return static_cast<uint16_t>(v);
}

} // namespace tcpscope
