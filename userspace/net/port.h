// SPDX-License-Identifier: GPL-2.0
// TCP ports: one number, and a set of them (what -L/-D select, what the kernel side filters on).
#pragma once

#include <bitset>
#include <cstdint>
#include <optional>
#include <string_view>

namespace tcpscope {

using PortSet = std::bitset<65536>;

// A port 1..65535 in decimal digits only (no sign, no blanks, at most 5 digits).
std::optional<uint16_t> parse_port(std::string_view s);

} // namespace tcpscope
