// SPDX-License-Identifier: GPL-2.0
// Owners of sockets found by their inode in /proc/PID/fd: for `watch --snapshot`, the
// sockets the kernel side never saw open (they predate tcpscope).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "event/record.h"

namespace tcpscope {

// "socket:[12345]" (a /proc/PID/fd link) -> 12345; nullopt for anything else.
std::optional<uint64_t> socket_inode(std::string_view link);

// The cgroup v2 path in a /proc/PID/cgroup text (its "0::/a/b" line); nullopt without one.
std::optional<std::string> cgroup_v2_path(std::string_view text);

// For each socket inode of `inodes`, the processes (thread group ids, ascending) whose
// proc_root/PID/fd holds it, from one scan of proc_root. A process that goes away during
// the scan, or whose fds cannot be read, is left out.
std::map<uint64_t, std::vector<uint32_t>> socket_holders(const std::set<uint64_t> &inodes,
							 const std::string &proc_root = "/proc");

// Fills the owner (pid, comm, cgroup) of every record whose owner the kernel side did not
// know (TCPSCOPE_EVF_NO_OWNER) from the process holding its socket now: `prefer` when it is
// one of the holders, else the lowest pid. comm is proc_root/PID/comm; cgroup the inode of
// its cgroup v2 directory under cgroup_root (0 when that is not found). A record whose
// socket no process holds (no inode: not accepted yet, orphaned) keeps its unknown owner.
void fill_owners(std::vector<SockEvent> &records, uint32_t prefer = 0,
		 const std::string &proc_root = "/proc", const std::string &cgroup_root = "");

} // namespace tcpscope
