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
static_assert(sizeof(RawEvent) == 128, "struct tcpscope_event layout changed: update the agent");
static_assert(offsetof(RawEvent, comm) == 110);

// Decodes a ring buffer sample; nullptr when the size is not a RawEvent.
const RawEvent *decode(const void *data, size_t size);

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
