// SPDX-License-Identifier: GPL-2.0
// Port lists as given to -L/-D: "80", "80,443", "8000-8100,9090".
#pragma once

#include <string_view>

#include "net/port.h"
#include "util/error.h"

namespace tcpscope {

// Ports 1..65535, comma-separated, with inclusive ranges "lo-hi". Whitespace is not allowed.
Result<PortSet> parse_ports(std::string_view spec);

} // namespace tcpscope
