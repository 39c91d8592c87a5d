// SPDX-License-Identifier: GPL-2.0
// What the running kernel offers, for hook selection: BTF tracepoints, kallsyms, CONFIG_HZ,
// the cgroup v2 mount.
#include "kernel/features.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string_view>

namespace tcpscope {

KernelFeatures::KernelFeatures()
{
	// libbpf 1.x returns NULL with errno set on failure
	btf_ = btf__load_vmlinux_btf();
}

KernelFeatures::~KernelFeatures()
{
	btf__free(btf_);
}

bool KernelFeatures::btf_tracepoint(const std::string &name) const
{
	return btf_ &&
	       btf__find_by_name_kind(btf_, ("btf_trace_" + name).c_str(), BTF_KIND_TYPEDEF) > 0;
}

bool KernelFeatures::iter_loads(const std::string &target) const
{
	if (!btf_)
		return false;
	int id = btf__find_by_name_kind(btf_, ("bpf_iter_" + target).c_str(), BTF_KIND_FUNC);
	if (id <= 0)
		return false;
	const struct bpf_insn ret0[] = {
		{BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0}, // r0 = 0
		{BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_TRACE_ITER,
		    .attach_btf_id = static_cast<__u32>(id));
	int fd = bpf_prog_load(BPF_PROG_TYPE_TRACING, "probe_iter", "GPL", ret0, 2, &opts);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

void KernelFeatures::release_btf()
{
	btf__free(btf_);
	btf_ = nullptr;
}

namespace {

// Calls fn(addr, type, name) for each line of /proc/kallsyms with a non-zero address.
template <typename Fn> void each_kallsym(Fn fn)
{
	FILE *f = fopen("/proc/kallsyms", "re");
	char line[512];

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *end;
		uint64_t addr = strtoull(line, &end, 16);
		if (!addr || end[0] != ' ' || !end[1] || end[2] != ' ')
			continue;
		char *name = end + 3;
		name[strcspn(name, " \t\n")] = '\0';
		fn(addr, end[1], std::string_view(name));
	}
	fclose(f);
}

} // namespace

std::map<std::string, uint64_t> KernelFeatures::ksyms(const std::vector<std::string> &names)
{
	std::map<std::string, uint64_t, std::less<>> found;

	// one streaming pass: the table (some 200k symbols) is never held in memory
	each_kallsym([&](uint64_t addr, char type, std::string_view name) {
		if ((type == 't' || type == 'T') && !found.count(name) &&
		    std::find(names.begin(), names.end(), name) != names.end())
			found.emplace(name, addr); // first wins: modules come later
	});
	return {found.begin(), found.end()};
}

static std::optional<unsigned> hz_from(const std::string &line)
{
	static const std::string key = "CONFIG_HZ=";
	if (line.compare(0, key.size(), key) != 0)
		return std::nullopt;
	return static_cast<unsigned>(std::stoul(line.substr(key.size())));
}

std::optional<unsigned> KernelFeatures::config_hz()
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

std::string KernelFeatures::cgroup2_root()
{
	std::ifstream in("/proc/self/mounts");
	std::string dev, dir, type, rest;

	while (in >> dev >> dir >> type && std::getline(in, rest))
		if (type == "cgroup2")
			return dir;
	return {};
}

} // namespace tcpscope
