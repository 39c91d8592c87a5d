// SPDX-License-Identifier: GPL-2.0
/*
 * tcpscope.ko's knobs in /proc/sys/net/tcpscope, each test in a private network namespace:
 * a read shows the mirrored kernel sysctl, a write changes it, the init netns never sees a
 * child netns' write, and every accepted write lands in /proc/net/tcpscope/journal; every
 * knob's bad input fails with EINVAL and changes nothing (one variant per knob). Then the
 * knobs' effect on real connections: fin_timeout sets how long an orphaned FIN_WAIT2 socket
 * lives, fastopen turns data in the SYN on and off. (kmod.sh measures the delayed-ACK knobs
 * on the wire.)
 */
#include "kmod_util.h"

/* A knob's value as text, without the newline; "" when it cannot be read. */
static const char *read_text(int fd, char *buf, size_t size)
{
	ssize_t n = pread(fd, buf, size - 1, 0);

	buf[n > 0 ? n : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return buf;
}

static const char *knob_text(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);

	buf[0] = '\0';
	if (fd >= 0) {
		read_text(fd, buf, size);
		close(fd);
	}
	return buf;
}

/* The last line of /proc/net/tcpscope/journal ("TIME KNOB OLD NEW PID COMM"), "" when
 * there is none; -errno when the journal cannot be read. */
static int journal_last_line(char *last, size_t size)
{
	char line[256];
	FILE *f = fopen("/proc/net/tcpscope/journal", "r");

	if (!f)
		return -errno;
	last[0] = '\0';
	while (fgets(line, sizeof(line), f))
		snprintf(last, size, "%s", line);
	fclose(f);
	return 0;
}

FIXTURE(knob) {
	char knob[128];
	const char *kernel;	/* the kernel sysctl it mirrors */
	int init_fd;	/* that sysctl of the init netns, opened before unshare */
	char init_value[64];
};

FIXTURE_VARIANT(knob) {
	const char *name;	/* under /proc/sys/net/tcpscope */
	const char *mirror;	/* the kernel sysctl it mirrors */
	const char *good[4];	/* accepted writes, in order */
	long good_val[4];
};

FIXTURE_VARIANT_ADD(knob, fin_timeout) {
	.name = "fin_timeout",
	.mirror = "/proc/sys/net/ipv4/tcp_fin_timeout",
	.good = { "30", " 7\n", "120", "0x10" },
	.good_val = { 30, 7, 120, 16 },
};

FIXTURE_VARIANT_ADD(knob, fastopen) {
	.name = "fastopen",
	.mirror = "/proc/sys/net/ipv4/tcp_fastopen",
	.good = { "3", "0x607", "0", "0x401" },
	.good_val = { 3, 0x607, 0, 0x401 },
};

FIXTURE_SETUP(knob)
{
	self->init_fd = -1;
	REQUIRE_MODULE();
	snprintf(self->knob, sizeof(self->knob), KNOB_DIR "%s", variant->name);
	self->kernel = variant->mirror;
	self->init_fd = open(variant->mirror, O_RDONLY);
	ASSERT_LE(0, self->init_fd);
	read_text(self->init_fd, self->init_value, sizeof(self->init_value));
	ASSERT_EQ(0, netns_enter_new());
}

FIXTURE_TEARDOWN(knob)
{
	if (self->init_fd >= 0)
		close(self->init_fd);
}

TEST_F(knob, read_shows_kernel_value)
{
	REQUIRE_MODULE();
	ASSERT_EQ(sysctl_read_long(self->kernel), sysctl_read_long(self->knob));
	/* the kernel's own sysctl changed: the knob follows */
	ASSERT_EQ(0, sysctl_write(self->kernel, variant->good[0]));
	ASSERT_EQ(variant->good_val[0], sysctl_read_long(self->knob));
}

TEST_F(knob, write_changes_kernel_value)
{
	char buf[64];
	int i;

	REQUIRE_MODULE();
	for (i = 0; i < 4; i++) {
		ASSERT_EQ(0, sysctl_write(self->knob, variant->good[i]));
		EXPECT_EQ(variant->good_val[i], sysctl_read_long(self->knob));
		EXPECT_EQ(variant->good_val[i], sysctl_read_long(self->kernel));
	}
	/* a child netns' writes never reach the init netns */
	EXPECT_STREQ(self->init_value, read_text(self->init_fd, buf, sizeof(buf)));
}

TEST_F(knob, writes_are_journaled)
{
	long old = sysctl_read_long(self->kernel);
	char want[128], last[256];

	REQUIRE_MODULE();
	ASSERT_EQ(0, sysctl_write(self->knob, variant->good[1]));
	/* the last entry is this write (this netns is ours) */
	snprintf(want, sizeof(want), " %s %ld %ld %d kmod_knobs\n", variant->name, old,
		 variant->good_val[1], getpid());
	ASSERT_EQ(0, journal_last_line(last, sizeof(last)));
	ASSERT_LT(strlen(want), strlen(last));
	EXPECT_STREQ(want, last + strlen(last) - strlen(want));
}

/* Bad input, one variant per knob: each write fails with EINVAL and leaves the knob, the
 * kernel sysctl it mirrors and the init netns as they were; so does an empty write. */
FIXTURE(bad_input) {
	char knob[128];
	char value[256];	/* the knob's text after the good write */
	long kernel;		/* the mirrored sysctl after it */
	int init_fd;	/* the init netns' mirror (or knob), opened before unshare */
	char init_value[256];
};

FIXTURE_VARIANT(bad_input) {
	const char *name;	/* under /proc/sys/net/tcpscope */
	const char *mirror;	/* the kernel sysctl it mirrors, or NULL */
	const char *good;	/* written first */
	const char *bad[24];	/* rejected writes */
};

FIXTURE_VARIANT_ADD(bad_input, fin_timeout) {
	.name = "fin_timeout",
	.mirror = "/proc/sys/net/ipv4/tcp_fin_timeout",
	.good = "30",
	.bad = { "\n", "-1", "0", "121", "-60", "abc", "1x", "99999999999999999999",
		 "2147483648", "1 2", "0x", " ", "3.5", NULL },
};

FIXTURE_VARIANT_ADD(bad_input, fastopen) {
	.name = "fastopen",
	.mirror = "/proc/sys/net/ipv4/tcp_fastopen",
	.good = "3",
	.bad = { "\n", "-1", "8", "0x800", "0x1000", "0x80000000", "16", "abc", "1x",
		 "99999999999999999999", "1 2", "0x", " ", NULL },
};

/* below 2 jiffies or above 200 ms (TCP_BPF_DELACK_MAX's bounds), or not a number */
FIXTURE_VARIANT_ADD(bad_input, delack_max_ms) {
	.name = "delack_max_ms",
	.good = "100",
	.bad = { "\n", "-1", "1", "201", "1001", "abc", "5x", "99999999999999999999",
		 "2147483648", "1 2", "0x", " ", "-200", NULL },
};

FIXTURE_VARIANT_ADD(bad_input, quickack) {
	.name = "quickack",
	.good = "1",
	.bad = { "\n", "-1", "2", "abc", "1x", "0x", " ", "1 1", "99999999999999999999",
		 "2147483648", "-0x1", "true", NULL },
};

FIXTURE_VARIANT_ADD(bad_input, ack_ports) {
	.name = "ack_ports",
	.good = "80,443",
	.bad = { "\n", " ", "0", "65536", "-1", "80,,443", "80,", ",80", "5-4", "80-", "-80",
		 "1-2-3", "abc", "80x", "0x50", "1,2,3,4,5,6,7,8,9", "ALL", "all,80",
		 "99999999999999999999", NULL },
};

FIXTURE_SETUP(bad_input)
{
	self->init_fd = -1;
	REQUIRE_MODULE();
	snprintf(self->knob, sizeof(self->knob), KNOB_DIR "%s", variant->name);
	self->init_fd = open(variant->mirror ?: self->knob, O_RDONLY);
	ASSERT_LE(0, self->init_fd);
	read_text(self->init_fd, self->init_value, sizeof(self->init_value));
	ASSERT_EQ(0, netns_enter_new());
	ASSERT_EQ(0, sysctl_write(self->knob, variant->good));
	knob_text(self->knob, self->value, sizeof(self->value));
	self->kernel = variant->mirror ? sysctl_read_long(variant->mirror) : 0;
}

FIXTURE_TEARDOWN(bad_input)
{
	if (self->init_fd >= 0)
		close(self->init_fd);
}

TEST_F(bad_input, is_einval_and_changes_nothing)
{
	char buf[256];
	int i, fd;

	REQUIRE_MODULE();
	for (i = 0; variant->bad[i]; i++) {
		EXPECT_EQ(-EINVAL, sysctl_write(self->knob, variant->bad[i]))
			TH_LOG("writing \"%s\"", variant->bad[i]);
		EXPECT_STREQ(self->value, knob_text(self->knob, buf, sizeof(buf)));
		if (variant->mirror)
			EXPECT_EQ(self->kernel, sysctl_read_long(variant->mirror));
	}
	ASSERT_LE(10, i);
	fd = open(self->knob, O_WRONLY);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, write(fd, "", 0));
	EXPECT_EQ(EINVAL, errno);
	close(fd);
	EXPECT_STREQ(self->value, knob_text(self->knob, buf, sizeof(buf)));
	EXPECT_STREQ(self->init_value, read_text(self->init_fd, buf, sizeof(buf)));
}

/* The delayed-ACK knobs mirror nothing: the module applies them to new connections
 * (kmod.sh measures the effect); here their value handling. */
FIXTURE(delack) {
	int hz;
	int init_ports;	/* ack_ports of the init netns, opened before unshare */
};

FIXTURE_SETUP(delack)
{
	self->init_ports = -1;
	REQUIRE_MODULE();
	self->hz = kernel_hz();
	self->init_ports = open(KNOB_DIR "ack_ports", O_RDONLY);
	ASSERT_LE(0, self->init_ports);
	ASSERT_EQ(0, netns_enter_new());
}

FIXTURE_TEARDOWN(delack)
{
	if (self->init_ports >= 0)
		close(self->init_ports);
}

#define DELACK KNOB_DIR "delack_max_ms"

TEST_F(delack, off_by_default_and_rounded_to_jiffies)
{
	long jiffy_ms;

	REQUIRE_MODULE();
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

#define QUICKACK KNOB_DIR "quickack"
#define ACK_PORTS KNOB_DIR "ack_ports"

TEST_F(delack, quickack_is_0_or_1)
{
	REQUIRE_MODULE();
	ASSERT_EQ(0, sysctl_read_long(QUICKACK));
	ASSERT_EQ(0, sysctl_write(QUICKACK, "1"));
	ASSERT_EQ(1, sysctl_read_long(QUICKACK));
	ASSERT_EQ(0, sysctl_write(QUICKACK, "0\n"));
	ASSERT_EQ(0, sysctl_read_long(QUICKACK));
}

TEST_F(delack, ack_ports_list_reads_back_canonical)
{
	static const struct { const char *in, *out; } good[] = {
		{ "80", "80" }, { "80,443 8000-8099\n", "80,443,8000-8099" },
		{ " 1 , 2\t3 ", "1,2,3" }, { "65535-65535", "65535" }, { "1-65535", "1-65535" },
		{ "1,2,3,4,5,6,7,8", "1,2,3,4,5,6,7,8" }, { "all", "all" },
	};
	char buf[256];
	size_t i;

	REQUIRE_MODULE();
	ASSERT_STREQ("all", knob_text(ACK_PORTS, buf, sizeof(buf)));
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ASSERT_EQ(0, sysctl_write(ACK_PORTS, good[i].in)) TH_LOG("writing \"%s\"", good[i].in);
		EXPECT_STREQ(good[i].out, knob_text(ACK_PORTS, buf, sizeof(buf)));
	}
	/* the init netns keeps its own list */
	EXPECT_STREQ("all", read_text(self->init_ports, buf, sizeof(buf)));
}

TEST_F(delack, ack_ports_writes_are_journaled)
{
	char want[128], last[256];

	REQUIRE_MODULE();
	ASSERT_EQ(0, sysctl_write(ACK_PORTS, "443 80"));
	snprintf(want, sizeof(want), " ack_ports all 443,80 %d kmod_knobs\n", getpid());
	ASSERT_EQ(0, journal_last_line(last, sizeof(last)));
	ASSERT_LT(strlen(want), strlen(last));
	EXPECT_STREQ(want, last + strlen(last) - strlen(want));
}

/* The mirrored knobs' effect on real connections, each in a private netns. */
FIXTURE(effect) {
	int lfd;
};

FIXTURE_SETUP(effect)
{
	self->lfd = -1;
	REQUIRE_MODULE();
	ASSERT_EQ(0, netns_enter_new());
	self->lfd = tcp_listener();
	ASSERT_LE(0, self->lfd);
}

FIXTURE_TEARDOWN(effect)
{
	if (self->lfd >= 0)
		close(self->lfd);
}

/* An orphaned FIN_WAIT2 socket lives as long as the knob says, 2 s and then 4 s. */
TEST_F(effect, fin_timeout_sets_orphan_fin_wait2_lifetime)
{
	static const char *const secs[] = { "2", "4" };
	double lived;
	int i, s;

	REQUIRE_MODULE();
	for (i = 0; i < 2; i++) {
		int want = atoi(secs[i]);

		ASSERT_EQ(0, sysctl_write(KNOB_DIR "fin_timeout", secs[i]));
		lived = orphan_fin_wait2_lifetime(self->lfd, &s, want + 5);
		TH_LOG("orphaned FIN_WAIT2 lived %.2f s with fin_timeout=%d", lived, want);
		EXPECT_LE(want - 0.1, lived);
		EXPECT_GE(want + 2.0, lived);
		EXPECT_EQ(TCP_CLOSE_WAIT, tcp_state_of(s));
		close(s);
	}
}

/* fastopen=3 puts the data of a second connection in its SYN (the first fetches the
 * cookie): TcpExtTCPFastOpenActive/Passive +1 each, and so in the module's counters;
 * fastopen=0 turns Fast Open off and MSG_FASTOPEN fails with EOPNOTSUPP. */
TEST_F(effect, fastopen_turns_data_in_syn_on_and_off)
{
	int qlen = 16, c, s = -1;
	bool syn_data;

	REQUIRE_MODULE();
	ASSERT_EQ(0, setsockopt(self->lfd, IPPROTO_TCP, TCP_FASTOPEN, &qlen, sizeof(qlen)));
	ASSERT_EQ(0, sysctl_write(KNOB_DIR "fastopen", "3"));
	ASSERT_EQ(3, sysctl_read_long("/proc/sys/net/ipv4/tcp_fastopen"));
	c = fastopen_connect(self->lfd, &s, &syn_data);
	ASSERT_LE(0, c);
	EXPECT_FALSE(syn_data);
	close(c);
	close(s);
	c = fastopen_connect(self->lfd, &s, &syn_data);
	ASSERT_LE(0, c);
	EXPECT_TRUE(syn_data);
	close(c);
	close(s);
	/* a fresh netns: its counters started at zero */
	EXPECT_EQ(1, tcpext("TCPFastOpenActive"));
	EXPECT_EQ(1, tcpext("TCPFastOpenPassive"));
	EXPECT_EQ(1, tcpscope_value("counters", "fastopen_active"));
	EXPECT_EQ(1, tcpscope_value("counters", "fastopen_passive"));
	EXPECT_EQ(1, tcpscope_value("counters", "fastopen_cookie_reqd"));

	ASSERT_EQ(0, sysctl_write(KNOB_DIR "fastopen", "0"));
	ASSERT_EQ(-EOPNOTSUPP, fastopen_connect(self->lfd, &s, &syn_data));
	EXPECT_EQ(1, tcpext("TCPFastOpenActive"));
}

TEST_HARNESS_MAIN
