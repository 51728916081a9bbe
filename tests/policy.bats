#!/usr/bin/env bats
# policy.bats - the loop check of the destination policy, through relayd
# and connectd: 0.0.0.0 and [::] reach the machine itself, and a program
# run per connection (inetd, tcpserver, systemd Accept=yes) has no
# listener but still an address of its own.  The tests that allow a
# broad --allow-dest run the programs and their clients in a private
# network namespace with only loopback, so nothing can leave the host.

load helpers/common

# netns_start: a network namespace of its own with loopback up, held by
# a sleeping process; in_ns CMD... runs CMD in it.
netns_start() {
	local i
	bg netns unshare -n sleep 600
	for i in $(seq 100); do
		[ "$(readlink "/proc/$netns_pid/ns/net")" != \
		    "$(readlink /proc/self/ns/net)" ] && break
		sleep 0.05
	done
	in_ns ip link set lo up
}

in_ns() {
	nsenter -t "$netns_pid" -n "$@"
}

# ns_start NAME HOST PORT ARGS...: starts a program in the namespace,
# listening on HOST:PORT, and waits for it.
ns_start() {
	local name=$1 host=$2 port=$3 i
	shift 3
	bg "$name" nsenter -t "$netns_pid" -n "$GTR_BIN/$name" \
		-l "$host:$port" "$@"
	for i in $(seq 100); do
		in_ns socat -u OPEN:/dev/null "TCP:$host:$port" 2>/dev/null &&
			return 0
		sleep 0.1
	done
	echo "nothing listens on $host:$port in the namespace" >&2
	return 1
}

# ns_raw HOST PORT: the raw client, in the namespace; stdin is sent.
ns_raw() {
	in_ns timeout 20 socat -t 20 - "TCP:$1:$2"
}

@test "relayd: GET http://0.0.0.0:OWNPORT/ with a broad --allow-dest is a loop, 403 proxy_loop_detected, and does not recurse" {
	netns_start
	P=$(free_port)
	ns_start relayd 127.0.0.1 "$P" --allow-dest 0.0.0.0/8,127.0.0.0/8 \
		--allow-port "$P" --max-conns 8 --idle-timeout 5
	run ns_raw 127.0.0.1 "$P" < <(printf 'GET http://0.0.0.0:%s/ HTTP/1.1\r\nHost: 0.0.0.0:%s\r\nConnection: close\r\n\r\n' "$P" "$P")
	[[ "$output" == "HTTP/1.1 403 "* ]]
	[[ "$output" == *"error=proxy_loop_detected"* ]]
	wait_log "target=http://0.0.0.0:$P/ status=403 .*reason=policy$" "$T/relayd.log"
	# One request only: nothing came back in through the proxy itself.
	[ "$(grep -c ' method=' "$T/relayd.log")" -eq 1 ]
}

@test "connectd: CONNECT 0.0.0.0:OWNPORT with a broad --allow-dest is a loop, 403, not a nested tunnel" {
	netns_start
	P=$(free_port)
	ns_start connectd 127.0.0.1 "$P" --allow-dest 0.0.0.0/8,127.0.0.0/8 \
		--allow-port "$P"
	run ns_raw 127.0.0.1 "$P" < <(printf 'CONNECT 0.0.0.0:%s HTTP/1.1\r\nHost: x\r\n\r\n' "$P")
	[[ "$output" == "HTTP/1.1 403 "* ]]
	[[ "$output" == *"error=proxy_loop_detected"* ]]
	[[ "$output" != *" 200 "* ]]
	wait_log "target=0.0.0.0:$P status=403 .*reason=policy$" "$T/connectd.log"
	[ "$(grep -c ' method=' "$T/connectd.log")" -eq 1 ]
}

@test "connectd and relayd listening on [::1]: [::]:OWNPORT is a loop too" {
	netns_start
	P=$(free_port)
	R=$(free_port)
	ns_start connectd '[::1]' "$P" --allow-dest ::/128,::1/128 \
		--allow-port "$P"
	run ns_raw '[::1]' "$P" < <(printf 'CONNECT [::]:%s HTTP/1.1\r\nHost: x\r\n\r\n' "$P")
	[[ "$output" == "HTTP/1.1 403 "* ]]
	[[ "$output" == *"error=proxy_loop_detected"* ]]
	[ "$(grep -c ' method=' "$T/connectd.log")" -eq 1 ]
	ns_start relayd '[::1]' "$R" --allow-dest ::/128,::1/128 \
		--allow-port "$R" --max-conns 8 --idle-timeout 5
	run ns_raw '[::1]' "$R" < <(printf 'GET http://[::]:%s/ HTTP/1.1\r\nHost: [::]:%s\r\nConnection: close\r\n\r\n' "$R" "$R")
	[[ "$output" == "HTTP/1.1 403 "* ]]
	[[ "$output" == *"error=proxy_loop_detected"* ]]
	wait_log "status=403 .*reason=policy$" "$T/relayd.log"
	[ "$(grep -c ' method=' "$T/relayd.log")" -eq 1 ]
}

@test "connectd run per connection by socat (inetd style) refuses a CONNECT to its own address as a loop" {
	P=$(free_port)
	bg inetd socat TCP-LISTEN:"$P",bind=127.0.0.1,reuseaddr,fork \
		EXEC:"$GTR_BIN/connectd --allow-dest 127.0.0.1/32 --allow-port $P",nofork
	wait_port "$P"
	run raw "$P" < <(printf 'CONNECT 127.0.0.1:%s HTTP/1.1\r\nHost: x\r\n\r\n' "$P")
	[[ "$output" == "HTTP/1.1 403 "* ]]
	[[ "$output" == *"error=proxy_loop_detected"* ]]
	[[ "$output" != *" 200 "* ]]
}

@test "connectd under tcpserver refuses a CONNECT to its own address, and to 0.0.0.0 on its port, as a loop" {
	P=$(free_port)
	bg tcpserver tcpserver -q -H -R 127.0.0.1 "$P" \
		"$GTR_BIN/connectd" --allow-dest 127.0.0.1/32,0.0.0.0/32 \
		--allow-port "$P"
	wait_port "$P"
	run raw "$P" < <(printf 'CONNECT 127.0.0.1:%s HTTP/1.1\r\nHost: x\r\n\r\n' "$P")
	[[ "$output" == "HTTP/1.1 403 "* ]]
	[[ "$output" == *"error=proxy_loop_detected"* ]]
	wait_log "target=127.0.0.1:$P status=403 .*reason=policy$" "$T/tcpserver.log"
	run raw "$P" < <(printf 'CONNECT 0.0.0.0:%s HTTP/1.1\r\nHost: x\r\n\r\n' "$P")
	[[ "$output" == "HTTP/1.1 403 "* ]]
	[[ "$output" == *"error=proxy_loop_detected"* ]]
	wait_log "target=0.0.0.0:$P status=403 .*reason=policy$" "$T/tcpserver.log"
	[ "$(grep -c ' method=' "$T/tcpserver.log")" -eq 2 ]
}

@test "connectd under systemd Accept=yes refuses a CONNECT to its own address as a loop" {
	P=$(free_port)
	bg sa systemd-socket-activate --accept -l "127.0.0.1:$P" \
		"$GTR_BIN/connectd" --allow-dest 127.0.0.1/32 --allow-port "$P"
	wait_port "$P"
	run raw "$P" < <(printf 'CONNECT 127.0.0.1:%s HTTP/1.1\r\nHost: x\r\n\r\n' "$P")
	[[ "$output" == "HTTP/1.1 403 "* ]]
	[[ "$output" == *"error=proxy_loop_detected"* ]]
	wait_log "target=127.0.0.1:$P status=403 .*reason=policy$" "$T/sa.log"
	[ "$(grep -c ' method=' "$T/sa.log")" -eq 1 ]
}

# ask PORT QUERIES: serve_test's answer to each query ("own IP PORT"),
# one connection each, in the namespace if one was started.
ask() {
	local port=$1 q
	shift
	for q in "$@"; do
		printf '%s\n' "$q" | ${netns_pid:+in_ns} timeout 20 \
			socat -t 10 - "TCP:127.0.0.1:$port" | tail -n +2
	done
}

@test "serve_is_own_addr: a dual-stack [::] listener from systemd owns the IPv4 local addresses on its port" {
	netns_start
	P=$(free_port)
	Q=$(free_port)
	bg sa nsenter -t "$netns_pid" -n systemd-socket-activate -l "[::]:$P" \
		"$GTR_BUILD/unit/serve_test"
	for i in $(seq 100); do
		in_ns socat -u OPEN:/dev/null "TCP:127.0.0.1:$P" 2>/dev/null &&
			break
		sleep 0.1
	done
	run ask "$P" "own 127.0.0.1 $P" "own ::1 $P" "own 0.0.0.0 $P" \
		"own 127.0.0.1 $Q"
	[ "${lines[0]}" = "own 1" ]
	[ "${lines[1]}" = "own 1" ]
	[ "${lines[2]}" = "own 1" ]
	[ "${lines[3]}" = "own 0" ]
}

@test "serve_is_own_addr: one client from systemd Accept=yes owns its port on every local address, of either family, and no other port" {
	P=$(free_port)
	Q=$(free_port)
	bg sa systemd-socket-activate --accept -l "127.0.0.1:$P" \
		"$GTR_BUILD/unit/serve_test"
	wait_port "$P"
	run ask "$P" "own 127.0.0.1 $P" "own ::1 $P" "own 0.0.0.0 $P" \
		"own :: $P" "own 127.0.0.1 $Q" "own 192.0.2.1 $P"
	[ "${lines[0]}" = "own 1" ]
	[ "${lines[1]}" = "own 1" ]
	[ "${lines[2]}" = "own 1" ]
	[ "${lines[3]}" = "own 1" ]
	[ "${lines[4]}" = "own 0" ]
	[ "${lines[5]}" = "own 0" ]
}
