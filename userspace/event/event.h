// SPDX-License-Identifier: GPL-2.0
// The kernel's event record as the agent sees it, and the fold from raw kernel events to
// the connection lifecycle `watch` shows by default.
#pragma once

#include <linux/types.h>

#include <cstddef>
#include <optional>
#include <string_view>

#include "tcpscope.h"

namespace tcpscope {

using RawEvent = struct tcpscope_event;
static_assert(sizeof(RawEvent) == 128, "struct tcpscope_event layout changed: update the agent");
static_assert(offsetof(RawEvent, comm) == 110);

enum class View { lifecycle, raw };

// One line of output: the record plus how it is presented.
struct Shown {
	const RawEvent *ev;
	std::string_view event; // JSON "event": state, keepalive, conn, tw_enter, ...
	unsigned old_state;
	unsigned new_state;
};

// nullopt: the record is folded away in this view (e.g. the full socket's internal CLOSE
// at the TIME_WAIT handoff in the lifecycle view).
std::optional<Shown> present(const RawEvent &e, View view);

// Decodes a ring buffer sample; nullopt when the size is not a RawEvent.
const RawEvent *decode(const void *data, size_t size);

std::string_view cause_name(unsigned cause);
std::string_view open_name(unsigned open);
std::string_view handshake_name(unsigned hs);
std::string_view close_name(unsigned close);

// The state path of an EV_CONN record, state i of n.
inline unsigned path_state(const RawEvent &e, unsigned i)
{
	return (e.path >> (4 * i)) & 0xf;
}

} // namespace tcpscope
