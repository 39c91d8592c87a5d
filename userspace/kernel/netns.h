// SPDX-License-Identifier: GPL-2.0
// The network namespaces of this host, found by inode, and work done inside one of them (a
// thread of its own enters it, so the agent's other threads stay where they are).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace tcpscope {

// Every network namespace with a process in it or a name under /run/netns: inode -> a path
// that opens it.
std::map<ino_t, std::string> all_netns();

// Runs fn in a thread that has entered the namespace of ns_fd; returns fn's result, or the
// errno of setns(2).
int run_in_netns(int ns_fd, const std::function<int()> &fn);

// A sysctl read as seen from inside namespaces (a number under /proc/sys, e.g.
// "net/ipv4/tcp_max_tw_buckets"), by inode; a namespace that went away or could not be read
// is left out. The namespaces' paths are kept: /proc is scanned again at most once a read,
// and only when an inode asked for is not among them (a deleted namespace, whose inode
// stays in the aggregates, costs no scan after the first).
class NetnsSysctl {
      public:
	explicit NetnsSysctl(std::string name) : name_(std::move(name)) {}
	// The value in each namespace of netns (empty: every namespace found now).
	std::map<uint32_t, int64_t> read(const std::vector<uint32_t> &netns);

      private:
	std::optional<int64_t> read_one(uint32_t netns, const std::string &path) const;
	std::string name_;
	std::map<ino_t, std::string> paths_;
	std::set<uint32_t> gone_; // asked for, not found by the last scan
};

} // namespace tcpscope
