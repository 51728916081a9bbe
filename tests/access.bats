#!/usr/bin/env bats
# access.bats - one access line per exchange, DESIGN.md's keys in
# DESIGN.md's order, in every program: a successful exchange and a
# refused one each, and a connection cut at the end of --grace.

load helpers/common
load helpers/ftpd

KEYS='conn client method target status user upstream bytes_in bytes_out ms reason'

# keys_of LINE: the keys of a logfmt access line, in order, one line.
keys_of() {
	sed -E 's/^[^:]+: info: //; s/"([^"\\]|\\.)*"/V/g' <<<"$1" |
	    tr ' ' '\n' | sed -n 's/=.*//p' | tr '\n' ' ' | sed 's/ $//'
}

# in_order KEYS...: every key of the line in $line is one of DESIGN.md's
# in DESIGN.md's order (then the program's own), and KEYS are all there.
in_order() {
	local got want k rest
	got=$(keys_of "$line")
	echo "keys: $got"
	for k in "$@"; do
		[[ " $got " == *" $k "* ]] || { echo "missing $k"; return 1; }
	done
	# The shared keys, in the order they appear, must be a subsequence
	# of DESIGN.md's list.
	rest=" $KEYS "
	for k in $got; do
		[[ " $KEYS " == *" $k "* ]] || continue
		[[ "$rest" == *" $k "* ]] || { echo "$k out of order"; return 1; }
		rest=" ${rest#* $k }"
	done
	[[ "$got" == conn\ client* ]]
	[[ "$got" == *"bytes_in bytes_out ms reason"* ]]
}

# send PORT BYTES: sends BYTES (printf escapes) to 127.0.0.1:PORT; the
# answer is in $output.
send() {
	output=$(printf "$2" | raw "$1")
	echo "answer: $output"
}

# one_line FILE PATTERN: FILE has exactly one access line matching
# PATTERN; it is left in $line.
one_line() {
	local n
	wait_log "$2" "$1" || return 1
	sleep 0.2
	n=$(grep -cE "$2" "$1")
	[ "$n" -eq 1 ] || { echo "$n lines match $2"; cat "$1"; return 1; }
	line=$(grep -E "$2" "$1")
	echo "line: $line"
}

@test "connectd: a tunnel and a refused CONNECT each log one line, keys in order" {
	echo_origin
	P=$(free_port)
	gtr_start connectd "$P" --allow-dest 127.0.0.0/8 --allow-port "$EPORT"
	send "$P" "CONNECT 127.0.0.1:$EPORT HTTP/1.1\r\nHost: x\r\n\r\nping"
	[[ "$output" == *"200 Connection established"*ping* ]]
	one_line "$T/connectd.log" "status=200 .*reason=done"
	in_order conn client method target status upstream bytes_in bytes_out ms reason
	send "$P" "CONNECT 127.0.0.1:1 HTTP/1.1\r\nHost: x\r\n\r\n"
	[[ "$output" == *"403 "* ]]
	one_line "$T/connectd.log" "status=403 .*reason=policy"
	in_order conn client method target status bytes_in bytes_out ms reason
}

@test "relayd: an exchange and a refused request each log one line, keys in order" {
	NP=$(free_port)
	nginx_start "$NP"
	echo hi > "$T/www/index.html"
	P=$(free_port)
	gtr_start relayd "$P" --allow-dest 127.0.0.0/8 --allow-port "$NP"
	run curl -sS -x "http://127.0.0.1:$P" "http://127.0.0.1:$NP/"
	[ "$output" = hi ]
	one_line "$T/relayd.log" "status=200 .*reason="
	in_order conn client method target status upstream bytes_in bytes_out ms reason
	run curl -sS -o /dev/null -w '%{http_code}' -x "http://127.0.0.1:$P" "http://127.0.0.1:1/"
	[ "$output" = 403 ]
	one_line "$T/relayd.log" "status=403 .*reason=policy"
	in_order conn client method target status bytes_in bytes_out ms reason
}

@test "cgid: an exchange and a refused request each log one line, keys in order" {
	P=$(free_port)
	gtr_start cgid "$P" -- "$BATS_TEST_DIRNAME/cgi/hello.sh"
	run curl -sS "http://127.0.0.1:$P/x"
	[ "$status" -eq 0 ]
	one_line "$T/cgid.log" "status=200 .*reason=done"
	in_order conn client method target status bytes_in bytes_out ms reason
	send "$P" "GET /x HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"
	[[ "$output" == "HTTP/1.1 400 "* ]]
	one_line "$T/cgid.log" "status=400 .*reason=bad_request"
	in_order conn client method target status bytes_in bytes_out ms reason
}

@test "httpftpd: an exchange and a refused request each log one line, keys in order" {
	ftp_tree "$T/root"
	FP=$(free_port)
	pyftpd_start "$FP"
	P=$(free_port)
	gtr_start httpftpd "$P" --allow-dest 127.0.0.0/8 --allow-port "$FP"
	run curl -sS -x "http://127.0.0.1:$P" "ftp://127.0.0.1:$FP/a.txt"
	[ "$output" = hello ]
	one_line "$T/httpftpd.log" "status=200 .*reason=done"
	in_order conn client method target status upstream bytes_in bytes_out ms reason ftp
	run curl -sS -o /dev/null -w '%{http_code}' -x "http://127.0.0.1:$P" "ftp://127.0.0.1:1/a.txt"
	[ "$output" = 403 ]
	one_line "$T/httpftpd.log" "status=403 .*reason=policy"
	in_order conn client method target status bytes_in bytes_out ms reason
}

@test "tlswrapd: an exchange and a refused request each log one line, keys in order" {
	https_origin
	P=$(free_port)
	gtr_start tlswrapd "$P" --cacert "$T/pki/ca.pem" --allow-dest 127.0.0.0/8 \
	    --allow-port "$SPORT"
	run curl -sS -x "http://127.0.0.1:$P" "http://localhost:$SPORT/"
	[ "$output" = "hello over tls" ]
	one_line "$T/tlswrapd.log" "status=200 .*reason=done"
	in_order conn client method target status upstream bytes_in bytes_out ms reason upstream_proto
	run curl -sS -o /dev/null -w '%{http_code}' -x "http://127.0.0.1:$P" "http://127.0.0.1:1/"
	[ "$output" = 403 ]
	one_line "$T/tlswrapd.log" "status=403 .*reason=policy"
	in_order conn client method target status bytes_in bytes_out ms reason
}

@test "tlsstripd: a session and a failed handshake each log one line, keys in order" {
	make_ca "$T/pki"
	make_cert "$T/pki" localhost "DNS:localhost,IP:127.0.0.1"
	echo_origin
	P=$(free_port)
	gtr_start tlsstripd "$P" --cert "$T/pki/localhost.pem" -c "127.0.0.1:$EPORT"
	output=$( (printf ping; sleep 1) | timeout 10 openssl s_client -quiet \
	    -no_ign_eof -connect "127.0.0.1:$P" 2>/dev/null)
	[ "$output" = ping ]
	one_line "$T/tlsstripd.log" "upstream=.*reason=(done|client_closed)"
	in_order conn client upstream bytes_in bytes_out ms reason sni protocol cipher resumed
	send "$P" "not tls at all\r\n\r\n"
	one_line "$T/tlsstripd.log" "reason=(tls_error|bad_request)"
	in_order conn client bytes_in bytes_out ms reason sni protocol cipher resumed
}

@test "a tunnel cut at the end of --grace logs its line with reason=grace" {
	echo_origin
	P=$(free_port)
	gtr_start connectd "$P" --allow-dest 127.0.0.0/8 --allow-port "$EPORT" --grace 1
	# A tunnel that stays open: the client keeps its side open.
	(printf 'CONNECT 127.0.0.1:%s HTTP/1.1\r\nHost: x\r\n\r\n' "$EPORT"; sleep 30) |
	    socat - TCP:127.0.0.1:"$P" > "$T/client.out" 3>&- &
	echo $! >> "$T/pids"
	wait_log "200 Connection established" "$T/client.out"
	kill -TERM "$connectd_pid"
	wait_log "reason=grace" "$T/connectd.log"
	one_line "$T/connectd.log" "reason=grace"
	in_order conn client method target status upstream bytes_in bytes_out ms reason
	# And the program exits 0 soon after.
	for i in $(seq 50); do kill -0 "$connectd_pid" 2>/dev/null || break; sleep 0.1; done
	! kill -0 "$connectd_pid" 2>/dev/null || false
}

# A CGI that never answers blocks cgid on its pipe, where shutting the
# client's socket wakes nothing: the end of --grace kills the program's
# process group, and the connection still gets its line.
@test "cgid: an exchange with a hung CGI cut at the end of --grace logs reason=grace, and the CGI is gone" {
	mkdir -p "$T/root"
	cp "$BATS_TEST_DIRNAME/cgi/hang.sh" "$T/root/"
	P=$(free_port)
	gtr_start cgid "$P" --grace 1 --root "$T/root"
	curl -sS -m 30 "http://127.0.0.1:$P/hang.sh/cgipids" > /dev/null 2>&1 &
	echo $! >> "$T/pids"
	wait_file "$T/root/cgipids"
	read -r cgi sub < "$T/root/cgipids"
	kill -TERM "$cgid_pid"
	wait_log "reason=grace" "$T/cgid.log"
	one_line "$T/cgid.log" "reason=grace"
	in_order conn client method target status bytes_in bytes_out ms reason
	! grep -q "before its access line" "$T/cgid.log" || false
	for i in $(seq 50); do kill -0 "$cgid_pid" 2>/dev/null || break; sleep 0.1; done
	! kill -0 "$cgid_pid" 2>/dev/null || false
	for i in $(seq 50); do
		kill -0 "$cgi" 2>/dev/null || kill -0 "$sub" 2>/dev/null || break
		sleep 0.1
	done
	! kill -0 "$cgi" 2>/dev/null || false
	! kill -0 "$sub" 2>/dev/null || false
}

# An FTP server that stops answering blocks httpftpd inside libcurl: the
# end of --grace aborts the transfer, and the connection gets its line.
@test "httpftpd: a transfer from a stalled FTP server cut at the end of --grace logs reason=grace" {
	ftp_tree "$T/root"
	FP=$(free_port)
	pyftpd_start "$FP"
	P=$(free_port)
	gtr_start httpftpd "$P" --allow-dest 127.0.0.0/8 --allow-port "$FP" --grace 1
	# The first request leaves a pooled FTP connection; the second waits
	# on it for a server that has stopped.
	run curl -sS -x "http://127.0.0.1:$P" "ftp://127.0.0.1:$FP/a.txt"
	[ "$output" = hello ]
	# The client has the body before the gateway has the 226.
	wait_log "status=200 .*reason=done" "$T/httpftpd.log"
	kill -STOP "$pyftpd_pid"
	curl -sS -m 30 -x "http://127.0.0.1:$P" "ftp://127.0.0.1:$FP/sub/b.txt" \
	    -o "$T/b.out" 2>/dev/null &
	echo $! >> "$T/pids"
	sleep 0.5
	kill -TERM "$httpftpd_pid"
	wait_log "reason=grace" "$T/httpftpd.log"
	kill -CONT "$pyftpd_pid"
	one_line "$T/httpftpd.log" "reason=grace"
	! grep -q "before its access line" "$T/httpftpd.log" || false
	for i in $(seq 50); do kill -0 "$httpftpd_pid" 2>/dev/null || break; sleep 0.1; done
	! kill -0 "$httpftpd_pid" 2>/dev/null || false
}
