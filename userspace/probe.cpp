// SPDX-License-Identifier: GPL-2.0
// Kernel feature probing for hook selection.
#include "probe.h"

#include <bpf/btf.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <fstream>
#include <sstream>

namespace tcpscope {

KernelProbe::KernelProbe()
{
	// libbpf 1.x returns NULL with errno set on failure
	btf_ = btf__load_vmlinux_btf();
}

KernelProbe::~KernelProbe()
{
	btf__free(btf_);
}

bool KernelProbe::btf_tracepoint(const std::string &name) const
{
	return btf_ && btf__find_by_name_kind(btf_, ("btf_trace_" + name).c_str(), BTF_KIND_TYPEDEF) > 0;
}

void KernelProbe::load_kallsyms()
{
	std::ifstream in("/proc/kallsyms");
	std::string line, name;
	char type;
	uint64_t addr;

	syms_loaded_ = true;
	while (std::getline(in, line)) {
		std::istringstream ls(line);
		if (!(ls >> std::hex >> addr >> type >> name) || !addr)
			continue;
		addrs_.push_back(addr);
		if (type == 't' || type == 'T')
			syms_.emplace(name, addr); // first wins: module duplicates come later
	}
	std::sort(addrs_.begin(), addrs_.end());
}

std::optional<std::pair<uint64_t, uint64_t>> KernelProbe::ksym(const std::string &name)
{
	if (!syms_loaded_)
		load_kallsyms();
	auto it = syms_.find(name);
	if (it == syms_.end())
		return std::nullopt;
	auto next = std::upper_bound(addrs_.begin(), addrs_.end(), it->second);
	return std::make_pair(it->second, next == addrs_.end() ? it->second + 1 : *next);
}

static std::optional<unsigned> hz_from(const std::string &line)
{
	static const std::string key = "CONFIG_HZ=";
	if (line.compare(0, key.size(), key) != 0)
		return std::nullopt;
	return static_cast<unsigned>(std::stoul(line.substr(key.size())));
}

std::optional<unsigned> KernelProbe::config_hz()
{
	struct utsname u;
	std::string line;

	if (uname(&u) == 0) {
		std::ifstream in(std::string("/boot/config-") + u.release);
		while (std::getline(in, line))
			if (auto hz = hz_from(line))
				return hz;
	}
	gzFile gz = gzopen("/proc/config.gz", "rb");
	if (!gz)
		return std::nullopt;
	char buf[512];
	std::optional<unsigned> hz;
	while (!hz && gzgets(gz, buf, sizeof(buf)))
		hz = hz_from(buf);
	gzclose(gz);
	return hz;
}

std::string KernelProbe::cgroup2_root()
{
	std::ifstream in("/proc/self/mounts");
	std::string dev, dir, type, rest;

	while (in >> dev >> dir >> type && std::getline(in, rest))
		if (type == "cgroup2")
			return dir;
	return {};
}

bool KernelProbe::tracepoint(const std::string &category, const std::string &name) const
{
	for (const char *root : {"/sys/kernel/tracing/events/", "/sys/kernel/debug/tracing/events/"})
		if (access((root + category + "/" + name + "/id").c_str(), R_OK) == 0)
			return true;
	return false;
}

} // namespace tcpscope
