# gtr - gateways, tunnels and relays for HTTP.
#
# make              build bin/* (warnings are errors)
# make check        install what the tests need (as root), build, run bats
# make check SANITIZE=1   the same with AddressSanitizer and UBSan
# make demo         a small loopback scene, driven with curl
# make bench        each program side by side with its peers
# make fuzz         libFuzzer harnesses for every parser of untrusted
#                   bytes (clang), FUZZ_SECONDS=60 each
# make lint         layering rules and mandoc -Tlint (tests/lint)
# make install      programs (stripped; STRIP= keeps symbols), manual pages,
#                   systemd units, inetd.conf and README under PREFIX
#                   (/usr/local), in DESTDIR; make uninstall removes them
# make deb          the Debian package (debian/), built by dpkg-buildpackage
#                   in a copy of the tree, into DEBDIR (build/deb)

VERSION	= 0.1.0
PREFIX	= /usr/local
BINDIR	= $(PREFIX)/bin
MANPREFIX = $(PREFIX)/share/man
SYSTEMDUNITDIR = $(PREFIX)/lib/systemd/system
DOCDIR	= $(PREFIX)/share/doc/gtr
DESTDIR	=
# install's flag for the programs: -s strips them; STRIP= keeps the
# symbols (for a debugger, or a package that strips them itself).
STRIP	= -s

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

# Where objects and programs go: helpers building side by side in one
# tree pass their own B= and BIN=.
B	= build
BIN	= bin

PKG_CONFIG ?= pkg-config
CURL_CFLAGS = $(shell $(PKG_CONFIG) --cflags libcurl 2>/dev/null)
CURL_LIBS   = $(shell $(PKG_CONFIG) --libs libcurl 2>/dev/null)
SSL_CFLAGS  = $(shell $(PKG_CONFIG) --cflags openssl 2>/dev/null)
SSL_LIBS    = $(shell $(PKG_CONFIG) --libs openssl 2>/dev/null)

# OpenSSL and libcurl only for the code that uses them (tests/lint checks
# the includes; these keep the flags to the same places).
$(B)/cmd/tlsstripd/%.o: CFLAGS += $(SSL_CFLAGS)
$(B)/cmd/tlswrapd/%.o: CFLAGS += $(CURL_CFLAGS) $(SSL_CFLAGS)
$(B)/cmd/httpftpd/%.o $(B)/common/curlshare.o: CFLAGS += $(CURL_CFLAGS)

# What each program links besides libgtr.
LIBS_connectd	= -lcrypt
LIBS_relayd	=
LIBS_cgid	= -lcrypt
LIBS_httpftpd	= $(CURL_LIBS)
LIBS_tlswrapd	= $(CURL_LIBS) $(SSL_LIBS)
LIBS_tlsstripd	= $(SSL_LIBS)

PROGS	= $(notdir $(wildcard cmd/*))
BINS	= $(PROGS:%=$(BIN)/%)
MANS	= $(wildcard man/man7/*.7 man/man8/*.8)

COMMON_SRC = $(wildcard common/*.c)
COMMON_OBJ = $(COMMON_SRC:%.c=$(B)/%.o)
UNIT_SRC   = $(wildcard tests/unit/*_test.c)
UNITS	   = $(UNIT_SRC:tests/unit/%.c=$(B)/unit/%)

all: $(BINS) bench-tools

# Rebuild everything when the flags change (SANITIZE=1 and back).
$(B)/.flags: FORCE
	@mkdir -p $(B)
	@echo '$(CC) $(CFLAGS) $(LDFLAGS)' | cmp -s - $@ || \
	    echo '$(CC) $(CFLAGS) $(LDFLAGS)' > $@

$(B)/%.o: %.c $(B)/.flags
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

$(B)/libgtr.a: $(COMMON_OBJ)
	rm -f $@
	ar rcs $@ $^

# The objects of one program; a function, because a % inside a pattern
# rule's prerequisites would be taken for the stem.
prog_objs = $(patsubst %.c,$(B)/%.o,$(wildcard cmd/$(1)/*.c))

.SECONDEXPANSION:
$(BIN)/%: $$(call prog_objs,$$*) $(B)/libgtr.a
	@mkdir -p $(BIN)
	$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(B)/libgtr.a $(LIBS_$*)

$(B)/unit/%: tests/unit/%.c $(B)/libgtr.a
	@mkdir -p $(B)/unit
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(filter %.o,$^) $(B)/libgtr.a \
	    $(CURL_LIBS) $(SSL_LIBS) -lcrypt

# The pool of libcurl handles is httpftpd's own; so is its unit test.
$(B)/unit/curlpool_test: $(B)/cmd/httpftpd/curlpool.o
$(B)/unit/curlpool_test: CFLAGS += -Icmd/httpftpd $(CURL_CFLAGS)

# httpftpd's parsers of listings, targets and credentials.
$(B)/unit/ftpparse_test: $(B)/cmd/httpftpd/listing.o $(B)/cmd/httpftpd/target.o
$(B)/unit/ftpparse_test: CFLAGS += -Icmd/httpftpd $(CURL_CFLAGS)

# tlsstripd writes PROXY headers; the round-trip test reads them back.
$(B)/unit/proxyproto_test: $(B)/cmd/tlsstripd/proxyhdr.o
$(B)/unit/proxyproto_test: CFLAGS += -Icmd/tlsstripd

units: $(UNITS)

BENCH_SRC = $(wildcard bench/*.c)
BENCH_BIN = $(BENCH_SRC:bench/%.c=$(B)/bench/%)
bench-tools: $(BENCH_BIN)
$(B)/bench/%: bench/%.c
	@mkdir -p $(B)/bench
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $<

deps:
	@tests/helpers/deps.sh

check: deps
	$(MAKE) all units
	@GTR_BIN=$(CURDIR)/$(BIN) GTR_BUILD=$(CURDIR)/$(B) tests/run

demo: deps
	$(MAKE) all
	@GTR_BIN=$(CURDIR)/$(BIN) contrib/demo.sh

bench: deps
	$(MAKE) all OPT=-O2
	@GTR_BIN=$(CURDIR)/$(BIN) GTR_BUILD=$(CURDIR)/$(B) bench/run

# libFuzzer harnesses (clang), one per parser of bytes a client, a server
# or a file controls: tests/fuzz/NAME_fuzz.c, with the cmd/ files it
# tests in FUZZ_SRC_NAME, linked against libgtr built for fuzzing.  Each
# runs FUZZ_SECONDS from the seeds in tests/fuzz/corpus/NAME/ (with the
# words in tests/fuzz/NAME.dict) and keeps what it finds in
# $(B)/fuzz/corpus/NAME/; FUZZERS= picks some.
FUZZ_CC	= clang
FUZZ_SECONDS ?= 60
FUZZ_FLAGS = -g -O1 -fsanitize=address,undefined -fno-sanitize-recover=all \
	  -fno-omit-frame-pointer -std=c11 -Wall -Wextra -Werror -pthread \
	  -D_GNU_SOURCE -DGTR_FUZZ -DGTR_VERSION='"$(VERSION)"' -Icommon \
	  $(CURL_CFLAGS) $(SSL_CFLAGS)
ALL_FUZZERS = $(patsubst tests/fuzz/%_fuzz.c,%,$(wildcard tests/fuzz/*_fuzz.c))
FUZZERS	= $(ALL_FUZZERS)
FUZZ_SRC_proxy	   = cmd/tlsstripd/proxyhdr.c
FUZZ_SRC_listing   = cmd/httpftpd/listing.c cmd/httpftpd/target.c
FUZZ_SRC_target	   = cmd/httpftpd/target.c
FUZZ_SRC_cgi	   = cmd/cgid/response.c
FUZZ_SRC_forwarded = cmd/tlsstripd/forwarded.c
FUZZ_OBJ_COMMON = $(COMMON_SRC:%.c=$(B)/fuzz/obj/%.o)
fuzz_objs = $(patsubst %.c,$(B)/fuzz/obj/%.o,$(FUZZ_SRC_$(1)))

$(B)/fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link $(FUZZ_INC) -MMD -MP \
	    -c -o $@ $<

$(B)/fuzz/libgtr.a: $(FUZZ_OBJ_COMMON)
	rm -f $@
	ar rcs $@ $^

$(B)/fuzz/%_fuzz: $(B)/fuzz/obj/tests/fuzz/%_fuzz.o \
    $$(call fuzz_objs,$$*) $(B)/fuzz/libgtr.a
	$(FUZZ_CC) -fsanitize=fuzzer,address,undefined -o $@ $(filter %.o,$^) \
	    $(B)/fuzz/libgtr.a $(CURL_LIBS) $(SSL_LIBS) -lcrypt -pthread

# A harness sees the headers of the programs whose files it tests.
$(B)/fuzz/obj/tests/fuzz/%.o: FUZZ_INC = -Icmd/cgid -Icmd/httpftpd \
    -Icmd/tlsstripd

fuzz-build: $(ALL_FUZZERS:%=$(B)/fuzz/%_fuzz)

fuzz: fuzz-build
	@for f in $(FUZZERS); do \
	    mkdir -p $(B)/fuzz/corpus/$$f && \
	    echo "fuzz: $$f for $(FUZZ_SECONDS)s" && \
	    dict=; [ -f tests/fuzz/$$f.dict ] && dict=-dict=tests/fuzz/$$f.dict; \
	    $(B)/fuzz/$${f}_fuzz -max_total_time=$(FUZZ_SECONDS) -timeout=10 \
		-print_final_stats=1 -artifact_prefix=$(B)/fuzz/$$f- $$dict \
		$(B)/fuzz/corpus/$$f tests/fuzz/corpus/$$f || exit 1; \
	done

# The units and inetd.conf name the programs as @BINDIR@/NAME.
UNITFILES = $(notdir $(wildcard contrib/systemd/*.socket \
	    contrib/systemd/*.service))
SUBST_BINDIR = sed 's|@BINDIR@|$(BINDIR)|g'
# Recipes installed as they are, under DOCDIR/examples.
EXAMPLES = haproxy/haproxy.cfg fail2ban/filter.d/gtr-auth.conf \
	    fail2ban/jail.d/gtr-auth.conf

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANPREFIX)/man7 \
	    $(DESTDIR)$(MANPREFIX)/man8 $(DESTDIR)$(SYSTEMDUNITDIR) \
	    $(DESTDIR)$(DOCDIR)
	for p in $(BINS); do \
	    install $(STRIP) -m 755 $$p $(DESTDIR)$(BINDIR)/; done
	for m in $(MANS:man/%=%); do \
	    install -m 644 man/$$m $(DESTDIR)$(MANPREFIX)/$$m; done
	for u in $(UNITFILES); do \
	    $(SUBST_BINDIR) "contrib/systemd/$$u" \
		> "$(DESTDIR)$(SYSTEMDUNITDIR)/$$u" && \
	    chmod 644 "$(DESTDIR)$(SYSTEMDUNITDIR)/$$u" || exit 1; done
	$(SUBST_BINDIR) contrib/inetd.conf > $(DESTDIR)$(DOCDIR)/inetd.conf
	chmod 644 $(DESTDIR)$(DOCDIR)/inetd.conf
	install -m 644 README.md $(DESTDIR)$(DOCDIR)/
	for e in $(EXAMPLES); do \
	    install -D -m 644 "contrib/$$e" \
		"$(DESTDIR)$(DOCDIR)/examples/$$e" || exit 1; done

uninstall:
	for p in $(PROGS); do rm -f $(DESTDIR)$(BINDIR)/$$p; done
	for m in $(MANS:man/%=%); do rm -f $(DESTDIR)$(MANPREFIX)/$$m; done
	for u in $(UNITFILES); do \
	    rm -f "$(DESTDIR)$(SYSTEMDUNITDIR)/$$u"; done
	rm -f $(DESTDIR)$(DOCDIR)/inetd.conf $(DESTDIR)$(DOCDIR)/README.md
	for e in $(EXAMPLES); do rm -f "$(DESTDIR)$(DOCDIR)/examples/$$e"; done
	for d in fail2ban/filter.d fail2ban/jail.d fail2ban haproxy ""; do \
	    rmdir "$(DESTDIR)$(DOCDIR)/examples/$$d" 2>/dev/null || true; done
	rmdir $(DESTDIR)$(DOCDIR) 2>/dev/null || true

# The .deb is built in a copy of the tree (the files git tracks or would
# track, or without git everything but the builds) under DEBDIR: the work
# tree and its build stay as they are, and dpkg-buildpackage's own clean
# (make clean) runs in the copy.  The copy goes once the package is built;
# the .deb, its -dbgsym, .buildinfo and .changes stay in DEBDIR.
DEBDIR	= $(B)/deb
DEBSRC	= $(DEBDIR)/gtr-$(VERSION)
deb:
	rm -rf $(DEBSRC) $(DEBDIR)/gtr_$(VERSION)* $(DEBDIR)/gtr-dbgsym_$(VERSION)*
	mkdir -p $(DEBSRC)
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then \
	    git ls-files -z -co --exclude-standard | \
		tar --null --ignore-failed-read -T - -cf -; \
	else \
	    tar --exclude=./bin --exclude='./bin-*' --exclude=./build \
		--exclude='./build-*' --exclude=./$(B) --exclude=./$(DEBDIR) \
		-cf - .; \
	fi | tar -xf - -C $(DEBSRC)
	cd $(DEBSRC) && dpkg-buildpackage -us -uc -b
	rm -rf $(DEBSRC)
	@ls $(DEBDIR)/gtr_$(VERSION)_*.deb

lint:
	@tests/lint

clean:
	rm -rf $(BIN) $(B)

FORCE:
# Keep every object: the programs relink from them.
.SECONDARY:
.PHONY: all check demo bench fuzz fuzz-build install uninstall deb lint clean \
	deps units bench-tools FORCE

-include $(shell find $(B) -name '*.d' 2>/dev/null)
