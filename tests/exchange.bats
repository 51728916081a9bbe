#!/usr/bin/env bats
# exchange: HTTP framing that every program reads through common/http.c,
# tried against the programs themselves from their command lines, with a
# real nginx behind them to show what did (or did not) get through.

load helpers/common
bats_require_minimum_version 1.5.0

# origin: nginx on $NPORT logging every request it sees.
origin() {
	NPORT=$(free_port)
	mkdir -p "$T/www"
	echo "hello from nginx" > "$T/www/index.html"
	chmod go+rx "$T" "$T/www"
	nginx_start "$NPORT"
}

@test "relayd answers a # in the request-target with 400 and forwards nothing" {
	origin
	R=$(free_port)
	gtr_start relayd "$R" -c "127.0.0.1:$NPORT"
	run raw "$R" < <(printf 'GET /a#b/../../admin HTTP/1.1\r\nHost: x\r\n\r\n')
	[[ "$output" == "HTTP/1.1 400 Bad Request"* ]]
	[[ "$output" == *"Proxy-Status: gtr; error=http_request_error"* ]]
	[[ "$output" == *"fragment"* ]]
	wait_log 'status=400' "$T/relayd.log"
	# nginx is still there, and saw nothing of it.
	run curl -sS "http://127.0.0.1:$NPORT/"
	[ "$output" = "hello from nginx" ]
	! grep -q admin "$T/nginx/access.log" || false
	! grep -q '#' "$T/nginx/access.log" || false
}

# head32k METHOD TARGET HOST BODY: a request head of exactly 32768 bytes
# with "Transfer-Encoding: chunked" and a padding field, then BODY as one
# chunk and the last chunk.
head32k() {
	python3 - "$@" <<'PY'
import sys
m, t, h, body = sys.argv[1:5]
start = "%s %s HTTP/1.1\r\nHost: %s\r\nX-Pad: " % (m, t, h)
end = "\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
head = start + "v" * (32768 - len(start) - len(end)) + end
assert len(head) == 32768
sys.stdout.write(head + "%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))
PY
}

@test "httpftpd: a PUT with a head of exactly 32 KiB and a chunked body stores the body and logs the head" {
	load helpers/ftpd
	FP=$(free_port)
	HP=$(free_port)
	ftp_tree "$T/root"
	pyftpd_start "$FP" rw
	gtr_start httpftpd "$HP" --writable --allow-dest 127.0.0.0/8 --allow-port "$FP"
	head32k PUT "ftp://127.0.0.1:$FP/sub/new.txt" x $'PUT\rforged=1' > "$T/req"
	run raw "$HP" < "$T/req"
	[[ "$output" == "HTTP/1.1 201 "* ]]
	[ "$(cat "$T/root/sub/new.txt")" = $'PUT\rforged=1' ]
	wait_log "method=PUT target=ftp://127.0.0.1:$FP/sub/new.txt .*status=201" "$T/httpftpd.log"
	! grep -q 'forged' "$T/httpftpd.log" || false
	! grep -q $'\r' "$T/httpftpd.log" || false
}

@test "tlswrapd: a head of exactly 32 KiB with a chunked body reaches the origin and is logged as it was" {
	NPORT=$(free_port)
	make_ca "$T/pki"
	make_cert "$T/pki" localhost "DNS:localhost,IP:127.0.0.1"
	chmod go+rx "$T"
	chmod -R go+rX "$T/pki"
	nginx_start "$(free_port)" "listen 127.0.0.1:$NPORT ssl;
		ssl_certificate $T/pki/localhost.crt;
		ssl_certificate_key $T/pki/localhost.key;
		large_client_header_buffers 4 64k;
		location / { return 200 \"method=\$request_method pad=\${http_x_pad}\n\"; }"
	wait_port "$NPORT"
	W=$(free_port)
	gtr_start tlswrapd "$W" --cacert "$T/pki/ca.pem" -c "https://localhost:$NPORT"
	head32k POST /up localhost $'POST\rforged=1' > "$T/req"
	run raw "$W" < "$T/req"
	[[ "$output" == "HTTP/1.1 200 "* ]]
	[[ "$output" == *"method=POST pad=vvvv"* ]]
	wait_log "method=POST target=https://localhost:$NPORT/up status=200" "$T/tlswrapd.log"
	! grep -q 'forged' "$T/tlswrapd.log" || false
	! grep -q $'\r' "$T/tlswrapd.log" || false
}
