// SPDX-License-Identifier: GPL-2.0
// Namespace discovery by /proc/<pid>/ns/net and /run/netns, and setns(2) in a thread.
#include "kernel/netns.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>

#include <cerrno>
#include <charconv>
#include <filesystem>
#include <thread>

#include "util/fd.h"

namespace tcpscope {

std::map<ino_t, std::string> all_netns()
{
	std::map<ino_t, std::string> found;
	struct stat st;

	auto add = [&](const std::string &path) {
		if (stat(path.c_str(), &st) == 0)
			found.emplace(st.st_ino, path);
	};
	std::error_code ec;
	for (const auto &d : std::filesystem::directory_iterator("/proc", ec)) {
		const auto name = d.path().filename().string();
		if (!name.empty() && name.find_first_not_of("0123456789") == std::string::npos)
			add(d.path().string() + "/ns/net");
	}
	for (const auto &d : std::filesystem::directory_iterator("/run/netns", ec))
		add(d.path().string());
	return found;
}

int run_in_netns(int ns_fd, const std::function<int()> &fn)
{
	int ret = 0;
	std::thread t([&] { ret = setns(ns_fd, CLONE_NEWNET) ? errno : fn(); });
	t.join();
	return ret;
}

std::map<uint32_t, int64_t> NetnsSysctl::read(const std::vector<uint32_t> &netns)
{
	bool scan = netns.empty();
	for (uint32_t ino : netns)
		scan = scan || (!paths_.count(ino) && !gone_.count(ino));
	if (scan) {
		paths_ = all_netns();
		gone_.clear();
	}
	std::vector<uint32_t> want = netns;
	if (netns.empty())
		for (const auto &[ino, path] : paths_)
			want.push_back(ino);

	std::map<uint32_t, int64_t> out;
	for (uint32_t ino : want) {
		auto it = paths_.find(ino);
		if (it == paths_.end()) {
			gone_.insert(ino);
			continue;
		}
		if (auto v = read_one(ino, it->second))
			out[ino] = *v;
		else
			paths_.erase(it); // that process is gone, or now in another namespace
	}
	return out;
}

std::optional<int64_t> NetnsSysctl::read_one(uint32_t netns, const std::string &ns_path) const
{
	UniqueFd ns(::open(ns_path.c_str(), O_RDONLY | O_CLOEXEC));
	struct stat st;
	if (!ns || fstat(ns.get(), &st) || st.st_ino != netns)
		return std::nullopt;
	int64_t value = 0;
	const std::string path = "/proc/sys/" + name_;
	int err = run_in_netns(ns.get(), [&] {
		UniqueFd f(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
		if (!f)
			return errno;
		char buf[32];
		ssize_t n = ::read(f.get(), buf, sizeof(buf) - 1);
		if (n <= 0)
			return n < 0 ? errno : EINVAL;
		auto [end, ec] = std::from_chars(buf, buf + n, value);
		return ec == std::errc() && (end == buf + n || *end == '\n') ? 0 : EINVAL;
	});
	if (err)
		return std::nullopt;
	return value;
}

} // namespace tcpscope
