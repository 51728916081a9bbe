# gtr - gateways, tunnels and relays for HTTP.
#
# make              build bin/* (warnings are errors)
# make check        install what the tests need (as root), build, run bats
# make check SANITIZE=1   the same with AddressSanitizer and UBSan
# make demo         a small loopback scene, driven with curl
# make bench        each program side by side with its peers
# make fuzz         libFuzzer harness for the HTTP parser (clang)
# make install      PREFIX=/usr/local DESTDIR= MANPREFIX=$(PREFIX)/share/man

VERSION	= 0.1.0
PREFIX	= /usr/local
MANPREFIX = $(PREFIX)/share/man
DESTDIR	=

CC	?= cc
OPT	= -O2
CFLAGS	= $(OPT) -g -std=c11 -Wall -Wextra -Werror -pthread \
	  -D_GNU_SOURCE -DGTR_VERSION='"$(VERSION)"' -Icommon
LDFLAGS	= -pthread
SANITIZE =
ifeq ($(SANITIZE),1)
OPT	= -O1
CFLAGS	+= -fsanitize=address,undefined -fno-omit-frame-pointer \
	  -fno-sanitize-recover=undefined
LDFLAGS	+= -fsanitize=address,undefined
endif

PKG_CONFIG ?= pkg-config
CURL_CFLAGS = $(shell $(PKG_CONFIG) --cflags libcurl 2>/dev/null)
CURL_LIBS   = $(shell $(PKG_CONFIG) --libs libcurl 2>/dev/null)
SSL_CFLAGS  = $(shell $(PKG_CONFIG) --cflags openssl 2>/dev/null)
SSL_LIBS    = $(shell $(PKG_CONFIG) --libs openssl 2>/dev/null)
CFLAGS	+= $(CURL_CFLAGS) $(SSL_CFLAGS)

# What each program links besides libgtr.
LIBS_connectd	= -lcrypt
LIBS_relayd	=
LIBS_cgid	= -lcrypt
LIBS_httpftpd	= $(CURL_LIBS)
LIBS_tlswrapd	= $(CURL_LIBS) $(SSL_LIBS)
LIBS_tlsstripd	= $(SSL_LIBS)

PROGS	= $(notdir $(wildcard cmd/*))
BINS	= $(PROGS:%=bin/%)
MANS	= $(wildcard man/man7/*.7 man/man8/*.8)

COMMON_SRC = $(wildcard common/*.c)
COMMON_OBJ = $(COMMON_SRC:%.c=build/%.o)
UNIT_SRC   = $(wildcard tests/unit/*_test.c)
UNITS	   = $(UNIT_SRC:tests/unit/%.c=build/unit/%)

all: $(BINS) bench-tools

# Rebuild everything when the flags change (SANITIZE=1 and back).
build/.flags: FORCE
	@mkdir -p build
	@echo '$(CC) $(CFLAGS) $(LDFLAGS)' | cmp -s - $@ || \
	    echo '$(CC) $(CFLAGS) $(LDFLAGS)' > $@

build/%.o: %.c build/.flags
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

build/libgtr.a: $(COMMON_OBJ)
	rm -f $@
	ar rcs $@ $^

.SECONDEXPANSION:
bin/%: $$(patsubst %.c,build/%.o,$$(wildcard cmd/$$*/*.c)) build/libgtr.a
	@mkdir -p bin
	$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) build/libgtr.a $(LIBS_$*)

build/unit/%: tests/unit/%.c build/libgtr.a
	@mkdir -p build/unit
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< build/libgtr.a $(CURL_LIBS) $(SSL_LIBS) -lcrypt

units: $(UNITS)

BENCH_SRC = $(wildcard bench/*.c)
BENCH_BIN = $(BENCH_SRC:bench/%.c=build/bench/%)
bench-tools: $(BENCH_BIN)
build/bench/%: bench/%.c
	@mkdir -p build/bench
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $<

deps:
	@tests/helpers/deps.sh

check: deps
	$(MAKE) all units
	@tests/run

demo: deps
	$(MAKE) all
	@contrib/demo.sh

bench: deps
	$(MAKE) all OPT=-O2
	@bench/run

fuzz:
	@mkdir -p build/fuzz
	clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE \
	    -Icommon -o build/fuzz/http_fuzz tests/fuzz/http_fuzz.c \
	    common/http.c common/log.c
	build/fuzz/http_fuzz -max_total_time=$${FUZZ_SECONDS:-60} \
	    tests/fuzz/corpus

install: all
	mkdir -p $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(MANPREFIX)/man7 \
	    $(DESTDIR)$(MANPREFIX)/man8
	for p in $(BINS); do install -m 755 $$p $(DESTDIR)$(PREFIX)/bin/; done
	for m in $(wildcard man/man7/*.7); do \
	    install -m 644 $$m $(DESTDIR)$(MANPREFIX)/man7/; done
	for m in $(wildcard man/man8/*.8); do \
	    install -m 644 $$m $(DESTDIR)$(MANPREFIX)/man8/; done

uninstall:
	for p in $(PROGS); do rm -f $(DESTDIR)$(PREFIX)/bin/$$p; \
	    rm -f $(DESTDIR)$(MANPREFIX)/man8/$$p.8; done
	rm -f $(DESTDIR)$(MANPREFIX)/man7/gtr.7

lint:
	mandoc -Tlint -Wwarning $(MANS)

clean:
	rm -rf bin build

FORCE:
.PHONY: all check demo bench fuzz install uninstall lint clean deps units \
	bench-tools FORCE

-include $(shell find build -name '*.d' 2>/dev/null)
