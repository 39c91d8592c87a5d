// SPDX-License-Identifier: GPL-2.0
// Port list parser for -L/-D: strict, every malformed piece is an error naming it.
#include "cli/port_list.h"

#include <string>

namespace tcpscope {

Result<PortSet> parse_ports(std::string_view spec)
{
	const std::string whole(spec);
	PortSet set;
	auto bad = [&](std::string_view piece, const char *why) {
		return usage_error("parse port list", "'" + whole + "'",
				   "'" + std::string(piece) + "' " + why);
	};

	if (spec.empty())
		return usage_error("parse port list", "''", "empty list");
	while (true) {
		size_t comma = spec.find(',');
		std::string_view piece = spec.substr(0, comma);
		size_t dash = piece.find('-');
		std::optional<uint16_t> lo, hi;

		if (dash == std::string_view::npos) {
			lo = hi = parse_port(piece);
			if (!lo)
				return bad(piece, "is not a port (1-65535)");
		} else {
			lo = parse_port(piece.substr(0, dash));
			hi = parse_port(piece.substr(dash + 1));
			if (!lo || !hi)
				return bad(piece, "is not a port range (LO-HI, 1-65535)");
			if (*lo > *hi)
				return bad(piece, "is an empty range (LO > HI)");
		}
		for (unsigned p = *lo; p <= *hi; p++)
			set.set(p);
		if (comma == std::string_view::npos)
			break;
		spec.remove_prefix(comma + 1);
	}
	return set;
}

} // namespace tcpscope
