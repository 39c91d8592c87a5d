// SPDX-License-Identifier: GPL-2.0
// What the running kernel offers, found at load time from BTF, kallsyms and sysfs, never
// from version numbers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

struct btf;

namespace tcpscope {

class KernelProbe {
      public:
	KernelProbe();
	~KernelProbe();
	KernelProbe(const KernelProbe &) = delete;
	KernelProbe &operator=(const KernelProbe &) = delete;

	bool has_btf() const { return btf_ != nullptr; }
	bool btf_tracepoint(const std::string &name) const; // tp_btf target
	bool tracepoint(const std::string &category, const std::string &name) const;

	// Kernel text symbol [start, end) from /proc/kallsyms; nullopt when absent or when
	// addresses are hidden (kptr_restrict).
	std::optional<std::pair<uint64_t, uint64_t>> ksym(const std::string &name);

	// CONFIG_HZ of the running kernel from its config (/boot/config-*, /proc/config.gz).
	static std::optional<unsigned> config_hz();

	// Mount point of the cgroup v2 hierarchy, empty if none is mounted.
	static std::string cgroup2_root();

      private:
	void load_kallsyms();

	struct btf *btf_ = nullptr;
	bool syms_loaded_ = false;
	std::unordered_map<std::string, uint64_t> syms_;
	std::vector<uint64_t> addrs_; // sorted, for a symbol's end
};

} // namespace tcpscope
