#!/usr/bin/env bats
# curlsocket.bats - the one destination check of the programs that connect
# through libcurl (httpftpd and tlswrapd: curlshare_open_socket()): the
# policy on the address libcurl is about to connect to, loops to the
# program's own listener refused, and 403 only when every address of a
# name was refused.  Names resolve from a private /etc/hosts in a mount
# namespace of the program's own, so no query leaves the host.

load helpers/common
bats_require_minimum_version 1.5.0

# in_hosts NAME PORT ARGS...: bin/NAME on 127.0.0.1:PORT with ARGS, in a
# mount namespace whose /etc/hosts gives gtr-multi.test both ::1 and
# 127.0.0.1 and whose resolv.conf names 127.0.0.1 (where nothing answers).
in_hosts() {
	local name=$1 port=$2
	shift 2
	printf '127.0.0.1 localhost\n::1 gtr-multi.test\n127.0.0.1 gtr-multi.test\n' > "$T/hosts"
	echo 'nameserver 127.0.0.1' > "$T/resolv.conf"
	bg "$name" unshare -m sh -c 'mount --bind "$1" /etc/resolv.conf &&
		mount --bind "$2" /etc/hosts && shift 2 && exec "$@"' \
		sh "$T/resolv.conf" "$T/hosts" "$GTR_BIN/$name" -l "127.0.0.1:$port" "$@"
	wait_port "$port"
}

@test "httpftpd refuses to connect to its own listening address: a loop is 403, and no second connection comes in" {
	HP=$(free_port)
	gtr_start httpftpd "$HP" --allow-dest 127.0.0.0/8 --allow-port "$HP" \
		--header-timeout 2 --connect-timeout 2
	run -0 curl -sS -i --max-time 20 -x "http://127.0.0.1:$HP" "ftp://127.0.0.1:$HP/a.txt"
	[[ ${lines[0]} == "HTTP/1.1 403 "* ]]
	[[ $output == *"error=proxy_loop_detected"* ]]
	grep -q "destination 127.0.0.1:$HP is this program's own listener" "$T/httpftpd.log"
	grep -q "status=403 .*reason=policy" "$T/httpftpd.log"
	# one connection, the client's: httpftpd never talked to itself
	[ "$(grep -c 'status=' "$T/httpftpd.log")" -eq 1 ]
	! grep -q 'status=408' "$T/httpftpd.log" || false
}

@test "tlswrapd refuses to connect to its own listening address: 403 proxy_loop_detected" {
	PORT=$(free_port)
	gtr_start tlswrapd "$PORT" --allow-dest 127.0.0.0/8 --allow-port "$PORT" \
		--header-timeout 2 --connect-timeout 2
	run -0 curl -sS -i --max-time 20 -x "http://127.0.0.1:$PORT" "http://127.0.0.1:$PORT/"
	[[ ${lines[0]} == "HTTP/1.1 403 "* ]]
	[[ $output == *"error=proxy_loop_detected"* ]]
	grep -q "destination 127.0.0.1:$PORT is this program's own listener" "$T/tlswrapd.log"
	[ "$(grep -c 'status=' "$T/tlswrapd.log")" -eq 1 ]
}

@test "httpftpd: a name with ::1 and 127.0.0.1, only 127.0.0.0/8 allowed and 127.0.0.1 closed, is 502 connection_refused, not 403" {
	[ "$(id -u)" = 0 ] || skip "needs a mount namespace (root)"
	dead=$(free_port)
	HP=$(free_port)
	in_hosts httpftpd "$HP" --allow-dest 127.0.0.0/8 --allow-port "$dead"
	run -0 curl -sS -i --max-time 20 -x "http://127.0.0.1:$HP" "ftp://gtr-multi.test:$dead/a.txt"
	[[ ${lines[0]} == "HTTP/1.1 502 "* ]]
	[[ $output == *"error=connection_refused"* ]]
	grep -q "destination ::1 is not allowed" "$T/httpftpd.log"
	# both refused by policy is the policy's 403
	kill "$httpftpd_pid"
	HP=$(free_port)
	in_hosts httpftpd "$HP" --allow-port "$dead"
	run -0 curl -sS -i --max-time 20 -x "http://127.0.0.1:$HP" "ftp://gtr-multi.test:$dead/a.txt"
	[[ ${lines[0]} == "HTTP/1.1 403 "* ]]
	[[ $output == *"error=destination_ip_prohibited"* ]]
}
