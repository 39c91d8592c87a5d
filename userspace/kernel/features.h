// SPDX-License-Identifier: GPL-2.0
// What the running kernel offers, found at load time from BTF, kallsyms and sysfs, never
// from version numbers.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

struct btf;

namespace tcpscope {

class KernelFeatures {
      public:
	KernelFeatures();
	~KernelFeatures();
	KernelFeatures(const KernelFeatures &) = delete;
	KernelFeatures &operator=(const KernelFeatures &) = delete;

	bool has_btf() const { return btf_ != nullptr; }
	bool btf_tracepoint(const std::string &name) const; // tp_btf target
	// Whether the kernel loads a BPF iterator program of this target ("tcp"): tried with a
	// two-instruction program, as a kernel may refuse a type it has (EPERM under lockdown).
	bool iter_loads(const std::string &target) const;

	// Addresses of kernel text symbols from /proc/kallsyms, by name; absent ones, and all
	// when addresses are hidden (kptr_restrict), are missing from the result.
	static std::map<std::string, uint64_t> ksyms(const std::vector<std::string> &names);

	// Frees the BTF copy before libbpf loads its own for CO-RE: only one is in memory at
	// a time (each is several MiB).
	void release_btf();

	// CONFIG_HZ of the running kernel from its config (/boot/config-*, /proc/config.gz).
	static std::optional<unsigned> config_hz();

	// Mount point of the cgroup v2 hierarchy, empty if none is mounted.
	static std::string cgroup2_root();

      private:
	struct btf *btf_ = nullptr;
};

} // namespace tcpscope
