#!/usr/bin/env bats
# proxyproto.bats - the PROXY protocol reader and writer: the unit cases,
# then --accept-proxy on a listening serve_test fed by hand-made headers.

load helpers/common

ST=$GTR_BUILD/unit/serve_test
V2SIG='\r\n\r\n\0\r\nQUIT\n'

# send PORT PRINTF-FORMAT: sends the bytes, half-closes, prints the reply.
send() {
	printf "$2" | timeout 20 socat -t 10 - "TCP:127.0.0.1:$1"
}

# st_start PORT ARGS...: serve_test listening on 127.0.0.1:PORT; waits
# for its log line rather than connecting, so every connection it logs
# is the test's own.
st_start() {
	local port=$1 i
	shift
	bg st "$ST" -l "127.0.0.1:$port" "$@"
	for i in $(seq 100); do
		grep -q "listening on 127.0.0.1:$port" "$T/st.log" && return 0
		sleep 0.1
	done
	return 1
}

@test "the PROXY v1 and v2 unit cases pass" {
	run "$GTR_BUILD/unit/proxyproto_test"
	[ "$status" -eq 0 ]
	[[ ${lines[-1]} =~ ^[0-9]+\ passed,\ 0\ failed$ ]]
	[[ $output != *FAIL* ]]
}

@test "a v1 header sets the client's address and the bytes after it are the client's" {
	port=$(free_port)
	st_start "$port" --accept-proxy
	run send "$port" 'PROXY TCP4 192.0.2.1 198.51.100.2 4242 80\r\nfirst line\n'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "hello 192.0.2.1 4242" ]
	[ "${lines[1]}" = "first line" ]
}

@test "a v1 TCP6 header gives an IPv6 client address" {
	port=$(free_port)
	st_start "$port" --accept-proxy
	run send "$port" 'PROXY TCP6 2001:db8::7 2001:db8::1 65535 443\r\nx\n'
	[ "${lines[0]}" = "hello 2001:db8::7 65535" ]
	[ "${lines[1]}" = x ]
}

@test "a v2 header with a TLV sets the client's address" {
	port=$(free_port)
	st_start "$port" --accept-proxy
	run send "$port" "$V2SIG"'\x21\x11\x00\x11\xc0\x00\x02\x01\xc6\x33\x64\x02\x10\x92\x00\x50\x01\x00\x02h2after\n'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "hello 192.0.2.1 4242" ]
	[ "${lines[1]}" = after ]
}

@test "UNKNOWN and LOCAL headers keep the socket's address" {
	port=$(free_port)
	st_start "$port" --accept-proxy
	run send "$port" 'PROXY UNKNOWN\r\nx\n'
	[[ ${lines[0]} =~ ^hello\ 127\.0\.0\.1\ [0-9]+$ ]]
	[ "${lines[1]}" = x ]
	run send "$port" "$V2SIG"'\x20\x00\x00\x00y\n'
	[[ ${lines[0]} =~ ^hello\ 127\.0\.0\.1\ [0-9]+$ ]]
	[ "${lines[1]}" = y ]
}

@test "a connection without a valid header is closed without a word" {
	port=$(free_port)
	st_start "$port" --accept-proxy
	run send "$port" 'GET / HTTP/1.1\r\nHost: x\r\n\r\n'
	[ "$output" = "" ]
	run send "$port" 'PROXY TCP4 192.0.2.1 198.51.100.2 4242 080\r\nx\n'
	[ "$output" = "" ]
	run send "$port" "$V2SIG"'\x21\x12\x00\x0c\xc0\x00\x02\x01\xc6\x33\x64\x02\x10\x92\x00\x50x\n'
	[ "$output" = "" ]
	[ "$(grep -c 'no valid PROXY header from 127.0.0.1:' "$T/st.log")" -eq 3 ]
	! grep -q 'client=192.0.2.1' "$T/st.log" || false
	# The server is still there for the next, well-behaved client.
	run send "$port" 'PROXY TCP4 192.0.2.9 198.51.100.2 1 80\r\n'
	[ "${lines[0]}" = "hello 192.0.2.9 1" ]
}

@test "a client that sends no header is closed at --header-timeout" {
	port=$(free_port)
	st_start "$port" --accept-proxy --header-timeout 1
	exec 4<>"/dev/tcp/127.0.0.1/$port"
	run timeout 20 cat <&4
	exec 4>&-
	[ "$status" -eq 0 ]
	[ "$output" = "" ]
	grep -q 'no valid PROXY header from 127.0.0.1:' "$T/st.log"
}

@test "without --accept-proxy a PROXY line is just the client's data" {
	port=$(free_port)
	st_start "$port"
	run send "$port" 'PROXY TCP4 192.0.2.1 198.51.100.2 4242 80\r\n'
	[[ ${lines[0]} =~ ^hello\ 127\.0\.0\.1\ [0-9]+$ ]]
	[[ ${lines[1]} == "PROXY TCP4 192.0.2.1 198.51.100.2 4242 80"* ]]
}

# heap: sends SIGHUP to serve_test and prints the heap in use it logs.
heap() {
	local n i
	n=$(grep -c 'hup hook called' "$T/st.log")
	kill -HUP "$(head -n 1 "$T/pids")"
	for i in $(seq 100); do
		[ "$(grep -c 'hup hook called' "$T/st.log")" -gt "$n" ] && break
		sleep 0.1
	done
	grep 'hup hook called' "$T/st.log" | tail -n 1 | sed 's/.*heap=//'
}

@test "connections without a valid header leave no memory behind" {
	port=$(free_port)
	st_start "$port" --accept-proxy
	send "$port" 'GET / HTTP/1.1\r\n\r\n'
	before=$(heap)
	for i in $(seq 200); do
		send "$port" 'GET / HTTP/1.1\r\n\r\n'
	done
	after=$(heap)
	[ "$(grep -c 'no valid PROXY header' "$T/st.log")" -eq 201 ]
	# A struct conn each (over 500 bytes) would be 100 KB and more.
	[ $((after - before)) -lt 32768 ]
	pid=$(head -n 1 "$T/pids")
	kill -TERM "$pid"
	rc=0
	wait "$pid" || rc=$?
	[ "$rc" -eq 0 ]
	! grep -q LeakSanitizer "$T/st.log" || false
}
