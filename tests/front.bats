#!/usr/bin/env bats
# front.bats - how connections arrive (DESIGN.md, "The front side"),
# driven through tests/unit/serve_test.c under the real launchers: -l,
# systemd-socket-activate, inetd, tcpserver, socat, a pipe, a terminal,
# and haproxy with the PROXY protocol.  serve_test greets each client
# with "hello PEERIP PEERPORT", then echoes.

load helpers/common

ST=$GTR_BUILD/unit/serve_test

# talk PORT TEXT: sends TEXT, half-closes, prints everything the server
# said until it closed.
talk() {
	printf '%s' "$2" | timeout 20 socat -t 10 - "TCP:127.0.0.1:$1"
}

# st_start PORT ARGS...: serve_test listening on 127.0.0.1:PORT.
st_start() {
	local port=$1
	shift
	bg st "$ST" -l "127.0.0.1:$port" "$@"
	wait_port "$port"
}

# wait_exit PID: waits up to 20 s for our background PID to exit, and
# returns its exit status.
wait_exit() {
	local i rc=0
	for i in $(seq 200); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	wait "$1" || rc=$?
	return "$rc"
}

# refused PORT: waits up to 10 s until connections to PORT are refused.
refused() {
	local i
	for i in $(seq 100); do
		(exec 6<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null || return 0
		sleep 0.1
	done
	return 1
}

# adopt_children PID: remembers PID's children so teardown kills them.
adopt_children() {
	ps -o pid= --ppid "$1" >> "$T/pids" || true
}

@test "a bare port listens on loopback and greets the client by its address" {
	port=$(free_port)
	bg st "$ST" -l "$port"
	wait_port "$port"
	run talk "$port" $'one\ntwo\n'
	[ "$status" -eq 0 ]
	[[ ${lines[0]} =~ ^hello\ 127\.0\.0\.1\ [0-9]+$ ]]
	[ "${lines[1]}" = one ]
	[ "${lines[2]}" = two ]
	grep -q "info: listening on 127.0.0.1:$port\$" "$T/st.log"
	! grep -q "listening on 0.0.0.0" "$T/st.log" || false
}

@test "every -l address is listened on and served by the one process" {
	p1=$(free_port)
	p2=$(free_port)
	bg st "$ST" -l "127.0.0.1:$p1" -l "$p2" -l "unix:$T/s"
	wait_port "$p1"
	wait_port "$p2"
	run talk "$p1" $'one\n'
	[ "${lines[1]}" = one ]
	run talk "$p2" $'two\n'
	[ "${lines[1]}" = two ]
	run bash -c "printf 'three\n' | timeout 20 socat -t 10 - UNIX-CONNECT:$T/s"
	[ "${lines[1]}" = three ]
	[ "$(grep -c 'info: listening on' "$T/st.log")" -eq 3 ]
	# SIGTERM removes the socket file it made.
	kill -TERM "$st_pid"
	wait_exit "$st_pid"
	[ ! -e "$T/s" ]
}

@test "-l unix:PATH replaces a stale socket but never a regular file" {
	python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$T/s"
	[ -S "$T/s" ]
	bg st "$ST" -l "unix:$T/s"
	for i in $(seq 100); do
		grep -q "listening on unix:$T/s" "$T/st.log" && break
		sleep 0.1
	done
	run bash -c "printf 'ping\n' | timeout 20 socat -t 10 - UNIX-CONNECT:$T/s"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "hello - -" ]
	[ "${lines[1]}" = ping ]
	echo precious > "$T/file"
	run "$ST" -l "unix:$T/file"
	[ "$status" -eq 1 ]
	[[ $output == *"unable to listen on unix:$T/file: Address already in use"* ]]
	[ "$(cat "$T/file")" = precious ]
}

@test "-l unix:PATH is created 0666 whatever the umask, or as --socket-mode says" {
	(umask 077; bg st "$ST" -l "unix:$T/s")
	wait_log "listening on unix:$T/s" "$T/st.log"
	[ "$(stat -c %a "$T/s")" = 666 ]
	bg st2 "$ST" -l "unix:$T/t" --socket-mode 0660
	wait_log "listening on unix:$T/t" "$T/st2.log"
	[ "$(stat -c %a "$T/t")" = 660 ]
	run "$ST" -l "unix:$T/u" --socket-mode 0999
	[ "$status" -eq 64 ]
	[[ $output == *"--socket-mode"* ]]
}

@test "systemd socket activation with Accept=no runs the accept loop on fd 3" {
	port=$(free_port)
	bg sa systemd-socket-activate -l "127.0.0.1:$port" "$ST"
	wait_port "$port"
	run talk "$port" $'a\n'
	[[ ${lines[0]} =~ ^hello\ 127\.0\.0\.1\ [0-9]+$ ]]
	[ "${lines[1]}" = a ]
	run talk "$port" $'b\n'
	[ "${lines[1]}" = b ]
	# One process served both: the accept loop, not a process each.
	[ "$(grep -c 'listening on' "$T/sa.log")" -eq 1 ]
	grep -q "listening on 127.0.0.1:$port" "$T/sa.log"
}

@test "systemd socket activation with Accept=yes serves the connection on fd 3 once" {
	port=$(free_port)
	bg sa systemd-socket-activate --accept -l "127.0.0.1:$port" "$ST"
	wait_port "$port"
	run talk "$port" $'a\n'
	[ "$status" -eq 0 ]
	[[ ${lines[0]} =~ ^hello\ 127\.0\.0\.1\ [0-9]+$ ]]
	[ "${lines[1]}" = a ]
	! grep -q 'listening on' "$T/sa.log" || false
	# The exit is logged once the program has gone (later under ASan).
	for i in $(seq 100); do
		grep -q 'died with code' "$T/sa.log" && break
		sleep 0.1
	done
	grep -q 'died with code 0' "$T/sa.log"
	! grep -q 'died with code [1-9]' "$T/sa.log" || false
}

@test "systemd Accept=yes with the connection on stdin is served on fds 0 and 1" {
	port=$(free_port)
	bg sa systemd-socket-activate --inetd --accept -l "127.0.0.1:$port" "$ST"
	wait_port "$port"
	run talk "$port" $'a\n'
	[ "$status" -eq 0 ]
	[[ ${lines[0]} =~ ^hello\ 127\.0\.0\.1\ [0-9]+$ ]]
	[ "${lines[1]}" = a ]
}

@test "a spawned program gets UCSPI variables, default signals and no LISTEN_ variables" {
	port=$(free_port)
	# Our own copies of the variables must not reach the program.
	bg sa env SERVE_TEST=ours TCPREMOTEIP=192.0.2.99 TCPREMOTEPORT=1 \
	    systemd-socket-activate -l "127.0.0.1:$port" "$ST" -- sh -c \
	    'echo "listen=${LISTEN_FDS:-unset}/${LISTEN_PID:-unset}/${LISTEN_FDNAMES:-unset}"
	     echo "proto=$PROTO remote=$TCPREMOTEIP:$TCPREMOTEPORT local=$TCPLOCALIP:$TCPLOCALPORT extra=$SERVE_TEST"
	     grep -E "^Sig(Ign|Blk)" /proc/self/status
	     cat'
	wait_port "$port"
	out=$(python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"bye\n"); s.shutdown(socket.SHUT_WR)
f = s.makefile()
print("me", s.getsockname()[1]); print(f.read(), end="")
' "$port")
	me=$(sed -n 's/^me //p' <<< "$out")
	grep -qx "listen=unset/unset/unset" <<< "$out"
	grep -qx "proto=TCP remote=127.0.0.1:$me local=127.0.0.1:$port extra=1" <<< "$out"
	grep -qx "SigBlk:	0000000000000000" <<< "$out"
	# Signals 32 and 33 are glibc's own: sigaction() cannot reset them,
	# and make(1) leaves 32 ignored.  Every standard signal must be reset.
	ign=$(sed -n 's/^SigIgn:\t//p' <<< "$out")
	[ -n "$ign" ]
	(( (16#$ign & 16#7fffffff) == 0 ))
	grep -qx bye <<< "$out"
}

@test "a spawned program has only fds 0, 1 and 2, the first two its connection" {
	port=$(free_port)
	st_start "$port" -- sh -c 'echo $$; exec cat'
	exec 4<>"/dev/tcp/127.0.0.1/$port"
	read -t 10 -r cpid <&4
	echo "$cpid" >> "$T/pids"
	[ "$(ls "/proc/$cpid/fd" | tr '\n' ' ')" = "0 1 2 " ]
	[[ $(readlink "/proc/$cpid/fd/0") == socket:* ]]
	[ "$(readlink "/proc/$cpid/fd/0")" = "$(readlink "/proc/$cpid/fd/1")" ]
	[ "$(readlink "/proc/$cpid/fd/2")" = "$T/st.log" ]
	exec 4>&-
}

@test "a program that cannot be run is logged with its name and reason, and its client closed" {
	port=$(free_port)
	st_start "$port" -- "$T/no-such-program" arg
	run talk "$port" $'x\n'
	[ "$status" -eq 0 ]
	[ "$output" = "" ]
	for i in $(seq 100); do
		grep -q 'unable to run' "$T/st.log" && break
		sleep 0.1
	done
	grep -Eqx "serve_test\[[0-9]+\]: warning: conn=[0-9]+: unable to run $T/no-such-program: No such file or directory" "$T/st.log"
	! grep -q 'error=\|Unknown error' "$T/st.log" || false
}

@test "a program chained after -- greets the real client through the UCSPI variables" {
	port=$(free_port)
	st_start "$port" -- "$ST"
	out=$(python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(b"chained\n"); s.shutdown(socket.SHUT_WR)
print(s.getsockname()[1]); print(s.makefile().read(), end="")
' "$port")
	me=$(head -n 1 <<< "$out")
	[ "$(sed -n 2p <<< "$out")" = "hello 127.0.0.1 $me" ]
	[ "$(sed -n 3p <<< "$out")" = chained ]
}

@test "inetd nowait: the connection on fd 0 is served once and no log line reaches the client" {
	port=$(free_port)
	printf '127.0.0.1:%s stream tcp nowait root %s serve_test\n' \
	    "$port" "$ST" > "$T/inetd.conf"
	bg inetd inetd -d "$T/inetd.conf"
	wait_port "$port"
	run talk "$port" $'a\n'
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 2 ]
	[[ ${lines[0]} =~ ^hello\ 127\.0\.0\.1\ [0-9]+$ ]]
	[ "${lines[1]}" = a ]
	[[ $output != *"serve_test["* ]]
}

@test "inetd wait: the listening socket on fd 0 gets the accept loop" {
	port=$(free_port)
	printf '127.0.0.1:%s stream tcp wait root %s serve_test\n' \
	    "$port" "$ST" > "$T/inetd.conf"
	bg inetd inetd -d "$T/inetd.conf"
	wait_port "$port"
	for i in $(seq 100); do
		[ "$(child_count "$inetd_pid")" -gt 0 ] && break
		sleep 0.1
	done
	adopt_children "$inetd_pid"
	run talk "$port" $'a\n'
	[[ ${lines[0]} =~ ^hello\ 127\.0\.0\.1\ [0-9]+$ ]]
	[ "${lines[1]}" = a ]
	run talk "$port" $'b\n'
	[ "${lines[1]}" = b ]
	# Both connections went to the one process inetd started.
	[ "$(grep -c 'execv' "$T/inetd.log")" -eq 1 ]
}

@test "tcpserver's connected socket is served with the client's address" {
	port=$(free_port)
	bg ts tcpserver -R -H 127.0.0.1 "$port" "$ST"
	wait_port "$port"
	out=$(python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"x\n"); s.shutdown(socket.SHUT_WR)
print(s.getsockname()[1]); print(s.makefile().read(), end="")
' "$port")
	me=$(head -n 1 <<< "$out")
	[ "$(sed -n 2p <<< "$out")" = "hello 127.0.0.1 $me" ]
	[ "$(sed -n 3p <<< "$out")" = x ]
}

@test "socat EXEC with nofork hands over the TCP socket itself" {
	port=$(free_port)
	bg so socat "TCP-LISTEN:$port,bind=127.0.0.1,reuseaddr,fork" "EXEC:$ST,nofork"
	wait_port "$port"
	run talk "$port" $'a\n'
	[[ ${lines[0]} =~ ^hello\ 127\.0\.0\.1\ [0-9]+$ ]]
	[ "${lines[1]}" = a ]
}

@test "socat EXEC over a socket pair has no client address and says so" {
	port=$(free_port)
	bg so socat "TCP-LISTEN:$port,bind=127.0.0.1,reuseaddr,fork" "EXEC:$ST"
	wait_port "$port"
	run talk "$port" $'a\n'
	[ "${lines[0]}" = "hello - -" ]
	[ "${lines[1]}" = a ]
}

@test "a pipe is served once, reading fd 0 and writing fd 1" {
	run bash -c "printf 'a\nb\n' | '$ST' 2>/dev/null"
	[ "$status" -eq 0 ]
	[ "$output" = $'hello - -\na\nb' ]
}

@test "UCSPI variables give the client's address where there is no socket" {
	run bash -c "printf 'a\n' | TCPREMOTEIP=192.0.2.7 TCPREMOTEPORT=4711 '$ST' 2>/dev/null"
	[ "$status" -eq 0 ]
	[ "$output" = $'hello 192.0.2.7 4711\na' ]
	run bash -c "printf 'a\n' | TCPREMOTEIP=not-an-ip TCPREMOTEPORT=4711 '$ST' 2>/dev/null"
	[ "$output" = $'hello - -\na' ]
}

@test "a terminal on fd 0 listens on the default address and says so" {
	port=$(free_port)
	SERVE_TEST_ADDR=127.0.0.1:$port bg sc script -qc "$ST" /dev/null
	wait_port "$port"
	for i in $(seq 100); do
		grep -q "info: listening on 127.0.0.1:$port" "$T/sc.log" && break
		sleep 0.1
	done
	grep -q "info: listening on 127.0.0.1:$port" "$T/sc.log"
	run talk "$port" $'t\n'
	[[ ${lines[0]} =~ ^hello\ 127\.0\.0\.1\ [0-9]+$ ]]
	[ "${lines[1]}" = t ]
}

@test "/dev/null on fd 0 (a program started with & from a script) listens too" {
	port=$(free_port)
	SERVE_TEST_ADDR=127.0.0.1:$port bg st "$ST"
	wait_port "$port"
	wait_log "info: listening on 127.0.0.1:$port" "$T/st.log"
	run talk "$port" $'t\n'
	[[ ${lines[0]} =~ ^hello\ 127\.0\.0\.1\ [0-9]+$ ]]
	[ "${lines[1]}" = t ]
}

@test "--accept-proxy takes the client's address from haproxy's PROXY v1 and v2 headers" {
	port=$(free_port)
	p1=$(free_port)
	p2=$(free_port)
	cat > "$T/haproxy.cfg" <<EOF
defaults
	mode tcp
	timeout connect 5s
	timeout client 30s
	timeout server 30s
listen v1
	bind 127.0.0.1:$p1
	server s 127.0.0.1:$port send-proxy
listen v2
	bind 127.0.0.1:$p2
	server s 127.0.0.1:$port send-proxy-v2
EOF
	st_start "$port" --accept-proxy
	bg hap haproxy -db -f "$T/haproxy.cfg"
	wait_port "$p1"
	wait_port "$p2"
	for p in "$p1" "$p2"; do
		out=$(python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"through\n"); s.shutdown(socket.SHUT_WR)
print(s.getsockname()[1]); print(s.makefile().read(), end="")
' "$p")
		me=$(head -n 1 <<< "$out")
		# The port is the client's own, which only the header knows.
		[ "$(sed -n 2p <<< "$out")" = "hello 127.0.0.1 $me" ]
		[ "$(sed -n 3p <<< "$out")" = through ]
	done
	run talk "$port" $'GET / HTTP/1.0\r\n\r\n'
	[ "$output" = "" ]
	grep -q "no valid PROXY header from 127.0.0.1:" "$T/st.log"
}

@test "--max-conns 1 makes a second client wait until the first ends" {
	port=$(free_port)
	st_start "$port" --max-conns 1
	exec 4<>"/dev/tcp/127.0.0.1/$port"
	read -t 10 -r first <&4
	[[ $first == "hello 127.0.0.1 "* ]]
	exec 5<>"/dev/tcp/127.0.0.1/$port"
	echo ping >&4
	read -t 10 -r echoed <&4
	[ "$echoed" = ping ]
	second=
	read -t 1 -r second <&5 || true
	[ -z "$second" ]
	exec 4>&-
	read -t 10 -r second <&5
	[[ $second == "hello 127.0.0.1 "* ]]
	exec 5>&-
	# Reaching the bound is said once, and so is accepting again.
	wait_log "accepting again" "$T/st.log"
	[ "$(grep -c -- '--max-conns 1 reached' "$T/st.log")" -eq 1 ]
}

@test "--max-conns 3 serves exactly three of ten clients, the rest as places free" {
	port=$(free_port)
	st_start "$port" --max-conns 3
	run python3 -c '
import socket, sys, time
port = int(sys.argv[1])
conns = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(10)]
time.sleep(1)
def greeted(s):
    s.settimeout(0.2)
    try:
        return s.recv(64).startswith(b"hello")
    except socket.timeout:
        return False
first = [i for i, s in enumerate(conns) if greeted(s)]
for i in first:
    conns[i].close()
time.sleep(1)
second = [i for i, s in enumerate(conns) if i not in first and greeted(s)]
print(len(first), "then", len(second))
' "$port"
	[ "$status" -eq 0 ]
	[ "$output" = "3 then 3" ]
}

@test "fifty clients at once are all served at once" {
	port=$(free_port)
	st_start "$port"
	run python3 -c '
import socket, sys
conns = [socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10) for _ in range(50)]
greeted = sum(1 for s in conns if s.makefile().readline().startswith("hello 127.0.0.1 "))
print(greeted, "greeted while all were open")
' "$port"
	[ "$status" -eq 0 ]
	[ "$output" = "50 greeted while all were open" ]
}

@test "out of file descriptors, accepting pauses with a message and resumes" {
	port=$(free_port)
	bg st bash -c "ulimit -n 16 && exec '$ST' -l 127.0.0.1:$port"
	wait_port "$port"
	run python3 -c '
import socket, sys
conns = [socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2) for _ in range(20)]
greeted = 0
for s in conns:
    try:
        greeted += s.makefile().readline().startswith("hello")
    except OSError:
        pass
print("greeted", greeted)
' "$port"
	[ "$status" -eq 0 ]
	[[ $output =~ ^greeted\ [0-9]+$ ]]
	[ "${output#greeted }" -lt 20 ]
	grep -q 'unable to accept: Too many open files; pausing' "$T/st.log"
	run talk "$port" $'again\n'
	[[ ${lines[0]} =~ ^hello\ 127\.0\.0\.1\ [0-9]+$ ]]
	[ "${lines[1]}" = again ]
	grep -q 'info: accepting again' "$T/st.log"
}

@test "SIGHUP calls the program's hook and serving goes on" {
	port=$(free_port)
	st_start "$port"
	kill -HUP "$st_pid"
	for i in $(seq 100); do
		grep -q 'hup hook called (serve_test)' "$T/st.log" && break
		sleep 0.1
	done
	grep -q 'hup hook called (serve_test)' "$T/st.log"
	run talk "$port" $'after\n'
	[ "${lines[1]}" = after ]
	kill -0 "$st_pid"
}

@test "serve_is_own_addr knows the listening addresses, v4-mapped forms included" {
	port=$(free_port)
	other=$(free_port)
	st_start "$port"
	run talk "$port" "own 127.0.0.1 $port"$'\n'
	[ "${lines[1]}" = "own 1" ]
	run talk "$port" "own ::ffff:127.0.0.1 $port"$'\n'
	[ "${lines[1]}" = "own 1" ]
	run talk "$port" "own 127.0.0.1 $other"$'\n'
	[ "${lines[1]}" = "own 0" ]
	run talk "$port" "own 127.0.0.2 $port"$'\n'
	[ "${lines[1]}" = "own 0" ]
}

@test "SIGTERM stops accepting and lets an open connection finish within --grace, then exits 0" {
	port=$(free_port)
	st_start "$port" --grace 60
	exec 4<>"/dev/tcp/127.0.0.1/$port"
	read -t 10 -r first <&4
	[[ $first == "hello 127.0.0.1 "* ]]
	kill -TERM "$st_pid"
	refused "$port"
	echo still-here >&4
	read -t 10 -r echoed <&4
	[ "$echoed" = still-here ]
	exec 4>&-
	rc=0
	wait_exit "$st_pid" || rc=$?
	[ "$rc" -eq 0 ]
	grep -q "SIGTERM: no longer accepting" "$T/st.log"
	! grep -q "grace period over" "$T/st.log" || false
}

@test "a connection still open after the grace is cut and the program exits 0" {
	port=$(free_port)
	st_start "$port" --grace 1
	exec 4<>"/dev/tcp/127.0.0.1/$port"
	read -t 10 -r first <&4
	[[ $first == "hello 127.0.0.1 "* ]]
	kill -TERM "$st_pid"
	rc=0
	wait_exit "$st_pid" || rc=$?
	[ "$rc" -eq 0 ]
	run timeout 10 cat <&4
	[ "$status" -eq 0 ]
	[ "$output" = "" ]
	exec 4>&-
	grep -q "grace period over: closing 1 open connection" "$T/st.log"
}

@test "SIGINT stops the server like SIGTERM, exiting 0" {
	port=$(free_port)
	st_start "$port"
	kill -INT "$st_pid"
	rc=0
	wait_exit "$st_pid" || rc=$?
	[ "$rc" -eq 0 ]
	grep -q "SIGINT: no longer accepting" "$T/st.log"
}

@test "-u nobody drops every id after binding" {
	[ "$(id -u)" -eq 0 ] || skip "needs root"
	port=$(free_port)
	st_start "$port" -u nobody
	run talk "$port" $'a\n'
	[[ ${lines[0]} =~ ^hello\ 127\.0\.0\.1\ [0-9]+$ ]]
	uid=$(id -u nobody)
	gid=$(id -g nobody)
	grep -qx "Uid:	$uid	$uid	$uid	$uid" "/proc/$st_pid/status"
	grep -qx "Gid:	$gid	$gid	$gid	$gid" "/proc/$st_pid/status"
	! grep -Eq '^Groups:.*(	| )0( |$)' "/proc/$st_pid/status" || false
}

@test "-u with an unknown user exits 78 before serving" {
	port=$(free_port)
	run "$ST" -l "127.0.0.1:$port" -u gtr-no-such-user
	[ "$status" -eq 78 ]
	[[ $output == *"error: -u gtr-no-such-user: no such user"* ]]
	[[ $output != *"listening on"* ]]
}

@test "SIGUSR1 writes one stats line and SIGUSR2 is ignored; serving goes on" {
	echo_origin
	P=$(free_port)
	gtr_start connectd "$P" --allow-dest 127.0.0.0/8 --allow-port "$EPORT"
	out=$(printf 'CONNECT 127.0.0.1:%s HTTP/1.1\r\nHost: x\r\n\r\nping' \
	    "$EPORT" | raw "$P")
	[[ $out == *ping ]]
	printf 'GET / HTTP/1.1\r\nHost: x\r\n\r\n' | raw "$P" > /dev/null
	wait_log "status=405" "$T/connectd.log"
	kill -USR1 "$connectd_pid"
	wait_log "info: stats " "$T/connectd.log"
	line=$(grep "info: stats " "$T/connectd.log")
	echo "$line"
	[[ $line == *" open=0 served=2 "* ]]
	[[ $line == *" status_2xx=1 status_4xx=1"* ]]
	[[ $line == *" reason_done=1 "* ]]
	[[ $line == *" reason_policy=1"* ]]
	[[ $line == *" uptime_s="* ]]
	kill -USR2 "$connectd_pid"
	sleep 0.3
	kill -0 "$connectd_pid"
	out=$(printf 'CONNECT 127.0.0.1:%s HTTP/1.1\r\nHost: x\r\n\r\nagain' \
	    "$EPORT" | raw "$P")
	[[ $out == *again ]]
}

@test "SIGHUP, SIGUSR1 and SIGUSR2 leave a single connection's bytes alone" {
	echo_origin
	(printf one; sleep 1.5; printf two) |
	    "$GTR_BIN/relayd" --raw -c "127.0.0.1:$EPORT" > "$T/out" 2> "$T/relayd.log" 3>&- &
	echo $! >> "$T/pids"
	sleep 0.5
	pid=$(pgrep -n -f "relayd --raw -c 127.0.0.1:$EPORT")
	kill -HUP "$pid"
	kill -USR1 "$pid"
	kill -USR2 "$pid"
	wait_exit "$pid"
	[ "$(cat "$T/out")" = onetwo ]
}

@test "a bad -l address exits 64 with a message" {
	run "$ST" -l 'bad:addr:x'
	[ "$status" -eq 64 ]
	[[ $output == *"error: -l bad:addr:x: "* ]]
	! [[ $output == *listening* ]] || false
}

@test "listening on a busy port fails with a message and exits 1" {
	port=$(free_port)
	st_start "$port"
	run "$ST" -l "127.0.0.1:$port"
	[ "$status" -eq 1 ]
	[[ $output == *"unable to listen on 127.0.0.1:$port: Address already in use"* ]]
}
