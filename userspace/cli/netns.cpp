// SPDX-License-Identifier: GPL-2.0
// --netns parsing: every file is opened and asked what namespace it is, so /etc/passwd or a
// pid namespace is an error rather than a filter that matches nothing.
#include "cli/netns.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <charconv>
#include <string>

#include "util/fd.h"

namespace tcpscope {

namespace {

const char *ns_kind(int type)
{
	switch (type) {
	case CLONE_NEWCGROUP:
		return "a cgroup";
	case CLONE_NEWIPC:
		return "an ipc";
	case CLONE_NEWNS:
		return "a mount";
	case CLONE_NEWPID:
		return "a pid";
	case CLONE_NEWUSER:
		return "a user";
	case CLONE_NEWUTS:
		return "a uts";
#ifdef CLONE_NEWTIME
	case CLONE_NEWTIME:
		return "a time";
#endif
	}
	return "another";
}

bool valid_netns_name(std::string_view s)
{
	// what `ip netns add` takes: a file name in /run/netns
	return !s.empty() && s != "." && s != ".." && s.size() <= 255 &&
	       s.find('/') == std::string_view::npos && s.find('\0') == std::string_view::npos;
}

} // namespace

Result<uint32_t> parse_netns(std::string_view arg)
{
	const std::string got = " (got '" + std::string(arg) + "')";
	uint64_t ino = 0;

	if (arg.empty())
		return flag_error("--netns", "expected an inode, a namespace file or an 'ip netns' "
					     "name" + got);
	auto [p, ec] = std::from_chars(arg.data(), arg.data() + arg.size(), ino);
	bool digits = arg.find_first_not_of("0123456789") == std::string_view::npos;
	if (digits) {
		if (ec != std::errc() || p != arg.data() + arg.size() || ino == 0 ||
		    ino > UINT32_MAX)
			return flag_error("--netns", "inode must be 1 to 4294967295" + got);
		return static_cast<uint32_t>(ino);
	}

	std::string path(arg);
	if (arg.find('/') == std::string_view::npos) {
		if (!valid_netns_name(arg))
			return flag_error("--netns", "not an 'ip netns' name" + got);
		path = "/run/netns/" + path;
	}
	if (path.find('\0') != std::string::npos)
		return flag_error("--netns", "not a file name" + got);
	struct stat st;
	if (stat(path.c_str(), &st) < 0) {
		if (path != arg)
			return flag_error("--netns",
					  "no namespace '" + std::string(arg) + "' in /run/netns" +
						  got,
					  errno);
		return flag_error("--netns", "cannot read the namespace file" + got, errno);
	}
	// nsfs files are regular: a device or FIFO is never opened (opening may act)
	if (!S_ISREG(st.st_mode))
		return flag_error("--netns", "not a namespace file" + got);
	UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
	if (fd.get() < 0)
		return flag_error("--netns", "cannot open the namespace file" + got, errno);
	if (fstat(fd.get(), &st) < 0)
		return flag_error("--netns", "cannot read the namespace file" + got, errno);
	int type = ioctl(fd.get(), NS_GET_NSTYPE);
	if (type < 0) {
		struct statfs sfs;
		// NS_GET_NSTYPE is 4.11+: an nsfs file without it is still a namespace, of a
		// kind it cannot tell
		if (fstatfs(fd.get(), &sfs) < 0 || sfs.f_type != NSFS_MAGIC)
			return flag_error("--netns", "not a namespace file" + got);
	} else if (type != CLONE_NEWNET) {
		return flag_error("--netns", std::string("not a network namespace but ") +
						     ns_kind(type) + " namespace" + got);
	}
	return static_cast<uint32_t>(st.st_ino);
}

bool netns_known(uint32_t ino)
{
	auto holds = [ino](const std::string &path) {
		struct stat st;
		return stat(path.c_str(), &st) == 0 && uint32_t(st.st_ino) == ino;
	};
	for (const char *dir : {"/run/netns", "/proc"}) {
		DIR *d = opendir(dir);
		if (!d)
			continue;
		bool proc = dir[1] == 'p';
		bool found = false;
		while (struct dirent *de = readdir(d)) {
			if (de->d_name[0] == '.')
				continue;
			if (proc && (de->d_name[0] < '0' || de->d_name[0] > '9'))
				continue;
			std::string path = std::string(dir) + "/" + de->d_name;
			if (holds(proc ? path + "/ns/net" : path)) {
				found = true;
				break;
			}
		}
		closedir(d);
		if (found)
			return true;
	}
	return false;
}

} // namespace tcpscope
