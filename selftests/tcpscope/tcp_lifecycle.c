// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel TCP behaviours tcpscope shows and its documentation teaches, checked on the
 * running kernel with the kernel's own counters, each test in a private network namespace:
 * the active closer's TIME_WAIT, the orphaned FIN_WAIT2 lifetime that tcp_fin_timeout sets
 * (not TIME_WAIT's), one keepalive probe per idle interval, and Fast Open's cookie round trip.
 */
#include "netns_util.h"
#include "kselftest_harness.h"

#define FIN_TIMEOUT "/proc/sys/net/ipv4/tcp_fin_timeout"
#define FASTOPEN "/proc/sys/net/ipv4/tcp_fastopen"

FIXTURE(netns) {
	int lfd;
};

FIXTURE_SETUP(netns)
{
	int err = netns_enter_new();

	if (err == -EPERM)
		SKIP(return, "needs CAP_SYS_ADMIN for a network namespace");
	ASSERT_EQ(0, err);
	self->lfd = tcp_listener();
	ASSERT_LE(0, self->lfd);
}

FIXTURE_TEARDOWN(netns)
{
	close(self->lfd);
}

/* Close from the client after the server's FIN: the client holds the 4-tuple in TIME_WAIT
 * (a timewait socket, counted by sockstat "tw"); the passive side leaves no trace. */
TEST_F(netns, active_close_enters_time_wait)
{
	int c = -1, s = -1;
	char b;

	ASSERT_EQ(0, tcp_pair(self->lfd, &c, &s));
	ASSERT_EQ(0, sockstat_tcp("tw"));
	ASSERT_EQ(0, close(s));
	ASSERT_EQ(0, read(c, &b, 1)); /* the server's FIN */
	unsigned short cport = local_port(c);

	ASSERT_EQ(0, close(c));
	ASSERT_TRUE(WAIT_FOR(proc_tcp_state(cport) == -ENOENT, 5)); /* the passive closer */
	ASSERT_EQ(1, sockstat_tcp("tw"));
}

/* An orphaned FIN_WAIT2 socket (closed, peer silent) lives tcp_fin_timeout, then goes. */
TEST_F(netns, orphan_fin_wait2_lives_fin_timeout)
{
	double lived;
	int s = -1;

	ASSERT_EQ(0, sysctl_write(FIN_TIMEOUT, "2"));
	ASSERT_EQ(2, sysctl_read_long(FIN_TIMEOUT));
	lived = orphan_fin_wait2_lifetime(self->lfd, &s, 10);
	TH_LOG("orphaned FIN_WAIT2 lived %.2f s with tcp_fin_timeout=2", lived);
	ASSERT_LE(1.9, lived);
	ASSERT_GE(4.0, lived);
	ASSERT_EQ(0, sockstat_tcp("tw"));
	ASSERT_EQ(TCP_CLOSE_WAIT, tcp_state_of(s)); /* the peer never closed */
	close(s);
}

/* With TCP_KEEPIDLE 1 s an idle connection sends exactly one probe in its first ~1.5 s
 * once keepalive is switched off after it; the peer answers, the connection stays. */
TEST_F(netns, keepalive_sends_one_probe_per_interval)
{
	int c = -1, s = -1, one = 1, zero = 0;
	long long base;

	ASSERT_EQ(0, tcp_pair(self->lfd, &c, &s));
	base = tcpext("TCPKeepAlive");
	ASSERT_LE(0, base);
	ASSERT_EQ(0, setsockopt(c, IPPROTO_TCP, TCP_KEEPIDLE, &one, sizeof(one)));
	ASSERT_EQ(0, setsockopt(c, IPPROTO_TCP, TCP_KEEPINTVL, &one, sizeof(one)));
	ASSERT_EQ(0, setsockopt(c, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)));
	ASSERT_TRUE(WAIT_FOR(tcpext("TCPKeepAlive") > base, 5));
	ASSERT_EQ(0, setsockopt(c, SOL_SOCKET, SO_KEEPALIVE, &zero, sizeof(zero)));
	sleep_ms(1500);
	ASSERT_EQ(1, tcpext("TCPKeepAlive") - base);
	ASSERT_EQ(TCP_ESTABLISHED, tcp_state_of(c));
	close(c);
	close(s);
}

/* tcp_fastopen=3: the first connection only fetches a cookie, the second carries its data
 * in the SYN (TcpExtTCPFastOpenActive/Passive +1 each); with 0, MSG_FASTOPEN is refused. */
TEST_F(netns, fastopen_cookie_then_data_in_syn)
{
	long long act = tcpext("TCPFastOpenActive"), pas = tcpext("TCPFastOpenPassive");
	long long req = tcpext("TCPFastOpenCookieReqd");
	int qlen = 16, c, s = -1, i;
	bool syn_data;

	ASSERT_EQ(0, sysctl_write(FASTOPEN, "3"));
	ASSERT_EQ(0, setsockopt(self->lfd, IPPROTO_TCP, TCP_FASTOPEN, &qlen, sizeof(qlen)));

	/* the first connection fetches the cookie, the second (i = 1) sends data in its SYN */
	for (i = 0; i < 2; i++) {
		c = fastopen_connect(self->lfd, &s, &syn_data);
		ASSERT_LE(0, c);
		EXPECT_EQ(i == 1, syn_data);
		EXPECT_EQ(1, tcpext("TCPFastOpenCookieReqd") - req);
		EXPECT_EQ(i, tcpext("TCPFastOpenActive") - act);
		EXPECT_EQ(i, tcpext("TCPFastOpenPassive") - pas);
		close(c);
		close(s);
	}

	ASSERT_EQ(0, sysctl_write(FASTOPEN, "0"));
	ASSERT_EQ(-EOPNOTSUPP, fastopen_connect(self->lfd, &s, &syn_data));
}

TEST_HARNESS_MAIN
