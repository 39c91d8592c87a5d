// SPDX-License-Identifier: GPL-2.0
// The kernel's event record as the agent sees it: decoded from a ring buffer sample, with the
// names of its enums.
#pragma once

#include <linux/types.h>

#include <cstddef>
#include <string_view>

#include "tcpscope.h"

namespace tcpscope {

using RawEvent = struct tcpscope_event;
using SockEvent = struct tcpscope_sock_event;
using SockStats = struct tcpscope_sock_stats;
static_assert(sizeof(RawEvent) == 128, "struct tcpscope_event layout changed: update the agent");
static_assert(offsetof(RawEvent, comm) == 110);
static_assert(sizeof(SockStats) == 32 && offsetof(SockEvent, stats) == 128 &&
		      offsetof(SockEvent, ino) == 160 && sizeof(SockEvent) == 168,
	      "struct tcpscope_sock_event layout changed: update the agent");

// Whether records of this type are a SockEvent (the event, then the socket's counters).
inline bool has_sock_stats(unsigned type)
{
	return type == TCPSCOPE_EV_CONN || type == TCPSCOPE_EV_SNAPSHOT;
}

// Decodes a ring buffer sample or a record of the start-up walk; nullptr when it is too short
// for its type: a RawEvent, or a SockEvent for the types has_sock_stats() names.
const RawEvent *decode(const void *data, size_t size);

// The SockEvent a record of a has_sock_stats() type starts (decode() checked its size; a
// record built by hand must be one); nullptr for any other type.
inline const SockEvent *sock_event(const RawEvent &e)
{
	if (!has_sock_stats(e.type))
		return nullptr;
	// ev is the first member of a standard-layout struct: the two addresses are one
	return reinterpret_cast<const SockEvent *>(&e);
}

std::string_view cause_name(unsigned cause);
std::string_view open_name(unsigned open);
std::string_view handshake_name(unsigned hs);
std::string_view close_name(unsigned close);

// The state path of an TCPSCOPE_EV_CONN record, state i of n.
inline unsigned path_state(const RawEvent &e, unsigned i)
{
	return (e.path >> (4 * i)) & 0xf;
}

} // namespace tcpscope
