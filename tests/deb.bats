#!/usr/bin/env bats
# deb.bats - the Debian package of debian/, built, checked and installed
# for real.
#
# make deb builds it with dpkg-buildpackage -us -uc -b in a copy of the
# tree (the work tree stays as it was); lintian checks it; dpkg -c lists
# what it holds.  As root, its maintainer scripts run under a stand-in
# systemd (a private /run/systemd/system and logging stand-ins for
# systemctl and deb-systemd-*) to show what they would ask of systemd, and
# the package is installed with dpkg, each installed program run with
# --version and its page found with man -w, then purged.  The install
# happens only where it harms nothing: no gtr package there already and
# none of the package's files present (they would be overwritten, then
# removed); CI's machine is thrown away after the run anyway.

load helpers/common

TOP=$BATS_TEST_DIRNAME/..
VERSION=$(sed -n 's/^VERSION[[:space:]]*=[[:space:]]*//p' "$TOP/Makefile")
PROGRAMS=$(cd "$TOP/cmd" && ls | sort)
# A clean PATH for what runs the installed programs and man: the bats
# helpers put $GTR_BIN first, and man-db would find the tree's man/ from it.
SYSPATH=/usr/sbin:/usr/bin:/sbin:/bin

teardown() {
	purge_if_ours
	common_teardown
}

teardown_file() {
	purge_if_ours
}

# purge_if_ours: dpkg --purge gtr when this file installed it.
purge_if_ours() {
	[ -f "$BATS_FILE_TMPDIR/installed" ] || return 0
	env PATH=$SYSPATH dpkg --purge gtr > "$BATS_FILE_TMPDIR/purge.log" 2>&1 ||
	    true
	rm -f "$BATS_FILE_TMPDIR/installed"
}

need_dpkg_buildpackage() {
	command -v dpkg-buildpackage > /dev/null ||
	    skip "dpkg-buildpackage is missing (dpkg-dev)"
}

# need_root WHAT: skips unless root, saying WHAT needs it.
need_root() {
	[ "$(id -u)" -eq 0 ] || skip "$1 needs root"
}

# deb_build: make deb once for the whole file into $D; sets D, DEB (the
# .deb) and CHANGES.  A failed build is not retried by each test: the
# first test shows its log.
deb_build() {
	need_dpkg_buildpackage
	D=$BATS_FILE_TMPDIR/deb
	local arch
	arch=$(dpkg --print-architecture)
	DEB=$D/gtr_${VERSION}_$arch.deb
	CHANGES=$D/gtr_${VERSION}_$arch.changes
	if [ ! -f "$BATS_FILE_TMPDIR/build.rc" ]; then
		mkdir -p "$D"
		# Nothing in the tree may be newer than this after the build.
		touch "$BATS_FILE_TMPDIR/build.start"
		# Under make check, the outer make's MAKEFLAGS (its jobserver)
		# are not this build's: dpkg-buildpackage sets its own -j.
		(cd "$TOP" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
		    PATH=$SYSPATH \
		    DEB_BUILD_OPTIONS=${DEB_BUILD_OPTIONS:-parallel=$(nproc)} \
		    make deb DEBDIR="$D") > "$BATS_FILE_TMPDIR/build.log" 2>&1
		echo $? > "$BATS_FILE_TMPDIR/build.rc"
	fi
	if [ "$(cat "$BATS_FILE_TMPDIR/build.rc")" -ne 0 ]; then
		tail -n 60 "$BATS_FILE_TMPDIR/build.log"
		return 1
	fi
}

# expected_files: every file the package must hold, one a line as dpkg
# -c prints it without the "./", README.md without its .gz (dh_compress
# compresses it only above 4 kB).
expected_files() {
	local p f
	for p in $PROGRAMS; do
		echo "usr/bin/$p"
		echo "usr/share/man/man8/$p.8.gz"
	done
	for f in "$TOP"/man/man7/*.7; do
		echo "usr/share/man/man7/${f##*/}.gz"
	done
	for f in "$TOP"/contrib/systemd/*; do
		echo "lib/systemd/system/${f##*/}"
	done
	echo usr/share/doc/gtr/README.md
	echo usr/share/doc/gtr/inetd.conf
	echo usr/share/doc/gtr/examples/haproxy/haproxy.cfg
	echo usr/share/doc/gtr/examples/fail2ban/filter.d/gtr-auth.conf
	echo usr/share/doc/gtr/examples/fail2ban/jail.d/gtr-auth.conf
	echo usr/share/doc/gtr/copyright
	echo usr/share/doc/gtr/changelog.gz
	echo usr/share/lintian/overrides/gtr
}

# deb_files: the regular files in the .deb, as expected_files prints them.
deb_files() {
	dpkg-deb -c "$DEB" | awk '$1 ~ /^-/ { print $NF }' |
	    sed -e 's|^\./||' -e 's|^\(usr/share/doc/gtr/README\.md\)\.gz$|\1|'
}

# started_units: the units the maintainer scripts act on: each .socket
# and .service of contrib/systemd but the NAME@ templates.
started_units() {
	(cd "$TOP/contrib/systemd" && ls ./*.socket ./*.service) |
	    sed 's|^\./||' | grep -v '@\.service$' | sort
}

@test "debian/changelog's version is the Makefile's VERSION, for package gtr" {
	command -v dpkg-parsechangelog > /dev/null ||
	    skip "dpkg-parsechangelog is missing (dpkg-dev)"
	[ -n "$VERSION" ]
	cd "$TOP"
	[ "$(dpkg-parsechangelog -S Source)" = gtr ]
	[ "$(dpkg-parsechangelog -S Version)" = "$VERSION" ]
}

@test "make deb builds gtr with dpkg-buildpackage -us -uc -b in a copy of the tree, and writes nothing in the tree" {
	deb_build
	[ -f "$DEB" ]
	[ -f "$CHANGES" ]
	grep -q 'dpkg-buildpackage -us -uc -b' "$BATS_FILE_TMPDIR/build.log"
	# The copy is gone; only the package's files are left in DEBDIR.
	[ ! -e "$D/gtr-$VERSION" ]
	# Nothing in the work tree changed: no file newer than the build's
	# start (.git aside: git ls-files may refresh its index).
	find "$TOP" -path "$TOP/.git" -prune -o \
	    -newer "$BATS_FILE_TMPDIR/build.start" -print > "$T/newer"
	[ ! -s "$T/newer" ] || { cat "$T/newer"; false; }
	# The package's own version, from debian/changelog.
	[ "$(dpkg-deb -f "$DEB" Package)" = gtr ]
	[ "$(dpkg-deb -f "$DEB" Version)" = "$VERSION" ]
}

@test "lintian finds no error in the package" {
	command -v lintian > /dev/null || skip "lintian is missing"
	deb_build
	run lintian --fail-on error --display-info "$CHANGES"
	printf '%s\n' "$output" | tee "$BATS_FILE_TMPDIR/lintian.txt"
	[ "$status" -eq 0 ]
	! printf '%s\n' "$output" | grep -q '^E: ' || false
}

@test "the .deb holds the programs, their pages in sections 8 and 7, every unit, inetd.conf and README, and nothing else" {
	deb_build
	deb_files | sort > "$T/files"
	expected_files | sort > "$T/expected"
	diff "$T/expected" "$T/files"
	[ "$(grep -c '^usr/bin/' "$T/files")" -eq 6 ]
	[ "$(grep -c '^lib/systemd/system/' "$T/files")" -eq 18 ]
	# The programs and pages in their places, with their modes.
	dpkg-deb -c "$DEB" > "$T/listing"
	for p in $PROGRAMS; do
		grep -Eq "^-rwxr-xr-x root/root .* \./usr/bin/$p$" "$T/listing"
		grep -Eq "^-rw-r--r-- root/root .* \./usr/share/man/man8/$p\.8\.gz$" \
		    "$T/listing"
	done
	# ${shlibs:Depends} found the libraries the programs link.
	dpkg-deb -f "$DEB" Depends > "$T/depends"
	grep -q 'libc6' "$T/depends"
	grep -q 'libssl3' "$T/depends"
	grep -q 'libcurl4' "$T/depends"
	grep -q 'libcrypt1' "$T/depends"
	# The units run the programs where the package puts them.
	dpkg-deb -x "$DEB" "$T/root"
	for p in $PROGRAMS; do
		grep -qx "ExecStart=/usr/bin/$p\\( .*\\)\\{0,1\\}" \
		    "$T/root/lib/systemd/system/$p.service"
		grep -qx "ExecStart=/usr/bin/$p\\( .*\\)\\{0,1\\}" \
		    "$T/root/lib/systemd/system/$p@.service"
	done
	! grep -l '@BINDIR@\|/usr/local/bin' "$T"/root/lib/systemd/system/* \
	    "$T/root/usr/share/doc/gtr/inetd.conf" || false
	# Stripped, the symbols in the -dbgsym package.
	! readelf -S -W "$T/root/usr/bin/connectd" | grep -q '\.debug_info' ||
	    false
	ls "$D"/gtr-dbgsym_"$VERSION"_*.deb
}

# shim DIR: stand-ins for systemctl, deb-systemd-helper and
# deb-systemd-invoke in DIR, each logging its arguments to $T/calls.
# Asked about a unit, the helper answers as the real one does on a machine
# that never had the package: debian-installed no, was-enabled yes (with no
# state file, "was-enabled defaults to true, so new installations run
# enable" in debhelper's enabling snippet).
shim() {
	local c
	mkdir -p "$1"
	for c in systemctl deb-systemd-helper deb-systemd-invoke; do
		cat > "$1/$c" <<-EOF
		#!/bin/sh
		echo "$c \$*" >> "$T/calls"
		case " \$* " in
		*" debian-installed "*) exit 1 ;;
		esac
		exit 0
		EOF
		chmod 755 "$1/$c"
	done
}

# maint SCRIPT ARGS...: runs the package's maintainer script SCRIPT as
# dpkg would, on a machine that runs systemd: in a mount namespace of its
# own with a fresh /run holding /run/systemd/system, and the stand-ins of
# shim first on PATH.  The calls it makes are in $T/calls.
maint() {
	local s=$1
	shift
	: > "$T/calls"
	[ -x "$T/ctl/$s" ] || return 0
	unshare -m sh -c 'mount -t tmpfs tmpfs /run &&
	    mkdir -p /run/systemd/system && PATH=$0:/usr/bin:/bin exec "$@"' \
	    "$T/shim" "$T/ctl/$s" "$@"
}

# called_units VERB: the units of the calls in $T/calls whose verb (the
# first non-option word after the command) is VERB, one a line, sorted.
called_units() {
	awk -v verb="$1" '{
		for (i = 2; i <= NF && $i ~ /^-/; i++) ;
		if ($i == verb)
			for (i++; i <= NF; i++) print $i
	}' "$T/calls" | sort
}

# none_called VERB...: no call in $T/calls has one of these verbs.
none_called() {
	local v
	for v in "$@"; do
		[ -z "$(called_units "$v")" ] || {
			echo "unexpected $v:"; called_units "$v"; return 1
		}
	done
}

@test "under systemd the maintainer scripts enable and start no unit on install, try-restart the running ones on upgrade, stop them on remove" {
	need_root "a mount namespace (unshare -m)"
	deb_build
	dpkg-deb -e "$DEB" "$T/ctl"
	shim "$T/shim"
	started_units > "$T/units"
	[ "$(wc -l < "$T/units")" -eq 12 ]

	# A first install: systemd learns of the units, nothing more.
	maint preinst install
	[ ! -s "$T/calls" ]
	maint postinst configure
	cat "$T/calls"
	grep -qx 'systemctl --system daemon-reload' "$T/calls"
	none_called enable start restart try-restart reload-or-restart unmask

	# An upgrade: nothing stops before; after, the units that run are
	# restarted (try-restart leaves the others stopped), none started.
	maint preinst upgrade 0.0.1
	none_called stop
	maint prerm upgrade "$VERSION"
	none_called stop
	maint postinst configure 0.0.1
	cat "$T/calls"
	called_units try-restart | diff "$T/units" -
	none_called enable start restart reload-or-restart

	# Remove: what runs stops, no socket is left for a program gone.
	maint prerm remove
	cat "$T/calls"
	called_units stop | diff "$T/units" -
	maint postrm remove
	grep -qx 'systemctl --system daemon-reload' "$T/calls"
	maint postrm purge
	called_units purge | diff "$T/units" -
}

# install_safe_or_skip: skips unless installing the .deb harms nothing:
# no gtr package known to dpkg, and none of its files on the machine.
install_safe_or_skip() {
	local st f
	st=$(dpkg-query -W -f '${db:Status-Status}' gtr 2>/dev/null) || true
	case $st in
	''|not-installed) ;;
	*) skip "a gtr package is on this machine already ($st)" ;;
	esac
	for f in $(deb_files); do
		[ -e "/$f" ] || [ -e "/$f.gz" ] || continue
		skip "/$f is there already: dpkg would replace it, then remove it"
	done
}

@test "dpkg -i installs it: each program answers --version, man -w finds its page, dpkg -L lists units, pages and docs, no unit is enabled; dpkg --purge takes it away" {
	need_root "installing a package"
	deb_build
	install_safe_or_skip
	deb_files > "$T/files"
	touch "$BATS_FILE_TMPDIR/installed"
	# A minimal image may keep dpkg from installing pages and docs
	# (path-exclude in dpkg.cfg.d): this package's are what is tested.
	run env PATH=$SYSPATH dpkg --path-include='/usr/share/man/man[78]/*' \
	    --path-include='/usr/share/doc/gtr/*' -i "$DEB"
	printf '%s\n' "$output"
	[ "$status" -eq 0 ]
	[ "$(dpkg-query -W -f '${db:Status-Status} ${Version}' gtr)" = \
	    "installed $VERSION" ]

	# dpkg -L lists every file of the package, and each is there.
	dpkg -L gtr > "$T/listed"
	while read -r f; do
		grep -Eqx "/$f(\\.gz)?" "$T/listed"
		[ -f "/$f" ] || [ -f "/$f.gz" ]
	done < "$T/files"

	# Each program in /usr/bin or /usr/sbin runs and says its version;
	# man finds its page, the installed one.
	grep -E '^/usr/s?bin/[^/]+$' "$T/listed" | sort > "$T/progs"
	[ "$(sed 's|.*/||' "$T/progs")" = "$PROGRAMS" ]
	while read -r f; do
		run env PATH=$SYSPATH "$f" --version
		[ "$status" -eq 0 ]
		[ "$output" = "${f##*/} $VERSION" ]
		run env PATH=$SYSPATH man -w "${f##*/}"
		[ "$status" -eq 0 ]
		[ "$output" = "/usr/share/man/man8/${f##*/}.8.gz" ]
	done < "$T/progs"
	run env PATH=$SYSPATH man -w 7 gtr
	[ "$output" = /usr/share/man/man7/gtr.7.gz ]
	for f in README.md inetd.conf copyright changelog.gz; do
		ls /usr/share/doc/gtr/"$f"*
	done

	# The installed units name the installed programs and pass verify.
	(cd /lib/systemd/system && env PATH=$SYSPATH systemd-analyze verify \
	    --man=no $(started_units | sed 's|^|./|')) > "$T/verify" 2>&1
	[ ! -s "$T/verify" ] || { cat "$T/verify"; false; }

	# No unit is enabled (no symlink anywhere under /etc/systemd) and,
	# where systemd runs, none is active.
	for f in $(started_units); do
		! deb-systemd-helper --quiet was-enabled "$f" || false
		[ -z "$(find /etc/systemd -name "${f%.*}*" 2>/dev/null)" ]
		if [ -d /run/systemd/system ]; then
			! systemctl --quiet is-active "$f" || false
		fi
	done

	run dpkg --purge gtr
	[ "$status" -eq 0 ]
	rm -f "$BATS_FILE_TMPDIR/installed"
	[ "$(dpkg-query -W -f '${db:Status-Status}' gtr 2>/dev/null)" != \
	    installed ]
	while read -r f; do
		[ ! -e "/$f" ] && [ ! -e "/$f.gz" ]
	done < "$T/files"
	[ ! -e /usr/share/doc/gtr ]
}
