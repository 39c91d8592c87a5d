# SPDX-License-Identifier: GPL-2.0
# tcpscope: build, test and install. `make run` and `make check` are the README's commands.

BUILD    ?= build
PREFIX   ?= /usr/local
CLANG    ?= clang
BPFTOOL  ?= bpftool
CXX      ?= g++
PYTHON   ?= /usr/bin/python3
VMLINUX_BTF ?= /sys/kernel/btf/vmlinux
ARCH     := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')

CXXFLAGS ?= -O2 -g
CXXFLAGS += -std=c++20 -Wall -Wextra -MMD -MP -I$(BUILD) -Ibpf -Iuserspace
BPF_CFLAGS := -g -O2 -Wall -target bpf -D__TARGET_ARCH_$(ARCH) -I$(BUILD) -Ibpf
LDLIBS   := $(shell pkg-config --libs libbpf 2>/dev/null || echo -lbpf) -lelf -lz -lfmt -pthread

# Quiet rules: one "  CXX  file" line each; V=1 shows the full commands.
ifeq ($(V),1)
Q   :=
msg  =
else
Q   := @
msg  = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

# The agent (userspace/, one folder per role: Documentation/tcpscope/layout.rst). Every
# folder's *_test.cpp are its unit tests; the rest, all but main.cpp, is linked into the
# agent, the unit tests and the formatter benchmark alike.
AGENT_DIRS      := cli cmd event kernel net output util
AGENT_ALL_SRCS  := $(wildcard $(foreach d,$(AGENT_DIRS),userspace/$(d)/*.cpp))
AGENT_SRCS      := $(filter-out %_test.cpp,$(AGENT_ALL_SRCS))
AGENT_OBJS      := $(patsubst userspace/%.cpp,$(BUILD)/%.o,$(AGENT_SRCS))
UNIT_TEST_SRCS  := $(filter %_test.cpp,$(AGENT_ALL_SRCS))
UNIT_TEST_OBJS  := $(patsubst userspace/%.cpp,$(BUILD)/%.o,$(UNIT_TEST_SRCS))
BPF_OBJS        := $(patsubst bpf/%.bpf.c,$(BUILD)/%.bpf.o,$(wildcard bpf/*.bpf.c))
BPF_SKELS       := $(BPF_OBJS:.bpf.o=.skel.h)

# The kernel's own kselftest framework (Debian's linux-source-6.1), unpacked into the build
# tree with our suite linked in as its "tcpscope" target; the installed tree (run_kselftest.sh,
# kselftest-list.txt, tcpscope/) is what runs on this host and inside the VMs.
KSFT_SRC    ?= /usr/src/linux-source-6.1.tar.xz
KSFT_TREE   := $(BUILD)/ksft/linux
KSFT_DIR    := $(KSFT_TREE)/tools/testing/selftests
KSFT_OUT    := $(BUILD)/kselftest
VM_KERNELS  ?= 6.1 6.12

# tcpscope.ko for every kernel with a kbuild tree here (Debian's linux-headers-*), one build
# directory per kernel release; KMOD_KVERS="6.1.0-56-amd64" picks some.
KMOD_SRCS  := $(wildcard kmod/*.c kmod/*.h) kmod/Kbuild
KMOD_KVERS ?= $(patsubst /lib/modules/%/build/Makefile,%,$(wildcard /lib/modules/*/build/Makefile))
KMOD_KOS   := $(foreach k,$(KMOD_KVERS),$(BUILD)/kmod/$(k)/tcpscope.ko)

.PHONY: all deps run check test-unit test-host selftests vmtest kmod install install-dkms uninstall format \
	format-check clean bench

all: $(BUILD)/tcpscope

.DELETE_ON_ERROR:
.SECONDARY: $(BPF_OBJS) # kept between builds, though only the skeletons name them

deps:
	@tools/install-deps.sh

# The entry points that install Debian's packages first. KMOD_KVERS above is read from
# /lib/modules when make parses this file, before `deps` has installed the kernels' headers,
# so they run `deps` and then make again (DEPS_DONE=1), which sees every kbuild tree: the
# first `make check` on a fresh machine builds and tests tcpscope.ko for every VM kernel.
ifndef DEPS_DONE
run check vmtest kmod bench: deps
	@$(MAKE) --no-print-directory DEPS_DONE=1 $@
else
# The main job: watch every TCP state change on this host until Ctrl-C.
run: all kmod
	$(BUILD)/tcpscope watch

# Every test: unit tests, the kselftests on this host, then in QEMU on each of VM_KERNELS.
# Needs root and a kernel with BPF + BTF.
check: format-check all $(BUILD)/unit_tests selftests
	tools/run-checks.sh $(BUILD) unit host $(addprefix vm:,$(VM_KERNELS))

# The kselftests in QEMU (tools/vm/run) on Debian's 6.1 and 6.12 kernels.
vmtest: selftests
	$(if $(QUICK),TCPSCOPE_QUICK=1) tools/run-checks.sh $(BUILD) $(addprefix vm:,$(VM_KERNELS))

kmod: $(KMOD_KOS)

# The churn under each observer, interleaved (root, about 11 minutes), then the decode/format
# micro-benchmark (Documentation/perf.rst). BENCH_ARGS="--rounds 3" etc. go to run.py.
bench: all $(BUILD)/churn $(BUILD)/format_bench
	$(PYTHON) tools/bench/run.py --build $(BUILD) $(BENCH_ARGS)
endif

test-unit: $(BUILD)/unit_tests
	$(BUILD)/unit_tests

# The kselftests on this host alone; QUICK=1 leaves out the 60 s TIME_WAIT expiry test.
test-host: selftests
	$(if $(QUICK),TCPSCOPE_QUICK=1) tools/run-checks.sh $(BUILD) host

$(KSFT_DIR)/lib.mk: | $(BUILD)
	@test -r $(KSFT_SRC) || { echo "$(KSFT_SRC) missing: run make deps (linux-source-6.1)" >&2; exit 1; }
	$(call msg,UNPACK,kselftest framework from $(KSFT_SRC))
	$(Q)mkdir -p $(KSFT_TREE)
	$(Q)tar -xJf $(KSFT_SRC) -C $(KSFT_TREE) --strip-components=1 --wildcards \
		'*/tools/testing/selftests/Makefile' '*/tools/testing/selftests/lib.mk' \
		'*/tools/testing/selftests/kselftest*' '*/tools/testing/selftests/run_kselftest.sh' \
		'*/scripts/subarch.include'
	$(Q)ln -sfn $(CURDIR)/selftests/tcpscope $(KSFT_DIR)/tcpscope
	$(Q)touch $@

$(BUILD)/kmod/%/tcpscope.ko: $(KMOD_SRCS)
	$(call msg,KMOD,$@)
	$(Q)mkdir -p $(@D) && cp $(KMOD_SRCS) $(@D)/
	$(Q)$(MAKE) $(if $(Q),-s) -C /lib/modules/$*/build M=$(abspath $(@D)) modules

# BUILD is the kselftest Makefile's own output directory too: ours (make BUILD=...) must not
# reach it through the environment, so it gets the one its O= would give.
selftests: $(KSFT_DIR)/lib.mk $(BUILD)/tcpscope $(KMOD_KOS)
	$(Q)rm -rf $(KSFT_OUT)
	$(Q)$(MAKE) $(if $(Q),-s) --no-print-directory -C $(KSFT_DIR) TARGETS=tcpscope \
		O=$(abspath $(BUILD)/ksft/obj) KSFT_INSTALL_PATH=$(abspath $(KSFT_OUT)) \
		BUILD=$(abspath $(BUILD)/ksft/obj/kselftest) \
		KSFT_DIR=$(abspath $(KSFT_DIR)) TCPSCOPE=$(abspath $(BUILD)/tcpscope) \
		KMOD_BUILD=$(abspath $(BUILD)/kmod) install $(if $(Q),>/dev/null)
	@printf '  %-8s %s\n' KSFT "$(KSFT_OUT)/run_kselftest.sh: $$(tr '\n' ' ' < $(KSFT_OUT)/kselftest-list.txt)"

$(BUILD):
	$(Q)mkdir -p $@

$(BUILD)/vmlinux.h: | $(BUILD)
	$(call msg,GEN,$@)
	$(Q)$(BPFTOOL) btf dump file $(VMLINUX_BTF) format c > $@

$(BUILD)/%.bpf.o: bpf/%.bpf.c bpf/tcpscope.h $(BUILD)/vmlinux.h
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

# The skeleton's name is the object's (tcpscope.bpf.o -> struct tcpscope_bpf).
$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@

# The loader includes the skeleton; -MMD lists it only after the first build.
$(BUILD)/kernel/tracer.o: $(BPF_SKELS)

$(BUILD)/%.o: userspace/%.cpp | $(BUILD)
	$(call msg,CXX,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CXX) $(CXXFLAGS) -c $< -o $@

$(BUILD)/tcpscope: $(AGENT_OBJS) $(BUILD)/main.o
	$(call msg,LINK,$@)
	$(Q)$(CXX) $(CXXFLAGS) $^ -o $@ $(LDLIBS)

$(BUILD)/unit_tests: $(AGENT_OBJS) $(UNIT_TEST_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CXX) $(CXXFLAGS) $^ -o $@ $(LDLIBS) -lgtest -lgtest_main -pthread

# Benchmark programs, not part of `make check`: the loopback churn generator and the
# decode/format micro-benchmark, both run by `make bench`.
$(BUILD)/churn: tools/bench/churn.cpp | $(BUILD)
	$(call msg,CXX,$@)
	$(Q)$(CXX) $(CXXFLAGS) $< -o $@ -pthread

$(BUILD)/format_bench: tools/bench/format_bench.cpp $(AGENT_OBJS) | $(BUILD)
	$(call msg,CXX,$@)
	$(Q)$(CXX) $(CXXFLAGS) $< $(AGENT_OBJS) -o $@ $(LDLIBS) -lbenchmark -pthread

KREL        := $(shell uname -r)
KMOD_VERSION := $(shell sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' kmod/dkms.conf)

# The agent, and tcpscope.ko for the running kernel when it takes modules and has headers.
install: $(BUILD)/tcpscope
	install -D -m 0755 $(BUILD)/tcpscope $(DESTDIR)$(PREFIX)/sbin/tcpscope
	@if [ ! -e /proc/modules ]; then \
		echo "install: tcpscope.ko skipped: $(KREL) has no loadable module support"; \
	elif [ ! -e /lib/modules/$(KREL)/build/Makefile ]; then \
		echo "install: tcpscope.ko skipped: no headers for $(KREL) (linux-headers-$(KREL))"; \
	else \
		$(MAKE) --no-print-directory $(BUILD)/kmod/$(KREL)/tcpscope.ko && \
		$(MAKE) -C /lib/modules/$(KREL)/build M=$(abspath $(BUILD)/kmod/$(KREL)) \
			INSTALL_MOD_PATH=$(DESTDIR) INSTALL_MOD_DIR=extra modules_install && \
		depmod $(if $(DESTDIR),-b $(DESTDIR)) $(KREL); \
	fi

# The module's sources under /usr/src for DKMS, which rebuilds it for every new kernel.
install-dkms:
	install -d $(DESTDIR)/usr/src/tcpscope-$(KMOD_VERSION)
	install -m 0644 $(KMOD_SRCS) kmod/dkms.conf $(DESTDIR)/usr/src/tcpscope-$(KMOD_VERSION)/
	@if [ -n "$(DESTDIR)" ] || ! command -v dkms >/dev/null; then \
		echo "install-dkms: sources in $(DESTDIR)/usr/src/tcpscope-$(KMOD_VERSION);" \
			"register them with: dkms add -m tcpscope -v $(KMOD_VERSION)"; \
	else \
		dkms status -m tcpscope -v $(KMOD_VERSION) | grep -q . || \
			dkms add -m tcpscope -v $(KMOD_VERSION); \
		if [ -e /lib/modules/$(KREL)/build/Makefile ]; then \
			dkms install -m tcpscope -v $(KMOD_VERSION) -k $(KREL); \
		else echo "install-dkms: no headers for $(KREL): DKMS builds for kernels installed later"; fi; \
	fi

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/sbin/tcpscope
	rm -f $(DESTDIR)/lib/modules/$(KREL)/extra/tcpscope.ko

# One .clang-format for the C++ (top level), a kernel-style one in bpf/.
FORMAT_SRCS := $(wildcard userspace/*.cpp userspace/*/*.cpp userspace/*/*.h tools/bench/*.cpp \
		 bpf/*.c bpf/*.h)
format:
	$(Q)clang-format -i $(FORMAT_SRCS)

format-check:
	$(call msg,FORMAT,check $(words $(FORMAT_SRCS)) files)
	$(Q)clang-format --dry-run --Werror $(FORMAT_SRCS)

clean:
	rm -rf $(BUILD)

-include $(wildcard $(BUILD)/*.d $(BUILD)/*/*.d)
