// SPDX-License-Identifier: GPL-2.0
// Tests the /proc/PID/fd owner lookup of watch --snapshot on a /proc tree built in a
// temporary directory: fd links to "socket:[INODE]" (dangling, as in /proc), comm and cgroup.
#include <gtest/gtest.h>

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "event/test_events.h"
#include "kernel/sock_owners.h"

namespace tcpscope {
namespace {

namespace fs = std::filesystem;

TEST(SocketInode, Parses)
{
	EXPECT_EQ(socket_inode("socket:[12345]"), 12345u);
	EXPECT_EQ(socket_inode("socket:[0]"), 0u);
	EXPECT_EQ(socket_inode("socket:[18446744073709551615]"), UINT64_MAX);
	for (const char *bad : {"socket:[]", "socket:[12a]", "socket:[-1]", "socket:[ 1]",
				"socket:[1", "socket:1]", "pipe:[5]", "anon_inode:[eventfd]",
				"/dev/null", "", "socket:[18446744073709551616]", "socket:[1]x"})
		EXPECT_FALSE(socket_inode(bad).has_value()) << bad;
}

TEST(CgroupV2Path, FindsTheUnifiedLine)
{
	EXPECT_EQ(cgroup_v2_path("0::/system.slice/x.service\n"), "/system.slice/x.service");
	EXPECT_EQ(cgroup_v2_path("12:pids:/a\n1:name=systemd:/b\n0::/c\n"), "/c");
	EXPECT_EQ(cgroup_v2_path("0::/"), "/");
	EXPECT_FALSE(cgroup_v2_path("12:pids:/a\n1:name=systemd:/b\n").has_value());
	EXPECT_FALSE(cgroup_v2_path("").has_value());
}

// A /proc with processes 100 (socket 555 on fds 3 and 4), 200 (sockets 555 and 777, a
// pipe) and 300 (no fd directory), and entries that are not processes.
class FakeProc : public ::testing::Test {
      protected:
	void SetUp() override
	{
		char tmpl[] = "/tmp/tcpscope-proc.XXXXXX";
		ASSERT_NE(mkdtemp(tmpl), nullptr);
		root_ = tmpl;
		proc_ = root_ + "/proc";
		cgroups_ = root_ + "/cgroup";
		fs::create_directories(cgroups_ + "/a/b");
		process(100, "server\n", "0::/a/b\n",
			{{"3", "socket:[555]"}, {"4", "socket:[555]"}});
		process(200, "abcdefghijklmnopq\n", "12:pids:/x\n",
			{{"5", "socket:[777]"}, {"6", "socket:[555]"}, {"7", "pipe:[555]"}});
		fs::create_directories(proc_ + "/300");
		write(proc_ + "/300/comm", "nofds\n");
		fs::create_directories(proc_ + "/self/fd");
		fs::create_symlink("socket:[888]", proc_ + "/self/fd/9");
		write(proc_ + "/meminfo", "");
	}
	void TearDown() override { fs::remove_all(root_); }

	void process(unsigned pid, const std::string &comm, const std::string &cgroup,
		     const std::vector<std::pair<std::string, std::string>> &fds)
	{
		const std::string dir = proc_ + "/" + std::to_string(pid);
		fs::create_directories(dir + "/fd");
		write(dir + "/comm", comm);
		write(dir + "/cgroup", cgroup);
		for (const auto &[fd, target] : fds)
			fs::create_symlink(target, dir + "/fd/" + fd);
	}
	static void write(const std::string &path, const std::string &text)
	{
		std::ofstream(path) << text;
	}
	static SockEvent unowned(uint64_t ino)
	{
		SockEvent r = test::snapshot_event();
		r.ev.flags |= TCPSCOPE_EVF_NO_OWNER;
		r.ev.pid = 0;
		r.ev.cgroup = 0;
		test::set_comm(r.ev, "");
		r.ino = ino;
		return r;
	}

	std::string root_, proc_, cgroups_;
};

TEST_F(FakeProc, HoldersOfEachInode)
{
	auto h = socket_holders({555, 777, 888, 999}, proc_);

	ASSERT_EQ(h.size(), 2u); // 888 is only under "self", not a process
	EXPECT_EQ(h[555], (std::vector<uint32_t>{100, 200}));
	EXPECT_EQ(h[777], (std::vector<uint32_t>{200}));
	EXPECT_TRUE(socket_holders({}, proc_).empty());
	EXPECT_TRUE(socket_holders({555}, root_ + "/nonexistent").empty());
}

TEST_F(FakeProc, FillsUnknownOwnersOnly)
{
	std::vector<SockEvent> recs = {unowned(555), unowned(777), unowned(999), unowned(0),
				       test::snapshot_event()};
	recs[4].ino = 555; // its owner is known in the kernel: left alone

	fill_owners(recs, 0, proc_, cgroups_);
	// the lowest pid of its holders, its comm and the inode of its cgroup v2 directory
	EXPECT_FALSE(recs[0].ev.flags & TCPSCOPE_EVF_NO_OWNER);
	EXPECT_EQ(recs[0].ev.pid, 100u);
	EXPECT_STREQ(recs[0].ev.comm, "server");
	struct stat st;
	ASSERT_EQ(stat((cgroups_ + "/a/b").c_str(), &st), 0);
	EXPECT_EQ(recs[0].ev.cgroup, st.st_ino);
	// no cgroup v2 line: cgroup 0; a comm longer than the kernel's 15 bytes is cut
	EXPECT_EQ(recs[1].ev.pid, 200u);
	EXPECT_STREQ(recs[1].ev.comm, "abcdefghijklmno");
	EXPECT_EQ(recs[1].ev.cgroup, 0u);
	// held by nobody, or no inode at all: still unknown
	for (size_t i : {2, 3}) {
		EXPECT_TRUE(recs[i].ev.flags & TCPSCOPE_EVF_NO_OWNER) << i;
		EXPECT_EQ(recs[i].ev.pid, 0u) << i;
	}
	EXPECT_EQ(recs[4].ev.pid, 1234u);
	EXPECT_STREQ(recs[4].ev.comm, "curl");
	// everything else of a record is as it was
	EXPECT_EQ(recs[0].ino, 555u);
	EXPECT_EQ(recs[0].stats.bytes_acked, 1001u);
	EXPECT_EQ(recs[0].ev.flags, TCPSCOPE_EVF_NO_DUR);
}

TEST_F(FakeProc, PrefersTheFilteredPid)
{
	std::vector<SockEvent> recs = {unowned(555), unowned(777)};

	fill_owners(recs, 200, proc_, cgroups_);
	EXPECT_EQ(recs[0].ev.pid, 200u);
	EXPECT_EQ(recs[1].ev.pid, 200u);
	recs = {unowned(555)};
	fill_owners(recs, 4242, proc_, ""); // not a holder: the lowest; no cgroup root
	EXPECT_EQ(recs[0].ev.pid, 100u);
	EXPECT_EQ(recs[0].ev.cgroup, 0u);
}

} // namespace
} // namespace tcpscope
