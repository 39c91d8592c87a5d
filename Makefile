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
LDLIBS   := $(shell pkg-config --libs libbpf 2>/dev/null || echo -lbpf) -lelf -lz -lfmt

AGENT_SRCS := userspace/error.h userspace/ports.cpp userspace/states.cpp userspace/event.cpp \
	      userspace/format.cpp userspace/options.cpp
LIB_OBJS   := $(patsubst userspace/%.cpp,$(BUILD)/%.o,$(filter %.cpp,$(AGENT_SRCS)))
BPF_OBJS   := $(BUILD)/probe.o $(BUILD)/tracer.o $(BUILD)/watch.o
UNIT_SRCS  := $(wildcard userspace/tests/*.cpp)
UNIT_OBJS  := $(patsubst userspace/tests/%.cpp,$(BUILD)/tests/%.o,$(UNIT_SRCS))

.PHONY: all deps run check test-unit test-host install uninstall format format-check clean

all: $(BUILD)/tcpscope

deps:
	@tools/install-deps.sh

# The main job: watch every TCP state change on this host until Ctrl-C.
run: deps all
	$(BUILD)/tcpscope watch

# Every test. Host tests need root and a kernel with BPF + BTF.
check: deps all $(BUILD)/unit_tests
	tools/run-checks.sh $(BUILD) $(PYTHON)

test-unit: $(BUILD)/unit_tests
	$(BUILD)/unit_tests

# Host tests alone; QUICK=1 leaves out the 60 s TIME_WAIT expiry test.
test-host: $(BUILD)/tcpscope
	$(PYTHON) selftests/tcpscope/observer_test.py --tcpscope $(BUILD)/tcpscope $(if $(QUICK),--quick)

$(BUILD) $(BUILD)/tests:
	mkdir -p $@

$(BUILD)/vmlinux.h: | $(BUILD)
	$(BPFTOOL) btf dump file $(VMLINUX_BTF) format c > $@.tmp && mv $@.tmp $@

$(BUILD)/tcpscope.bpf.o: bpf/tcpscope.bpf.c bpf/tcpscope.h $(BUILD)/vmlinux.h
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/tcpscope.skel.h: $(BUILD)/tcpscope.bpf.o
	$(BPFTOOL) gen skeleton $< name tcpscope_bpf > $@.tmp && mv $@.tmp $@

$(BUILD)/tracer.o: $(BUILD)/tcpscope.skel.h

$(BUILD)/%.o: userspace/%.cpp | $(BUILD)
	$(CXX) $(CXXFLAGS) -c $< -o $@

$(BUILD)/tests/%.o: userspace/tests/%.cpp | $(BUILD)/tests
	$(CXX) $(CXXFLAGS) -c $< -o $@

$(BUILD)/tcpscope: $(LIB_OBJS) $(BPF_OBJS) $(BUILD)/main.o
	$(CXX) $(CXXFLAGS) $^ -o $@ $(LDLIBS)

$(BUILD)/unit_tests: $(LIB_OBJS) $(BUILD)/watch.o $(BUILD)/tracer.o $(BUILD)/probe.o $(UNIT_OBJS)
	$(CXX) $(CXXFLAGS) $^ -o $@ $(LDLIBS) -lgtest -lgtest_main -pthread

install: $(BUILD)/tcpscope
	install -D -m 0755 $(BUILD)/tcpscope $(DESTDIR)$(PREFIX)/sbin/tcpscope

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/sbin/tcpscope

FORMAT_SRCS := $(wildcard userspace/*.cpp userspace/*.h userspace/tests/*.cpp bpf/*.c bpf/*.h)
format:
	clang-format -i $(FORMAT_SRCS)

format-check:
	clang-format --dry-run --Werror $(FORMAT_SRCS)

clean:
	rm -rf $(BUILD)

-include $(wildcard $(BUILD)/*.d $(BUILD)/tests/*.d)
