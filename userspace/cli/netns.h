// SPDX-License-Identifier: GPL-2.0
// --netns: a network namespace named by inode, by namespace file or by `ip netns` name.
#pragma once

#include <cstdint>
#include <string_view>

#include "util/error.h"

namespace tcpscope {

// An inode number (1..4294967295), a path with a '/' to a namespace file (/proc/PID/ns/net,
// /run/netns/NAME), or an `ip netns` name (no '/': /run/netns/NAME). A file must be a
// network namespace: NS_GET_NSTYPE says CLONE_NEWNET (nsfs without that ioctl: the nsfs
// magic). Errors read "--netns: ...".
Result<uint32_t> parse_netns(std::string_view arg);

// True when a process (/proc/*/ns/net) or a file in /run/netns holds the network namespace
// of this inode: an inode nothing holds matches no socket until one appears.
bool netns_known(uint32_t ino);

} // namespace tcpscope
