// SPDX-License-Identifier: GPL-2.0
// Socket owners from /proc/PID/fd links ("socket:[INODE]"), as lsof and `ss -p` find them.
#include "kernel/sock_owners.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstring>

#include "util/fd.h"

namespace tcpscope {

namespace {

// A whole decimal number, nothing else.
template <class T> std::optional<T> whole(std::string_view s)
{
	T v{};
	auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
	if (s.empty() || ec != std::errc() || end != s.data() + s.size())
		return std::nullopt;
	return v;
}

// A small file's text ("" when it cannot be read).
std::string read_text(const std::string &path)
{
	UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
	std::string text;
	char buf[4096];
	ssize_t n;

	if (!fd)
		return text;
	while ((n = read(fd.get(), buf, sizeof(buf))) > 0)
		text.append(buf, size_t(n));
	return text;
}

// The names in a directory, "." and ".." left out.
std::vector<std::string> names_in(const std::string &dir)
{
	std::vector<std::string> names;
	DIR *d = opendir(dir.c_str());

	if (!d)
		return names;
	while (const struct dirent *ent = readdir(d))
		if (strcmp(ent->d_name, ".") && strcmp(ent->d_name, ".."))
			names.emplace_back(ent->d_name);
	closedir(d);
	return names;
}

} // namespace

std::optional<uint64_t> socket_inode(std::string_view link)
{
	constexpr std::string_view head = "socket:[";

	if (link.size() < head.size() + 2 || link.substr(0, head.size()) != head ||
	    link.back() != ']')
		return std::nullopt;
	return whole<uint64_t>(link.substr(head.size(), link.size() - head.size() - 1));
}

std::optional<std::string> cgroup_v2_path(std::string_view text)
{
	while (!text.empty()) {
		size_t nl = text.find('\n');
		std::string_view line = text.substr(0, nl);
		if (line.substr(0, 3) == "0::")
			return std::string(line.substr(3));
		text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
	}
	return std::nullopt;
}

std::map<uint64_t, std::vector<uint32_t>> socket_holders(const std::set<uint64_t> &inodes,
							 const std::string &proc_root)
{
	std::map<uint64_t, std::vector<uint32_t>> holders;

	if (inodes.empty())
		return holders;
	std::vector<uint32_t> pids;
	for (const auto &name : names_in(proc_root))
		if (auto pid = whole<uint32_t>(name))
			pids.push_back(*pid);
	std::sort(pids.begin(), pids.end());
	for (uint32_t pid : pids) {
		const std::string fd_dir = proc_root + "/" + std::to_string(pid) + "/fd";
		for (const auto &fd : names_in(fd_dir)) {
			char link[64];
			ssize_t n = readlink((fd_dir + "/" + fd).c_str(), link, sizeof(link));
			if (n <= 0 || size_t(n) == sizeof(link))
				continue;
			auto ino = socket_inode(std::string_view(link, size_t(n)));
			if (!ino || !inodes.count(*ino))
				continue;
			auto &h = holders[*ino];
			if (h.empty() ||
			    h.back() != pid) // a socket held by several fds of one process
				h.push_back(pid);
		}
	}
	return holders;
}

void fill_owners(std::vector<SockEvent> &records, uint32_t prefer, const std::string &proc_root,
		 const std::string &cgroup_root)
{
	std::set<uint64_t> wanted;
	for (const auto &r : records)
		if ((r.ev.flags & TCPSCOPE_EVF_NO_OWNER) && r.ino)
			wanted.insert(r.ino);
	const auto holders = socket_holders(wanted, proc_root);

	for (auto &r : records) {
		if (!(r.ev.flags & TCPSCOPE_EVF_NO_OWNER) || !r.ino)
			continue;
		auto it = holders.find(r.ino);
		if (it == holders.end())
			continue;
		const auto &pids = it->second;
		const uint32_t pid = std::find(pids.begin(), pids.end(), prefer) != pids.end()
					     ? prefer
					     : pids.front();
		const std::string dir = proc_root + "/" + std::to_string(pid);
		std::string comm = read_text(dir + "/comm");
		if (comm.empty())
			continue; // gone since the scan
		if (comm.back() == '\n')
			comm.pop_back();
		uint64_t cgroup = 0;
		auto path = cgroup_v2_path(read_text(dir + "/cgroup"));
		struct stat st;
		if (path && !cgroup_root.empty() && stat((cgroup_root + *path).c_str(), &st) == 0)
			cgroup = st.st_ino; // a cgroup v2 id is its directory's inode (kernfs)
		r.ev.pid = pid;
		r.ev.cgroup = cgroup;
		std::memset(r.ev.comm, 0, sizeof(r.ev.comm));
		std::memcpy(r.ev.comm, comm.data(), std::min(comm.size(), sizeof(r.ev.comm) - 1));
		r.ev.flags &= ~TCPSCOPE_EVF_NO_OWNER;
	}
}

} // namespace tcpscope
