// SPDX-License-Identifier: GPL-2.0
// The network namespaces of this host, found by inode, and work done inside one of them (a
// thread of its own enters it, so the agent's other threads stay where they are).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

namespace tcpscope {

// Every network namespace with a process in it or a name under /run/netns: inode -> a path
// that opens it.
std::map<ino_t, std::string> all_netns();

// Runs fn in a thread that has entered the namespace of ns_fd; returns fn's result, or the
// errno of setns(2).
int run_in_netns(int ns_fd, const std::function<int()> &fn);

// A sysctl read as seen from inside each namespace of netns (a number under /proc/sys, e.g.
// "net/ipv4/tcp_max_tw_buckets"), by inode; a namespace that went away or could not be read
// is left out. Paths of namespaces are looked up again only for inodes not seen before.
class NetnsSysctl {
      public:
	explicit NetnsSysctl(std::string name) : name_(std::move(name)) {}
	std::optional<int64_t> read(uint32_t netns);

      private:
	std::string name_;
	std::map<ino_t, std::string> paths_;
};

} // namespace tcpscope
