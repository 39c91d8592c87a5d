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
# folder's *_test.cpp are its unit tests and *_testdata.cpp their generated data; the rest,
# all but main.cpp, is linked into the agent, the unit tests and the formatter benchmark alike.
AGENT_DIRS      := cli cmd event kernel lab net output util
AGENT_ALL_SRCS  := $(wildcard $(foreach d,$(AGENT_DIRS),userspace/$(d)/*.cpp))
AGENT_SRCS      := $(filter-out %_test.cpp %_testdata.cpp,$(AGENT_ALL_SRCS))
AGENT_OBJS      := $(patsubst userspace/%.cpp,$(BUILD)/%.o,$(AGENT_SRCS))
UNIT_TEST_SRCS  := $(filter %_test.cpp %_testdata.cpp,$(AGENT_ALL_SRCS))
UNIT_TEST_OBJS  := $(patsubst userspace/%.cpp,$(BUILD)/%.o,$(UNIT_TEST_SRCS))
BPF_OBJS        := $(patsubst bpf/%.bpf.c,$(BUILD)/%.bpf.o,$(wildcard bpf/*.bpf.c))
BPF_SKELS       := $(BPF_OBJS:.bpf.o=.skel.h)

# Sanitizer builds (test-unit-asan, test-asan): their own objects, the same sources.
ASAN_BUILD      := $(BUILD)/asan
# -O1 -g1 as ASan's documentation advises: reports keep file and line, and the build takes
# less than half the time of -O2 -g (cli/options.cpp: 18 s against 42 s).
SAN_FLAGS       := -fsanitize=address,undefined -fno-sanitize-recover -fno-omit-frame-pointer \
		   -O1 -g1
ASAN_OBJS       := $(patsubst userspace/%.cpp,$(ASAN_BUILD)/%.o,$(AGENT_SRCS))
ASAN_TEST_OBJS  := $(patsubst userspace/%.cpp,$(ASAN_BUILD)/%.o,$(UNIT_TEST_SRCS))
# Generated tables (one initializer of nested vectors): optimizing them gains nothing and
# took 100 s per file under the sanitizers at -O2, 8 s at -O0.
TESTDATA_OBJS   := $(filter %_testdata.o,$(UNIT_TEST_OBJS) $(ASAN_TEST_OBJS))
$(TESTDATA_OBJS): CXXFLAGS += -O0
$(TESTDATA_OBJS): SAN_FLAGS += -O0

# libFuzzer harnesses (tools/fuzz/fuzz_*.cpp) of every parser of outside input, built with
# clang 14 (libfuzzer-14-dev), ASan and UBSan; the agent sources they reach, built the same way.
FUZZ_CXX        ?= clang++-14
FUZZ_SECONDS    ?= 60
FUZZ_DIR        := $(BUILD)/fuzz
FUZZ_NAMES      := $(patsubst tools/fuzz/fuzz_%.cpp,%,$(wildcard tools/fuzz/fuzz_*.cpp))
FUZZ_SRCS       := $(addprefix userspace/,cli/netns.cpp cli/options.cpp cli/port_list.cpp \
		   net/port.cpp net/listen_addr.cpp net/http_server.cpp event/record.cpp \
		   event/fold.cpp event/states.cpp output/event_format.cpp output/exposition.cpp)
FUZZ_OBJS       := $(patsubst userspace/%.cpp,$(FUZZ_DIR)/obj/%.o,$(FUZZ_SRCS))
FUZZ_FLAGS      := -g -O1 -std=c++20 -MMD -MP -I$(BUILD) -Ibpf -Iuserspace \
		   -fsanitize=address,undefined -fno-sanitize-recover -fno-omit-frame-pointer

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
	format-check clean bench test-unit-asan test-asan fuzz

all: $(BUILD)/tcpscope

.DELETE_ON_ERROR:
.SECONDARY: $(BPF_OBJS) # kept between builds, though only the skeletons name them

deps:
	@tools/install-deps.sh

# The entry points that install Debian's packages first. KMOD_KVERS above is read from
# /lib/modules when make parses this file, before `deps` has installed the kernels' headers,
# so they run `deps` and then make again (DEPS_DONE=1), which sees every kbuild tree: the
# first `make check` on a fresh machine builds and tests tcpscope.ko for every VM kernel.
# That second make builds with one job per CPU (NPROC).
NPROC ?= $(shell nproc)
ifndef DEPS_DONE
run check vmtest kmod bench: deps
	@$(MAKE) --no-print-directory -j$(NPROC) DEPS_DONE=1 $@
else
# The main job: watch every TCP state change on this host until Ctrl-C.
run: all kmod
	$(BUILD)/tcpscope watch

# Every test: unit tests, deploy/ rules (promtool), the Debian packages (tools/test-deb.sh),
# the kselftests on this host, then in QEMU on each of VM_KERNELS. Needs root, BPF and BTF.
check: format-check all $(BUILD)/unit_tests $(ASAN_BUILD)/unit_tests selftests deb
	tools/run-checks.sh $(BUILD) unit unit-asan deploy deb host $(addprefix vm:,$(VM_KERNELS))

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

# The unit tests once more, built with AddressSanitizer and UBSan in their own build
# directory (make check's "unit (ASan+UBSan)" suite), and the agent's host tests (observer,
# stats, top) run once against the agent built the same way: any report fails the run.
test-unit-asan: $(ASAN_BUILD)/unit_tests
	tools/run-checks.sh $(BUILD) unit-asan

test-asan: $(ASAN_BUILD)/unit_tests $(ASAN_BUILD)/tcpscope
	$(if $(QUICK),TCPSCOPE_QUICK=1) tools/run-checks.sh $(BUILD) unit-asan host-asan

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
selftests: $(KSFT_DIR)/lib.mk $(BUILD)/tcpscope $(BUILD)/churn $(KMOD_KOS)
	$(Q)rm -rf $(KSFT_OUT)
	$(Q)$(MAKE) $(if $(Q),-s) --no-print-directory -C $(KSFT_DIR) TARGETS=tcpscope \
		O=$(abspath $(BUILD)/ksft/obj) KSFT_INSTALL_PATH=$(abspath $(KSFT_OUT)) \
		BUILD=$(abspath $(BUILD)/ksft/obj/kselftest) \
		KSFT_DIR=$(abspath $(KSFT_DIR)) TCPSCOPE=$(abspath $(BUILD)/tcpscope) \
		CHURN=$(abspath $(BUILD)/churn) \
		KMOD_BUILD=$(abspath $(BUILD)/kmod) DEPLOY_RULES=$(abspath deploy/tcpscope-rules.yml) \
		install $(if $(Q),>/dev/null)
	@printf '  %-8s %s\n' KSFT "$(KSFT_OUT)/run_kselftest.sh: $$(tr '\n' ' ' < $(KSFT_OUT)/kselftest-list.txt)"

$(BUILD):
	$(Q)mkdir -p $@

$(BUILD)/vmlinux.h: | $(BUILD)
	$(call msg,GEN,$@)
	$(Q)$(BPFTOOL) btf dump file $(VMLINUX_BTF) format c > $@

$(BUILD)/%.bpf.o: bpf/%.bpf.c bpf/tcpscope.h bpf/lab_tap.h $(wildcard bpf/tcpscope/*.h) $(BUILD)/vmlinux.h
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

# The skeleton's name is the object's (tcpscope.bpf.o -> struct tcpscope_bpf).
$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@

# The loader includes the skeleton; -MMD lists it only after the first build.
$(BUILD)/kernel/tracer.o: $(BPF_SKELS)
$(BUILD)/lab/tap.o: $(BPF_SKELS)

$(BUILD)/%.o: userspace/%.cpp | $(BUILD)
	$(call msg,CXX,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CXX) $(CPPFLAGS) $(CXXFLAGS) -c $< -o $@

$(BUILD)/tcpscope: $(AGENT_OBJS) $(BUILD)/main.o
	$(call msg,LINK,$@)
	$(Q)$(CXX) $(CXXFLAGS) $(LDFLAGS) $^ -o $@ $(LDLIBS)

$(BUILD)/unit_tests: $(AGENT_OBJS) $(UNIT_TEST_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CXX) $(CXXFLAGS) $(LDFLAGS) $^ -o $@ $(LDLIBS) -lgtest -lgtest_main -pthread

# The same sources under AddressSanitizer and UBSan, objects in $(ASAN_BUILD): the first
# error aborts (-fno-sanitize-recover), so a test run that passes had none.
$(ASAN_BUILD)/%.o: userspace/%.cpp $(BPF_SKELS) | $(BUILD)
	$(call msg,CXX-ASAN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CXX) $(CPPFLAGS) $(CXXFLAGS) $(SAN_FLAGS) -c $< -o $@

$(ASAN_BUILD)/unit_tests: $(ASAN_OBJS) $(ASAN_TEST_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CXX) $(CXXFLAGS) $(SAN_FLAGS) $(LDFLAGS) $^ -o $@ $(LDLIBS) -lgtest -lgtest_main \
		-pthread

# `make fuzz`: each harness for FUZZ_SECONDS (default 60) from its seed corpus in
# tools/fuzz/corpus/NAME; tools/fuzz/run.sh reports executions and findings per harness.
fuzz: $(addprefix $(FUZZ_DIR)/fuzz_,$(FUZZ_NAMES))
	tools/fuzz/run.sh $(FUZZ_DIR) $(FUZZ_SECONDS) $(FUZZ_NAMES)

.SECONDARY: $(FUZZ_OBJS) # shared by every harness: kept, though only pattern rules name them

$(FUZZ_DIR)/obj/%.o: userspace/%.cpp | $(BUILD)
	$(call msg,CXX-FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(FUZZ_CXX) $(CPPFLAGS) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_DIR)/fuzz_%: tools/fuzz/fuzz_%.cpp $(FUZZ_OBJS)
	$(call msg,FUZZER,$@)
	$(Q)$(FUZZ_CXX) $(FUZZ_FLAGS) -fsanitize=fuzzer $< $(FUZZ_OBJS) -o $@ -lfmt

$(ASAN_BUILD)/tcpscope: $(ASAN_OBJS) $(ASAN_BUILD)/main.o
	$(call msg,LINK,$@)
	$(Q)$(CXX) $(CXXFLAGS) $(SAN_FLAGS) $(LDFLAGS) $^ -o $@ $(LDLIBS)

# Benchmark programs, not part of `make check`: the loopback churn generator and the
# decode/format micro-benchmark, both run by `make bench`.
$(BUILD)/churn: tools/bench/churn.cpp | $(BUILD)
	$(call msg,CXX,$@)
	$(Q)$(CXX) $(CXXFLAGS) $< -o $@ -pthread

$(BUILD)/format_bench: tools/bench/format_bench.cpp $(AGENT_OBJS) | $(BUILD)
	$(call msg,CXX,$@)
	$(Q)$(CXX) $(CXXFLAGS) $< $(AGENT_OBJS) -o $@ $(LDLIBS) -lbenchmark -pthread

# Installing. VERSION has one source, debian/changelog's first line; the agent, the man pages,
# the DKMS sources and the Debian packages all take it from there.
VERSION     := $(shell head -n 1 debian/changelog | cut -d ' ' -f 2 | tr -d '()')
VERSION_DATE := $(shell date -u -d "$$(sed -n 's/^ -- .*>  //p;T;q' debian/changelog)" +%F)
KREL        := $(shell uname -r)
SBINDIR     ?= $(PREFIX)/sbin
MANDIR      ?= $(PREFIX)/share/man
DOCDIR      ?= $(PREFIX)/share/doc/tcpscope
# systemd's unit directory for /usr is /lib/systemd/system on Debian 12; /usr/local has its own
UNITDIR     ?= $(if $(filter /usr,$(PREFIX)),/lib/systemd/system,$(PREFIX)/lib/systemd/system)
DKMS_SRCDIR := /usr/src/tcpscope-$(VERSION)
# `make install` strips the agent; the Debian build leaves that to dh_strip (the -dbgsym package)
INSTALL_STRIP ?= -s
MAN_PAGES   := tcpscope.8 tcpscope-watch.8 tcpscope-stats.8 tcpscope-serve.8 tcpscope-top.8 \
	       tcpscope-lab.8 \
	       tcpscope-events.7 tcpscope-kernel.7 tcpscope-sysctl.7 tcpscope-deploy.7
DOC_FILES   := README.md $(wildcard Documentation/*.rst Documentation/tcpscope/*.rst)
EXAMPLE_FILES := deploy/prometheus.yml deploy/tcpscope-rules.yml deploy/tcpscope-rules.test.yml \
		 deploy/daemonset.yaml

.PHONY: man install-agent install-kmod install-dkms-src uninstall-dkms deb

# Man pages from the rst in Documentation/ (tools/manpages.py, docutils' manpage writer).
man: $(BUILD)/man/tcpscope.8
$(BUILD)/man/tcpscope.8: tools/manpages.py debian/changelog $(DOC_FILES)
	$(call msg,MAN,$(BUILD)/man)
	$(Q)$(PYTHON) tools/manpages.py --version $(VERSION) --date $(VERSION_DATE) $(BUILD)/man

# `tcpscope --version` says VERSION
$(BUILD)/cli/options.o $(BUILD)/cli/options_test.o $(ASAN_BUILD)/cli/options.o \
$(ASAN_BUILD)/cli/options_test.o $(FUZZ_DIR)/obj/cli/options.o: CPPFLAGS += -DTCPSCOPE_VERSION='"$(VERSION)"'
$(BUILD)/cli/options.o $(BUILD)/cli/options_test.o: debian/changelog

$(BUILD)/tcpscope.service: deploy/tcpscope.service.in | $(BUILD)
	$(call msg,GEN,$@)
	$(Q)sed 's|@SBINDIR@|$(SBINDIR)|g' $< > $@

# Everything: the agent with its man pages, unit and docs, then tcpscope.ko for the running
# kernel when it takes modules and has headers.
install: install-agent install-kmod

install-agent: $(BUILD)/tcpscope $(BUILD)/man/tcpscope.8 $(BUILD)/tcpscope.service
	install -D -m 0755 $(INSTALL_STRIP) $(BUILD)/tcpscope $(DESTDIR)$(SBINDIR)/tcpscope
	install -d $(DESTDIR)$(MANDIR)/man7 $(DESTDIR)$(MANDIR)/man8
	install -m 0644 $(addprefix $(BUILD)/man/,$(filter %.8,$(MAN_PAGES))) $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 $(addprefix $(BUILD)/man/,$(filter %.7,$(MAN_PAGES))) $(DESTDIR)$(MANDIR)/man7/
	install -D -m 0644 $(BUILD)/tcpscope.service $(DESTDIR)$(UNITDIR)/tcpscope.service
	install -d $(DESTDIR)$(DOCDIR)/examples
	install -m 0644 README.md $(DESTDIR)$(DOCDIR)/
	install -m 0644 $(filter Documentation/%,$(DOC_FILES)) $(DESTDIR)$(DOCDIR)/
	install -m 0644 $(EXAMPLE_FILES) $(DESTDIR)$(DOCDIR)/examples/

install-kmod:
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

# The module's sources under /usr/src for DKMS, which rebuilds it for every new kernel;
# install-dkms-src alone is what the tcpscope-dkms package holds (dh_dkms adds dkms.conf).
install-dkms-src:
	install -d $(DESTDIR)$(DKMS_SRCDIR)
	install -m 0644 $(KMOD_SRCS) $(DESTDIR)$(DKMS_SRCDIR)/

install-dkms: install-dkms-src
	sed 's/#MODULE_VERSION#/$(VERSION)/' kmod/dkms.conf > $(DESTDIR)$(DKMS_SRCDIR)/dkms.conf
	@if [ -n "$(DESTDIR)" ] || ! command -v dkms >/dev/null; then \
		echo "install-dkms: sources in $(DESTDIR)$(DKMS_SRCDIR);" \
			"register them with: dkms add -m tcpscope -v $(VERSION)"; \
	else \
		dkms status -m tcpscope -v $(VERSION) | grep -q . || \
			dkms add -m tcpscope -v $(VERSION); \
		if [ -e /lib/modules/$(KREL)/build/Makefile ]; then \
			dkms install -m tcpscope -v $(VERSION) -k $(KREL); \
		else echo "install-dkms: no headers for $(KREL): DKMS builds for kernels installed later"; fi; \
	fi

# What install put in place, and nothing else.
uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/tcpscope $(DESTDIR)$(UNITDIR)/tcpscope.service
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man8/,$(filter %.8,$(MAN_PAGES))) \
	      $(addprefix $(DESTDIR)$(MANDIR)/man7/,$(filter %.7,$(MAN_PAGES)))
	rm -rf $(DESTDIR)$(DOCDIR)
	rm -f $(DESTDIR)/lib/modules/$(KREL)/extra/tcpscope.ko
	if [ -e $(DESTDIR)/lib/modules/$(KREL)/modules.dep ]; then \
		depmod $(if $(DESTDIR),-b $(DESTDIR)) $(KREL); fi

# DKMS's builds for every kernel, then the sources.
uninstall-dkms:
	if [ -z "$(DESTDIR)" ] && command -v dkms >/dev/null && \
			dkms status -m tcpscope -v $(VERSION) | grep -q .; then \
		dkms remove -m tcpscope -v $(VERSION) --all; fi
	rm -rf $(DESTDIR)$(DKMS_SRCDIR)

# The Debian packages (debian/, debhelper): tcpscope, tcpscope-dbgsym and tcpscope-dkms, with
# the source package, built from a copy of the tracked tree in $(BUILD)/deb; then lintian.
DEB_TREE := $(BUILD)/deb/tcpscope-$(VERSION)
deb:
	$(call msg,DEB,$(BUILD)/deb)
	$(Q)rm -rf $(BUILD)/deb && mkdir -p $(DEB_TREE)
	$(Q)git ls-files -z --cached --others --exclude-standard | \
		xargs -0 sh -c 'for f; do [ -e "$$f" ] && printf "%s\0" "$$f"; done' sh | \
		xargs -0 cp --parents -t $(DEB_TREE)
	$(Q)cd $(DEB_TREE) && dpkg-buildpackage -us -uc $(if $(Q),>../build.log 2>&1 || \
		{ tail -n 40 ../build.log; echo "deb: dpkg-buildpackage failed; the log: $(BUILD)/deb/build.log" >&2; exit 1; })
	$(Q)lintian --fail-on error,warning --suppress-tags-from-file /dev/null \
		$(BUILD)/deb/tcpscope_$(VERSION)_*.changes
	@ls $(BUILD)/deb/*.deb $(BUILD)/deb/*.dsc | sed 's/^/  DEB      /'

# One .clang-format for the C++ (top level), a kernel-style one in bpf/.
FORMAT_SRCS := $(wildcard userspace/*.cpp userspace/*/*.cpp userspace/*/*.h tools/bench/*.cpp \
		 tools/fuzz/*.cpp \
		 bpf/*.c bpf/*.h bpf/*/*.h)
format:
	$(Q)clang-format -i $(FORMAT_SRCS)

format-check:
	$(call msg,FORMAT,check $(words $(FORMAT_SRCS)) files)
	$(Q)clang-format --dry-run --Werror $(FORMAT_SRCS)

clean:
	rm -rf $(BUILD)

-include $(wildcard $(BUILD)/*.d $(BUILD)/*/*.d $(ASAN_BUILD)/*.d $(ASAN_BUILD)/*/*.d \
	$(FUZZ_DIR)/*.d $(FUZZ_DIR)/obj/*/*.d)
