/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for tcpscope's kselftests: a private network namespace per test, loopback
 * connections, per-netns sysctls and counters (/proc/net/netstat, /proc/net/sockstat,
 * /proc/net/tcp), and bounded waits. Each helper returns -errno or a value; tests ASSERT.
 */
#ifndef TCPSCOPE_NETNS_UTIL_H
#define TCPSCOPE_NETNS_UTIL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* unshare(), CLONE_NEWNET */
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* /proc/net/tcp's "st" column (include/net/tcp_states.h) */
enum { ST_ESTABLISHED = 1, ST_FIN_WAIT2 = 5, ST_TIME_WAIT = 6, ST_CLOSE_WAIT = 8 };

static inline double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static inline void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Polls cond every 5 ms until it holds or timeout_s passes; returns whether it held. */
#define WAIT_FOR(cond, timeout_s)                                         \
	({                                                                \
		double __end = now_s() + (timeout_s);                     \
		bool __ok;                                                \
		while (!(__ok = (cond)) && now_s() < __end)               \
			sleep_ms(5);                                      \
		__ok;                                                     \
	})

/* Enters a new network namespace with lo up: everything after is private to the test. */
static inline int netns_enter_new(void)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int fd, ret = 0;

	if (unshare(CLONE_NEWNET))
		return -errno;
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0)
		return -errno;
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(fd, SIOCSIFFLAGS, &ifr))
			ret = -errno;
	} else {
		ret = -errno;
	}
	close(fd);
	return ret;
}

/* Writes a string to a /proc/sys file; returns 0 or -errno of the write (e.g. -EINVAL). */
static inline int sysctl_write(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY), ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

static inline long sysctl_read_long(const char *path)
{
	char buf[64] = "";
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 ? strtol(buf, NULL, 0) : -EIO;
}

/* A counter from /proc/net/netstat or /proc/net/snmp ("TcpExt", "TCPKeepAlive"). */
static inline long long netstat_get(const char *file, const char *group, const char *name)
{
	char hdr[8192], val[8192];
	long long ret = -ENOENT;
	size_t glen = strlen(group);
	FILE *f = fopen(file, "r");

	if (!f)
		return -errno;
	while (fgets(hdr, sizeof(hdr), f) && fgets(val, sizeof(val), f)) {
		char *hs, *vs, *h, *v;

		if (strncmp(hdr, group, glen) || hdr[glen] != ':')
			continue;
		h = strtok_r(hdr + glen + 1, " \n", &hs);
		v = strtok_r(val + glen + 1, " \n", &vs);
		for (; h && v; h = strtok_r(NULL, " \n", &hs), v = strtok_r(NULL, " \n", &vs)) {
			if (!strcmp(h, name)) {
				ret = strtoll(v, NULL, 10);
				break;
			}
		}
	}
	fclose(f);
	return ret;
}

static inline long long tcpext(const char *name)
{
	return netstat_get("/proc/net/netstat", "TcpExt", name);
}

/* /proc/net/sockstat "TCP: inuse N orphan N tw N ..." field of this netns */
static inline long sockstat_tcp(const char *field)
{
	char line[512], *p;
	long ret = -ENOENT;
	FILE *f = fopen("/proc/net/sockstat", "r");

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "TCP:", 4))
			continue;
		for (p = strtok(line + 4, " \n"); p; p = strtok(NULL, " \n")) {
			char *v = strtok(NULL, " \n");

			if (v && !strcmp(p, field))
				ret = strtol(v, NULL, 10);
		}
	}
	fclose(f);
	return ret;
}

/* State ("st") of the IPv4 socket with this local port in /proc/net/tcp, or -ENOENT. */
static inline int proc_tcp_state(unsigned short lport)
{
	char line[512];
	unsigned int lp, st;
	int ret = -ENOENT;
	FILE *f = fopen("/proc/net/tcp", "r");

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, " %*d: %*x:%x %*x:%*x %x", &lp, &st) == 2 && lp == lport)
			ret = st;
	fclose(f);
	return ret;
}

static inline unsigned short local_port(int fd)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);

	return getsockname(fd, (struct sockaddr *)&a, &len) ? 0 : ntohs(a.sin_port);
}

/* A listener on 127.0.0.1 at an ephemeral port. */
static inline int tcp_listener(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 16)) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

static inline struct sockaddr_in listener_addr(int lfd)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);

	getsockname(lfd, (struct sockaddr *)&a, &len);
	return a;
}

/* Connects to lfd and accepts: *client and *server are the two ends. */
static inline int tcp_pair(int lfd, int *client, int *server)
{
	struct sockaddr_in a = listener_addr(lfd);

	*client = socket(AF_INET, SOCK_STREAM, 0);
	if (*client < 0)
		return -errno;
	if (connect(*client, (struct sockaddr *)&a, sizeof(a)))
		return -errno;
	*server = accept(lfd, NULL, NULL);
	return *server < 0 ? -errno : 0;
}

static inline int tcp_state_of(int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	return getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) ? -errno : ti.tcpi_state;
}

/* Makes the client end of a fresh pair an orphaned FIN_WAIT2 socket while the server stays
 * silent: shutdown(SHUT_WR) first, and close() once the server's ACK of the FIN has moved it
 * to FIN_WAIT2, so that __tcp_close() hands it to a FIN_WAIT2 timewait socket at once, which
 * lives tcp_fin_timeout and goes without a word. Closed straight from ESTABLISHED instead,
 * the ACK can be processed while close() still owns the socket (from the backlog:
 * tcp_rcv_state_process()'s FIN_WAIT1 "Bad case"): the full socket then waits on its
 * keepalive timer and, at a lifetime of 60 s or less, ends with a RST that closes the
 * server too (seen in both guests). Returns how long it lived after close(), in seconds,
 * or -1 when the pair or the shutdown failed, -2 when it was not in FIN_WAIT2 within 5 s,
 * -3 when it outlived max_s; the server is left in *server. */
static inline double orphan_fin_wait2_lifetime(int lfd, int *server, double max_s)
{
	unsigned short cport;
	double t0;
	int c;

	if (tcp_pair(lfd, &c, server))
		return -1;
	cport = local_port(c);
	if (shutdown(c, SHUT_WR)) {
		close(c);
		return -1;
	}
	if (!WAIT_FOR(tcp_state_of(c) == TCP_FIN_WAIT2, 5)) {
		close(c);
		return -2;
	}
	t0 = now_s();
	close(c);
	if (!WAIT_FOR(proc_tcp_state(cport) == ST_FIN_WAIT2, 5))
		return -2;
	if (!WAIT_FOR(proc_tcp_state(cport) == -ENOENT, max_s))
		return -3;
	return now_s() - t0;
}

/* A Fast Open connection to lfd carrying one byte: returns the client (the server end in
 * *server, whether the data rode in the SYN in *syn_data) or -errno, -EOPNOTSUPP when
 * the client side of Fast Open is off. */
static inline int fastopen_connect(int lfd, int *server, bool *syn_data)
{
	struct sockaddr_in a = listener_addr(lfd);
	struct tcp_info ti;
	socklen_t len = sizeof(ti);
	int c = socket(AF_INET, SOCK_STREAM, 0);
	char b;

	if (c < 0)
		return -errno;
	if (sendto(c, "x", 1, MSG_FASTOPEN, (struct sockaddr *)&a, sizeof(a)) != 1) {
		int err = -errno;

		close(c);
		return err;
	}
	*server = accept(lfd, NULL, NULL);
	if (*server < 0 || read(*server, &b, 1) != 1)
		return -EIO;
	if (getsockopt(c, IPPROTO_TCP, TCP_INFO, &ti, &len))
		return -errno;
	*syn_data = ti.tcpi_options & TCPI_OPT_SYN_DATA;
	return c;
}

#endif /* TCPSCOPE_NETNS_UTIL_H */
