// SPDX-License-Identifier: GPL-2.0
/*
 * /proc/net/tcpscope/counters, each test in a private network namespace (whose counters
 * start at zero): TIME_WAIT entered once per active close and left when a new SYN takes
 * over the 4-tuple, both consistent with /proc/net/sockstat; and the SNMP-backed counters
 * (keepalive probes, delayed ACKs, Fast Open outcomes) equal to /proc/net/netstat.
 */
#include "kmod_util.h"

static long long counter(const char *name)
{
	return tcpscope_value("counters", name);
}

FIXTURE(counters) {
	int lfd;
};

FIXTURE_SETUP(counters)
{
	self->lfd = -1;
	REQUIRE_MODULE();
	ASSERT_EQ(0, netns_enter_new());
	self->lfd = tcp_listener();
	ASSERT_LE(0, self->lfd);
}

FIXTURE_TEARDOWN(counters)
{
	if (self->lfd >= 0)
		close(self->lfd);
}

/* Three active closes from the client: three timewait sockets, none left yet. */
TEST_F(counters, timewait_entered_once_per_active_close)
{
	int i, c, s;
	char b;

	REQUIRE_MODULE();
	ASSERT_EQ(0, counter("timewait_entered"));
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, tcp_pair(self->lfd, &c, &s));
		ASSERT_EQ(0, shutdown(c, SHUT_WR));
		ASSERT_EQ(0, read(s, &b, 1));
		ASSERT_EQ(0, close(s));
		ASSERT_EQ(0, read(c, &b, 1));
		ASSERT_EQ(0, close(c));
	}
	ASSERT_TRUE(WAIT_FOR(sockstat_tcp("tw") == 3, 5));
	EXPECT_EQ(3, counter("timewait_entered"));
	EXPECT_EQ(0, counter("timewait_left"));
	EXPECT_EQ(3, tcpscope_value("states", "tw_sockets"));
	EXPECT_EQ(3, tcpscope_value("states", "TIME_WAIT"));
}

/* The server closes first and holds the 4-tuple in TIME_WAIT; the client connects again
 * from the same port, and its SYN (newer sequence and timestamp) ends the timewait socket
 * (TCP_TW_SYN): entered 1, left 1, none in sockstat. */
TEST_F(counters, timewait_left_when_a_syn_reuses_the_tuple)
{
	struct sockaddr_in srv = listener_addr(self->lfd), cli = srv;
	socklen_t len = sizeof(cli);
	int c, s, one = 1;
	char b;

	REQUIRE_MODULE();
	c = socket(AF_INET, SOCK_STREAM, 0);
	ASSERT_LE(0, c);
	cli.sin_port = 0;
	ASSERT_EQ(0, bind(c, (struct sockaddr *)&cli, sizeof(cli)));
	ASSERT_EQ(0, getsockname(c, (struct sockaddr *)&cli, &len));
	ASSERT_EQ(0, connect(c, (struct sockaddr *)&srv, sizeof(srv)));
	s = accept(self->lfd, NULL, NULL);
	ASSERT_LE(0, s);
	ASSERT_EQ(0, shutdown(s, SHUT_WR));
	ASSERT_EQ(0, read(c, &b, 1));
	ASSERT_EQ(0, close(c));
	ASSERT_EQ(0, read(s, &b, 1));
	ASSERT_EQ(0, close(s));
	ASSERT_TRUE(WAIT_FOR(sockstat_tcp("tw") == 1, 5));
	ASSERT_EQ(1, counter("timewait_entered"));
	ASSERT_EQ(0, counter("timewait_left"));

	sleep_ms(2);	/* a timestamp tick later */
	c = socket(AF_INET, SOCK_STREAM, 0);
	ASSERT_LE(0, c);
	ASSERT_EQ(0, setsockopt(c, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)));
	ASSERT_EQ(0, bind(c, (struct sockaddr *)&cli, sizeof(cli)));
	ASSERT_EQ(0, connect(c, (struct sockaddr *)&srv, sizeof(srv)));
	s = accept(self->lfd, NULL, NULL);
	ASSERT_LE(0, s);
	EXPECT_EQ(0, sockstat_tcp("tw"));
	EXPECT_EQ(1, counter("timewait_entered"));
	EXPECT_EQ(1, counter("timewait_left"));
	close(c);
	close(s);
}

/* What must NOT count as a TIME_WAIT entry: a FIN_WAIT2 -> CLOSE without a timewait
 * socket. Each ends with entered 0, equal to the kernel's TcpExtTW + TcpExtTWKilled. */
static void expect_no_timewait_entry(struct __test_metadata *_metadata)
{
	EXPECT_EQ(0, sockstat_tcp("tw"));
	EXPECT_EQ(0, tcpext("TW") + tcpext("TWKilled"));
	EXPECT_EQ(0, counter("timewait_entered"));
	EXPECT_EQ(0, counter("timewait_left"));
}

/* The peer resets a FIN_WAIT2 socket (SO_LINGER {1, 0} close): tcp_reset(), no timewait. */
TEST_F(counters, rst_received_in_fin_wait2_is_no_timewait_entry)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	int c, s = -1;
	char b;

	REQUIRE_MODULE();
	ASSERT_EQ(0, tcp_pair(self->lfd, &c, &s));
	ASSERT_EQ(0, shutdown(c, SHUT_WR));
	ASSERT_EQ(0, read(s, &b, 1));
	ASSERT_TRUE(WAIT_FOR(tcp_state_of(c) == TCP_FIN_WAIT2, 5));
	ASSERT_EQ(0, setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)));
	ASSERT_EQ(0, close(s));
	ASSERT_TRUE(WAIT_FOR(tcp_state_of(c) == TCP_CLOSE, 5));
	EXPECT_EQ(-1, read(c, &b, 1));
	EXPECT_EQ(ECONNRESET, errno);
	expect_no_timewait_entry(_metadata);
	close(c);
}

/* An orphaned FIN_WAIT2 with tcp_max_tw_buckets 0: tcp_time_wait() finds no room
 * (TcpExtTCPTimeWaitOverflow) and closes the full socket. With a FIN_WAIT2 lifetime of
 * 60 s or less the orphan moves to a timewait socket at once, unless the ACK of its FIN is
 * processed while close() still owns it (from the backlog: tcp_rcv_state_process(), the
 * FIN_WAIT1 "Bad case"); then it waits for its keepalive timer, which at 60 s resets it
 * instead, and no timewait socket is ever tried (seen in the 6.12 guest). TCP_LINGER2 of
 * 61 s sends both paths through the keepalive timer, 1 s later, and then to
 * tcp_time_wait() (tcp_keepalive_timer(), tcp_fin_time() - TCP_TIMEWAIT_LEN > 0). */
TEST_F(counters, orphan_fin_wait2_with_no_timewait_room_is_no_timewait_entry)
{
	unsigned short cport;
	int c, s = -1, linger2 = 61;

	REQUIRE_MODULE();
	ASSERT_EQ(0, sysctl_write("/proc/sys/net/ipv4/tcp_max_tw_buckets", "0"));
	ASSERT_EQ(0, tcp_pair(self->lfd, &c, &s));
	cport = local_port(c);
	ASSERT_EQ(0, setsockopt(c, IPPROTO_TCP, TCP_LINGER2, &linger2, sizeof(linger2)));
	ASSERT_EQ(0, close(c));	/* orphaned: the server stays silent */
	ASSERT_TRUE(WAIT_FOR(tcpext("TCPTimeWaitOverflow") == 1, 10));
	ASSERT_TRUE(WAIT_FOR(proc_tcp_state(cport) == -ENOENT, 5));
	expect_no_timewait_entry(_metadata);
	close(s);
}

/* An abort in FIN_WAIT1 (SO_LINGER {1, 0} close while our FIN waits behind unsent data the
 * peer has no room for): a RST, straight to CLOSE. */
TEST_F(counters, abort_in_fin_wait1_is_no_timewait_entry)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	int c, s = -1, small = 4096;
	char buf[4096] = {};

	REQUIRE_MODULE();
	ASSERT_EQ(0, setsockopt(self->lfd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)));
	ASSERT_EQ(0, tcp_pair(self->lfd, &c, &s));
	ASSERT_EQ(0, fcntl(c, F_SETFL, O_NONBLOCK));
	while (write(c, buf, sizeof(buf)) > 0)	/* until the peer's window and our buffer fill */
		;
	ASSERT_EQ(EAGAIN, errno);
	ASSERT_EQ(0, shutdown(c, SHUT_WR));
	ASSERT_EQ(TCP_FIN_WAIT1, tcp_state_of(c));
	ASSERT_EQ(0, setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)));
	ASSERT_EQ(0, close(c));
	expect_no_timewait_entry(_metadata);
	close(s);
}

/* A keepalive probe and a Fast Open round, then every SNMP-backed counter equals its
 * TcpExt twin: both started at zero with this netns. */
TEST_F(counters, snmp_counters_equal_netstat)
{
	static const struct { const char *ours, *tcpext; } twins[] = {
		{ "keepalive_probes", "TCPKeepAlive" },
		{ "delayed_acks", "DelayedACKs" },
		{ "fastopen_active", "TCPFastOpenActive" },
		{ "fastopen_active_fail", "TCPFastOpenActiveFail" },
		{ "fastopen_passive", "TCPFastOpenPassive" },
		{ "fastopen_passive_fail", "TCPFastOpenPassiveFail" },
		{ "fastopen_cookie_reqd", "TCPFastOpenCookieReqd" },
		{ "fastopen_listen_overflow", "TCPFastOpenListenOverflow" },
		{ "fastopen_blackhole", "TCPFastOpenBlackhole" },
	};
	int c, s = -1, one = 1, zero = 0, qlen = 16, i;
	bool syn_data;

	REQUIRE_MODULE();
	ASSERT_EQ(0, tcp_pair(self->lfd, &c, &s));
	ASSERT_EQ(0, setsockopt(c, IPPROTO_TCP, TCP_KEEPIDLE, &one, sizeof(one)));
	ASSERT_EQ(0, setsockopt(c, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)));
	ASSERT_TRUE(WAIT_FOR(tcpext("TCPKeepAlive") > 0, 5));
	ASSERT_EQ(0, setsockopt(c, SOL_SOCKET, SO_KEEPALIVE, &zero, sizeof(zero)));
	close(c);
	close(s);

	ASSERT_EQ(0, sysctl_write("/proc/sys/net/ipv4/tcp_fastopen", "3"));
	ASSERT_EQ(0, setsockopt(self->lfd, IPPROTO_TCP, TCP_FASTOPEN, &qlen, sizeof(qlen)));
	for (i = 0; i < 2; i++) {
		c = fastopen_connect(self->lfd, &s, &syn_data);
		ASSERT_LE(0, c);
		close(c);
		close(s);
	}
	EXPECT_LE(1, counter("keepalive_probes"));
	EXPECT_EQ(1, counter("fastopen_active"));
	/* a closing socket's timer may still tick between the two reads: equal within 2 s */
	for (i = 0; i < (int)(sizeof(twins) / sizeof(twins[0])); i++) {
		const char *ours = twins[i].ours, *theirs = twins[i].tcpext;

		EXPECT_TRUE(WAIT_FOR(tcpext(theirs) == counter(ours), 2))
			TH_LOG("%s %lld, TcpExt %s %lld", ours, counter(ours), theirs,
			       tcpext(theirs));
	}
}

TEST_HARNESS_MAIN
