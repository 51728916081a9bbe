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
	! grep -q admin "$T/nginx/access.log"
	! grep -q '#' "$T/nginx/access.log"
}

@test "relayd answers Transfer-Encoding: gzip, chunked with 501 and forwards nothing" {
	origin
	R=$(free_port)
	gtr_start relayd "$R" -c "127.0.0.1:$NPORT"
	run raw "$R" < <(printf 'POST /gz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n')
	[[ "$output" == "HTTP/1.1 501 Not Implemented"* ]]
	wait_log 'status=501' "$T/relayd.log"
	run curl -sS "http://127.0.0.1:$NPORT/"
	[ "$output" = "hello from nginx" ]
	! grep -q '/gz' "$T/nginx/access.log"
}
