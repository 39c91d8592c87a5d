/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tcpscope.ko for the module's kselftests: loaded before the tests (from
 * modules/<release>/tcpscope.ko beside the program, or $TCPSCOPE_KO) and unloaded after them
 * if the program loaded it. REQUIRE_MODULE() at the top of each setup and each body: without
 * the module every test skips with the reason, or fails where the test bed built the module
 * for this kernel and says so with TCPSCOPE_KMOD_REQUIRED=1 (the VM suites).
 */
#ifndef TCPSCOPE_KMOD_UTIL_H
#define TCPSCOPE_KMOD_UTIL_H

#include "netns_util.h"	/* first: it defines _GNU_SOURCE */

#include <sys/syscall.h>
#include <sys/utsname.h>

#include "kselftest_harness.h"

#define KNOB_DIR "/proc/sys/net/tcpscope/"

/* why the module is not loaded, empty when it is; no longer than the harness' SKIP reason */
static char module_problem[sizeof(((struct __test_results *)0)->reason)];

static inline bool module_required(void)
{
	const char *req = getenv("TCPSCOPE_KMOD_REQUIRED");

	return req && !strcmp(req, "1");
}

/* The 6.1 harness runs a test's body even after SKIP() in its FIXTURE_SETUP: every body
 * starts with this too. */
#define REQUIRE_MODULE()                                                                    \
	do {                                                                                \
		if (module_problem[0] && module_required()) {                               \
			TH_LOG("tcpscope.ko is required here (TCPSCOPE_KMOD_REQUIRED=1): %s", \
			       module_problem);                                             \
			ASSERT_TRUE(0);                                                     \
		}                                                                           \
		if (module_problem[0])                                                      \
			SKIP(return, "%s", module_problem);                                 \
	} while (0)
static bool loaded_here;
static pid_t main_pid;	/* the harness forks a child per test; only main unloads */

static void load_module(void)
{
	char path[512], self[256];
	const char *env = getenv("TCPSCOPE_KO");
	struct utsname u;
	ssize_t n;
	int fd, ret;

	if (access(KNOB_DIR "fin_timeout", F_OK) == 0)
		return; /* already loaded */
	if (access("/proc/modules", F_OK)) {
		snprintf(module_problem, sizeof(module_problem),
			 "kernel without loadable module support");
		return;
	}
	uname(&u);
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	self[n > 0 ? n : 0] = '\0';
	if (n > 0)
		*strrchr(self, '/') = '\0';
	snprintf(path, sizeof(path), "%s/modules/%s/tcpscope.ko", self, u.release);
	if (env)
		snprintf(path, sizeof(path), "%s", env);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(module_problem, sizeof(module_problem),
			 "no tcpscope.ko for %s at %s: %s (make kmod builds it from "
			 "linux-headers-%s; or set TCPSCOPE_KO)",
			 u.release, path, strerror(errno), u.release);
		return;
	}
	ret = syscall(SYS_finit_module, fd, "", 0);
	if (ret)
		snprintf(module_problem, sizeof(module_problem), "finit_module(%s): %s", path,
			 strerror(errno));
	close(fd);
	if (!ret)
		loaded_here = true;
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
