// SPDX-License-Identifier: GPL-2.0
// The lab's topology: two throwaway network namespaces (client, server) joined by a veth pair
// c0 (10.77.0.1/24) -- s0 (10.77.0.2/24). The namespaces are never named or mounted: only
// this process's file descriptors hold them, so they and the veth pair vanish when it closes
// them, on exit, on Ctrl-C, on an error and even on SIGKILL. Nothing of the host is touched.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "lab/trace.h"
#include "util/error.h"
#include "util/fd.h"

namespace tcpscope::lab {

// Moves the calling thread into a network namespace until it goes (sockets, /proc/sys/net
// and /proc/thread-self/net opened meanwhile belong to that namespace).
class InNetns {
      public:
	[[nodiscard]] static Result<InNetns> enter(int ns_fd);
	InNetns(InNetns &&o) noexcept : saved_(std::move(o.saved_)) {}
	~InNetns();
	InNetns(const InNetns &) = delete;
	InNetns &operator=(const InNetns &) = delete;

      private:
	InNetns() = default;
	UniqueFd saved_;
};

class Topology {
      public:
	static constexpr const char *kClientAddr = "10.77.0.1";
	static constexpr const char *kServerAddr = "10.77.0.2";

	[[nodiscard]] static Result<Topology> create();

	int ns_fd(Side s) const { return s == Side::client ? client_.get() : server_.get(); }
	uint32_t inode(Side s) const { return s == Side::client ? client_ino_ : server_ino_; }
	int client_ifindex() const { return c0_ifindex_; }

	// Writes /proc/sys/<key with dots as slashes> in that side's namespace.
	Status sysctl(Side s, const std::string &key, const std::string &value) const;
	// Reads it (whitespace runs as one space, no newline).
	Result<std::string> read_sysctl(Side s, const std::string &key) const;
	// A TCP socket in that side's namespace (non-blocking, close-on-exec).
	Result<UniqueFd> tcp_socket(Side s) const;
	// TcpExt/IpExt/Tcp/Ip... counters of /proc/net/netstat and /proc/net/snmp in that
	// namespace, nstat's names ("TcpExtDelayedACKs", "TcpActiveOpens").
	Result<Counters> counters(Side s) const;
	// The socket of that side with these local and remote ports, as sock_diag shows it
	// (nullopt: none); ts_ns is left to the caller.
	Result<std::optional<Snapshot>> diag(Side s, uint16_t sport, uint16_t dport) const;

      private:
	UniqueFd client_, server_;
	uint32_t client_ino_ = 0, server_ino_ = 0;
	int c0_ifindex_ = 0;
};

// Only the names whose value moved from `before` to `after`, with the difference.
Counters counter_deltas(const Counters &before, const Counters &after);
// Parses /proc/net/netstat or /proc/net/snmp ("Prefix: names" then "Prefix: values" lines).
Counters parse_proc_counters(const std::string &text);

} // namespace tcpscope::lab
