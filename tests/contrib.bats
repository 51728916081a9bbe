#!/usr/bin/env bats
# contrib.bats - the launch recipes in contrib/, run for real.
#
# Each test takes a recipe as shipped (a systemd unit's ListenStream and
# ExecStart, an inetd.conf line, contrib/tcpserver.sh or contrib/socat.sh),
# changes only the port, the binary path and the user, starts it with the
# real launcher (systemd-socket-activate, openbsd-inetd, tcpserver, socat)
# and drives connectd or relayd with curl in front of a real nginx.

load helpers/common

CONTRIB=$BATS_TEST_DIRNAME/../contrib

# Launchers leave children behind (inetd's wait-mode server, a process
# per connection): put them on the kill list before the launchers go.
teardown() {
	local pid
	if [ -f "$T/pids" ]; then
		for pid in $(cat "$T/pids"); do
			ps -o pid= --ppid "$pid" >> "$T/pids" || true
		done
	fi
	common_teardown
}

# origin: nginx on a free port serving hello.txt with a content unique to
# this test; sets NP and BODY.
origin() {
	NP=$(free_port)
	mkdir -p "$T/www"
	BODY="hello from nginx, $BATS_TEST_NUMBER $RANDOM$RANDOM"
	printf '%s\n' "$BODY" > "$T/www/hello.txt"
	# nginx's workers run unprivileged: they must reach $T/www.
	chmod 755 "$T" "$T/www"
	chmod 644 "$T/www/hello.txt"
	nginx_start "$NP"
}

# unit_key FILE KEY: the value of KEY= in a systemd unit.
unit_key() {
	sed -n "s/^$2=//p" "$CONTRIB/systemd/$1"
}

# unit_exec FILE: the unit's ExecStart with the binary taken from $GTR_BIN.
unit_exec() {
	unit_key "$1" ExecStart | sed "s|@BINDIR@/|$GTR_BIN/|"
}

# inetd_conf PROGRAM wait|nowait PORT [FIRSTARG]: writes $T/inetd.conf
# with the contrib line for PROGRAM in that mode (uncommented) whose
# first argument is FIRSTARG (none by default), on 127.0.0.1:PORT, run as
# the current user with the binary from $GTR_BIN.
inetd_conf() {
	local prog=$1 mode=$2 port=$3 arg=${4:-}
	awk -v prog="$prog" -v mode="$mode" -v port="$port" -v arg="$arg" \
	    -v user="$(id -un)" -v bin="$GTR_BIN" '
		{ sub(/^#/, "") }
		NF >= 7 && $2 == "stream" && $6 ~ ("/" prog "$") &&
		    $4 ~ ("^" mode "(\\.|$)") && $8 == arg && !done {
			$1 = "127.0.0.1:" port
			$5 = user
			sub(/^@BINDIR@\//, bin "/", $6)
			print
			done = 1
		}' "$CONTRIB/inetd.conf" > "$T/inetd.conf"
	[ -s "$T/inetd.conf" ] || {
		echo "no $mode line for $prog in contrib/inetd.conf" >&2
		return 1
	}
}

# inetd_start PORT: openbsd-inetd in the foreground with $T/inetd.conf.
inetd_start() {
	bg inetd inetd -d "$T/inetd.conf"
	wait_port "$1"
}

# relay_get PROXYPORT: GET hello.txt from the origin through relayd as an
# HTTP proxy; the head goes to $T/head, the body to $T/body.
relay_get() {
	curl -sS -m 30 -x "http://127.0.0.1:$1" -D "$T/head" -o "$T/body" \
	    "http://127.0.0.1:$NP/hello.txt"
}

# tunnel_get PROXYPORT: the same through a CONNECT tunnel (curl -p).
tunnel_get() {
	curl -sS -m 30 -p -x "http://127.0.0.1:$1" -D "$T/head" -o "$T/body" \
	    "http://127.0.0.1:$NP/hello.txt"
}

# refute FILE... PATTERN: fails if an extended regex matches in any FILE
# that exists (a plain "! grep" would not fail a bats test).
refute() {
	local pat=${!#} files=("${@:1:$#-1}") f
	for f in "${files[@]}"; do
		[ -f "$f" ] || continue
		if grep -Eqi -- "$pat" "$f"; then
			echo "unexpected in $f: $pat" >&2
			grep -Ei -- "$pat" "$f" >&2
			return 1
		fi
	done
}

# assert_origin_body: the body is exactly nginx's file, with no log line
# or anything else mixed into it.
assert_origin_body() {
	printf '%s\n' "$BODY" | cmp - "$T/body" || {
		echo "--- body"; cat "$T/body"; false
	}
}

# assert_relayed: relayd's exchange reached nginx and came back closed.
assert_relayed() {
	grep -q '^HTTP/1.1 200' "$T/head"
	grep -qi '^Connection: close' "$T/head"
	refute "$T/head" '^Connection: keep-alive'
	assert_origin_body
}

# assert_tunneled: connectd said 200 and the origin's answer came through.
assert_tunneled() {
	grep -q '^HTTP/1.1 200 Connection established' "$T/head"
	grep -q '^Server: nginx' "$T/head"
	assert_origin_body
}

# access_pids LOG PROG: the pids of PROG's access lines in LOG for a
# tunnel or exchange to the origin, one each.
access_pids() {
	sed -n "s/^$2\[\([0-9]*\)\]: info: \(conn=[0-9]* \)\{0,1\}client=.* target=[^ ]*127\.0\.0\.1:$NP[^ ]* status=.*/\1/p" \
	    "$T/$1.log" | sort -u
}

# wait_no_children PID: waits up to 10 s until PID has no children.
wait_no_children() {
	local i
	for i in $(seq 100); do
		[ "$(child_count "$1")" -eq 0 ] && return 0
		sleep 0.1
	done
	echo "$1 still has children after 10 s:" >&2
	ps -o pid=,args= --ppid "$1" >&2
	return 1
}

@test "the shipped units and inetd lines listen on loopback at the default ports" {
	[ "$(unit_key connectd.socket ListenStream)" = 127.0.0.1:3128 ]
	[ "$(unit_key connectd.socket Accept)" = yes ]
	[ "$(unit_key relayd.socket ListenStream)" = 127.0.0.1:8080 ]
	[ "$(unit_key relayd.socket Accept)" = no ]
	[ "$(unit_key connectd@.service ExecStart)" = @BINDIR@/connectd ]
	[ "$(unit_key relayd.service ExecStart)" = @BINDIR@/relayd ]
	run grep -Ev '^#|^[[:space:]]*$|^127\.0\.0\.1:(3128|8080|8081|8021|8443|8000)[[:space:]]' \
	    "$CONTRIB/inetd.conf"
	[ "$status" -eq 1 ]
	[ -z "$output" ]
}

@test "the systemd units pass systemd-analyze verify with no warning" {
	mkdir "$T/units"
	cp "$CONTRIB"/systemd/*.socket "$CONTRIB"/systemd/*.service "$T/units/"
	sed -i "s|@BINDIR@/|$GTR_BIN/|g" "$T"/units/*.service
	cd "$T/units"
	run systemd-analyze verify --man=no ./connectd.socket \
	    ./connectd@.service ./relayd.socket ./relayd.service
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "connectd.socket with Accept=yes starts connectd once per tunnel and each exits" {
	origin
	local p
	p=$(free_port)
	[ "$(unit_key connectd.socket Accept)" = yes ]
	bg ssa systemd-socket-activate --accept \
	    -l "127.0.0.1:$p" $(unit_exec connectd@.service) \
	    --allow-dest 127.0.0.1 --allow-port "$NP"
	wait_port "$p"
	tunnel_get "$p"
	assert_tunneled
	tunnel_get "$p"
	assert_tunneled
	wait_no_children "$ssa_pid"
	[ "$(access_pids ssa connectd | wc -l)" -eq 2 ]
	grep -q "method=CONNECT target=127.0.0.1:$NP status=200" "$T/ssa.log"
	access_pids ssa connectd > "$T/pids.seen"
	refute "$T/pids.seen" "^$ssa_pid\$"
}

@test "connectd@.service refuses a loopback destination as shipped, with 403" {
	origin
	local p
	p=$(free_port)
	bg ssa systemd-socket-activate --accept \
	    -l "127.0.0.1:$p" $(unit_exec connectd@.service)
	wait_port "$p"
	run tunnel_get "$p"
	[ "$status" -ne 0 ]
	grep -q '^HTTP/1.1 403' "$T/head"
	grep -qi '^Proxy-Status: .*error=' "$T/head"
	refute "$T/head" '^Server: nginx'
	[ ! -s "$T/nginx/access.log" ]
}

@test "connectd's ExecStart with Accept=no serves every tunnel in one process" {
	origin
	local p
	p=$(free_port)
	bg ssa systemd-socket-activate \
	    -l "127.0.0.1:$p" $(unit_exec connectd@.service) \
	    --allow-dest 127.0.0.1 --allow-port "$NP"
	wait_port "$p"
	tunnel_get "$p"
	assert_tunneled
	tunnel_get "$p"
	assert_tunneled
	[ "$(access_pids ssa connectd)" = "$ssa_pid" ]
	[ "$(grep -c "method=CONNECT target=127.0.0.1:$NP status=200" \
	    "$T/ssa.log")" -eq 2 ]
}

@test "relayd.socket with Accept=no relays to a keep-alive nginx and closes each exchange" {
	origin
	local p
	p=$(free_port)
	[ "$(unit_key relayd.socket Accept)" = no ]
	bg ssa systemd-socket-activate \
	    -l "$(unit_key relayd.socket ListenStream | sed "s/:8080$/:$p/")" \
	    $(unit_exec relayd.service) \
	    --allow-dest 127.0.0.1 --allow-port "$NP"
	wait_port "$p"
	relay_get "$p"
	assert_relayed
	relay_get "$p"
	assert_relayed
	[ "$(access_pids ssa relayd)" = "$ssa_pid" ]
	grep -Eq "method=GET target=http://127\.0\.0\.1:$NP/hello\.txt " \
	    "$T/ssa.log"
}

@test "relayd.service's ExecStart with Accept=yes serves one connection per process" {
	origin
	local p
	p=$(free_port)
	bg ssa systemd-socket-activate --accept \
	    -l "127.0.0.1:$p" $(unit_exec relayd.service) \
	    --allow-dest 127.0.0.1 --allow-port "$NP"
	wait_port "$p"
	relay_get "$p"
	assert_relayed
	relay_get "$p"
	assert_relayed
	wait_no_children "$ssa_pid"
	[ "$(access_pids ssa relayd | wc -l)" -eq 2 ]
}

@test "the inetd nowait line for relayd relays one exchange per process" {
	origin
	local p
	p=$(free_port)
	inetd_conf relayd nowait "$p"
	sed -i "s|\$| --allow-dest 127.0.0.1 --allow-port $NP|" "$T/inetd.conf"
	inetd_start "$p"
	relay_get "$p"
	assert_relayed
	relay_get "$p"
	assert_relayed
	wait_no_children "$inetd_pid"
	[ "$(grep -c 'GET /hello.txt' "$T/nginx/access.log")" -eq 2 ]
}

@test "the inetd wait line for relayd keeps one relayd accepting every connection" {
	origin
	local p child
	p=$(free_port)
	inetd_conf relayd wait "$p"
	sed -i "s|\$| --allow-dest 127.0.0.1 --allow-port $NP|" "$T/inetd.conf"
	inetd_start "$p"
	relay_get "$p"
	assert_relayed
	child=$(ps -o pid= --ppid "$inetd_pid")
	[ -n "$child" ]
	relay_get "$p"
	assert_relayed
	relay_get "$p"
	assert_relayed
	[ "$(ps -o pid= --ppid "$inetd_pid")" = "$child" ]
	[ "$(grep -c 'GET /hello.txt' "$T/nginx/access.log")" -eq 3 ]
}

@test "the inetd line for relayd --raw relays bytes unchanged to its fixed backend" {
	origin
	local p
	p=$(free_port)
	inetd_conf relayd nowait "$p" --raw
	grep -q -- '--raw -c 192\.0\.2\.10:80$' "$T/inetd.conf"
	sed -i "s|-c 192\.0\.2\.10:80\$|-c 127.0.0.1:$NP|" "$T/inetd.conf"
	inetd_start "$p"
	curl -sS -m 30 -D "$T/head" -o "$T/body" \
	    -H 'Connection: keep-alive' "http://127.0.0.1:$p/hello.txt"
	grep -q '^HTTP/1.1 200' "$T/head"
	grep -qi '^Connection: keep-alive' "$T/head"
	assert_origin_body
	grep -q "\"GET /hello.txt HTTP/1.1\" 200" "$T/nginx/access.log"
}

@test "the inetd nowait line for connectd opens a tunnel per process" {
	origin
	local p
	p=$(free_port)
	inetd_conf connectd nowait "$p"
	sed -i "s|\$| --allow-dest 127.0.0.1 --allow-port $NP|" "$T/inetd.conf"
	inetd_start "$p"
	tunnel_get "$p"
	assert_tunneled
	tunnel_get "$p"
	assert_tunneled
	wait_no_children "$inetd_pid"
}

@test "the inetd wait line for connectd keeps one connectd accepting every tunnel" {
	origin
	local p child
	p=$(free_port)
	inetd_conf connectd wait "$p"
	sed -i "s|\$| --allow-dest 127.0.0.1 --allow-port $NP|" "$T/inetd.conf"
	inetd_start "$p"
	tunnel_get "$p"
	assert_tunneled
	child=$(ps -o pid= --ppid "$inetd_pid")
	[ -n "$child" ]
	tunnel_get "$p"
	assert_tunneled
	[ "$(ps -o pid= --ppid "$inetd_pid")" = "$child" ]
}

@test "the inetd line for connectd refuses a loopback destination as shipped" {
	origin
	local p
	p=$(free_port)
	inetd_conf connectd nowait "$p"
	inetd_start "$p"
	run tunnel_get "$p"
	[ "$status" -ne 0 ]
	grep -q '^HTTP/1.1 403' "$T/head"
	refute "$T/head" '^Server: nginx'
	refute "$T/head" "$T/body" 'connectd\['
}

@test "contrib/tcpserver.sh runs connectd per tunnel and logs the client address" {
	origin
	local p
	p=$(free_port)
	bg tcpserver env GTR_BIN="$GTR_BIN" "$CONTRIB/tcpserver.sh" connectd \
	    "$p" --allow-dest 127.0.0.1 --allow-port "$NP"
	wait_port "$p"
	tunnel_get "$p"
	assert_tunneled
	wait_no_children "$tcpserver_pid"
	grep -E "^connectd\[[0-9]+\]: .*client=127\.0\.0\.1(:[0-9]+)? .*method=CONNECT target=127\.0\.0\.1:$NP status=200" \
	    "$T/tcpserver.log"
}

@test "contrib/tcpserver.sh runs relayd in front of nginx" {
	origin
	local p
	p=$(free_port)
	bg tcpserver env GTR_BIN="$GTR_BIN" "$CONTRIB/tcpserver.sh" relayd \
	    "$p" --allow-dest 127.0.0.1 --allow-port "$NP"
	wait_port "$p"
	relay_get "$p"
	assert_relayed
	grep -Eq "^relayd\[[0-9]+\]: info: conn=[0-9]+ client=127\.0\.0\.1:[0-9]+ method=GET target=http://127\.0\.0\.1:$NP/hello\.txt " \
	    "$T/tcpserver.log"
}

@test "contrib/tcpserver.sh without a port prints its usage and exits 64" {
	run "$CONTRIB/tcpserver.sh" relayd
	[ "$status" -eq 64 ]
	[[ "$output" == *"usage: tcpserver.sh PROGRAM PORT"* ]]
}

@test "contrib/socat.sh runs relayd --raw as a byte-exact relay to an echo server" {
	local ep p
	ep=$(free_port)
	p=$(free_port)
	bg echo socat -t 30 "TCP-LISTEN:$ep,bind=127.0.0.1,reuseaddr,fork" \
	    EXEC:cat
	wait_port "$ep"
	bg socat env GTR_BIN="$GTR_BIN" "$CONTRIB/socat.sh" relayd "$p" \
	    --raw -c "127.0.0.1:$ep"
	wait_port "$p"
	head -c 262144 /dev/urandom > "$T/sent"
	socat -t 30 - "TCP:127.0.0.1:$p" < "$T/sent" > "$T/got"
	cmp "$T/sent" "$T/got"
}

@test "contrib/socat.sh runs connectd, which tunnels curl to nginx" {
	origin
	local p
	p=$(free_port)
	bg socat env GTR_BIN="$GTR_BIN" "$CONTRIB/socat.sh" connectd "$p" \
	    --allow-dest 127.0.0.1 --allow-port "$NP"
	wait_port "$p"
	tunnel_get "$p"
	assert_tunneled
	grep -q "method=CONNECT target=127.0.0.1:$NP status=200" "$T/socat.log"
}
