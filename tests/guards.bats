#!/usr/bin/env bats
# guards: what stops password guessing, clients from outside
# --allow-client, and request bodies and paths meant to exhaust or fool
# cgid (issue 11, "Destination policy and guards").

load helpers/common
bats_require_minimum_version 1.5.0

CGI=$BATS_TEST_DIRNAME/cgi
FILTER=$BATS_TEST_DIRNAME/../contrib/fail2ban/filter.d/gtr-auth.conf

# basic USER:PASS: the Basic credentials, base64.
basic() {
	printf '%s' "$1" | base64 -w0
}

# connects N: N CONNECTs with wrong credentials on one connection.
wrong_connects() {
	local i
	for i in $(seq "$1"); do
		printf 'CONNECT 127.0.0.1:1 HTTP/1.1\r\nHost: x\r\nProxy-Authorization: Basic %s\r\n\r\n' \
			"$(basic "alice:guess$i")"
	done
}

# f2b_hosts FILTER LOG: prints the address fail2ban takes from each line
# of LOG that FILTER's failregex matches, one a line: Python's re, the
# engine of fail2ban, with <ADDR> expanded as fail2ban 0.10+ expands it.
f2b_hosts() {
	python3 - "$1" "$2" <<'PY'
import configparser, re, sys
c = configparser.RawConfigParser()
c.read(sys.argv[1])
rx = c.get("Definition", "failregex").strip()
assert "\n" not in rx, "one failregex"
ip4 = r"(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
ip6 = r"(?:[0-9a-fA-F]{1,4}::?|:){1,7}(?:[0-9a-fA-F]{1,4}|(?<=:):)"
rx = rx.replace("<ADDR>", r"\[?(?:(?:::f{4,6}:)?(?P<ip4>%s)|(?P<ip6>%s))\]?" % (ip4, ip6))
for line in open(sys.argv[2]):
	m = re.search(rx, line.rstrip("\n"))
	if m:
		print(m.group("ip4") or m.group("ip6"))
PY
}

@test "connectd closes a connection after 3 wrong passwords: 50 guesses get 3 407s" {
	htpasswd -B -c -b "$T/htpasswd" alice 'open sesame' 2>/dev/null
	P=$(free_port)
	gtr_start connectd "$P" --auth "$T/htpasswd"
	run raw "$P" < <(wrong_connects 50)
	[ "$(grep -c '^HTTP/1.1 407 ' <<< "$output")" -eq 3 ]
	# The third says it closes; the first two keep the connection.
	[ "$(grep -c $'^Connection: close\r$' <<< "$output")" -eq 1 ]
	wait_log 'user=alice failure=wrong_password$' "$T/connectd.log"
	for i in $(seq 100); do
		[ "$(grep -c 'status=407' "$T/connectd.log")" -ge 3 ] && break
		sleep 0.1
	done
	[ "$(grep -c 'status=407' "$T/connectd.log")" -eq 3 ]
	[ "$(grep -c ' auth_failed ' "$T/connectd.log")" -eq 3 ]
	# Missing credentials are the challenge, not a failure: they keep
	# the connection however many, and log no failure.
	run raw "$P" < <(for i in 1 2 3 4 5; do printf 'CONNECT 127.0.0.1:1 HTTP/1.1\r\nHost: x\r\n\r\n'; done)
	[ "$(grep -c '^HTTP/1.1 407 ' <<< "$output")" -eq 5 ]
	[ "$(grep -c ' auth_failed ' "$T/connectd.log")" -eq 3 ]
}

@test "connectd logs each failed login on a line with client=, user= and failure=, never the password" {
	htpasswd -B -c -b "$T/htpasswd" alice 'open sesame' 2>/dev/null
	P=$(free_port)
	gtr_start connectd "$P" --auth "$T/htpasswd"
	run raw "$P" < <(printf 'CONNECT 127.0.0.1:1 HTTP/1.1\r\nHost: x\r\nProxy-Authorization: Basic %s\r\n\r\n' "$(basic 'alice:guessed')")
	run raw "$P" < <(printf 'CONNECT 127.0.0.1:1 HTTP/1.1\r\nHost: x\r\nProxy-Authorization: Basic %s\r\n\r\n' "$(basic 'mallory:guessed')")
	run raw "$P" < <(printf 'CONNECT 127.0.0.1:1 HTTP/1.1\r\nHost: x\r\nProxy-Authorization: Basic %s\r\n\r\n' "$(basic 'a b=c:guessed')")
	run raw "$P" < <(printf 'CONNECT 127.0.0.1:1 HTTP/1.1\r\nHost: x\r\nProxy-Authorization: Basic !!!!\r\n\r\n')
	wait_log 'failure=malformed$' "$T/connectd.log"
	grep -Eq '^connectd\[[0-9]+\]: info: auth_failed conn=[0-9]+ client=127\.0\.0\.1:[0-9]+ user=alice failure=wrong_password$' "$T/connectd.log"
	grep -Eq ' auth_failed conn=[0-9]+ client=127\.0\.0\.1:[0-9]+ user=mallory failure=unknown_user$' "$T/connectd.log"
	grep -Eq ' auth_failed conn=[0-9]+ client=127\.0\.0\.1:[0-9]+ user="a b=c" failure=unknown_user$' "$T/connectd.log"
	grep -Eq ' auth_failed conn=[0-9]+ client=127\.0\.0\.1:[0-9]+ user=- failure=malformed$' "$T/connectd.log"
	run -1 grep -q guessed "$T/connectd.log"
	# The access line names only a user who logged in.
	run -1 grep -q ' method=.* user=' "$T/connectd.log"
}

@test "concurrent crypt(3) runs are bounded: one more waits until --header-timeout, then 503" {
	# A SHA-crypt hash of a billion rounds keeps a check busy for
	# minutes: one such check per CPU holds every slot.
	htpasswd -B -c -b "$T/htpasswd" alice 'open sesame' 2>/dev/null
	echo 'slow:$5$rounds=999999999$saltsalt$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' >> "$T/htpasswd"
	P=$(free_port)
	gtr_start connectd "$P" --auth "$T/htpasswd" --header-timeout 1
	n=$(nproc)
	for i in $(seq "$n"); do
		bg "slow$i" python3 -c '
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"CONNECT 127.0.0.1:1 HTTP/1.1\r\nHost: x\r\nProxy-Authorization: Basic %s\r\n\r\n" % sys.argv[2].encode())
open(sys.argv[3], "w").close()
time.sleep(60)' "$P" "$(basic slow:x)" "$T/slow$i.sent"
	done
	for i in $(seq "$n"); do
		wait_file "$T/slow$i.sent"
	done
	# alice's check waits for a slot the slow ones hold, and times out.
	for i in $(seq 20); do
		run raw "$P" < <(printf 'CONNECT 127.0.0.1:1 HTTP/1.1\r\nHost: x\r\nProxy-Authorization: Basic %s\r\n\r\n' "$(basic 'alice:open sesame')")
		[[ "$output" == "HTTP/1.1 503 "* ]] && break
		sleep 0.2
	done
	[[ "$output" == "HTTP/1.1 503 "* ]]
	[[ "$output" == *"Proxy-Status: gtr; error=proxy_internal_error"* ]]
	[[ "$output" == *"Connection: close"* ]]
	[[ "$output" != *"407"* ]]
	wait_log 'status=503 .*reason=internal_error$' "$T/connectd.log"
	grep -q 'password checks' "$T/connectd.log"
}

@test "cgid --auth closes a connection after 3 wrong passwords and logs each for fail2ban" {
	mkdir -p "$T/root"
	cp -p "$CGI/env.sh" "$T/root/"
	htpasswd -B -b -c "$T/htpasswd" alice wonderland 2>/dev/null
	P=$(free_port)
	gtr_start cgid "$P" --root "$T/root" --auth "$T/htpasswd"
	run raw "$P" < <(for i in $(seq 20); do printf 'GET /env.sh HTTP/1.1\r\nHost: x\r\nAuthorization: Basic %s\r\n\r\n' "$(basic "alice:pw-guess-$i")"; done)
	[ "$(grep -c '^HTTP/1.1 401 ' <<< "$output")" -eq 3 ]
	[ "$(grep -c $'^Connection: close\r$' <<< "$output")" -eq 1 ]
	wait_log 'auth_failed' "$T/cgid.log"
	for i in $(seq 100); do
		[ "$(grep -c 'status=401' "$T/cgid.log")" -ge 3 ] && break
		sleep 0.1
	done
	[ "$(grep -c 'status=401' "$T/cgid.log")" -eq 3 ]
	[ "$(grep -Ec '^cgid\[[0-9]+\]: info: auth_failed conn=[0-9]+ client=127\.0\.0\.1:[0-9]+ user=alice failure=wrong_password$' "$T/cgid.log")" -eq 3 ]
	run -1 grep -q 'pw-guess' "$T/cgid.log"
	run curl -sS -u alice:wonderland "http://127.0.0.1:$P/env.sh"
	echo "$output" | grep -qx 'REMOTE_USER=alice'
}

@test "contrib/fail2ban's filter finds the client of every failed login, IPv4 and IPv6, and nothing else" {
	htpasswd -B -c -b "$T/htpasswd" alice 'open sesame' 2>/dev/null
	P=$(free_port)
	P6=$(free_port)
	bg connectd "$GTR_BIN/connectd" -l "127.0.0.1:$P" -l "[::1]:$P6" \
		--auth "$T/htpasswd" --allow-dest 127.0.0.1 --allow-port 1
	wait_port "$P"
	# Two wrong, one right (a 502: nothing on port 1), one with none.
	run raw "$P" < <(wrong_connects 2)
	run socat -t 20 - "TCP6:[::1]:$P6" < <(wrong_connects 1)
	run raw "$P" < <(printf 'CONNECT 127.0.0.1:1 HTTP/1.1\r\nHost: x\r\nProxy-Authorization: Basic %s\r\n\r\n' "$(basic 'alice:open sesame')")
	run raw "$P" < <(printf 'CONNECT 127.0.0.1:1 HTTP/1.1\r\nHost: x\r\n\r\n')
	# A user name that pretends to be another client's address.
	run raw "$P" < <(printf 'CONNECT 127.0.0.1:1 HTTP/1.1\r\nHost: x\r\nProxy-Authorization: Basic %s\r\n\r\n' "$(basic 'x client=192.0.2.66:pw')")
	wait_log 'status=502' "$T/connectd.log"
	wait_log 'user="x client=192.0.2.66"' "$T/connectd.log"
	wait_log 'client=\[::1\]:[0-9]+ user=alice' "$T/connectd.log"
	mkdir -p "$T/root"
	cp -p "$CGI/env.sh" "$T/root/"
	Q=$(free_port)
	gtr_start cgid "$Q" --root "$T/root" --auth "$T/htpasswd"
	curl -sS -o /dev/null -u 'bob:x' "http://127.0.0.1:$Q/env.sh"
	wait_log 'auth_failed' "$T/cgid.log"
	cat "$T/connectd.log" "$T/cgid.log" > "$T/all.log"
	# As fail2ban's journal backend has them: host, identifier, message.
	sed 's/^/myhost connectd[9]: /' "$T/connectd.log" >> "$T/all.log"
	run f2b_hosts "$FILTER" "$T/all.log"
	[ "$status" -eq 0 ]
	# connectd: 3 from 127.0.0.1 and 1 from ::1, twice; cgid: 1.
	[ "$(grep -cx '127.0.0.1' <<< "$output")" -eq 7 ]
	[ "$(grep -cx '::1' <<< "$output")" -eq 2 ]
	[ "${#lines[@]}" -eq 9 ]
	[[ "$output" != *192.0.2.66* ]]
	if command -v fail2ban-regex > /dev/null; then
		run fail2ban-regex -d '{NONE}' "$T/all.log" "$FILTER"
		[[ "$output" == *" 9 matched"* ]]
	fi
	# The jail names the filter, and the page says what it matches.
	grep -q '^filter *= *gtr-auth' "$BATS_TEST_DIRNAME/../contrib/fail2ban/jail.d/gtr-auth.conf"
	grep -q 'auth_failed' "$BATS_TEST_DIRNAME/../man/man8/connectd.8"
}

# ---- --allow-client

# from SRC PORT: sends stdin to 127.0.0.1:PORT from address SRC.
from() {
	socat -t 20 - "TCP:127.0.0.1:$2,bind=$1"
}

@test "--allow-client: a client outside it is closed unanswered and logged, one inside is served" {
	P=$(free_port)
	gtr_start connectd "$P" --allow-client 127.0.0.2 --allow-client 10.0.0.0/8,::1
	run from 127.0.0.1 "$P" < <(printf 'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
	[ -z "$output" ]
	wait_log 'conn=[0-9]+: client 127\.0\.0\.1:[0-9]+ is not in --allow-client; closed$' "$T/connectd.log"
	run from 127.0.0.2 "$P" < <(printf 'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
	[[ "$output" == "HTTP/1.1 405 "* ]]
	wait_log 'client=127\.0\.0\.2:[0-9]+ method=GET' "$T/connectd.log"
	# The refused client has no access line: it sent no request we read.
	run -1 grep -q 'client=127\.0\.0\.1:' "$T/connectd.log"
	run -1 grep -q 'client 127\.0\.0\.2:.* is not in --allow-client' "$T/connectd.log"
	# IPv6: ::1 is in the second list; an IPv4 block names no IPv6 client.
	Q=$(free_port)
	bg v6 "$GTR_BIN/connectd" -l "[::1]:$Q" --allow-client 127.0.0.0/8,::1/128
	R=$(free_port)
	bg v4only "$GTR_BIN/connectd" -l "[::1]:$R" --allow-client 127.0.0.0/8
	wait_log 'listening' "$T/v6.log"
	wait_log 'listening' "$T/v4only.log"
	run socat -t 20 - "TCP6:[::1]:$Q" < <(printf 'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
	[[ "$output" == "HTTP/1.1 405 "* ]]
	run socat -t 20 - "TCP6:[::1]:$R" < <(printf 'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
	[ -z "$output" ]
	wait_log 'client \[::1\]:[0-9]+ is not in --allow-client; closed$' "$T/v4only.log"
}

@test "--allow-client is checked by every program, in listen mode" {
	make_ca "$T/pki"
	make_cert "$T/pki" localhost "DNS:localhost,IP:127.0.0.1"
	mkdir -p "$T/root"
	cp -p "$CGI/env.sh" "$T/root/"
	for prog in connectd relayd tlswrapd httpftpd cgid tlsstripd; do
		case $prog in
		cgid) extra=(--root "$T/root") ;;
		tlsstripd) extra=(--cert "$T/pki/localhost.pem" -c 127.0.0.1:1) ;;
		*) extra=() ;;
		esac
		P=$(free_port)
		gtr_start "$prog" "$P" --allow-client 127.0.0.2/32 "${extra[@]}"
		run from 127.0.0.1 "$P" < <(printf 'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
		[ -z "$output" ]
		wait_log 'client 127\.0\.0\.1:[0-9]+ is not in --allow-client; closed$' "$T/$prog.log"
		run -1 grep -q ' client=127\.0\.0\.1:' "$T/$prog.log"
		run from 127.0.0.2 "$P" < <(printf 'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
		wait_log ' client=127\.0\.0\.2:' "$T/$prog.log"
		run -1 grep -q 'client 127\.0\.0\.2:.* is not in' "$T/$prog.log"
	done
}

@test "--allow-client with --accept-proxy judges the PROXY header's source address" {
	P=$(free_port)
	gtr_start connectd "$P" --accept-proxy --allow-client 192.0.2.0/24
	# The balancer (127.0.0.1) is not in the list; its clients are.
	run raw "$P" < <(printf 'PROXY TCP4 192.0.2.7 127.0.0.1 4242 %s\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n' "$P")
	[[ "$output" == "HTTP/1.1 405 "* ]]
	wait_log 'client=192\.0\.2\.7:4242 method=GET' "$T/connectd.log"
	run raw "$P" < <(printf 'PROXY TCP4 198.51.100.7 127.0.0.1 4243 %s\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n' "$P")
	[ -z "$output" ]
	wait_log 'client 198\.51\.100\.7:4243 is not in --allow-client; closed$' "$T/connectd.log"
	run -1 grep -q 'client=198\.51\.100\.7' "$T/connectd.log"
}

@test "--allow-client in single-connection modes: TCPREMOTEIP is judged, an unknown address refused" {
	run -0 --separate-stderr env TCPREMOTEIP=10.1.2.3 TCPREMOTEPORT=5 \
		"$GTR_BIN/connectd" --allow-client 127.0.0.0/8 \
		< <(printf 'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
	[ -z "$output" ]
	[[ "$stderr" == *"client 10.1.2.3:5 is not in --allow-client; closed"* ]]
	run -0 --separate-stderr env TCPREMOTEIP=127.9.9.9 TCPREMOTEPORT=5 \
		"$GTR_BIN/connectd" --allow-client 127.0.0.0/8 \
		< <(printf 'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
	[[ "$output" == "HTTP/1.1 405 "* ]]
	# A pipe without TCPREMOTEIP has no address to find in the list.
	run -0 --separate-stderr env -u TCPREMOTEIP "$GTR_BIN/connectd" \
		--allow-client 127.0.0.0/8 < <(printf 'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
	[ -z "$output" ]
	[[ "$stderr" == *"client -:- is not in --allow-client; closed"* ]]
	# socat runs it per connection, as inetd would: getpeername() judged.
	P=$(free_port)
	bg socat socat TCP-LISTEN:"$P",bind=127.0.0.1,reuseaddr,fork \
		EXEC:"$GTR_BIN/connectd --allow-client 127.0.0.2",nofork
	wait_port "$P"
	run from 127.0.0.1 "$P" < <(printf 'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
	[ -z "$output" ]
	wait_log 'client 127\.0\.0\.1:[0-9]+ is not in --allow-client' "$T/socat.log"
	run from 127.0.0.2 "$P" < <(printf 'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
	[[ "$output" == "HTTP/1.1 405 "* ]]
}

@test "--allow-client: a bad block is a usage error, exit 64; -h and gtr(7) name it" {
	for bad in 10.0.0.0/33 nonsense 10.0.0.1, ''; do
		run --separate-stderr "$GTR_BIN/connectd" --allow-client "$bad"
		[ "$status" -eq 64 ]
		[[ "$stderr" == *"--allow-client"* ]]
	done
	for prog in connectd relayd tlswrapd httpftpd cgid tlsstripd; do
		run -0 "$GTR_BIN/$prog" -h
		[[ "$output" == *"--allow-client CIDR"* ]]
		grep -q 'allow-client' "$BATS_TEST_DIRNAME/../man/man8/$prog.8"
	done
	grep -q 'allow-client' "$BATS_TEST_DIRNAME/../man/man7/gtr.7"
}

# ---- cgid: request bodies and PATH_INFO

# post_chunked PORT BYTES: POSTs a chunked body of BYTES zeros (64 KiB
# chunks) to echo.py on 127.0.0.1:PORT; prints the answer.
post_chunked() {
	{
		printf 'POST /echo.py?sum HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n'
		python3 -c '
import sys
n = int(sys.argv[1]); out = sys.stdout.buffer
while n > 0:
	k = min(n, 65536)
	out.write(b"%x\r\n" % k + b"0" * k + b"\r\n")
	n -= k
out.write(b"0\r\n\r\n")' "$2"
	} > "$T/req.$2"
	socat -t 20 - "TCP:127.0.0.1:$1" < "$T/req.$2"
}

@test "cgid: by default a chunked body over 16 MiB gets 413, one of 16 MiB is served" {
	mkdir -p "$T/root"
	cp -p "$CGI/echo.py" "$T/root/"
	P=$(free_port)
	gtr_start cgid "$P" --root "$T/root"
	run post_chunked "$P" $((16 * 1024 * 1024 + 1))
	[[ "$output" == "HTTP/1.1 413 "* ]]
	wait_log 'status=413 ' "$T/cgid.log"
	run -1 grep -q 'echo.py: sha256' "$T/cgid.log"
	run post_chunked "$P" $((16 * 1024 * 1024))
	[[ "$output" == "HTTP/1.1 200 "* ]]
	[[ "$output" == *" 16777216"* ]]
	# The same bound for a body with a length, which is never spooled.
	run curl -sS -o /dev/null -w '%{http_code}' -H 'Expect:' \
		--data-binary @<(head -c $((16 * 1024 * 1024 + 1)) /dev/zero) "http://127.0.0.1:$P/echo.py?sum"
	[ "$output" = 413 ]
}

@test "cgid: chunked bodies spooled at once are bounded by --max-spool: 503, and room again once one ends" {
	mkdir -p "$T/root"
	cp -p "$CGI/echo.py" "$T/root/"
	P=$(free_port)
	gtr_start cgid "$P" --root "$T/root" --max-spool 200000
	# One upload holds 150000 bytes spooled and never ends.
	bg held python3 -c '
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"POST /echo.py?sum HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
s.sendall(b"%x\r\n" % 150000 + b"0" * 150000 + b"\r\n")
open(sys.argv[2], "w").close()
time.sleep(60)' "$P" "$T/held.sent"
	wait_file "$T/held.sent"
	# Another of 100000 does not fit beside it, once cgid has read it.
	for i in $(seq 50); do
		run post_chunked "$P" 100000
		[[ "$output" == "HTTP/1.1 503 "* ]] && break
		sleep 0.1
	done
	[[ "$output" == "HTTP/1.1 503 "* ]]
	[[ "$output" == *"--max-spool"* ]]
	wait_log 'status=503 ' "$T/cgid.log"
	# Once the held upload is gone its room is given back.
	kill "$held_pid"
	for i in $(seq 50); do
		run post_chunked "$P" 100000
		[[ "$output" == "HTTP/1.1 200 "* ]] && break
		sleep 0.1
	done
	[[ "$output" == "HTTP/1.1 200 "* ]]
	[[ "$output" == *" 100000"* ]]
	# A body that alone is over --max-spool could never fit: 413.
	run post_chunked "$P" 300000
	[[ "$output" == "HTTP/1.1 413 "* ]]
}

@test "cgid: a control character percent-encoded in PATH_INFO gets 400 and runs nothing" {
	mkdir -p "$T/root"
	cp -p "$CGI/env.sh" "$T/root/"
	P=$(free_port)
	gtr_start cgid "$P" --root "$T/root"
	for bad in '/env.sh/a%0Ab' '/env.sh/a%0d%0aX-Injected:%201' '/env.sh/%09' \
	    '/env.sh/a%1bb' '/env.sh/a%7Fb' '/env.sh/x/%01/y' '/env%0A.sh'; do
		run curl -sS -i "http://127.0.0.1:$P$bad"
		[[ "$output" == "HTTP/1.1 400 "* ]]
		[[ "$output" != *GATEWAY_INTERFACE* ]]
	done
	# A program after --: all of the path is PATH_INFO, judged alike.
	run -0 --separate-stderr "$GTR_BIN/cgid" -- "$T/root/env.sh" \
		< <(printf 'GET /a%%0Ab HTTP/1.0\r\n\r\n')
	[[ "$output" == HTTP/1.[01]" 400 "* ]]
	[[ "$output" != *GATEWAY_INTERFACE* ]]
	# What is not a control character still reaches the program decoded.
	run curl -sS "http://127.0.0.1:$P/env.sh/a%20b/%C3%A9"
	echo "$output" | grep -qx 'PATH_INFO=/a b/é'
}
