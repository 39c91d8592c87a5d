// SPDX-License-Identifier: GPL-2.0
/*
 * tcpscope.ko's knobs in /proc/sys/net/tcpscope, each test in a private network namespace:
 * a read shows the mirrored kernel sysctl, a write changes it, bad input fails with EINVAL
 * and changes nothing, the init netns never sees a child netns' write, and every accepted
 * write lands in /proc/net/tcpscope/journal.
 *
 * The module is loaded before the tests (from modules/<release>/tcpscope.ko beside this
 * program, or $TCPSCOPE_KO) and unloaded after them if this program loaded it. Without
 * module support or a module built for this kernel every test is skipped with the reason.
 */
#include "netns_util.h"	/* first: it defines _GNU_SOURCE */

#include <sys/syscall.h>
#include <sys/utsname.h>

#include "kselftest_harness.h"

#define KNOB_DIR "/proc/sys/net/tcpscope/"

static const char *skip_reason;

/* The 6.1 harness runs a test's body even after SKIP() in its FIXTURE_SETUP: every body
 * starts with this too. */
#define SKIP_WITHOUT_MODULE()                                   \
	do {                                                    \
		if (skip_reason)                                \
			SKIP(return, "%s", skip_reason);        \
	} while (0)
static bool loaded_here;
static pid_t main_pid;	/* the harness forks a child per test; only main unloads */

static int load_module(void)
{
	char path[1024], self[512];
	const char *env = getenv("TCPSCOPE_KO");
	struct utsname u;
	ssize_t n;
	int fd, ret;

	if (access(KNOB_DIR "fin_timeout", F_OK) == 0)
		return 0; /* already loaded */
	if (access("/proc/modules", F_OK)) {
		skip_reason = "kernel without loadable module support";
		return -1;
	}
	uname(&u);
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	self[n > 0 ? n : 0] = '\0';
	if (n > 0)
		*strrchr(self, '/') = '\0';
	snprintf(path, sizeof(path), "%s/modules/%s/tcpscope.ko", self, u.release);
	fd = open(env ? env : path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		skip_reason = "no tcpscope.ko built for this kernel (set TCPSCOPE_KO)";
		return -1;
	}
	ret = syscall(SYS_finit_module, fd, "", 0);
	close(fd);
	if (ret) {
		skip_reason = "finit_module(tcpscope.ko) failed";
		return -1;
	}
	loaded_here = true;
	return 0;
}

static void __attribute__((constructor)) setup_module(void)
{
	main_pid = getpid();
	load_module();
}

static void __attribute__((destructor)) unload_module(void)
{
	if (loaded_here && getpid() == main_pid && syscall(SYS_delete_module, "tcpscope", 0))
		perror("delete_module(tcpscope)");
}


FIXTURE(knob) {
	char knob[128];
	char kernel[128];
	int init_fd;	/* the kernel sysctl of the init netns, opened before unshare */
	long init_val;
};

FIXTURE_VARIANT(knob) {
	const char *name;	/* under /proc/sys/net/tcpscope */
	const char *mirror;	/* the kernel sysctl it mirrors */
	const char *good[4];	/* accepted writes, in order */
	long good_val[4];
	const char *bad[16];	/* rejected writes */
};

FIXTURE_VARIANT_ADD(knob, fin_timeout) {
	.name = "fin_timeout",
	.mirror = "/proc/sys/net/ipv4/tcp_fin_timeout",
	.good = { "30", " 7\n", "120", "0x10" },
	.good_val = { 30, 7, 120, 16 },
	.bad = { "\n", "-1", "0", "121", "-60", "abc", "1x", "99999999999999999999",
		 "2147483648", "1 2", "0x", " ", "3.5", NULL },
};

FIXTURE_VARIANT_ADD(knob, fastopen) {
	.name = "fastopen",
	.mirror = "/proc/sys/net/ipv4/tcp_fastopen",
	.good = { "3", "0x607", "0", "0x401" },
	.good_val = { 3, 0x607, 0, 0x401 },
	.bad = { "\n", "-1", "8", "0x800", "0x1000", "0x80000000", "16", "abc", "1x",
		 "99999999999999999999", "1 2", "0x", " ", NULL },
};

FIXTURE_SETUP(knob)
{
	self->init_fd = -1;
	SKIP_WITHOUT_MODULE();
	snprintf(self->knob, sizeof(self->knob), KNOB_DIR "%s", variant->name);
	snprintf(self->kernel, sizeof(self->kernel), "%s", variant->mirror);
	self->init_fd = open(variant->mirror, O_RDONLY);
	ASSERT_LE(0, self->init_fd);
	self->init_val = sysctl_read_long(variant->mirror);
	ASSERT_EQ(0, netns_enter_new());
}

FIXTURE_TEARDOWN(knob)
{
	if (self->init_fd >= 0)
		close(self->init_fd);
}

static long init_netns_value(int fd)
{
	char buf[64] = "";

	return pread(fd, buf, sizeof(buf) - 1, 0) > 0 ? strtol(buf, NULL, 0) : -1;
}

TEST_F(knob, read_shows_kernel_value)
{
	SKIP_WITHOUT_MODULE();
	ASSERT_EQ(sysctl_read_long(self->kernel), sysctl_read_long(self->knob));
	/* the kernel's own sysctl changed: the knob follows */
	ASSERT_EQ(0, sysctl_write(self->kernel, variant->good[0]));
	ASSERT_EQ(variant->good_val[0], sysctl_read_long(self->knob));
}

TEST_F(knob, write_changes_kernel_value)
{
	int i;

	SKIP_WITHOUT_MODULE();
	for (i = 0; i < 4; i++) {
		ASSERT_EQ(0, sysctl_write(self->knob, variant->good[i]));
		EXPECT_EQ(variant->good_val[i], sysctl_read_long(self->knob));
		EXPECT_EQ(variant->good_val[i], sysctl_read_long(self->kernel));
	}
	/* a child netns' writes never reach the init netns */
	EXPECT_EQ(self->init_val, init_netns_value(self->init_fd));
}

TEST_F(knob, bad_input_is_einval_and_changes_nothing)
{
	long knob, kernel;
	int i, n = 0, fd;

	SKIP_WITHOUT_MODULE();
	ASSERT_EQ(0, sysctl_write(self->knob, variant->good[0]));
	knob = sysctl_read_long(self->knob);
	kernel = sysctl_read_long(self->kernel);
	for (i = 0; variant->bad[i]; i++, n++) {
		EXPECT_EQ(-EINVAL, sysctl_write(self->knob, variant->bad[i]))
			TH_LOG("writing \"%s\"", variant->bad[i]);
		EXPECT_EQ(knob, sysctl_read_long(self->knob));
		EXPECT_EQ(kernel, sysctl_read_long(self->kernel));
	}
	ASSERT_LE(10, n);
	/* an empty write */
	fd = open(self->knob, O_WRONLY);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, write(fd, "", 0));
	EXPECT_EQ(EINVAL, errno);
	close(fd);
	EXPECT_EQ(knob, sysctl_read_long(self->knob));
	EXPECT_EQ(self->init_val, init_netns_value(self->init_fd));
}

TEST_F(knob, writes_are_journaled)
{
	long old = sysctl_read_long(self->kernel);
	char want[128], line[256], last[256] = "";
	FILE *f;

	SKIP_WITHOUT_MODULE();
	ASSERT_EQ(0, sysctl_write(self->knob, variant->good[1]));
	/* "TIME KNOB OLD NEW PID COMM": the last entry is this write (this netns is ours) */
	snprintf(want, sizeof(want), " %s %ld %ld %d kmod_knobs\n", variant->name, old,
		 variant->good_val[1], getpid());
	f = fopen("/proc/net/tcpscope/journal", "r");
	ASSERT_NE(NULL, f);
	while (fgets(line, sizeof(line), f))
		strcpy(last, line);
	fclose(f);
	ASSERT_LT(strlen(want), strlen(last));
	EXPECT_STREQ(want, last + strlen(last) - strlen(want));
}

/* CONFIG_HZ of the running kernel from /boot/config-<release>, or 0 */
static int kernel_hz(void)
{
	char path[300], line[128];
	struct utsname u;
	int hz = 0;
	FILE *f;

	uname(&u);
	snprintf(path, sizeof(path), "/boot/config-%s", u.release);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CONFIG_HZ=%d", &hz) == 1)
			break;
	fclose(f);
	return hz;
}

/* delack_max_ms mirrors nothing: the module applies it to new connections (kmod.sh
 * measures the effect); here its value handling. */
FIXTURE(delack) {
	int hz;
};

FIXTURE_SETUP(delack)
{
	SKIP_WITHOUT_MODULE();
	self->hz = kernel_hz();
	ASSERT_EQ(0, netns_enter_new());
}

FIXTURE_TEARDOWN(delack)
{
}

#define DELACK KNOB_DIR "delack_max_ms"

TEST_F(delack, off_by_default_and_rounded_to_jiffies)
{
	long jiffy_ms;

	SKIP_WITHOUT_MODULE();
	ASSERT_EQ(0, sysctl_read_long(DELACK));
	ASSERT_EQ(0, sysctl_write(DELACK, "200"));
	ASSERT_EQ(200, sysctl_read_long(DELACK));
	ASSERT_EQ(0, sysctl_write(DELACK, "10"));
	if (!self->hz)
		SKIP(return, "CONFIG_HZ unknown: rounding not checked");
	/* msecs_to_jiffies() rounds up; the knob reports whole jiffies in ms */
	jiffy_ms = 1000 / self->hz;
	EXPECT_EQ((10 + jiffy_ms - 1) / jiffy_ms * jiffy_ms, sysctl_read_long(DELACK));
	ASSERT_EQ(0, sysctl_write(DELACK, "0"));
	EXPECT_EQ(0, sysctl_read_long(DELACK));
}

TEST_F(delack, bad_input_is_einval_and_changes_nothing)
{
	/* below 2 jiffies or above 200 ms (TCP_BPF_DELACK_MAX's bounds), or not a number */
	static const char *const bad[] = { "\n", "-1", "1", "201", "1001", "abc", "5x",
		"99999999999999999999", "2147483648", "1 2", "0x", " ", "-200", NULL };
	int i;

	SKIP_WITHOUT_MODULE();
	ASSERT_EQ(0, sysctl_write(DELACK, "100"));
	for (i = 0; bad[i]; i++) {
		EXPECT_EQ(-EINVAL, sysctl_write(DELACK, bad[i])) TH_LOG("writing \"%s\"", bad[i]);
		EXPECT_EQ(100, sysctl_read_long(DELACK));
	}
	ASSERT_LE(10, i);
}

TEST_HARNESS_MAIN
