# lib.sh - shared by every bench section: . "$(dirname "$0")/lib.sh"
#
# A section starts its servers with peer_start, measures with $LOAD (the C
# load client, bench/load.c) and prints its results with bench_row; every
# process it started is stopped when it exits.  bench/run sets GTR_BIN,
# GTR_BUILD and BENCH_RUNS; a section can also be run on its own.

GTR_BIN=${GTR_BIN:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/bin}
GTR_BUILD=${GTR_BUILD:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/build}
LOAD=${LOAD:-$GTR_BUILD/bench/load}
BENCH_RUNS=${BENCH_RUNS:-3}
# Flags added to every gtr program the sections start (GTR_FLAGS=-q shows
# what the access line costs); none by default: gtr runs as users run it.
GTR_FLAGS=${GTR_FLAGS:-}

T=$(mktemp -d /tmp/gtr-bench.XXXXXX)
chmod 755 "$T"
declare -A PEER_PID=()
declare -A LOGGED=()	# gtr program: access lines, other warnings

# bench_cleanup: stops what the section started, says what gtr logged
# (the proof it ran with its access lines on) and removes its files.
bench_cleanup() {
	local name notes=
	for name in "${!PEER_PID[@]}"; do
		peer_stop "$name"
	done
	for name in "${!LOGGED[@]}"; do
		notes="$notes, $name ${LOGGED[$name]}"
	done
	[ -z "$notes" ] || bench_note "access lines gtr wrote to its logs" \
	    "(access lines / warnings and errors):${notes#,}"
	rm -rf "$T"
}

# logged NAME: adds what gtr's NAME wrote to $T/NAME.log to LOGGED.
logged() {
	local a w
	case $1 in
	relayd|connectd|tlsstripd|tlswrapd|httpftpd|cgid) ;;
	*) return 0 ;;
	esac
	[ -f "$T/$1.log" ] || return 0
	a=$(grep -cE '^[^ ]+: (info|debug): conn=[0-9]+ ' "$T/$1.log")
	w=$(grep -cE '^[^ ]+: (warning|error): ' "$T/$1.log")
	set -- "$1" "${LOGGED[$1]:-0 / 0}"
	LOGGED[$1]="$((${2%% /*} + a)) / $((${2##*/ } + w))"
}
trap bench_cleanup EXIT
trap 'exit 130' INT TERM HUP

# bench_header: the table's column titles (bench/run prints them once).
bench_header() {
	printf '%-12s %-30s %-18s %10s %8s  %s\n' \
	    SECTION PROGRAM FIGURE VALUE RATIO NOTE
}

# bench_row SECTION PROGRAM FIGURE VALUE RATIO [NOTE]: one table row.
bench_row() {
	printf '%-12s %-30s %-18s %10s %8s  %s\n' "$1" "$2" "$3" "$4" "$5" \
	    "${6:-}"
}

# bench_fail SECTION MESSAGE: a row saying what could not be measured.
bench_fail() {
	printf '%-12s FAILED: %s\n' "$1" "$2"
}

# How gtr and its peers log, in every section (bench/run and bench/ab
# print it once).
BENCH_LOGGING="gtr runs as its man pages say, with default logging: one"
BENCH_LOGGING+=" access line per connection (per exchange in the HTTP"
BENCH_LOGGING+=" programs) to stderr, which the bench captures to a file"
BENCH_LOGGING+=" as a supervisor would; the peers log nothing per"
BENCH_LOGGING+=" connection (access logs off, stunnel at debug = 3)"

# bench_note TEXT...: a line under the table saying how to read it.
bench_note() {
	echo "  note: $*"
}

# free_port: prints a TCP port nobody listens on right now.
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_port PORT: waits up to 10 s until something listens on it.
wait_port() {
	local i
	for i in $(seq 100); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	echo "nothing listens on 127.0.0.1:$1 after 10 s" >&2
	return 1
}

# peer_start NAME CMD...: runs CMD in the background, output in
# $T/NAME.log, in its own process group so peer_stop reaches its children.
peer_start() {
	local name=$1
	shift
	setsid "$@" > "$T/$name.log" 2>&1 < /dev/null &
	PEER_PID[$name]=$!
	# bench/run stops these groups too if this section is killed.
	[ -z "${BENCH_GROUPS:-}" ] || echo "$!" >> "$BENCH_GROUPS"
}

# hosts_wrap: sets HOSTS_WRAP to a command prefix that runs a program
# with /etc/hosts as a stock Debian has it (localhost is ::1 and
# 127.0.0.1; this machine's may say 127.0.0.1 only), in a private mount
# namespace, and HOSTS_NOTE to what the section got.  Without root or
# unshare(1), HOSTS_WRAP is empty and the machine's file stands.
hosts_wrap() {
	HOSTS_WRAP=()
	printf '127.0.0.1\tlocalhost\n::1\t\t%s\n' \
	    "localhost ip6-localhost ip6-loopback" > "$T/hosts"
	printf '#!/bin/sh\nmount --bind %s /etc/hosts || exit 1\nexec "$@"\n' \
	    "$T/hosts" > "$T/with-hosts"
	chmod 644 "$T/hosts"
	chmod 755 "$T/with-hosts"
	if unshare -m "$T/with-hosts" getent ahosts localhost 2> /dev/null |
	    grep -q '^::1 '; then
		HOSTS_WRAP=(unshare -m "$T/with-hosts")
		HOSTS_NOTE="localhost is ::1 and 127.0.0.1, /etc/hosts as on"
		HOSTS_NOTE+=" a stock Debian"
	else
		HOSTS_NOTE="localhost as this machine's /etc/hosts says: $(getent \
		    ahosts localhost | awk '/STREAM/ { print $1 }' | tr '\n' ' ')"
	fi
}

# peer_stop NAME: stops NAME's process group and waits for it.
peer_stop() {
	local pid=${PEER_PID[$1]:-} i
	[ -n "$pid" ] || return 0
	kill -TERM -- "-$pid" 2>/dev/null
	for i in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL -- "-$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	logged "$1"
	unset "PEER_PID[$1]"
	[ -z "${BENCH_GROUPS:-}" ] || sed -i "/^$pid\$/d" "$BENCH_GROUPS"
}

# peer_pid NAME: prints the pid peer_start remembered.
peer_pid() {
	echo "${PEER_PID[$1]:-}"
}

# rss_kib PID: prints the resident memory of PID and all its descendants
# in KiB (VmRSS from /proc, summed).
rss_kib() {
	local pids=$1 all=$1 p kids sum=0 kb
	while [ -n "$pids" ]; do
		kids=
		for p in $pids; do
			kids="$kids $(cat /proc/$p/task/*/children 2>/dev/null)"
		done
		pids=$(echo $kids)
		all="$all $pids"
	done
	for p in $all; do
		kb=$(awk '/^VmRSS:/ { print $2 }' /proc/$p/status 2>/dev/null)
		sum=$((sum + ${kb:-0}))
	done
	echo "$sum"
}

# median V...: prints the middle of the values (numbers), or the first
# non-number when one run failed (LOST beats any rate).
median() {
	local v
	for v in "$@"; do
		case $v in
		''|*[!0-9.]*) echo "${v:-FAILED}"; return ;;
		esac
	done
	printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 }
	    END { print a[int((NR + 1) / 2)] }'
}

# ratio A B: prints A/B with two decimals, or - when either is not a
# number.
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		if (a !~ /^[0-9.]+$/ || b !~ /^[0-9.]+$/ || b == 0) print "-";
		else printf "%.2f\n", a / b }'
}

# have_gtr NAME: true if gtr's program NAME is built.
have_gtr() {
	[ -x "$GTR_BIN/$1" ]
}
