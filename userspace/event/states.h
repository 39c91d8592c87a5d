// SPDX-License-Identifier: GPL-2.0
// Kernel TCP state numbers (glibc's <netinet/tcp.h> mirrors include/net/tcp_states.h) and
// their names as the kernel spells them in /proc and tracepoints.
#pragma once

#include <optional>
#include <string_view>

namespace tcpscope {

// "ESTABLISHED", "FIN_WAIT2", ...; "UNKNOWN_<n>" style fallback is left to callers.
std::string_view state_name(unsigned state);

// Accepts the kernel names, case-insensitive, with or without a "TCP_" prefix.
std::optional<unsigned> parse_state(std::string_view name);

} // namespace tcpscope
