/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tcpscope.ko for the module's kselftests: loaded before the tests (from
 * modules/<release>/tcpscope.ko beside the program, or $TCPSCOPE_KO) and unloaded after them
 * if the program loaded it. Without module support or a module built for this kernel every
 * test skips with the reason (SKIP_WITHOUT_MODULE() at the top of setup and of each body).
 */
#ifndef TCPSCOPE_KMOD_UTIL_H
#define TCPSCOPE_KMOD_UTIL_H

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

/* CONFIG_HZ of the running kernel from /boot/config-<release>, or 0 */
static inline int kernel_hz(void)
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

/* The value of a "NAME VALUE" line of a /proc/net/tcpscope file, or -1. */
static inline long long tcpscope_value(const char *file, const char *name)
{
	char path[128], line[256], key[64];
	long long val, ret = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/net/tcpscope/%s", file);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (ret < 0 && fgets(line, sizeof(line), f))
		if (sscanf(line, "%63s %lld", key, &val) == 2 && !strcmp(key, name))
			ret = val;
	fclose(f);
	return ret;
}

#endif /* TCPSCOPE_KMOD_UTIL_H */
