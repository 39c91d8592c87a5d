// SPDX-License-Identifier: GPL-2.0
// --listen: numeric addresses only, every malformed piece an error naming it.
#include "net/listen_addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <fmt/format.h>

#include "net/port.h"

namespace tcpscope {

std::string ListenAddr::str() const
{
	char buf[INET6_ADDRSTRLEN];

	if (!inet_ntop(family == AF_INET6 ? AF_INET6 : AF_INET, addr.data(), buf, sizeof(buf)))
		buf[0] = '\0';
	if (family == AF_INET6)
		return fmt::format("[{}]:{}", buf, port);
	return fmt::format("{}:{}", buf, port);
}

Result<ListenAddr> parse_listen(std::string_view arg)
{
	const std::string whole(arg);
	auto bad = [&](std::string detail) {
		return flag_error("--listen", std::move(detail) + " (got '" + whole + "')");
	};
	ListenAddr a;
	std::string host;
	std::string_view port;

	if (arg.empty())
		return bad("empty (expected IPV4:PORT or [IPV6]:PORT)");
	if (arg[0] == '[') {
		size_t close = arg.find(']');
		if (close == std::string_view::npos)
			return bad("missing ']' after the IPv6 address");
		host = arg.substr(1, close - 1);
		std::string_view rest = arg.substr(close + 1);
		if (rest.empty() || rest[0] != ':')
			return bad("expected ':PORT' after ']'");
		port = rest.substr(1);
		a.family = AF_INET6;
		if (inet_pton(AF_INET6, host.c_str(), a.addr.data()) != 1)
			return bad("'" + host + "' is not a numeric IPv6 address");
	} else {
		size_t colon = arg.rfind(':');
		if (colon == std::string_view::npos)
			return bad("missing ':PORT' (expected IPV4:PORT or [IPV6]:PORT)");
		host = arg.substr(0, colon);
		port = arg.substr(colon + 1);
		if (host.empty())
			return bad("missing address before ':PORT' (0.0.0.0 or [::] for all)");
		struct in6_addr a6;
		if (inet_pton(AF_INET6, host.c_str(), &a6) == 1 ||
		    inet_pton(AF_INET6, whole.c_str(), &a6) == 1)
			return bad("an IPv6 address needs brackets: [ADDR]:PORT");
		a.family = AF_INET;
		if (inet_pton(AF_INET, host.c_str(), a.addr.data()) != 1)
			return bad("'" + host +
				   "' is not a numeric IPv4 address (host names are not resolved)");
	}
	if (port.empty())
		return bad("missing port after ':'");
	auto p = parse_port(port);
	if (!p)
		return bad("'" + std::string(port) + "' is not a port (1-65535)");
	a.port = *p;
	return a;
}

} // namespace tcpscope
