# xlb build: BPF objects -> skeletons -> user objects -> binaries and tests, all
# outputs under .output/. `make help` lists the targets; V=1 shows full commands.

OUTPUT := .output
ARCH := x86
CLANG ?= clang
BPFTOOL ?= bpftool
CC ?= gcc
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo unknown)

# Debian packages, by what needs them; each step installs only the missing ones.
# DEPS: building and running xlb (an agent that builds xlb gets nothing else;
# ca-certificates so xlbd can trust a Marathon whose certificate a public CA signed).
# DEMO_DEPS: the demo's labs (namespaces, veths, requests; the cluster lab's
# container NAT with nftables, its agents' player in Python). TEST_DEPS: the test
# suites (cmocka, the fuzzers' sanitizer runtime, valgrind, tmux, jq). BENCH_DEPS:
# the programs compared with xlb and the load generator; on a host with systemd,
# Debian starts nginx and HAProxy once installed, so only `make bench` brings them.
DEPS := clang llvm gcc make libbpf-dev libelf-dev zlib1g-dev bpftool libjansson-dev \
	libcurl4-openssl-dev libmicrohttpd-dev ca-certificates
DEMO_DEPS := $(DEPS) iproute2 ethtool curl procps jq nftables python3
TEST_DEPS := $(DEMO_DEPS) libcmocka-dev libclang-rt-14-dev valgrind tmux util-linux openssl
BENCH_DEPS := $(TEST_DEPS) wrk nginx haproxy

BPF_CFLAGS := -O2 -g -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) -Ivmlinux/$(ARCH) -Iinclude \
	-Wall -Wextra -Werror -Wno-unused-parameter -Wno-compare-distinct-pointer-types
CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wno-unused-parameter \
	-Iinclude -Iuser/lib -I$(OUTPUT) -DXLB_VERSION='"$(VERSION)"'
LDLIBS := -lbpf -lelf -lz -ljansson -lcurl -lm

ifeq ($(SAN),1)
CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer
LDFLAGS += -fsanitize=address,undefined
endif

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_HDRS := $(wildcard bpf/*.h) $(wildcard include/xlb/*.h) Makefile
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(OUTPUT)/bpf/%.bpf.o,$(BPF_SRCS))
SKELS := $(patsubst bpf/%.bpf.c,$(OUTPUT)/%.skel.h,$(BPF_SRCS))

LIB_SRCS := $(wildcard user/lib/*.c)
LIB_OBJS := $(patsubst user/lib/%.c,$(OUTPUT)/lib/%.o,$(LIB_SRCS))
LIB := $(OUTPUT)/libxlb.a
USER_HDRS := $(wildcard user/lib/*.h) $(wildcard include/xlb/*.h)

# Each tests/unit/test_NAME.c is one cmocka binary; tests/bpf/*.c together are the
# BPF_PROG_TEST_RUN suite; tests/lib/*.c is shared by both.
TLIB_SRCS := $(wildcard tests/lib/*.c)
TLIB_OBJS := $(patsubst tests/lib/%.c,$(OUTPUT)/tests/lib/%.o,$(TLIB_SRCS))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(OUTPUT)/tests/%,$(UNIT_SRCS))
BPFT_SRCS := $(wildcard tests/bpf/*.c)
BPFT_BIN := $(if $(BPFT_SRCS),$(OUTPUT)/tests/test_bpf)

# Each tools/NAME/*.c, tests/doubles/NAME/*.c and bench/NAME/*.c directory is one binary
# of that name. tools/ holds what ships with xlb; tests/doubles/ the test doubles (the
# Marathon stand-in, the lab's traffic ends, the counter filler), never installed. Both
# build to $(OUTPUT)/NAME, where the scripts look for them.
TOOL_DIRS := $(patsubst tools/%/,%,$(sort $(dir $(wildcard tools/*/*.c))))
TOOL_BINS := $(addprefix $(OUTPUT)/,$(TOOL_DIRS))
DOUBLE_DIRS := $(patsubst tests/doubles/%/,%,$(sort $(dir $(wildcard tests/doubles/*/*.c))))
DOUBLE_BINS := $(addprefix $(OUTPUT)/,$(DOUBLE_DIRS))
BENCH_DIRS := $(patsubst bench/%/,%,$(sort $(dir $(wildcard bench/*/*.c))))
BENCH_BINS := $(addprefix $(OUTPUT)/bench/,$(BENCH_DIRS))
# The BPF suite's case tables and the frame a row describes (tests/bpf/cases*.c), with
# the packet library, as one archive for the benchmark and the test doubles: a packet
# case is written once, in the suite, which also checks what the data plane makes of it.
CASE_SRCS := $(wildcard tests/bpf/cases*.c)
CASE_OBJS := $(patsubst tests/bpf/%.c,$(OUTPUT)/tests/cases/%.o,$(CASE_SRCS)) \
	$(OUTPUT)/tests/lib/pkt.o
CASE_LIB := $(OUTPUT)/tests/libcases.a
CASE_INC := -Itests/lib -Itests/bpf
DAEMON_SRCS := $(wildcard user/xlbd/*.c)
DAEMON_BIN := $(if $(DAEMON_SRCS),$(OUTPUT)/xlbd)

.DELETE_ON_ERROR:
.SECONDARY: $(BPF_OBJS)
.PHONY: all doubles testbins deps demo-deps test-deps bench-deps test bench demo install clean help vmlinux \
	bpffs

# all: what ships (xlbd, the tools) and needs only DEPS; doubles: the test doubles
# the demo and the tests run (the Marathon stand-in, labnet, lbstat-testgen, synflood);
# testbins: those, the tests, fuzzers and benchmarks, which need TEST_DEPS
# (cmocka, clang's sanitizer runtime).
all: $(SKELS) $(LIB) $(DAEMON_BIN) $(TOOL_BINS)
doubles: $(DOUBLE_BINS)
testbins: all doubles $(UNIT_BINS) $(BPFT_BIN) $(BENCH_BINS)

help:
	@echo 'xlb targets:'
	@echo '  all (default)  build the BPF objects, libxlb, xlbd and the tools into $(OUTPUT)/ (needs deps)'
	@echo '  doubles        the test doubles: marathon-sim, labnet, lbstat-testgen, synflood'
	@echo '  testbins       all + doubles + the tests, fuzzers and benchmarks (needs test-deps)'
	@echo '  deps           apt-get install what building and running xlb needs (DEPS)'
	@echo '  demo-deps      deps + what the demo labs need (iproute2, ethtool, curl, jq, nftables, python3)'
	@echo '  test-deps      demo-deps + what the tests need (cmocka, valgrind, tmux, sanitizers)'
	@echo '  bench-deps     test-deps + what the benchmarks compare with (nginx, HAProxy, wrk)'
	@echo '  test           test-deps + testbins + every test (unit, BPF_PROG_TEST_RUN, CLI, end-to-end)'
	@echo '  bench          bench-deps + testbins + benchmarks (QUICK=1 for a short run)'
	@echo '  fuzz           test-deps + testbins + libFuzzer targets (FUZZ_TIME s each) + BPF packet fuzzer (FUZZ_PKTS)'
	@echo '  demo           demo-deps + all + the test doubles + the demo'
	@echo '  install        install binaries under $$(PREFIX) (default /usr/local)'
	@echo '  vmlinux        regenerate vmlinux/$(ARCH)/vmlinux.h from the running kernel'
	@echo '  clean          remove $(OUTPUT)/'
	@echo 'variables: V=1 (full commands), SAN=1 (ASan+UBSan), T=PATTERN (test filter)'

# $(call apt_install,PACKAGES): apt-get installs those of PACKAGES that are missing.
define apt_install
	@missing=$$(for p in $(1); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; \
	done); \
	if [ -n "$$missing" ]; then \
		echo "$@: installing:" $$missing; \
		if [ "$$(id -u)" != 0 ]; then echo "$@: need root to install packages" >&2; exit 1; fi; \
		DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi
endef

deps:
	$(call apt_install,$(DEPS))
demo-deps:
	$(call apt_install,$(DEMO_DEPS))
test-deps:
	$(call apt_install,$(TEST_DEPS))
bench-deps:
	$(call apt_install,$(BENCH_DEPS))

vmlinux:
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > vmlinux/$(ARCH)/vmlinux.h

$(OUTPUT) $(OUTPUT)/bpf $(OUTPUT)/lib $(OUTPUT)/tests $(OUTPUT)/tests/lib $(OUTPUT)/bench \
$(OUTPUT)/tests/cases $(OUTPUT)/obj:
	$(Q)mkdir -p $@

$(OUTPUT)/bpf/%.bpf.o: bpf/%.bpf.c $(BPF_HDRS) | $(OUTPUT)/bpf
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUTPUT)/%.skel.h: $(OUTPUT)/bpf/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@

$(OUTPUT)/lib/%.o: user/lib/%.c $(USER_HDRS) $(SKELS) | $(OUTPUT)/lib
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(OUTPUT)/tests/lib/%.o: tests/lib/%.c $(wildcard tests/lib/*.h) $(USER_HDRS) $(SKELS) \
		| $(OUTPUT)/tests/lib
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Itests/lib -c $< -o $@

$(OUTPUT)/tests/test_%: tests/unit/test_%.c $(TLIB_OBJS) $(LIB) $(wildcard tests/lib/*.h) \
		| $(OUTPUT)/tests
	$(call msg,TEST,$@)
	$(Q)$(CC) $(CFLAGS) -Itests/lib $(LDFLAGS) $< $(TLIB_OBJS) $(LIB) $(LDLIBS) -lcmocka -o $@

$(OUTPUT)/tests/test_bpf: $(BPFT_SRCS) $(wildcard tests/bpf/*.h) $(TLIB_OBJS) $(LIB) \
		$(wildcard tests/lib/*.h) | $(OUTPUT)/tests
	$(call msg,TEST,$@)
	$(Q)$(CC) $(CFLAGS) -Itests/lib -Itests/bpf $(LDFLAGS) $(BPFT_SRCS) $(TLIB_OBJS) $(LIB) \
		$(LDLIBS) -lcmocka -o $@

$(OUTPUT)/tests/cases/%.o: tests/bpf/%.c $(wildcard tests/bpf/cases*.h) \
		$(wildcard tests/lib/*.h) $(USER_HDRS) | $(OUTPUT)/tests/cases
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(CASE_INC) -c $< -o $@

$(CASE_LIB): $(CASE_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

.SECONDEXPANSION:
$(OUTPUT)/xlbd: $(DAEMON_SRCS) $(wildcard user/xlbd/*.h) $(LIB) | $(OUTPUT)
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(CFLAGS) -Iuser/xlbd $(LDFLAGS) $(DAEMON_SRCS) $(LIB) $(LDLIBS) -lmicrohttpd -o $@

$(TOOL_BINS): $(OUTPUT)/%: $$(wildcard tools/%/*.c) $$(wildcard tools/%/*.h) $(LIB) | $(OUTPUT)
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(CFLAGS) -Itools/$* $(LDFLAGS) $(filter %.c,$^) $(LIB) $(LDLIBS) -lmicrohttpd -o $@

# Test doubles and benchmarks may use the suite's cases (CASE_LIB); benchmarks also
# include bpf/xlb_bench.h, the bench wrapper program's configuration.
$(DOUBLE_BINS): $(OUTPUT)/%: $$(wildcard tests/doubles/%/*.c) $$(wildcard tests/doubles/%/*.h) \
		$(CASE_LIB) $(LIB) | $(OUTPUT)
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(CFLAGS) -Itests/doubles/$* $(CASE_INC) $(LDFLAGS) $(filter %.c,$^) $(CASE_LIB) \
		$(LIB) $(LDLIBS) -lmicrohttpd -o $@

$(BENCH_BINS): $(OUTPUT)/bench/%: $$(wildcard bench/%/*.c) $$(wildcard bench/%/*.h) \
		bpf/xlb_bench.h $(CASE_LIB) $(LIB) | $(OUTPUT)/bench
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(CFLAGS) -Ibench/$* $(CASE_INC) -Ibpf $(LDFLAGS) $(filter %.c,$^) $(CASE_LIB) \
		$(LIB) $(LDLIBS) -o $@

# Fuzzing: fuzz/NAME_fuzz.c are libFuzzer targets (ASan + UBSan) over a copy of
# libxlb built with the same sanitizers into $(OUTPUT)/fuzz/lib/, seeded from the
# committed fuzz/corpus/NAME/; fuzz/bpf_pktfuzz.c feeds the XDP and TC programs
# random and mutated packets through BPF_PROG_TEST_RUN. `make fuzz` runs each
# target FUZZ_TIME seconds and FUZZ_PKTS packets; `make test` runs a short smoke.
FUZZ_CC ?= clang
FUZZ_TIME ?= 120
FUZZ_PKTS ?= 1000000
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CFLAGS := $(filter-out -O2 -O3,$(CFLAGS)) -O1 $(FUZZ_SAN)
FUZZ_SRCS := $(wildcard fuzz/*_fuzz.c)
FUZZ_BINS := $(patsubst fuzz/%.c,$(OUTPUT)/fuzz/%,$(FUZZ_SRCS))
FUZZ_LIB_OBJS := $(patsubst user/lib/%.c,$(OUTPUT)/fuzz/lib/%.o,$(LIB_SRCS))
FUZZ_LIB := $(OUTPUT)/fuzz/libxlb.a
PKTFUZZ := $(if $(wildcard fuzz/bpf_pktfuzz.c),$(OUTPUT)/fuzz/bpf_pktfuzz)

.PHONY: fuzz fuzz-build
testbins: fuzz-build
fuzz-build: $(FUZZ_BINS) $(PKTFUZZ)

$(OUTPUT)/fuzz/lib/%.o: user/lib/%.c $(USER_HDRS) $(SKELS)
	$(call msg,FUZZ-CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_LIB): $(FUZZ_LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(OUTPUT)/fuzz/%_fuzz: fuzz/%_fuzz.c fuzz/fuzz.h $(FUZZ_LIB)
	$(call msg,FUZZ,$@)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $< $(FUZZ_LIB) $(LDLIBS) -o $@

# The packet fuzzer reuses the BPF suite's fixture (netns, services) and packet builder.
$(PKTFUZZ): fuzz/bpf_pktfuzz.c tests/bpf/fixture.c tests/bpf/suite.h $(TLIB_SRCS) \
		$(wildcard tests/lib/*.h) $(LIB)
	$(call msg,FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -Itests/lib -Itests/bpf fuzz/bpf_pktfuzz.c tests/bpf/fixture.c \
		$(TLIB_SRCS) $(LIB) $(LDLIBS) -lcmocka -o $@

fuzz: test-deps
	$(Q)$(MAKE) --no-print-directory testbins
	$(Q)$(MAKE) --no-print-directory bpffs
	$(Q)OUTPUT=$(OUTPUT) FUZZ_TIME=$(FUZZ_TIME) FUZZ_PKTS=$(FUZZ_PKTS) fuzz/run.sh full

bpffs:
	@mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf

test: test-deps
	$(Q)$(MAKE) --no-print-directory testbins
	$(Q)$(MAKE) --no-print-directory bpffs
	$(Q)OUTPUT=$(OUTPUT) T='$(T)' tests/run.sh

bench: bench-deps
	$(Q)$(MAKE) --no-print-directory testbins
	$(Q)$(MAKE) --no-print-directory bpffs
	$(Q)OUTPUT=$(OUTPUT) QUICK='$(QUICK)' bench/run.sh

demo: demo-deps
	$(Q)$(MAKE) --no-print-directory all doubles
	$(Q)$(MAKE) --no-print-directory bpffs
	$(Q)OUTPUT=$(OUTPUT) tools/demo.sh

PREFIX ?= /usr/local
install: all
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin
	$(if $(DAEMON_BIN),install -m 0755 $(DAEMON_BIN) $(DESTDIR)$(PREFIX)/sbin/)
	$(if $(wildcard $(OUTPUT)/lbstat),install -m 0755 $(OUTPUT)/lbstat $(DESTDIR)$(PREFIX)/bin/)
	$(if $(wildcard $(OUTPUT)/xlbdump),install -m 0755 $(OUTPUT)/xlbdump $(DESTDIR)$(PREFIX)/bin/)
	install -d $(DESTDIR)$(PREFIX)/share/man/man8 $(DESTDIR)/etc/xlbd
	install -m 0644 docs/lbstat.8 $(DESTDIR)$(PREFIX)/share/man/man8/
	install -m 0644 docs/xlbd.example.json $(DESTDIR)/etc/xlbd/xlbd.example.json
	install -d $(DESTDIR)/etc/systemd/system
	install -m 0644 etc/xlbd.service $(DESTDIR)/etc/systemd/system/

clean:
	$(call msg,CLEAN,$(OUTPUT))
	$(Q)rm -rf $(OUTPUT)
