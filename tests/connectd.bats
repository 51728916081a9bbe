#!/usr/bin/env bats
# connectd: the CONNECT tunnel, against a real HTTPS origin (nginx with a
# throwaway certificate) and real clients (curl, openssl s_client, socat).

load helpers/common
bats_require_minimum_version 1.5.0

ESTABLISHED='HTTP/1.1 200 Connection established'

@test "curl tunnels HTTPS through connectd to an allowed loopback origin" {
	https_origin
	P=$(free_port)
	gtr_start connectd "$P" --allow-dest 127.0.0.1/32 --allow-port "$SPORT"
	run curl -sS --max-time 20 --cacert "$T/pki/ca.pem" -p \
		-x "http://127.0.0.1:$P" "https://localhost:$SPORT/"
	[ "$status" -eq 0 ]
	[ "$output" = "hello over tls" ]
	wait_log "method=CONNECT target=localhost:$SPORT status=200" "$T/connectd.log"
	line=$(grep "target=localhost:$SPORT status=200" "$T/connectd.log")
	[[ "$line" == *": info: conn="[0-9]*" client=127.0.0.1:"* ]]
	[[ "$line" == *" upstream=127.0.0.1:$SPORT "* ]]
	[[ "$line" == *" reason=done" ]]
	[[ "$line" =~ bytes_in=[1-9][0-9]* ]]
	[[ "$line" =~ bytes_out=[1-9][0-9]* ]]
	[[ "$line" =~ ms=[0-9]+ ]]
	grep -q 'GET / HTTP/1.1" 200' "$T/nginx/access.log"
}

@test "openssl s_client -proxy gets through the tunnel with a verified certificate" {
	https_origin
	P=$(free_port)
	gtr_start connectd "$P" --allow-dest 127.0.0.1/32 --allow-port "$SPORT"
	run sh -c "printf 'GET / HTTP/1.0\r\nHost: localhost\r\n\r\n' |
		timeout 20 openssl s_client -quiet -ign_eof -proxy 127.0.0.1:$P \
		-connect localhost:$SPORT -servername localhost \
		-verify_return_error -CAfile $T/pki/ca.pem 2>&1"
	[ "$status" -eq 0 ]
	[[ "$output" == *"HTTP/1.1 200 OK"* ]]
	[[ "$output" == *"hello over tls"* ]]
}

@test "the default policy refuses a loopback destination with 403" {
	P=$(free_port)
	gtr_start connectd "$P"
	run raw "$P" < <(printf 'CONNECT 127.0.0.1:443 HTTP/1.1\r\nHost: 127.0.0.1:443\r\n\r\n')
	[[ "$output" == "HTTP/1.1 403 "* ]]
	[[ "$output" == *"Proxy-Status: gtr; error="* ]]
	[[ "$output" != *"$ESTABLISHED"* ]]
	wait_log "target=127.0.0.1:443 status=403 .*reason=policy$" "$T/connectd.log"
	run raw "$P" < <(printf 'CONNECT [::1]:443 HTTP/1.1\r\nHost: [::1]:443\r\n\r\n')
	[[ "$output" == "HTTP/1.1 403 "* ]]
	wait_log 'target=\[::1\]:443 status=403' "$T/connectd.log"
}

@test "curl gets 403 from the default policy for https://localhost" {
	P=$(free_port)
	gtr_start connectd "$P"
	run curl -sS --max-time 20 -p -x "http://127.0.0.1:$P" https://localhost/
	[ "$status" -ne 0 ]
	[[ "$output" == *"403"* ]]
}

@test "a port outside --allow-port is refused with 403 naming the port" {
	echo_origin
	P=$(free_port)
	gtr_start connectd "$P" --allow-dest 127.0.0.1/32
	run raw "$P" < <(printf 'CONNECT 127.0.0.1:%s HTTP/1.1\r\nHost: x\r\n\r\n' "$EPORT")
	[[ "$output" == "HTTP/1.1 403 "* ]]
	[[ "$output" == *"port $EPORT is not allowed"* ]]
	[[ "$output" == *"Proxy-Status: gtr; error="* ]]
	[[ "$output" != *"$ESTABLISHED"* ]]
}

@test "methods other than CONNECT get 405 with Allow: CONNECT" {
	P=$(free_port)
	gtr_start connectd "$P"
	run raw "$P" < <(printf 'GET http://127.0.0.1/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')
	[[ "$output" == "HTTP/1.1 405 "* ]]
	[[ "$output" == *$'Allow: CONNECT\r'* ]]
	[[ "$output" == *"Proxy-Status: gtr; error="* ]]
	wait_log "method=GET target=http://127.0.0.1/ status=405" "$T/connectd.log"
}

@test "a CONNECT with a body is refused with 400" {
	echo_origin
	P=$(free_port)
	gtr_start connectd "$P" --allow-dest 127.0.0.1/32 --allow-port "$EPORT"
	run raw "$P" < <(printf 'CONNECT 127.0.0.1:%s HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello' "$EPORT")
	[[ "$output" == "HTTP/1.1 400 "* ]]
	[[ "$output" == *"no body"* ]]
	[[ "$output" != *hello* ]]
	run raw "$P" < <(printf 'CONNECT 127.0.0.1:%s HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n' "$EPORT")
	[[ "$output" == "HTTP/1.1 400 "* ]]
	[[ "$output" != *"$ESTABLISHED"* ]]
}

@test "malformed CONNECT targets are refused with 400" {
	P=$(free_port)
	gtr_start connectd "$P" --allow-dest 127.0.0.1/32 --allow-port 1-65535
	for t in 127.0.0.1 /index.html 127.0.0.1: 127.0.0.1:0 127.0.0.1:99999 \
	    '[::1]' '[::1:443' 'a_b@c:443' ':443' 'http://127.0.0.1:443'; do
		run raw "$P" < <(printf 'CONNECT %s HTTP/1.1\r\nHost: x\r\n\r\n' "$t")
		echo "target $t: $output"
		[[ "$output" == "HTTP/1.1 400 "* ]]
		[[ "$output" == *"Proxy-Status: gtr; error=http_request_error"* ]]
	done
}

@test "parser rejections reach the client with their status" {
	P=$(free_port)
	gtr_start connectd "$P"
	run raw "$P" < <(printf 'CONNECT a:443 HTTP/2.0\r\n\r\n')
	[[ "$output" == "HTTP/1.1 505 "* ]]
	run raw "$P" < <(printf 'CONNECT a:443 HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n')
	[[ "$output" == "HTTP/1.1 400 "* ]]
	[[ "$output" == *"folded header field line"* ]]
	run raw "$P" < <(printf 'CONNECT a:443 HTTP/1.1\r\n\r\n')
	[[ "$output" == "HTTP/1.1 400 "* ]]
	[[ "$output" == *"no Host field"* ]]
	run raw "$P" < <(printf 'CONNECT a:443 HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n')
	[[ "$output" == *"more than one Host field"* ]]
	run raw "$P" < <(printf 'CONNECT a:443 HTTP/1.1\r\nHost: x\r\nX : a\r\n\r\n')
	[[ "$output" == "HTTP/1.1 400 "* ]]
	run raw "$P" < <(printf 'CONNECT %s:443 HTTP/1.1\r\nHost: x\r\n\r\n' "$(head -c 9000 /dev/zero | tr '\0' a)")
	[[ "$output" == "HTTP/1.1 414 "* ]]
	[[ "$output" == *"request line too long"* ]]
	run raw "$P" < <(printf 'CONNECT a:443 HTTP/1.1\r\nHost: x\r\n'; for i in $(seq 400); do printf 'X-%d: %0100d\r\n' "$i" 0; done; printf '\r\n')
	[[ "$output" == "HTTP/1.1 431 "* ]]
	[[ "$output" == *"request head too large"* ]]
}

@test "a refused upstream connection gets 502 with Proxy-Status connection_refused" {
	P=$(free_port)
	Q=$(free_port)
	gtr_start connectd "$P" --allow-dest 127.0.0.1/32 --allow-port "$Q"
	run curl -sS --max-time 20 -p -x "http://127.0.0.1:$P" "https://127.0.0.1:$Q/"
	[ "$status" -ne 0 ]
	[[ "$output" == *"502"* ]]
	run raw "$P" < <(printf 'CONNECT 127.0.0.1:%s HTTP/1.1\r\nHost: x\r\n\r\n' "$Q")
	[[ "$output" == "HTTP/1.1 502 "* ]]
	[[ "$output" == *"Proxy-Status: gtr; error=connection_refused"* ]]
	[[ "$output" == *"127.0.0.1:$Q"* ]]
	wait_log "target=127.0.0.1:$Q status=502 .*reason=upstream_error$" "$T/connectd.log"
}

@test "with -c, a refused connection names the fixed destination tried, not the one asked for" {
	Q=$(free_port)
	P=$(free_port)
	gtr_start connectd "$P" -c "127.0.0.1:$Q"
	run raw "$P" < <(printf 'CONNECT a:1 HTTP/1.1\r\nHost: a:1\r\n\r\n')
	[[ "$output" == "HTTP/1.1 502 "* ]]
	[[ "$output" == *"Proxy-Status: gtr; error=connection_refused"* ]]
	[[ "$output" == *"cannot connect to 127.0.0.1:$Q"* ]]
	[[ "$output" != *"a:1"* ]]
	wait_log "target=a:1 status=502 upstream=127.0.0.1:$Q " "$T/connectd.log"
	run -1 grep -q 'connect to a:1' "$T/connectd.log"
}

@test "an upstream that never answers the handshake gets 504 after --connect-timeout" {
	Q=$(free_port)
	# A listener with a full accept queue drops further SYNs: the
	# connect hangs as it would toward a black hole, but on loopback.
	cat > "$T/blackhole.py" <<'PY'
import socket, sys, time
port = int(sys.argv[1])
s = socket.socket()
s.bind(("127.0.0.1", port))
s.listen(0)
fill = []
for i in range(4):
    c = socket.socket()
    c.setblocking(False)
    try:
        c.connect(("127.0.0.1", port))
    except BlockingIOError:
        pass
    fill.append(c)
open(sys.argv[2], "w").close()
time.sleep(120)
PY
	bg blackhole python3 "$T/blackhole.py" "$Q" "$T/full"
	wait_file "$T/full"
	P=$(free_port)
	gtr_start connectd "$P" --allow-dest 127.0.0.1/32 --allow-port "$Q" \
		--connect-timeout 1
	run raw "$P" < <(printf 'CONNECT 127.0.0.1:%s HTTP/1.1\r\nHost: x\r\n\r\n' "$Q")
	[[ "$output" == "HTTP/1.1 504 "* ]]
	[[ "$output" == *"Proxy-Status: gtr; error=connection_timeout"* ]]
	[[ "$output" != *"$ESTABLISHED"* ]]
	wait_log "target=127.0.0.1:$Q status=504 .*reason=upstream_timeout$" "$T/connectd.log"
}

# refused STATUS REQUEST: sends REQUEST (printf escapes) to connectd on $P
# as a raw client, and waits for the access line of its refusal: its
# bytes_out is what the client received, to the byte.
refused() {
	printf "$2" | raw "$P" > "$T/resp.$1"
	[[ "$(head -c 12 "$T/resp.$1")" == "HTTP/1.1 $1" ]]
	wait_log "status=$1 .*bytes_out=$(wc -c < "$T/resp.$1") ms=" "$T/connectd.log"
}

@test "a refusal's access line counts in bytes_out the bytes the client received" {
	htpasswd -B -c -b "$T/htpasswd" alice 'open sesame' 2>/dev/null
	auth=$(printf 'alice:open sesame' | base64)
	Q=$(free_port)
	P=$(free_port)
	gtr_start connectd "$P" --allow-dest 127.0.0.1/32 --allow-port "$Q" \
		--auth "$T/htpasswd"
	refused 407 'CONNECT 127.0.0.1:1 HTTP/1.1\r\nHost: x\r\n\r\n'
	refused 405 'GET http://127.0.0.1/ HTTP/1.1\r\nHost: x\r\n\r\n'
	refused 400 'CONNECT 127.0.0.1 HTTP/1.1\r\nHost: x\r\n\r\n'
	refused 505 'CONNECT a:443 HTTP/2.0\r\n\r\n'
	refused 403 "CONNECT 127.0.0.1:1 HTTP/1.1\r\nHost: x\r\nProxy-Authorization: Basic $auth\r\n\r\n"
	refused 502 "CONNECT 127.0.0.1:$Q HTTP/1.1\r\nHost: x\r\nProxy-Authorization: Basic $auth\r\n\r\n"
	# What a client that reads the answer sees: curl counts it alike.
	run curl -sS --max-time 20 -o /dev/null -w '%{size_header}+%{size_download}' \
		-x "http://127.0.0.1:$P" http://127.0.0.1/curl
	wait_log "target=http://127.0.0.1/curl status=405 .*bytes_out=$(($output)) ms=" "$T/connectd.log"
	run -1 grep -q 'bytes_out=0 ' "$T/connectd.log"
}

@test "a name that does not resolve gets 502 with Proxy-Status dns_error" {
	P=$(free_port)
	echo 'nameserver 127.0.0.1' > "$T/resolv.conf"
	bg connectd unshare -m sh -c "mount --bind $T/resolv.conf /etc/resolv.conf &&
		exec $GTR_BIN/connectd -l 127.0.0.1:$P"
	wait_port "$P"
	run raw "$P" < <(printf 'CONNECT no-such-host.gtr-test.invalid:443 HTTP/1.1\r\nHost: x\r\n\r\n')
	[[ "$output" == "HTTP/1.1 502 "* ]]
	[[ "$output" == *"Proxy-Status: gtr; error=dns_error"* ]]
	wait_log "target=no-such-host.gtr-test.invalid:443 status=502" "$T/connectd.log"
}

@test "a request head that never completes gets 408 after --header-timeout" {
	P=$(free_port)
	gtr_start connectd "$P" --header-timeout 1
	run sh -c "(printf 'CONNECT 127.0.0.1:443 HTTP/1.1\r\nHost: '; sleep 4) |
		socat -t 20 - TCP:127.0.0.1:$P"
	[[ "$output" == "HTTP/1.1 408 "* ]]
	[[ "$output" == *"Proxy-Status: gtr; error=http_request_error"* ]]
	wait_log "status=408 .*reason=header_timeout$" "$T/connectd.log"
}

@test "a CONNECT to the proxy's own address is refused as a loop" {
	P=$(free_port)
	gtr_start connectd "$P" --allow-dest 127.0.0.1/32 --allow-port "$P"
	run raw "$P" < <(printf 'CONNECT 127.0.0.1:%s HTTP/1.1\r\nHost: x\r\n\r\n' "$P")
	[[ "$output" == "HTTP/1.1 403 "* ]]
	[[ "$output" != *"$ESTABLISHED"* ]]
	# Exactly one request was served: nothing looped back in.
	wait_log "target=127.0.0.1:$P status=403 .*reason=policy$" "$T/connectd.log"
	[ "$(grep -c ' method=' "$T/connectd.log")" -eq 1 ]
}

@test "bytes sent in the same write as the CONNECT head reach the upstream" {
	echo_origin
	P=$(free_port)
	gtr_start connectd "$P" --allow-dest 127.0.0.1/32 --allow-port "$EPORT"
	printf -v head 'CONNECT 127.0.0.1:%s HTTP/1.1\r\nHost: 127.0.0.1:%s\r\n\r\n' "$EPORT" "$EPORT"
	run raw "$P" < <(printf '%searly bytes\n' "$head")
	[ "$output" = "$ESTABLISHED"$'\r\n\r\n'"early bytes" ]
	# bytes_in: the head and the 12 bytes; bytes_out: the 200 and them.
	wait_log "status=200 upstream=127.0.0.1:$EPORT bytes_in=$((${#head} + 12)) bytes_out=$((39 + 12)) " "$T/connectd.log"
}

@test "a client that half-closes still receives the whole answer (16 MiB echoed)" {
	echo_origin
	P=$(free_port)
	gtr_start connectd "$P" --allow-dest 127.0.0.1/32 --allow-port "$EPORT"
	head -c 16777216 /dev/urandom > "$T/in"
	printf -v head 'CONNECT 127.0.0.1:%s HTTP/1.1\r\nHost: x\r\n\r\n' "$EPORT"
	(printf '%s' "$head"; cat "$T/in") |
		socat -t 60 - TCP:127.0.0.1:"$P" > "$T/out"
	[ "$(head -c 39 "$T/out")" = "$ESTABLISHED"$'\r\n\r' ]
	[ "$(tail -c +40 "$T/out" | sha256sum)" = "$(sha256sum < "$T/in")" ]
	wait_log "bytes_in=$((${#head} + 16777216)) bytes_out=$((39 + 16777216)) " "$T/connectd.log"
}

@test "--auth with a bcrypt file: 407 with a challenge, then curl -U gets through" {
	https_origin
	htpasswd -B -c -b "$T/htpasswd" alice 'open sesame' 2>/dev/null
	P=$(free_port)
	gtr_start connectd "$P" --allow-dest 127.0.0.1/32 --allow-port "$SPORT" \
		--auth "$T/htpasswd" --realm "gtr test"
	run raw "$P" < <(printf 'CONNECT localhost:%s HTTP/1.1\r\nHost: x\r\n\r\n' "$SPORT")
	[[ "$output" == "HTTP/1.1 407 "* ]]
	[[ "$output" == *$'Proxy-Authenticate: Basic realm="gtr test"\r'* ]]
	[[ "$output" != *"Connection: close"* ]]
	run curl -sS --max-time 20 --cacert "$T/pki/ca.pem" -p \
		-x "http://127.0.0.1:$P" -U 'alice:open sesame' "https://localhost:$SPORT/"
	[ "$status" -eq 0 ]
	[ "$output" = "hello over tls" ]
	wait_log "status=200 user=alice" "$T/connectd.log"
	run -1 grep -q 'open sesame' "$T/connectd.log"
	run -1 grep -q "$(printf 'alice:open sesame' | base64)" "$T/connectd.log"
}

@test "after a 407 the client's retry is served on the same connection" {
	https_origin
	htpasswd -B -c -b "$T/htpasswd" alice 'open sesame' 2>/dev/null
	P=$(free_port)
	gtr_start connectd "$P" --allow-dest 127.0.0.1/32 --allow-port "$SPORT" \
		--auth "$T/htpasswd"
	# --proxy-anyauth asks without credentials first, then retries.
	run curl -sS -v --max-time 20 --cacert "$T/pki/ca.pem" -p --proxy-anyauth \
		-x "http://127.0.0.1:$P" -U 'alice:open sesame' "https://localhost:$SPORT/"
	[ "$status" -eq 0 ]
	[[ "$output" == *"hello over tls"* ]]
	[[ "$output" == *"407"* ]]
	wait_log "status=200 user=alice" "$T/connectd.log"
	c407=$(grep 'status=407' "$T/connectd.log" | grep -o 'client=[^ ]*')
	c200=$(grep 'status=200' "$T/connectd.log" | grep -o 'client=[^ ]*')
	[ -n "$c407" ]
	[ "$c407" = "$c200" ]
	# Two heads on one connection: the same client port in both lines.
	run raw "$P" < <(printf 'CONNECT localhost:%s HTTP/1.1\r\nHost: x\r\n\r\nCONNECT localhost:%s HTTP/1.1\r\nHost: x\r\nProxy-Authorization: Basic %s\r\n\r\n' \
		"$SPORT" "$SPORT" "$(printf 'alice:open sesame' | base64)")
	[[ "$output" == "HTTP/1.1 407 "* ]]
	[[ "$output" == *"$ESTABLISHED"* ]]
}

@test "--auth refuses a wrong password and an unknown user with 407 alike" {
	https_origin
	htpasswd -B -c -b "$T/htpasswd" alice 'open sesame' 2>/dev/null
	P=$(free_port)
	gtr_start connectd "$P" --allow-dest 127.0.0.1/32 --allow-port "$SPORT" \
		--auth "$T/htpasswd"
	run curl -sS --max-time 20 --cacert "$T/pki/ca.pem" -p \
		-x "http://127.0.0.1:$P" -U 'alice:guessed' "https://localhost:$SPORT/"
	[ "$status" -ne 0 ]
	[[ "$output" == *"407"* ]]
	[[ "$output" != *"hello over tls"* ]]
	run raw "$P" < <(printf 'CONNECT localhost:%s HTTP/1.1\r\nHost: x\r\nProxy-Authorization: Basic %s\r\n\r\n' "$SPORT" "$(printf 'mallory:guessed' | base64)")
	[[ "$output" == "HTTP/1.1 407 "* ]]
	[[ "$output" == *"credentials rejected"* ]]
	run -1 grep -q guessed "$T/connectd.log"
	# Only the failure's own line names the user tried, not an access line.
	run -1 grep -q ' method=.* user=' "$T/connectd.log"
	grep -q ' auth_failed .* user=mallory failure=unknown_user$' "$T/connectd.log"
}

@test "a client that gives up after a 407 is not logged with a 400 it never got" {
	htpasswd -B -c -b "$T/htpasswd" alice 'open sesame' 2>/dev/null
	P=$(free_port)
	gtr_start connectd "$P" --allow-dest 127.0.0.1/32 --allow-port 1-65535 \
		--auth "$T/htpasswd"
	# curl with a wrong password closes (often resets) after the 407.
	for i in 1 2 3; do
		run curl -sS --max-time 20 -p -x "http://bad:pw@127.0.0.1:$P" \
			"https://127.0.0.1:1/"
		[[ "$output" == *"407"* ]]
	done
	for i in $(seq 100); do
		[ "$(grep -c 'status=407' "$T/connectd.log")" -eq 3 ] && break
		sleep 0.1
	done
	[ "$(grep -c 'method=CONNECT target=127.0.0.1:1 status=407 upstream=- .*reason=auth$' "$T/connectd.log")" -eq 3 ]
	sleep 0.2
	run -1 grep -q 'status=400' "$T/connectd.log"
	[ "$(grep -c ' method=' "$T/connectd.log")" -eq 3 ]
}

@test "--auth accepts SHA-crypt hashes from htpasswd -2 and openssl passwd -6" {
	https_origin
	htpasswd -2 -c -b "$T/htpasswd" bob 'sha256 pass' 2>/dev/null
	echo "carol:$(openssl passwd -6 'sha512 pass')" >> "$T/htpasswd"
	grep -q '^bob:\$5\$' "$T/htpasswd"
	P=$(free_port)
	gtr_start connectd "$P" --allow-dest 127.0.0.1/32 --allow-port "$SPORT" \
		--auth "$T/htpasswd"
	run curl -sS --max-time 20 --cacert "$T/pki/ca.pem" -p \
		-x "http://127.0.0.1:$P" -U 'bob:sha256 pass' "https://localhost:$SPORT/"
	[ "$output" = "hello over tls" ]
	run curl -sS --max-time 20 --cacert "$T/pki/ca.pem" -p \
		-x "http://127.0.0.1:$P" -U 'carol:sha512 pass' "https://localhost:$SPORT/"
	[ "$output" = "hello over tls" ]
	run curl -sS --max-time 20 --cacert "$T/pki/ca.pem" -p \
		-x "http://127.0.0.1:$P" -U 'carol:sha256 pass' "https://localhost:$SPORT/"
	[[ "$output" == *"407"* ]]
	wait_log "status=200 user=bob" "$T/connectd.log"
	wait_log "status=200 user=carol" "$T/connectd.log"
	run -1 grep -qE 'sha(256|512) pass' "$T/connectd.log"
}

@test "a missing --auth file stops connectd at start with exit 78 naming it" {
	run connectd -l 127.0.0.1:"$(free_port)" --auth "$T/no-such-file"
	[ "$status" -eq 78 ]
	[[ "$output" == *"$T/no-such-file"* ]]
	[ "${#lines[@]}" -eq 1 ]
}

@test "an htpasswd file with MD5 hashes is refused at start with exit 78" {
	htpasswd -m -c -b "$T/htpasswd" dave pw 2>/dev/null
	run connectd -l 127.0.0.1:"$(free_port)" --auth "$T/htpasswd"
	[ "$status" -eq 78 ]
	[[ "$output" == *"dave"* ]]
	[[ "$output" == *"htpasswd -B"* ]]
}

@test "usage errors exit 64 with one line; -h and -V print to stdout" {
	run connectd --no-such-option
	[ "$status" -eq 64 ]
	[ "${#lines[@]}" -eq 1 ]
	run connectd extra-argument
	[ "$status" -eq 64 ]
	run connectd --allow-port 0-70000
	[ "$status" -eq 64 ]
	run connectd --realm 'a"b'
	[ "$status" -eq 64 ]
	run connectd -l
	[ "$status" -eq 64 ]
	# A bad common value stops at once: nothing listens after it.
	run timeout 10 connectd --grace soon -l 127.0.0.1:0
	[ "$status" -eq 64 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *'--grace: "soon" is not a number'* ]]
	for c in 127.0.0.1:0 'a b:80' '-x:80' 'host' '[::1]'; do
		run timeout 10 connectd -c "$c" -l 127.0.0.1:0
		echo "-c $c: $output"
		[ "$status" -eq 64 ]
		[ "${#lines[@]}" -eq 1 ]
		[[ "$output" == *"-c $c: "* ]]
	done
	run --separate-stderr connectd -h
	[ "$status" -eq 0 ]
	[[ "$output" == *"--auth FILE"* ]]
	[[ "$output" == *"--allow-port"* ]]
	[[ "$output" == *"--header-timeout"* ]]
	run --separate-stderr connectd -V
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^connectd\ [0-9]+\.[0-9]+\.[0-9]+$ ]]
}

@test "connectd serves one tunnel on fds 0 and 1 when socat runs it per connection" {
	echo_origin
	P=$(free_port)
	bg inetd socat TCP-LISTEN:"$P",bind=127.0.0.1,reuseaddr,fork \
		EXEC:"$GTR_BIN/connectd --allow-dest 127.0.0.1/32 --allow-port $EPORT"
	wait_port "$P"
	run raw "$P" < <(printf 'CONNECT 127.0.0.1:%s HTTP/1.1\r\nHost: x\r\n\r\nthrough inetd style\n' "$EPORT")
	[ "$output" = "$ESTABLISHED"$'\r\n\r\n'"through inetd style" ]
	# No access line asserted: socat sends SIGTERM to its EXEC child as
	# soon as both directions closed, which can beat the log line.
}

@test "connectd under tcpserver logs the client tcpserver accepted" {
	echo_origin
	P=$(free_port)
	bg tcpserver tcpserver -q -H -R 127.0.0.1 "$P" \
		"$GTR_BIN/connectd" --allow-dest 127.0.0.1/32 --allow-port "$EPORT"
	wait_port "$P"
	printf -v head 'CONNECT 127.0.0.1:%s HTTP/1.1\r\nHost: x\r\n\r\n' "$EPORT"
	run raw "$P" < <(printf '%sthrough tcpserver\n' "$head")
	[ "$output" = "$ESTABLISHED"$'\r\n\r\n'"through tcpserver" ]
	wait_log "conn=1 client=127.0.0.1:[0-9]+ method=CONNECT target=127.0.0.1:$EPORT status=200 upstream=127.0.0.1:$EPORT bytes_in=$((${#head} + 18)) bytes_out=$((39 + 18)) ms=[0-9]+ reason=done$" "$T/tcpserver.log"
}

@test "SIGHUP re-reads the --auth file; a broken file keeps the users read before" {
	echo_origin
	htpasswd -B -c -b "$T/htpasswd" alice 'first pass' 2>/dev/null
	P=$(free_port)
	gtr_start connectd "$P" --allow-dest 127.0.0.1/32 --allow-port "$EPORT" \
		--auth "$T/htpasswd"
	hello() {
		printf 'CONNECT 127.0.0.1:%s HTTP/1.1\r\nHost: x\r\nProxy-Authorization: Basic %s\r\n\r\nping\n' \
			"$EPORT" "$(printf '%s' "$1" | base64)" | socat -t 20 - TCP:127.0.0.1:"$P"
	}
	run hello 'bob:second pass'
	[[ "$output" == "HTTP/1.1 407 "* ]]
	htpasswd -B -c -b "$T/htpasswd" bob 'second pass' 2>/dev/null
	kill -HUP "$connectd_pid"
	wait_log "reloaded --auth $T/htpasswd" "$T/connectd.log"
	run hello 'bob:second pass'
	[[ "$output" == "$ESTABLISHED"*"ping" ]]
	run hello 'alice:first pass'
	[[ "$output" == "HTTP/1.1 407 "* ]]
	echo 'carol:$apr1$xyz$abc' > "$T/htpasswd"
	kill -HUP "$connectd_pid"
	wait_log "unable to reload --auth" "$T/connectd.log"
	run hello 'bob:second pass'
	[[ "$output" == "$ESTABLISHED"*"ping" ]]
}

# py_echo PORT: an asyncio echo server (many connections in one process).
py_echo() {
	cat > "$T/echo.py" <<'PY'
import asyncio, sys

async def echo(r, w):
    while True:
        d = await r.read(65536)
        if not d:
            break
        w.write(d)
        await w.drain()
    w.close()

async def main():
    s = await asyncio.start_server(echo, "127.0.0.1", int(sys.argv[1]),
                                   backlog=4096)
    async with s:
        await s.serve_forever()

asyncio.run(main())
PY
	bg pyecho python3 "$T/echo.py" "$1"
	wait_port "$1"
}

@test "1,000 tunnels open at once through one connectd all complete" {
	E=$(free_port)
	py_echo "$E"
	P=$(free_port)
	gtr_start connectd "$P" --allow-dest 127.0.0.1/32 --allow-port "$E"
	cat > "$T/many.py" <<'PY'
import asyncio, sys
P, E, N = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])

async def one(i, ready, go):
    r, w = await asyncio.open_connection("127.0.0.1", P)
    w.write(b"CONNECT 127.0.0.1:%d HTTP/1.1\r\nHost: x\r\n\r\n" % E)
    head = await r.readuntil(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200 "):
        return head
    ready.append(i)
    await go.wait()
    msg = b"tunnel %d\n" % i * 100
    w.write(msg)
    w.write_eof()
    got = await r.read()
    w.close()
    return got == msg

async def main():
    ready, go = [], asyncio.Event()
    tasks = [asyncio.create_task(one(i, ready, go)) for i in range(N)]
    while len(ready) < N and not any(t.done() for t in tasks):
        await asyncio.sleep(0.05)
    print("open", len(ready))
    go.set()
    res = await asyncio.gather(*tasks, return_exceptions=True)
    print("ok", sum(1 for x in res if x is True))
    for x in res:
        if x is not True:
            print("failed:", x)
            break

asyncio.run(asyncio.wait_for(main(), 120))
PY
	run python3 "$T/many.py" "$P" "$E" 1000
	echo "$output"
	[ "${lines[0]}" = "open 1000" ]
	[ "${lines[1]}" = "ok 1000" ]
	for i in $(seq 100); do
		[ "$(grep -c 'status=200 .*reason=done' "$T/connectd.log")" -eq 1000 ] && break
		sleep 0.1
	done
	[ "$(grep -c 'status=200 .*reason=done' "$T/connectd.log")" -eq 1000 ]
}

@test "no file descriptor is left open after 2,000 sequential connections" {
	E=$(free_port)
	py_echo "$E"
	P=$(free_port)
	gtr_start connectd "$P" --allow-dest 127.0.0.1/32 --allow-port "$E"
	cat > "$T/seq.py" <<'PY'
import socket, sys
P, E, N = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
logged = 0
for i in range(N):
    s = socket.create_connection(("127.0.0.1", P))
    kind = i % 5
    if kind == 0:
        s.sendall(b"CONNECT 127.0.0.1:%d HTTP/1.1\r\nHost: x\r\n\r\nping\n" % E)
        s.shutdown(socket.SHUT_WR)
    elif kind == 1:
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    elif kind == 2:
        s.sendall(b"CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: x\r\n\r\n")
    elif kind == 3:
        s.sendall(b"CONNECT 127.0.0.1:%d HTT" % E)
        s.shutdown(socket.SHUT_WR)
    else:
        s.close()
        continue
    logged += 1
    data = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        data += d
    s.close()
print(logged)
PY
	python3 "$T/seq.py" "$P" "$E" 200 > "$T/n1"
	wait_log "." "$T/connectd.log"
	for i in $(seq 100); do
		[ "$(grep -c ' method=' "$T/connectd.log")" -eq "$(cat "$T/n1")" ] && break
		sleep 0.1
	done
	before=$(ls "/proc/$connectd_pid/fd" | wc -l)
	python3 "$T/seq.py" "$P" "$E" 2000 > "$T/n2"
	total=$(($(cat "$T/n1") + $(cat "$T/n2")))
	for i in $(seq 100); do
		[ "$(grep -c ' method=' "$T/connectd.log")" -eq "$total" ] && break
		sleep 0.1
	done
	[ "$(grep -c ' method=' "$T/connectd.log")" -eq "$total" ]
	after=$(ls "/proc/$connectd_pid/fd" | wc -l)
	echo "fds before $before after $after"
	# The relay keeps a few spare pipes; a leak would be hundreds.
	[ "$after" -lt $((before + 40)) ]
	printf -v head 'CONNECT 127.0.0.1:%s HTTP/1.1\r\nHost: x\r\n\r\n' "$E"
	[ "$(grep -c "status=200 .*bytes_in=$((${#head} + 5)) bytes_out=$((39 + 5)) " "$T/connectd.log")" -eq 440 ]
}

@test "SIGTERM stops accepting but lets an open tunnel finish, then connectd exits 0" {
	E=$(free_port)
	py_echo "$E"
	P=$(free_port)
	gtr_start connectd "$P" --allow-dest 127.0.0.1/32 --allow-port "$E" --grace 30
	cat > "$T/term.py" <<'PY'
import os, signal, socket, sys, time
P, E, pid = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
s = socket.create_connection(("127.0.0.1", P))
s.sendall(b"CONNECT 127.0.0.1:%d HTTP/1.1\r\nHost: x\r\n\r\n" % E)
head = b""
while not head.endswith(b"\r\n\r\n"):
    head += s.recv(1)
print(head.split(b"\r\n")[0].decode())
os.kill(pid, signal.SIGTERM)
time.sleep(0.5)
try:
    socket.create_connection(("127.0.0.1", P), timeout=5).close()
    print("still accepting")
except OSError:
    print("not accepting")
s.sendall(b"after sigterm\n")
s.shutdown(socket.SHUT_WR)
got = b""
while True:
    d = s.recv(65536)
    if not d:
        break
    got += d
print(got.decode().strip())
PY
	run python3 "$T/term.py" "$P" "$E" "$connectd_pid"
	[ "${lines[0]}" = "HTTP/1.1 200 Connection established" ]
	[ "${lines[1]}" = "not accepting" ]
	[ "${lines[2]}" = "after sigterm" ]
	wait "$connectd_pid"
	printf -v head 'CONNECT 127.0.0.1:%s HTTP/1.1\r\nHost: x\r\n\r\n' "$E"
	grep -q "bytes_in=$((${#head} + 14)) bytes_out=$((39 + 14)) .*reason=done" "$T/connectd.log"
}
