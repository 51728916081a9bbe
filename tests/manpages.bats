#!/usr/bin/env bats
# manpages: what connectd(8), relayd(8), cgid(8), tlswrapd(8) and gtr(7)
# promise, checked the way a user reading them would: options and their
# defaults, the status tables, environment, exit statuses and log lines.
# Written from the pages alone; aims at what the other files leave out.

load helpers/common
bats_require_minimum_version 1.5.0

# hold PORT REQUEST SECS: sends REQUEST (printf escapes) to 127.0.0.1:PORT
# and prints what comes back until the server closes; exits 1, printing
# TIMEOUT, if the server has not closed within SECS.
hold() {
	python3 - "$@" <<'PY'
import socket, sys
port, secs = int(sys.argv[1]), float(sys.argv[3])
req = sys.argv[2].encode().decode('unicode_escape').encode('latin1')
s = socket.create_connection(("127.0.0.1", port))
s.sendall(req)
s.settimeout(secs)
out = b""
try:
    while True:
        b = s.recv(65536)
        if not b:
            break
        out += b
except socket.timeout:
    sys.stdout.buffer.write(out + b"\nTIMEOUT\n")
    sys.exit(1)
sys.stdout.buffer.write(out)
PY
}

# body_length_ok: the Content-Length of the response in $T/resp matches
# its body.
body_length_ok() {
	local len
	len=$(sed -n 's/^Content-Length: \([0-9]*\)\r$/\1/p' "$T/resp" | head -1)
	[ -n "$len" ]
	[ "$(sed '1,/^\r$/d' "$T/resp" | wc -c)" -eq "$len" ]
}

# bad_origins_get_502 RESPONSE...: for each RESPONSE (printf escapes), a
# TLS origin that sends it makes tlswrapd answer 502 http_protocol_error.
bad_origins_get_502() {
	local resp
	for resp in "$@"; do
		printf '#!/bin/sh\nhead -c 10 > /dev/null\nprintf "%s"\nsleep 1\n' "$resp" > "$T/bad.sh"
		chmod +x "$T/bad.sh"
		scripted_tls_origin tlsbad EXEC:"$T/bad.sh"
		tlswrapd_gets_502 http_protocol_error
	done
}

# scripted_tls_origin NAME ADDRESS: a TLS origin for localhost on $Q (a
# certificate from $T/pki, made once), socat running its ADDRESS (EXEC:
# or SYSTEM:) for each connection.
scripted_tls_origin() {
	[ -f "$T/pki/localhost.pem" ] || {
		make_ca "$T/pki"
		make_cert "$T/pki" localhost "DNS:localhost,IP:127.0.0.1"
	}
	Q=$(free_port)
	bg "$1" socat OPENSSL-LISTEN:"$Q",bind=127.0.0.1,reuseaddr,fork,cert="$T/pki/localhost.pem",verify=0 "$2"
	wait_port "$Q"
}

# tlswrapd_gets_502 TOKEN: a GET through tlswrapd to the origin on $Q is
# answered 502 with Proxy-Status error=TOKEN.
tlswrapd_gets_502() {
	run -0 --separate-stderr tlswrapd -c "https://localhost:$Q" --cacert "$T/pki/ca.pem" \
		< <(printf 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
	[[ "$output" == "HTTP/1.1 502 "* ]]
	[[ "$output" == *"Proxy-Status: gtr; error=$1"$'\r'* ]]
}

# cgi NAME BODY: an executable shell program $T/cgi/NAME.
cgi() {
	mkdir -p "$T/cgi"
	printf '#!/bin/sh\n%s\n' "$2" > "$T/cgi/$1"
	chmod +x "$T/cgi/$1"
}

# ---------------------------------------------------------------- all four

@test "gtr(7): -h prints a summary to stdout and -V the version, both exiting 0, for all four" {
	local p
	for p in connectd relayd cgid tlswrapd; do
		run --separate-stderr "$p" -h
		[ "$status" -eq 0 ]
		[[ "$output" == *--max-conns* ]]
		[ -z "$stderr" ]
		run --separate-stderr "$p" -V
		[ "$status" -eq 0 ]
		[[ "$output" =~ [0-9]+\.[0-9]+ ]]
		[ -z "$stderr" ]
	done
}

@test "gtr(7): an address already in use exits 1 for all four" {
	local p q
	q=$(free_port)
	bg hold socat TCP-LISTEN:"$q",bind=127.0.0.1,reuseaddr,fork EXEC:cat
	wait_port "$q"
	mkdir -p "$T/root"
	for p in connectd relayd cgid tlswrapd; do
		if [ "$p" = cgid ]; then
			run -1 "$p" -l "$q" --root "$T/root"
		else
			run -1 "$p" -l "$q"
		fi
		[[ "$output" == *"$p["*"]: "* ]]
	done
}

@test "gtr(7): a -u user that does not exist exits 78 for all four" {
	local p
	mkdir -p "$T/root"
	for p in connectd relayd cgid tlswrapd; do
		if [ "$p" = cgid ]; then
			run -78 "$p" -l "$(free_port)" -u no-such-user-h13 --root "$T/root"
		else
			run -78 "$p" -l "$(free_port)" -u no-such-user-h13
		fi
		[[ "$output" == *no-such-user-h13* ]]
	done
}

@test "gtr(7): numbers outside the bounds the pages give are usage errors, exit 64" {
	local p o
	for p in connectd relayd tlswrapd; do
		for o in "--connect-timeout 0" "--connect-timeout 3601" \
		    "--grace 86401" "--header-timeout 0" "--header-timeout 3601" \
		    "--idle-timeout 0" "--idle-timeout 604801" \
		    "--max-conns 0" "--max-conns 1000001" "--max-conns 12x" \
		    "--allow-port 65536" "--allow-port 90-80" "--allow-dest 300.1.1.1" \
		    "--allow-dest 127.0.0.1/33"; do
			# shellcheck disable=SC2086
			run -64 "$p" -l "$(free_port)" $o
		done
	done
	mkdir -p "$T/root"
	for o in "--cgi-timeout 0" "--cgi-timeout 86401" "--max-body -1"; do
		# shellcheck disable=SC2086
		run -64 cgid -l "$(free_port)" --root "$T/root" $o
	done
}

@test "gtr(7): the bounds themselves are accepted" {
	local p
	echo_origin
	for p in connectd relayd; do
		run -0 "$p" --connect-timeout 3600 --grace 86400 --header-timeout 3600 \
			--idle-timeout 604800 --max-conns 1000000 --grace 0 \
			--allow-port 1-65535 < <(:)
	done
}

@test "gtr(7): HTTP/2.0 gets 505 from cgid and tlswrapd" {
	cgi ok.sh 'printf "Content-Type: text/plain\n\nok\n"'
	printf 'GET /ok.sh HTTP/2.0\r\nHost: x\r\n\r\n' | cgid --root "$T/cgi" > "$T/resp"
	run head -1 "$T/resp"
	[[ "$output" == "HTTP/1.1 505 "* ]]
	printf 'GET / HTTP/2.0\r\nHost: x\r\n\r\n' | tlswrapd -c https://localhost:1 > "$T/resp"
	run head -1 "$T/resp"
	[[ "$output" == "HTTP/1.1 505 "* ]]
	body_length_ok
}

@test "gtr(7): HTTP/1.2 is served as HTTP/1.1 by cgid" {
	cgi ok.sh 'printf "Content-Type: text/plain\n\n%s\n" "$SERVER_PROTOCOL"'
	printf 'GET /ok.sh HTTP/1.2\r\nHost: x\r\nConnection: close\r\n\r\n' | cgid --root "$T/cgi" > "$T/resp"
	run cat "$T/resp"
	[[ "$output" == "HTTP/1.1 200 "* ]]
	[[ "$output" == *HTTP/1.1* ]]
}

@test "gtr(7): a Transfer-Encoding not ending in chunked gets 501 from relayd and cgid" {
	cgi ok.sh 'printf "Content-Type: text/plain\n\nok\n"'
	printf 'POST /ok.sh HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n' | cgid --root "$T/cgi" > "$T/resp"
	run head -1 "$T/resp"
	[[ "$output" == "HTTP/1.1 501 "* ]]
	printf 'POST http://127.0.0.1/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n' | relayd > "$T/resp"
	run cat "$T/resp"
	[[ "$output" == "HTTP/1.1 501 "* ]]
	[[ "$output" == *$'Proxy-Status: gtr; error=http_request_error\r'* ]]
}

@test "gtr(7): errors are text/plain with a one-line body as long as Content-Length says" {
	printf 'GET / HTTP/1.1\r\nHost: x\r\n\r\n' | connectd > "$T/resp"
	grep -q $'^Content-Type: text/plain\r$' "$T/resp"
	body_length_ok
	[ "$(sed '1,/^\r$/d' "$T/resp" | wc -l)" -eq 1 ]
	printf 'CONNECT x HTTP/1.1\r\nHost: x\r\n\r\n' | relayd > "$T/resp"
	grep -q $'^Content-Type: text/plain\r$' "$T/resp"
	body_length_ok
	printf 'GET / HTTP/1.1\r\n\r\n' | tlswrapd > "$T/resp"
	grep -q $'^Content-Type: text/plain\r$' "$T/resp"
	body_length_ok
}

@test "gtr(7): a request line over 8 KiB gets 414 and a head over 32 KiB 431 from relayd, cgid and tlswrapd" {
	local p long big
	long=$(head -c 9000 /dev/zero | tr '\0' a)
	big=$(for i in $(seq 40); do printf 'X-A%s: %s\r\n' "$i" "${long:0:1000}"; done)
	mkdir -p "$T/root"
	for p in relayd "cgid --root $T/root" tlswrapd; do
		# shellcheck disable=SC2086
		printf 'GET /%s HTTP/1.1\r\nHost: x\r\n\r\n' "$long" | $p > "$T/resp" 2>/dev/null
		head -1 "$T/resp" | grep -q '^HTTP/1.1 414 '
		# shellcheck disable=SC2086
		printf 'GET / HTTP/1.1\r\nHost: x\r\n%s\n\r\n' "$big" | $p > "$T/resp" 2>/dev/null
		head -1 "$T/resp" | grep -q '^HTTP/1.1 431 '
	done
}

@test "gtr(7): the strict parser's 400s come from all four programs alike" {
	local p req
	mkdir -p "$T/root"
	for req in 'GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n  folded\r\n\r\n' \
	    'GET / HTTP/1.1\r\nHost: x\r\nX-A : 1\r\n\r\n' \
	    'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n' \
	    'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\001b\r\n\r\n' \
	    'G(T / HTTP/1.1\r\nHost: x\r\n\r\n' \
	    'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n' \
	    'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab'; do
		for p in connectd relayd "cgid --root $T/root" tlswrapd; do
			# shellcheck disable=SC2086
			printf "$req" | $p > "$T/resp" 2>/dev/null
			head -1 "$T/resp" | grep -q '^HTTP/1.1 400 '
		done
	done
}

@test "gtr(7): a bad chunk size gets 400 from cgid and tlswrapd" {
	cgi cat.sh 'printf "Content-Type: text/plain\n\n"; cat'
	run -0 --separate-stderr cgid --root "$T/cgi" \
		< <(printf 'POST /cat.sh HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n')
	[[ "$output" == "HTTP/1.1 400 "* ]]
	# an origin that answers only once the whole request has come
	printf '#!/bin/sh\ncat > /dev/null\nprintf "HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\n\\r\\nok"\n' > "$T/sink.sh"
	chmod +x "$T/sink.sh"
	scripted_tls_origin sink EXEC:"$T/sink.sh"
	run -0 --separate-stderr tlswrapd -c "https://localhost:$Q" --cacert "$T/pki/ca.pem" \
		< <(printf 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n')
	[[ "$output" == "HTTP/1.1 400 "* ]]
}

# ---------------------------------------------------------------- connectd

@test "connectd: --allow-port 8443 lets a CONNECT to 8443 through (here: the echo server's port)" {
	echo_origin
	run -0 connectd --allow-dest 127.0.0.1/32 --allow-port "$EPORT" \
		< <(printf 'CONNECT 127.0.0.1:%s HTTP/1.1\r\nHost: x\r\n\r\nping\n' "$EPORT")
	[[ "$output" == "HTTP/1.1 200 Connection established"* ]]
	[[ "$output" == *ping* ]]
}

@test "connectd: --allow-port takes a comma list with ranges" {
	echo_origin
	run -0 connectd --allow-dest 127.0.0.1/32 --allow-port "443,$((EPORT - 1))-$((EPORT + 1))" \
		< <(printf 'CONNECT 127.0.0.1:%s HTTP/1.1\r\nHost: x\r\n\r\nping\n' "$EPORT")
	[[ "$output" == "HTTP/1.1 200 "* ]]
	[[ "$output" == *ping* ]]
}

@test "connectd: the default --allow-port 443 refuses another port even to an allowed destination" {
	echo_origin
	run -0 --separate-stderr connectd --allow-dest 127.0.0.1/32 \
		< <(printf 'CONNECT 127.0.0.1:%s HTTP/1.1\r\nHost: x\r\n\r\nping\n' "$EPORT")
	[[ "$output" == "HTTP/1.1 403 "* ]]
	[[ "$output" == *$'Proxy-Status: gtr; error=destination_ip_prohibited\r'* ]]
	[[ "$output" != *ping* ]]
}

@test "connectd: an IPv4-mapped loopback address is refused by default like loopback" {
	run -0 --separate-stderr connectd < <(printf 'CONNECT [::ffff:127.0.0.1]:443 HTTP/1.1\r\nHost: x\r\n\r\n')
	[[ "$output" == "HTTP/1.1 403 "* ]]
	[[ "$output" == *destination_ip_prohibited* ]]
}

@test "connectd: --allow-dest 127.0.0.1/32 does not open 127.0.0.2, a comma list opens both" {
	echo_origin
	run -0 --separate-stderr connectd --allow-dest 127.0.0.1/32 --allow-port "$EPORT" \
		< <(printf 'CONNECT 127.0.0.2:%s HTTP/1.1\r\nHost: x\r\n\r\n' "$EPORT")
	[[ "$output" == "HTTP/1.1 403 "* ]]
	[[ "$output" == *destination_ip_prohibited* ]]
	run -0 --separate-stderr connectd --allow-dest 10.0.0.0/8,127.0.0.1 --allow-port "$EPORT" \
		< <(printf 'CONNECT 127.0.0.1:%s HTTP/1.1\r\nHost: x\r\n\r\nping\n' "$EPORT")
	[[ "$output" == "HTTP/1.1 200 "* ]]
	[[ "$output" == *ping* ]]
}

@test "connectd: -c fixes the destination whatever the request names, and policy does not judge it" {
	echo_origin
	run -0 --separate-stderr connectd -c "127.0.0.1:$EPORT" \
		< <(printf 'CONNECT example.org:443 HTTP/1.1\r\nHost: x\r\n\r\nping\n')
	[[ "$output" == "HTTP/1.1 200 "* ]]
	[[ "$output" == *ping* ]]
	[[ "$stderr" == *"upstream=127.0.0.1"* ]]
}

@test "connectd: -c unix:path tunnels to a unix socket" {
	bg uecho socat UNIX-LISTEN:"$T/echo.sock",fork EXEC:cat
	wait_file "$T/echo.sock"
	run -0 --separate-stderr connectd -c "unix:$T/echo.sock" \
		< <(printf 'CONNECT example.org:443 HTTP/1.1\r\nHost: x\r\n\r\nping\n')
	[[ "$output" == "HTTP/1.1 200 "* ]]
	[[ "$output" == *ping* ]]
}

@test "connectd: a tunnel's access line has client, method, target, status, upstream, byte counts, ms and reason" {
	echo_origin
	printf -v head 'CONNECT 127.0.0.1:%s HTTP/1.1\r\nHost: x\r\n\r\n' "$EPORT"
	run -0 --separate-stderr connectd --allow-dest 127.0.0.1/32 --allow-port "$EPORT" \
		< <(printf '%shello\n' "$head")
	# bytes_in: the head and "hello\n"; bytes_out: the 200 and the echo.
	[[ "$stderr" =~ ^connectd\[[0-9]+\]:\ info:\ conn=1\ client=-:-\ method=CONNECT\ target=127\.0\.0\.1:$EPORT\ status=200\ upstream=127\.0\.0\.1:$EPORT\ bytes_in=$((${#head} + 6))\ bytes_out=45\ ms=[0-9]+\ reason=[a-z_]+$ ]]
	[[ "$stderr" != *user=* ]]
}

@test "connectd: TCPREMOTEIP and TCPREMOTEPORT name the client on a pipe" {
	TCPREMOTEIP=192.0.2.7 TCPREMOTEPORT=50312 run -0 --separate-stderr connectd \
		< <(printf 'CONNECT 127.0.0.1:443 HTTP/1.1\r\nHost: x\r\n\r\n')
	[[ "$stderr" == *"client=192.0.2.7:50312 method=CONNECT"* ]]
}

@test "connectd: -q drops the access line but not the answer" {
	run -0 --separate-stderr connectd -q < <(printf 'CONNECT 127.0.0.1:443 HTTP/1.1\r\nHost: x\r\n\r\n')
	[[ "$output" == "HTTP/1.1 403 "* ]]
	[ -z "$stderr" ]
}

@test "connectd: -v logs the head received, the address connected to and the relay's start; without -v none of it" {
	echo_origin
	run -0 --separate-stderr connectd -v --allow-dest 127.0.0.1/32 --allow-port "$EPORT" \
		< <(printf 'CONNECT 127.0.0.1:%s HTTP/1.1\r\nHost: x\r\n\r\nping\n' "$EPORT")
	[[ "$output" == *ping* ]]
	[[ "$stderr" =~ connectd\[[0-9]+\]:\ debug:\ conn=[0-9]+:\ head\ received:\ CONNECT\ 127\.0\.0\.1:$EPORT\ HTTP/1\.1 ]]
	[[ "$stderr" =~ debug:\ conn=[0-9]+:\ connected\ to\ 127\.0\.0\.1:$EPORT\ \(address\ 127\.0\.0\.1:$EPORT\) ]]
	[[ "$stderr" == *"debug: conn=1: relay started, 5 bytes"* ]]
	[[ "$stderr" == *"status=200"* ]]
	run -0 --separate-stderr connectd -v < <(printf 'CONNECT 127.0.0.1:443 HTTP/1.1\r\nHost: x\r\n\r\n')
	[[ "$output" == "HTTP/1.1 403 "* ]]
	[[ "$stderr" == *"debug: conn=1: head received: CONNECT 127.0.0.1:443 HTTP/1.1"* ]]
	[[ "$stderr" == *"debug: conn=1: destination 127.0.0.1 is not allowed"* ]]
	run -0 --separate-stderr connectd --allow-dest 127.0.0.1/32 --allow-port "$EPORT" \
		< <(printf 'CONNECT 127.0.0.1:%s HTTP/1.1\r\nHost: x\r\n\r\nping\n' "$EPORT")
	[[ "$stderr" == *"status=200"* ]]
	[[ "$stderr" != *debug:* ]]
}

@test "connectd: with --auth the realm is gtr by default, 407 says http_request_denied, and the access line names the user" {
	echo_origin
	htpasswd -nbB alice secret > "$T/pw"
	run -0 --separate-stderr connectd --auth "$T/pw" < <(printf 'CONNECT 127.0.0.1:443 HTTP/1.1\r\nHost: x\r\n\r\n')
	[[ "$output" == "HTTP/1.1 407 "* ]]
	[[ "$output" == *$'Proxy-Authenticate: Basic realm="gtr"\r'* ]]
	[[ "$output" == *$'Proxy-Status: gtr; error=http_request_denied\r'* ]]
	run -0 --separate-stderr connectd --auth "$T/pw" --allow-dest 127.0.0.1/32 --allow-port "$EPORT" \
		< <(printf 'CONNECT 127.0.0.1:%s HTTP/1.1\r\nHost: x\r\nProxy-Authorization: Basic %s\r\n\r\nping\n' \
			"$EPORT" "$(printf alice:secret | base64)")
	[[ "$output" == "HTTP/1.1 200 "* ]]
	[[ "$stderr" == *" status=200 user=alice "* ]]
}

@test "connectd: --realm takes up to 127 printable bytes; longer, a backslash or a control character exit 64" {
	local r127
	r127=$(head -c 127 /dev/zero | tr '\0' r)
	htpasswd -nbB alice secret > "$T/pw"
	run -0 --separate-stderr connectd --auth "$T/pw" --realm "$r127" < <(printf 'CONNECT 127.0.0.1:443 HTTP/1.1\r\nHost: x\r\n\r\n')
	[[ "$output" == *"realm=\"$r127\""* ]]
	run -64 connectd --realm "${r127}r" < /dev/null
	run -64 connectd --realm 'a\b' < /dev/null
	run -64 connectd --realm "$(printf 'a\001')" < /dev/null
}

@test "connectd: after a 407 the retry must come within --header-timeout, or 408 closes the connection" {
	htpasswd -nbB alice secret > "$T/pw"
	P=$(free_port)
	gtr_start connectd "$P" --auth "$T/pw" --header-timeout 1
	run -0 hold "$P" 'CONNECT 127.0.0.1:443 HTTP/1.1\r\nHost: x\r\n\r\n' 20
	[[ "$output" == "HTTP/1.1 407 "* ]]
	[[ "$output" == *$'\nHTTP/1.1 408 '* ]]
	[[ "$output" != *TIMEOUT* ]]
	wait_log 'status=408' "$T/connectd.log"
}

@test "connectd: an --auth file of only comments and blank lines holds no usable hash: exit 78" {
	printf '# nobody\n\n' > "$T/pw"
	run -78 connectd --auth "$T/pw" < /dev/null
	[[ "$output" == *"$T/pw"* ]]
}

@test "connectd: --auth skips comments and blank lines around the users" {
	{ echo '# team'; echo; htpasswd -nbB alice secret; } > "$T/pw"
	run -0 --separate-stderr connectd --auth "$T/pw" \
		< <(printf 'CONNECT 127.0.0.1:443 HTTP/1.1\r\nHost: x\r\nProxy-Authorization: Basic %s\r\n\r\n' "$(printf alice:secret | base64)")
	[[ "$output" == "HTTP/1.1 403 "* ]]
}

@test "connectd: every refusal but 407 closes the connection: a second request gets no answer" {
	run -0 --separate-stderr connectd < <(printf 'GET / HTTP/1.1\r\nHost: x\r\n\r\nCONNECT 127.0.0.1:443 HTTP/1.1\r\nHost: x\r\n\r\n')
	[[ "$output" == "HTTP/1.1 405 "* ]]
	[ "$(grep -c '^HTTP/1.1 ' <<< "$output")" -eq 1 ]
}

@test "connectd: --idle-timeout 1 closes a tunnel in which nothing moves" {
	echo_origin
	P=$(free_port)
	gtr_start connectd "$P" --idle-timeout 1 --allow-dest 127.0.0.1/32 --allow-port "$EPORT"
	run -0 hold "$P" "CONNECT 127.0.0.1:$EPORT HTTP/1.1\r\nHost: x\r\n\r\n" 20
	[[ "$output" == "HTTP/1.1 200 "* ]]
	[[ "$output" != *TIMEOUT* ]]
	wait_log 'status=200' "$T/connectd.log"
}

@test "connectd: a listening connectd logs 'listening on' its address" {
	P=$(free_port)
	gtr_start connectd "$P"
	grep -q "^connectd\[[0-9]*\]: info: listening on 127.0.0.1:$P\$" "$T/connectd.log"
}

@test "connectd: a GET refused with 405 is logged with method=GET, not CONNECT" {
	run -0 --separate-stderr connectd < <(printf 'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
	[[ "$output" == "HTTP/1.1 405 "* ]]
	[[ "$stderr" == *" method=GET target=/ status=405 "* ]]
	[[ "$stderr" != *method=CONNECT* ]]
}

@test "connectd: an HTTP/1.1 CONNECT without Host gets 400, an HTTP/1.0 one is judged on its target" {
	echo_origin
	run -0 --separate-stderr connectd --allow-dest 127.0.0.1/32 --allow-port "$EPORT" \
		< <(printf 'CONNECT 127.0.0.1:%s HTTP/1.1\r\n\r\nping\n' "$EPORT")
	[[ "$output" == "HTTP/1.1 400 "* ]]
	[[ "$output" == *$'Proxy-Status: gtr; error=http_request_error\r'* ]]
	[[ "$output" != *ping* ]]
	run -0 --separate-stderr connectd --allow-dest 127.0.0.1/32 --allow-port "$EPORT" \
		< <(printf 'CONNECT 127.0.0.1:%s HTTP/1.0\r\n\r\nping\n' "$EPORT")
	[[ "$output" == "HTTP/1.1 200 "* ]]
	[[ "$output" == *ping* ]]
}

# ---------------------------------------------------------------- relayd

@test "relayd: a URI without a port means port 80, which the default --allow-port lets past" {
	run -0 --separate-stderr relayd < <(printf 'GET http://127.0.0.1/ HTTP/1.1\r\nHost: x\r\n\r\n')
	[[ "$output" == "HTTP/1.1 403 "* ]]
	[[ "$output" != *"port 80 "* ]]
	[[ "$output" == *"destination"* ]]
	run -0 --separate-stderr relayd < <(printf 'GET http://127.0.0.1:81/ HTTP/1.1\r\nHost: x\r\n\r\n')
	[[ "$output" == "HTTP/1.1 403 "* ]]
	[[ "$output" == *"port 81"* ]]
}

@test "relayd: Connection, the fields it names, Keep-Alive and Proxy-Connection are removed and Connection: close added" {
	run -0 --separate-stderr relayd -- sh -c "cat > '$T/head'" \
		< <(printf 'GET http://example.org/p?q HTTP/1.1\r\nHost: wrong\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\nKeep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\nX-End: 2\r\n\r\n')
	run cat "$T/head"
	[[ "$output" == $'GET /p?q HTTP/1.1\r\n'* ]]
	[[ "$output" == *$'Host: example.org\r\n'* ]]
	[[ "$output" == *$'X-End: 2\r\n'* ]]
	[[ "$output" == *$'Connection: close\r\n'* ]]
	[[ "$output" != *X-Hop* ]]
	[[ "$output" != *Keep-Alive* ]]
	[[ "$output" != *Proxy-Connection* ]]
	[[ "$output" != *"wrong"* ]]
}

@test "relayd: the origin's Connection and Keep-Alive reach the client unchanged" {
	run -0 --separate-stderr relayd -- sh -c "head -c 1 > /dev/null; printf 'HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nContent-Length: 2\r\n\r\nok'" \
		< <(printf 'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
	[[ "$output" == *$'Connection: keep-alive\r'* ]]
	[[ "$output" == *$'Keep-Alive: timeout=5\r'* ]]
	[[ "$output" == *ok ]]
}

@test "relayd: https://, user information, two Hosts and no Host get 400" {
	local req
	for req in 'GET https://127.0.0.1/ HTTP/1.1\r\nHost: x\r\n\r\n' \
	    'GET http://u:p@127.0.0.1/ HTTP/1.1\r\nHost: x\r\n\r\n' \
	    'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n' \
	    'GET / HTTP/1.0\r\n\r\n'; do
		run -0 --separate-stderr relayd < <(printf "$req")
		[[ "$output" == "HTTP/1.1 400 "* ]]
		[[ "$output" == *$'Proxy-Status: gtr; error=http_request_error\r'* ]]
	done
}

@test "relayd: CONNECT gets 501 with Proxy-Status http_request_error" {
	run -0 --separate-stderr relayd < <(printf 'CONNECT 127.0.0.1:443 HTTP/1.1\r\nHost: x\r\n\r\n')
	[[ "$output" == "HTTP/1.1 501 "* ]]
	[[ "$output" == *$'Proxy-Status: gtr; error=http_request_error\r'* ]]
}

@test "relayd: --allow-port takes ranges such as 8080-8089" {
	echo_origin
	run -0 --separate-stderr relayd --allow-dest 127.0.0.1/32 --allow-port "80,$((EPORT - 1))-$((EPORT + 1))" \
		< <(printf 'GET http://127.0.0.1:%s/x HTTP/1.1\r\nHost: y\r\n\r\n' "$EPORT")
	[[ "$output" == $'GET /x HTTP/1.1\r\n'* ]]
	[[ "$output" == *$'Host: 127.0.0.1:'"$EPORT"$'\r\n'* ]]
}

@test "relayd: a program after -- that cannot be run is exit 78 at start; one gone since gets the client 502 proxy_internal_error" {
	local prog
	printf 'echo hi\n' > "$T/noexec"
	chmod -x "$T/noexec"
	for prog in /no/such/program no-such-program-h15 "$T/noexec" "$T"; do
		run -78 --separate-stderr relayd -- "$prog" < <(printf 'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
		[ -z "$output" ]
		[[ "$stderr" == *"error: -- $prog: "* ]]
	done
	printf '#!/bin/sh\necho hi\n' > "$T/gone"
	chmod +x "$T/gone"
	P=$(free_port)
	gtr_start relayd "$P" -- "$T/gone"
	rm "$T/gone"
	run -0 raw "$P" < <(printf 'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
	[[ "$output" == "HTTP/1.1 502 "* ]]
	[[ "$output" == *$'Proxy-Status: gtr; error=proxy_internal_error\r'* ]]
	[[ "$output" == *"cannot run $T/gone"* ]]
	wait_log " status=502 upstream=program " "$T/relayd.log"
	! grep -q reason=reset "$T/relayd.log" || false
}

@test "relayd: --raw without a destination, -c with a program, and -- alone exit 64" {
	run -64 relayd --raw < /dev/null
	run -64 relayd -c 127.0.0.1:80 -- cat < /dev/null
	run -64 relayd -- < /dev/null
}

@test "relayd: the access line says status=- for an answer that is not HTTP and upstream=program; --raw has no method, target or status" {
	run -0 --separate-stderr relayd -- sh -c 'cat > /dev/null; echo hi' < <(printf 'GET http://x/a HTTP/1.1\r\nHost: x\r\n\r\n')
	[ "$output" = hi ]
	[[ "$stderr" =~ relayd\[[0-9]+\]:\ info:\ conn=1\ client=-:-\ method=GET\ target=http://x/a\ status=-\ upstream=program\ bytes_in=[0-9]+\ bytes_out=3\ ms=[0-9]+\ reason= ]]
	run -0 --separate-stderr relayd --raw -- sh -c 'cat > /dev/null; echo hi' < <(printf 'bytes\n')
	[[ "$stderr" == *": info: conn=1 client=-:- upstream=program bytes_in=6 bytes_out=3 "* ]]
	[[ "$stderr" != *method=* ]]
	[[ "$stderr" != *status=* ]]
}

@test "relayd: -v adds debug lines" {
	run -0 --separate-stderr relayd -v -- sh -c 'cat > /dev/null; echo hi' < <(printf 'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
	[ "$output" = hi ]
	[[ "$stderr" =~ relayd\[[0-9]+\]:\ debug:\  ]]
	run -0 --separate-stderr relayd -- sh -c 'cat > /dev/null; echo hi' < <(printf 'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
	[[ "$stderr" != *" debug: "* ]]
}

@test "relayd: -q drops the access line" {
	run -0 --separate-stderr relayd -q -- sh -c 'cat > /dev/null; echo hi' < <(printf 'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
	[ "$output" = hi ]
	[ -z "$stderr" ]
}

@test "relayd: the program never sees TCPREMOTEHOST, TCPREMOTEINFO, TCPLOCALHOST or the LISTEN_ variables" {
	TCPREMOTEHOST=evil TCPREMOTEINFO=evil TCPLOCALHOST=evil LISTEN_PID=1 LISTEN_FDS=1 LISTEN_FDNAMES=evil \
	    TCPREMOTEIP=192.0.2.9 TCPREMOTEPORT=4000 \
	    run -0 --separate-stderr relayd --raw -- sh -c 'cat > /dev/null; env' < <(:)
	[[ "$output" != *evil* ]]
	[[ "$output" == *PROTO=TCP* ]]
	[[ "$output" == *TCPREMOTEIP=192.0.2.9* ]]
	[[ "$output" == *TCPREMOTEPORT=4000* ]]
}

@test "relayd: a program that exits non-zero is logged" {
	P=$(free_port)
	gtr_start relayd "$P" --raw -- sh -c 'cat > /dev/null; exit 3'
	run -0 raw "$P" <<< hello
	wait_log 'exited with status 3' "$T/relayd.log"
}

@test "relayd: on a pipe, a program's non-zero exit is logged before relayd exits" {
	local i
	for i in 1 2 3; do
		run -0 --separate-stderr relayd --raw -- sh -c 'cat > /dev/null; exit 3' < <(:)
		[[ "$stderr" == *"reason=done"* ]]
		[[ "$stderr" =~ relayd\[[0-9]+\]:\ warning:\ conn=1:\ pid\ [0-9]+\ exited\ with\ status\ 3 ]]
	done
	run -0 --separate-stderr relayd -- sh -c 'cat > /dev/null; echo hi; exit 4' \
		< <(printf 'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
	[ "$output" = hi ]
	[[ "$stderr" == *"exited with status 4"* ]]
}

@test "relayd: on a pipe, a program that outlives its connection is stopped, not waited for forever" {
	run -0 --separate-stderr relayd --raw -- sh -c 'exec 0<&- 1>&-; exec sleep 60' < <(:)
	[[ "$stderr" == *"killed by signal 15"* ]]
}

@test "relayd: only the first request is relayed; a pipelined second one gets no answer of its own" {
	run -0 --separate-stderr relayd -- sh -c "cat > '$T/up'; printf 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'" \
		< <(printf 'GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n')
	[ "$(grep -c '^HTTP/1.1 ' <<< "$output")" -eq 1 ]
	# the second head is passed on as bytes, not parsed or rewritten
	grep -q '^GET /2 HTTP/1.1' "$T/up"
	[ "$(grep -c '^Connection: close' "$T/up")" -eq 1 ]
}

@test "relayd: a listening relayd logs 'listening on' and relays a curl -x request to nginx" {
	N=$(free_port)
	mkdir -p "$T/www"
	echo hi-from-nginx > "$T/www/i.html"
	nginx_start "$N"
	P=$(free_port)
	gtr_start relayd "$P" --allow-dest 127.0.0.1/32 --allow-port "$N"
	grep -q "^relayd\[[0-9]*\]: info: listening on 127.0.0.1:$P\$" "$T/relayd.log"
	run -0 curl -sS --max-time 20 -x "http://127.0.0.1:$P" "http://127.0.0.1:$N/i.html"
	[ "$output" = hi-from-nginx ]
}

@test "relayd: with -c an HTTP/1.0 request in origin form needs no Host" {
	echo_origin
	run -0 --separate-stderr relayd -c "127.0.0.1:$EPORT" < <(printf 'GET /x HTTP/1.0\r\n\r\n')
	[[ "$output" == $'GET /x HTTP/1.0\r\n'* ]]
	[[ "$output" == *$'Connection: close\r\n'* ]]
}

@test "relayd: an HTTP/1.1 request without Host gets 400, with -c and with an absolute URI too (RFC 9112 3.2); HTTP/1.0 with -c needs none" {
	echo_origin
	run -0 --separate-stderr relayd -c "127.0.0.1:$EPORT" < <(printf 'GET / HTTP/1.1\r\n\r\n')
	[[ "$output" == "HTTP/1.1 400 "* ]]
	[[ "$output" == *$'Proxy-Status: gtr; error=http_request_error\r'* ]]
	run -0 --separate-stderr relayd --allow-dest 127.0.0.1/32 --allow-port "$EPORT" \
		< <(printf 'GET http://127.0.0.1:%s/x HTTP/1.1\r\n\r\n' "$EPORT")
	[[ "$output" == "HTTP/1.1 400 "* ]]
	[[ "$output" != *"GET /x"* ]]
	run -0 --separate-stderr relayd -c "127.0.0.1:$EPORT" < <(printf 'GET /y HTTP/1.0\r\n\r\n')
	[[ "$output" == $'GET /y HTTP/1.0\r\n'* ]]
	run -0 --separate-stderr relayd -c "127.0.0.1:$EPORT" < <(printf 'GET /z HTTP/1.1\r\nHost: anything\r\n\r\n')
	[[ "$output" == $'GET /z HTTP/1.1\r\n'* ]]
}

@test "relayd: -c unix:path relays to a unix socket" {
	bg uecho socat UNIX-LISTEN:"$T/echo.sock",fork EXEC:cat
	wait_file "$T/echo.sock"
	run -0 --separate-stderr relayd -c "unix:$T/echo.sock" < <(printf 'GET /u HTTP/1.1\r\nHost: a\r\n\r\n')
	[[ "$output" == $'GET /u HTTP/1.1\r\n'* ]]
	[[ "$stderr" == *" upstream=unix "* ]]
}

@test "relayd: the program after -- is looked for in PATH" {
	mkdir -p "$T/bin"
	printf '#!/bin/sh\ncat > /dev/null\necho found-in-path\n' > "$T/bin/h13prog"
	chmod +x "$T/bin/h13prog"
	PATH="$T/bin:$PATH" run -0 --separate-stderr relayd -- h13prog < <(printf 'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
	[ "$output" = found-in-path ]
}

@test "relayd: a chunked request body goes on untouched" {
	run -0 --separate-stderr relayd -- sh -c "cat > '$T/up'" \
		< <(printf 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n')
	grep -q $'^Transfer-Encoding: chunked\r$' "$T/up"
	[[ "$(cat "$T/up")" == *$'\r\n\r\n5\r\nhello\r\n0\r\n\r' ]]
}

@test "relayd: --idle-timeout 1 ends an exchange whose origin says nothing" {
	Q=$(free_port)
	bg silent socat TCP-LISTEN:"$Q",bind=127.0.0.1,reuseaddr,fork SYSTEM:'exec cat > /dev/null'
	wait_port "$Q"
	P=$(free_port)
	gtr_start relayd "$P" --idle-timeout 1 -c "127.0.0.1:$Q"
	run -0 hold "$P" 'GET / HTTP/1.1\r\nHost: x\r\n\r\n' 20
	[[ "$output" != *TIMEOUT* ]]
	wait_log 'status=-' "$T/relayd.log"
}

# ---------------------------------------------------------------- cgid

@test "cgid: SERVER_SOFTWARE is gtr-cgid/ and -V's version, SERVER_PORT 80 on a pipe, REDIRECT_STATUS 200" {
	cgi env.sh 'printf "Content-Type: text/plain\n\n"; env'
	local v
	v=$(cgid -V | grep -o '[0-9][0-9.]*' | head -1)
	printf 'GET /env.sh HTTP/1.0\r\n\r\n' | cgid --root "$T/cgi" > "$T/resp"
	grep -q "^SERVER_SOFTWARE=gtr-cgid/$v\$" "$T/resp"
	grep -q '^SERVER_PORT=80$' "$T/resp"
	grep -q '^REDIRECT_STATUS=200$' "$T/resp"
	grep -q '^GATEWAY_INTERFACE=CGI/1.1$' "$T/resp"
	grep -q '^PATH=/usr/bin:/bin$' "$T/resp"
	grep -q '^SERVER_PROTOCOL=HTTP/1.0$' "$T/resp"
}

@test "cgid: PATH_TRANSLATED is the root and PATH_INFO, SCRIPT_FILENAME the program's file" {
	mkdir -p "$T/cgi/app"
	cgi app/run.sh 'printf "Content-Type: text/plain\n\n"; env; pwd'
	printf 'GET /app/run.sh/a/b HTTP/1.0\r\n\r\n' | cgid --root "$T/cgi" > "$T/resp"
	grep -q '^SCRIPT_NAME=/app/run.sh$' "$T/resp"
	grep -q '^PATH_INFO=/a/b$' "$T/resp"
	grep -q "^PATH_TRANSLATED=$T/cgi/a/b\$" "$T/resp"
	grep -q "^SCRIPT_FILENAME=$T/cgi/app/run.sh\$" "$T/resp"
	grep -q "^$T/cgi/app\$" "$T/resp"
}

@test "cgid: QUERY_STRING is passed undecoded and never as an argument" {
	cgi q.sh 'printf "Content-Type: text/plain\n\nargs=%s q=%s\n" "$#" "$QUERY_STRING"'
	printf 'GET /q.sh?a%%20b+c HTTP/1.0\r\n\r\n' | cgid --root "$T/cgi" > "$T/resp"
	grep -q '^args=0 q=a%20b+c$' "$T/resp"
}

@test "cgid: repeated fields are joined with ', ', Cookies with '; ', and names with '_' are not passed" {
	cgi env.sh 'printf "Content-Type: text/plain\n\n"; env'
	printf 'GET /env.sh HTTP/1.0\r\nX-A: 1\r\nX-A: 2\r\nCookie: a=1\r\nCookie: b=2\r\nX_B: under\r\n\r\n' \
		| cgid --root "$T/cgi" > "$T/resp"
	grep -q '^HTTP_X_A=1, 2$' "$T/resp"
	grep -q '^HTTP_COOKIE=a=1; b=2$' "$T/resp"
	run grep under "$T/resp"
	[ "$status" -ne 0 ]
}

@test "cgid: SSL_* in cgid's environment reach programs with HTTPS=on" {
	cgi env.sh 'printf "Content-Type: text/plain\n\n"; env'
	printf 'GET /env.sh HTTP/1.0\r\n\r\n' | SSL_PROTOCOL=TLSv1.3 SSL_CIPHER=X cgid --root "$T/cgi" > "$T/resp"
	grep -q '^SSL_PROTOCOL=TLSv1.3$' "$T/resp"
	grep -q '^SSL_CIPHER=X$' "$T/resp"
	grep -q '^HTTPS=on$' "$T/resp"
	printf 'GET /env.sh HTTP/1.0\r\n\r\n' | cgid --root "$T/cgi" > "$T/resp"
	run grep -c '^HTTPS=\|^SSL_' "$T/resp"
	[ "$output" = 0 ]
}

@test "cgid: CONNECT gets 501" {
	run -0 --separate-stderr cgid --root "$T" < <(printf 'CONNECT a:443 HTTP/1.1\r\nHost: a\r\n\r\n')
	[[ "$output" == "HTTP/1.1 501 "* ]]
	[[ "$output" == *$'Proxy-Status: gtr; error=http_request_error\r'* ]]
}

@test "cgid: its own 400, 401, 403, 404 and 501 carry the Proxy-Status its table gives; a program's own 404 carries none" {
	local req want
	cgi nf.sh 'printf "Status: 404 Not Here\nContent-Type: text/plain\n\nnot here\n"'
	printf 'echo hi\n' > "$T/cgi/noexec.sh"
	chmod -x "$T/cgi/noexec.sh"
	for req in 'GET / HTTP/1.1\r\n\r\n|400|http_request_error' \
	    'GET /x HTTP/1.1\r\nHost: x\r\nX-A : 1\r\n\r\n|400|http_request_error' \
	    'GET /no-such.sh HTTP/1.1\r\nHost: x\r\n\r\n|404|destination_not_found' \
	    'GET /noexec.sh HTTP/1.1\r\nHost: x\r\n\r\n|403|http_request_denied' \
	    'POST /nf.sh HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n|501|http_request_error' \
	    'GET /nf.sh HTTP/2.0\r\nHost: x\r\n\r\n|505|http_request_error'; do
		want=${req#*|}
		run -0 --separate-stderr cgid --root "$T/cgi" < <(printf "${req%%|*}")
		[[ "$output" == "HTTP/1.1 ${want%|*} "* ]]
		[[ "$output" == *$'\r\nProxy-Status: gtr; error='"${want#*|}"$'\r\n'* ]]
	done
	htpasswd -nbB alice secret > "$T/pw"
	run -0 --separate-stderr cgid --root "$T/cgi" --auth "$T/pw" < <(printf 'GET /nf.sh HTTP/1.1\r\nHost: x\r\n\r\n')
	[[ "$output" == "HTTP/1.1 401 "* ]]
	[[ "$output" == *$'Proxy-Status: gtr; error=http_request_denied\r'* ]]
	run -0 --separate-stderr cgid --root "$T/cgi" < <(printf 'GET /nf.sh HTTP/1.1\r\nHost: x\r\n\r\n')
	[[ "$output" == "HTTP/1.1 404 Not Here"* ]]
	[[ "$output" == *"not here"* ]]
	[[ "$output" != *Proxy-Status* ]]
}

@test "cgid: an absolute Location with Status 301 is sent as 301" {
	cgi r.sh 'printf "Status: 301 Moved\nLocation: http://example.org/new\n\n"'
	run -0 --separate-stderr cgid --root "$T/cgi" < <(printf 'GET /r.sh HTTP/1.0\r\n\r\n')
	[[ "$output" == "HTTP/1.0 301 "* || "$output" == "HTTP/1.1 301 "* ]]
	[[ "$output" == *$'Location: http://example.org/new\r'* ]]
}

@test "cgid: a Date is added unless the program wrote one, and its hop-by-hop fields are dropped" {
	cgi d.sh 'printf "Content-Type: text/plain\nConnection: keep-alive\nKeep-Alive: x\nUpgrade: h2c\nX-Mine: 1\n\nok\n"'
	cgi own.sh 'printf "Content-Type: text/plain\nDate: Thu, 01 Jan 1970 00:00:00 GMT\n\nok\n"'
	run -0 --separate-stderr cgid --root "$T/cgi" < <(printf 'GET /d.sh HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
	[[ "$output" == *$'\r\nDate: '* ]]
	[[ "$output" == *$'X-Mine: 1\r'* ]]
	[[ "$output" != *keep-alive* ]]
	[[ "$output" != *Keep-Alive* ]]
	[[ "$output" != *h2c* ]]
	run -0 --separate-stderr cgid --root "$T/cgi" < <(printf 'GET /own.sh HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
	[ "$(grep -c '^Date: ' <<< "$output")" -eq 1 ]
	[[ "$output" == *"Date: Thu, 01 Jan 1970 00:00:00 GMT"* ]]
}

@test "cgid: Status 204 or 304 sends no body even if the program writes one" {
	cgi n.sh 'printf "Status: 204 No Content\n\nsecret-body\n"'
	cgi m.sh 'printf "Status: 304 Not Modified\n\nsecret-body\n"'
	run -0 --separate-stderr cgid --root "$T/cgi" < <(printf 'GET /n.sh HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
	[[ "$output" == "HTTP/1.1 204 "* ]]
	[[ "$output" != *secret-body* ]]
	run -0 --separate-stderr cgid --root "$T/cgi" < <(printf 'GET /m.sh HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
	[[ "$output" == "HTTP/1.1 304 "* ]]
	[[ "$output" != *secret-body* ]]
}

@test "cgid: HTTP/1.0 with Connection: keep-alive keeps the connection for a second request" {
	cgi c.sh 'printf "Content-Type: text/plain\nContent-Length: 3\n\nok\n"'
	run -0 --separate-stderr cgid --root "$T/cgi" \
		< <(printf 'GET /c.sh HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /c.sh HTTP/1.0\r\n\r\n')
	[ "$(grep -c '^HTTP/1.[01] 200 ' <<< "$output")" -eq 2 ]
}

@test "cgid: a chunked body is spooled under TMPDIR, unlinked" {
	mkdir -p "$T/tmp"
	cgi s.sh 'printf "Content-Type: text/plain\n\n"; readlink /proc/self/fd/0; cat'
	printf 'POST /s.sh HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n' \
		| TMPDIR="$T/tmp" cgid --root "$T/cgi" > "$T/resp"
	grep -q "^$T/tmp/.*(deleted)" "$T/resp"
	grep -q hello "$T/resp"
	[ -z "$(ls -A "$T/tmp")" ]
}

@test "cgid: --max-body 0 lifts the bound and a small --max-body gets 413" {
	cgi s.sh 'printf "Content-Type: text/plain\n\n"; wc -c'
	head -c 100000 /dev/zero > "$T/body"
	{ printf 'POST /s.sh HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 100000\r\n\r\n'; cat "$T/body"; } \
		| cgid --root "$T/cgi" --max-body 0 > "$T/resp"
	grep -q '^100000$' "$T/resp"
	{ printf 'POST /s.sh HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 100000\r\n\r\n'; cat "$T/body"; } \
		| cgid --root "$T/cgi" --max-body 99999 > "$T/resp"
	head -1 "$T/resp" | grep -q '^HTTP/1.1 413 '
	grep -q $'^Proxy-Status: gtr; error=http_request_denied\r$' "$T/resp"
}

@test "cgid: a second local redirect gets 502 with Proxy-Status http_protocol_error" {
	cgi a.sh 'printf "Location: /b.sh\n\n"'
	cgi b.sh 'printf "Location: /a.sh\n\n"'
	run -0 --separate-stderr cgid --root "$T/cgi" < <(printf 'GET /a.sh HTTP/1.0\r\n\r\n')
	[[ "$output" == "HTTP/1.0 502 "* || "$output" == "HTTP/1.1 502 "* ]]
	[[ "$output" == *"error=http_protocol_error"* ]]
}

@test "cgid: an executable that cannot be started gets 502 with Proxy-Status proxy_internal_error" {
	mkdir -p "$T/cgi"
	printf '#!/no/such/interpreter\n' > "$T/cgi/x.sh"
	chmod +x "$T/cgi/x.sh"
	run -0 --separate-stderr cgid --root "$T/cgi" < <(printf 'GET /x.sh HTTP/1.0\r\n\r\n')
	[[ "$output" == *" 502 "* ]]
	[[ "$output" == *"error=proxy_internal_error"* ]]
}

@test "cgid: a program that ends without a header block gets 502 http_response_incomplete" {
	cgi e.sh 'exit 0'
	run -0 --separate-stderr cgid --root "$T/cgi" < <(printf 'GET /e.sh HTTP/1.0\r\n\r\n')
	[[ "$output" == *" 502 "* ]]
	[[ "$output" == *"error=http_response_incomplete"* ]]
}

@test "cgid: -v logs a program's non-zero exit status" {
	cgi f.sh 'printf "Content-Type: text/plain\n\nok\n"; exit 7'
	run -0 --separate-stderr cgid -v --root "$T/cgi" < <(printf 'GET /f.sh HTTP/1.0\r\n\r\n')
	[[ "$stderr" =~ cgid\[[0-9]+\]:\ debug:.*7 ]]
}

@test "cgid: the access line follows the gtr log format and -q drops it" {
	cgi ok.sh 'printf "Content-Type: text/plain\n\nok\n"'
	run -0 --separate-stderr cgid --root "$T/cgi" < <(printf 'GET /ok.sh HTTP/1.0\r\n\r\n')
	[[ "$stderr" =~ cgid\[[0-9]+\]:\ info:\ .*client=-.*method=GET.*target=/ok.sh.*status=200.*bytes_in=.*bytes_out=.*ms= ]]
	run -0 --separate-stderr cgid -q --root "$T/cgi" < <(printf 'GET /ok.sh HTTP/1.0\r\n\r\n')
	[ -z "$stderr" ]
}

@test "cgid: client= is IP:PORT as in connectd and relayd: -:- on a pipe, from TCPREMOTEIP and TCPREMOTEPORT, and from the socket" {
	cgi ok.sh 'printf "Content-Type: text/plain\n\nok\n"'
	run -0 --separate-stderr cgid --root "$T/cgi" < <(printf 'GET /ok.sh HTTP/1.0\r\n\r\n')
	[[ "$stderr" == *" client=-:- method=GET target=/ok.sh status=200 "* ]]
	TCPREMOTEIP=192.0.2.7 TCPREMOTEPORT=50312 run -0 --separate-stderr cgid --root "$T/cgi" \
		< <(printf 'GET /ok.sh HTTP/1.0\r\n\r\n')
	[[ "$stderr" == *" client=192.0.2.7:50312 method=GET "* ]]
	P=$(free_port)
	gtr_start cgid "$P" --root "$T/cgi"
	run -0 curl -sS --max-time 20 "http://127.0.0.1:$P/ok.sh"
	[ "$output" = ok ]
	wait_log ' client=127\.0\.0\.1:[0-9][0-9]* method=GET target=/ok.sh status=200 ' "$T/cgid.log"
}

@test "cgid: a missing --root directory exits 78 and both --root and a program exit 64" {
	run -78 cgid --root "$T/nope" < /dev/null
	run -64 cgid --root "$T" -- /bin/true < /dev/null
	run -64 cgid < /dev/null
}

@test "cgid: a Status outside 200 to 599, no Content-Type, Location or Status, or over 128 fields get 502 http_protocol_error" {
	local n
	cgi s199.sh 'printf "Status: 199 x\nContent-Type: text/plain\n\nok\n"'
	cgi s600.sh 'printf "Status: 600 x\nContent-Type: text/plain\n\nok\n"'
	cgi none.sh 'printf "X-A: 1\n\nok\n"'
	cgi many.sh 'i=0; while [ $i -lt 129 ]; do printf "X-F$i: v\n"; i=$((i+1)); done; printf "Content-Type: text/plain\n\nok\n"'
	cgi fine.sh 'i=0; while [ $i -lt 100 ]; do printf "X-F$i: v\n"; i=$((i+1)); done; printf "Status: 599 Last\nContent-Type: text/plain\n\nok\n"'
	for n in s199 s600 none many; do
		run -0 --separate-stderr cgid --root "$T/cgi" < <(printf 'GET /%s.sh HTTP/1.0\r\n\r\n' "$n")
		[[ "$output" == "HTTP/1.1 502 "* ]]
		[[ "$output" == *$'Proxy-Status: gtr; error=http_protocol_error\r'* ]]
	done
	run -0 --separate-stderr cgid --root "$T/cgi" < <(printf 'GET /fine.sh HTTP/1.0\r\n\r\n')
	[[ "$output" == "HTTP/1.1 599 Last"* ]]
}

@test "cgid: header lines may end in CRLF as well as LF" {
	cgi crlf.sh 'printf "Status: 203 Fine\r\nContent-Type: text/plain\r\nX-B: 2\r\n\r\nok\n"'
	run -0 --separate-stderr cgid --root "$T/cgi" < <(printf 'GET /crlf.sh HTTP/1.0\r\n\r\n')
	[[ "$output" == "HTTP/1.1 203 Fine"* ]]
	[[ "$output" == *$'X-B: 2\r\n'* ]]
	[[ "$output" == *ok ]]
}

@test "cgid: SERVER_NAME, REMOTE_ADDR, REMOTE_PORT, CONTENT_TYPE and REQUEST_URI are as the page says" {
	cgi env.sh 'printf "Content-Type: text/plain\n\n"; env'
	printf 'POST /env.sh/p%%41?x=%%41 HTTP/1.1\r\nHost: example.org:8080\r\nContent-Type: text/x-y\r\nContent-Length: 2\r\nConnection: close\r\n\r\nab' \
		| TCPREMOTEIP=192.0.2.5 TCPREMOTEPORT=777 cgid --root "$T/cgi" > "$T/resp"
	grep -q '^SERVER_NAME=example.org$' "$T/resp"
	grep -q '^REMOTE_ADDR=192.0.2.5$' "$T/resp"
	grep -q '^REMOTE_PORT=777$' "$T/resp"
	grep -q '^CONTENT_TYPE=text/x-y$' "$T/resp"
	grep -q '^CONTENT_LENGTH=2$' "$T/resp"
	grep -q '^REQUEST_METHOD=POST$' "$T/resp"
	grep -q '^REQUEST_URI=/env.sh/p%41?x=%41$' "$T/resp"
	grep -q '^PATH_INFO=/pA$' "$T/resp"
	grep -q '^QUERY_STRING=x=%41$' "$T/resp"
}

@test "cgid: the program after -- runs in cgid's directory with an empty SCRIPT_NAME" {
	cgi env.sh 'printf "Content-Type: text/plain\n\n"; env; echo "cwd=$(pwd)"'
	mkdir -p "$T/start"
	(cd "$T/start" && printf 'GET /a/b HTTP/1.0\r\n\r\n' | cgid -- "$T/cgi/env.sh") > "$T/resp"
	grep -q "^cwd=$T/start\$" "$T/resp"
	grep -q '^SCRIPT_NAME=$' "$T/resp"
	grep -q '^PATH_INFO=/a/b$' "$T/resp"
	grep -q "^SCRIPT_FILENAME=$T/cgi/env.sh\$" "$T/resp"
}

@test "cgid: a head not complete within --header-timeout gets 408" {
	P=$(free_port)
	mkdir -p "$T/root"
	gtr_start cgid "$P" --root "$T/root" --header-timeout 1
	run -0 hold "$P" 'GET / HTTP/1.1\r\nHost: x\r\n' 20
	[[ "$output" == "HTTP/1.1 408 "* ]]
	[[ "$output" == *$'Proxy-Status: gtr; error=http_request_error\r'* ]]
	[[ "$output" != *TIMEOUT* ]]
}

@test "cgid: a kept-alive connection waiting longer than --idle-timeout is closed" {
	cgi ok.sh 'printf "Content-Type: text/plain\n\nok\n"'
	P=$(free_port)
	gtr_start cgid "$P" --root "$T/cgi" --idle-timeout 1
	run -0 hold "$P" 'GET /ok.sh HTTP/1.1\r\nHost: x\r\n\r\n' 20
	[[ "$output" == "HTTP/1.1 200 "* ]]
	[[ "$output" != *"Connection: close"* ]]
	[[ "$output" != *TIMEOUT* ]]
}

# ---------------------------------------------------------------- tlswrapd

@test "tlswrapd: a -c that is not an https URL is a usage error, exit 64" {
	run -64 tlswrapd -c http://localhost:1 < /dev/null
	run -64 tlswrapd -c localhost:443 < /dev/null
}

@test "tlswrapd: a --client-key that cannot be read exits 78" {
	make_ca "$T/pki"
	make_cert "$T/pki" client "DNS:client"
	run -78 tlswrapd --client-cert "$T/pki/client.crt" --client-key "$T/nope.key" < /dev/null
	[[ "$output" == *"$T/nope.key"* ]]
}

@test "tlswrapd: an origin-form request without Host gets 400" {
	run -0 --separate-stderr tlswrapd < <(printf 'GET / HTTP/1.0\r\n\r\n')
	[[ "$output" == "HTTP/1."?" 400 "* ]]
	[[ "$output" == *"error=http_request_error"* ]]
}

@test "tlswrapd: without --cacert, SSL_CERT_FILE or SSL_CERT_DIR names the store certificates are checked against" {
	https_origin
	run -0 --separate-stderr tlswrapd -c "https://localhost:$SPORT" \
		< <(printf 'GET /index.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
	[[ "$output" == "HTTP/1.1 502 "* ]]
	[[ "$output" == *$'Proxy-Status: gtr; error=tls_certificate_error\r'* ]]
	SSL_CERT_FILE="$T/pki/ca.pem" run -0 --separate-stderr tlswrapd -c "https://localhost:$SPORT" \
		< <(printf 'GET /index.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
	[[ "$output" == "HTTP/1.1 200 "* ]]
	[[ "$output" == *"hello over tls"* ]]
	mkdir -p "$T/certs"
	cp "$T/pki/ca.pem" "$T/certs/ca.pem"
	openssl rehash "$T/certs" 2>/dev/null || c_rehash "$T/certs" > /dev/null
	SSL_CERT_DIR="$T/certs" run -0 --separate-stderr tlswrapd -c "https://localhost:$SPORT" \
		< <(printf 'GET /index.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
	[[ "$output" == "HTTP/1.1 200 "* ]]
	[[ "$output" == *"hello over tls"* ]]
}

@test "tlswrapd: http_proxy is ignored, the origin is reached directly" {
	https_origin
	http_proxy=http://127.0.0.1:1 run -0 --separate-stderr tlswrapd -c "https://localhost:$SPORT" --cacert "$T/pki/ca.pem" \
		< <(printf 'GET /index.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
	[[ "$output" == "HTTP/1.1 200 "* ]]
	[[ "$output" == *"hello over tls"* ]]
}

@test "tlswrapd: https_proxy, HTTPS_PROXY, all_proxy and ALL_PROXY are ignored too" {
	local v
	https_origin
	for v in https_proxy HTTPS_PROXY all_proxy ALL_PROXY; do
		env "$v=http://127.0.0.1:1" tlswrapd -c "https://localhost:$SPORT" --cacert "$T/pki/ca.pem" \
			< <(printf 'GET /index.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n') \
			> "$T/resp" 2> /dev/null
		head -1 "$T/resp" | grep -q '^HTTP/1.1 200 '
		grep -q 'hello over tls' "$T/resp"
	done
}

@test "tlswrapd: the access line names the URL, status, upstream, byte counts, reason and upstream_proto; -q drops it" {
	https_origin
	tlswrapd -c "https://localhost:$SPORT" --cacert "$T/pki/ca.pem" \
		< <(printf 'GET /index.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n') \
		> "$T/resp" 2> "$T/err"
	# bytes_in: the 56 bytes of the request; bytes_out: all of the response
	[[ "$(cat "$T/err")" =~ tlswrapd\[[0-9]+\]:\ info:\ conn=[0-9]+\ client=-:-\ method=GET\ target=https://localhost:$SPORT/index.html\ status=200\ upstream=127.0.0.1:$SPORT\ bytes_in=56\ bytes_out=$(wc -c < "$T/resp")\ ms=[0-9]+\ reason=done\ upstream_proto=(h2|http/1.1) ]]
	run -0 --separate-stderr tlswrapd -q -c "https://localhost:$SPORT" --cacert "$T/pki/ca.pem" \
		< <(printf 'GET /index.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
	[[ "$output" == "HTTP/1.1 200 "* ]]
	[ -z "$stderr" ]
}

@test "tlswrapd: an origin that speaks no TLS gets 502 tls_protocol_error" {
	Q=$(free_port)
	bg plain socat TCP-LISTEN:"$Q",bind=127.0.0.1,reuseaddr,fork SYSTEM:"echo not-tls; sleep 1"
	wait_port "$Q"
	run -0 --separate-stderr tlswrapd -c "https://127.0.0.1:$Q" \
		< <(printf 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
	[[ "$output" == "HTTP/1.1 502 "* ]]
	[[ "$output" == *$'Proxy-Status: gtr; error=tls_protocol_error\r'* ]]
}

@test "tlswrapd: an origin that closes before a response head gets 502 connection_terminated" {
	scripted_tls_origin tlsclose SYSTEM:"head -c 10 > /dev/null"
	tlswrapd_gets_502 connection_terminated
}

@test "tlswrapd: a malformed response head gets 502 http_protocol_error" {
	bad_origins_get_502 \
	    'HTTP/1.1 200 OK\\r\\nno colon here\\r\\n\\r\\n' \
	    'HTTP/1.1 200 OK\\r\\nContent-Length: 5\\r\\nContent-Length: 7\\r\\n\\r\\nhello'
}

@test "tlswrapd: a malformed status line from the origin is a malformed head too: 502 http_protocol_error" {
	bad_origins_get_502 'HTTP/1.1 abc\\r\\n\\r\\n' \
	    'HTTP/1.1 2000 OK\\r\\n\\r\\n' 'garbage garbage\\r\\n\\r\\n'
}

@test "tlswrapd: an HTTP/1.0 client gets the body until close" {
	https_origin
	run -0 --separate-stderr tlswrapd -c "https://localhost:$SPORT" --cacert "$T/pki/ca.pem" \
		< <(printf 'GET /index.html HTTP/1.0\r\n\r\n')
	[[ "$output" == "HTTP/1."?" 200 "* ]]
	[[ "$output" != *chunked* ]]
	[[ "$output" == *"hello over tls" ]]
}

@test "tlswrapd: a listening tlswrapd logs 'listening on' and serves curl -x with verified HTTPS" {
	https_origin
	P=$(free_port)
	gtr_start tlswrapd "$P" --cacert "$T/pki/ca.pem" --allow-dest 127.0.0.1/32 --allow-port "$SPORT"
	grep -q "^tlswrapd\[[0-9]*\]: info: listening on 127.0.0.1:$P\$" "$T/tlswrapd.log"
	run -0 curl -sS --max-time 20 -x "http://127.0.0.1:$P" "http://localhost:$SPORT/index.html"
	[ "$output" = "hello over tls" ]
}

@test "tlswrapd: a head cut off by --header-timeout gets 408, a silent connection is just closed" {
	P=$(free_port)
	gtr_start tlswrapd "$P" --header-timeout 1
	run -0 hold "$P" 'GET / HTTP/1.1\r\nHost: x\r\n' 20
	[[ "$output" == "HTTP/1.1 408 "* ]]
	[[ "$output" == *$'Proxy-Status: gtr; error=http_request_error\r'* ]]
	run -0 hold "$P" '' 20
	[ -z "$output" ]
}

@test "tlswrapd: a client that goes away before the body is written is logged with reason=client_closed" {
	printf '#!/bin/sh\nhead -c 10 > /dev/null\nsleep 2\nprintf "HTTP/1.1 200 OK\\r\\nContent-Length: 5000000\\r\\n\\r\\n"\nhead -c 5000000 /dev/zero\n' > "$T/slow.sh"
	chmod +x "$T/slow.sh"
	scripted_tls_origin slow EXEC:"$T/slow.sh"
	P=$(free_port)
	gtr_start tlswrapd "$P" -c "https://localhost:$Q" --cacert "$T/pki/ca.pem"
	run -1 hold "$P" 'GET / HTTP/1.1\r\nHost: x\r\n\r\n' 0.5
	wait_log 'reason=client_closed' "$T/tlswrapd.log"
	run grep -c 'reason=done' "$T/tlswrapd.log"
	[ "$output" = 0 ]
}
