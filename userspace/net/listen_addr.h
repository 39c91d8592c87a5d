// SPDX-License-Identifier: GPL-2.0
// Where `serve` listens: a numeric IPv4 or IPv6 address and a port.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "util/error.h"

namespace tcpscope {

struct ListenAddr {
	int family = 0;                 // AF_INET or AF_INET6
	std::array<uint8_t, 16> addr{}; // network byte order; AF_INET uses the first 4
	uint16_t port = 0;              // 0: the kernel picks one (tests)

	std::string str() const; // "127.0.0.1:9977", "[::1]:9977"
};

// --listen: numeric IPV4:PORT or [IPV6]:PORT, port 1-65535. Host names are not resolved: a
// metrics port should not depend on DNS at startup, and "localhost" may mean either family.
Result<ListenAddr> parse_listen(std::string_view arg);

} // namespace tcpscope
