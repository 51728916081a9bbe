#!/usr/bin/env bats
# ftppool.bats - many clients through one httpftpd to one FTP server that
# limits connections per client address, as real servers do by default:
# the gateway keeps a bounded pool of control connections per server and
# login, and every client gets its file.

load helpers/common
load helpers/ftpd

@test "2,000 clients at once through one httpftpd to one vsftpd with its default limits each get their file" {
	ftp_tree "$T/root"
	FP=$(free_port)
	# Passive ports below the kernel's ephemeral range (32768 up): the
	# 2,000 clients' own sockets would take some, and vsftpd, failing to
	# bind one, ends the session ("500 OOPS: vsf_sysutil_bind").
	FTP_PASV_BASE=$((28000 + RANDOM % 10 * 400)) FTP_PASV_SPAN=400 \
	    VSFTPD_DEFAULT_LIMITS=1 vsftpd_start "$FP"
	P=$(free_port)
	gtr_start httpftpd "$P" --allow-dest 127.0.0.0/8 --allow-port "$FP"
	many 2000 "$P" "ftp://127.0.0.1:$FP/a.txt" > "$T/results"
	sort "$T/results" | uniq -c
	grep -v ' status=200 ' "$T/httpftpd.log" | head -20
	grep -iE 'oops|fail|"4[0-9][0-9] ' "$T/vsftpd/vsftpd.log" | head -20
	[ "$(wc -l < "$T/results")" -eq 2000 ]
	[ "$(grep -c '^200 6$' "$T/results")" -eq 2000 ]
}

@test "a server that allows fewer connections than --ftp-conns answers 421: the pool shrinks and every client still gets its file" {
	ftp_tree "$T/root"
	FP=$(free_port)
	FTP_PASV_BASE=$((24000 + RANDOM % 10 * 100)) FTP_PASV_SPAN=100 \
	    VSFTPD_DEFAULT_LIMITS=1 VSFTPD_EXTRA=max_per_ip=4 vsftpd_start "$FP"
	P=$(free_port)
	gtr_start httpftpd "$P" --allow-dest 127.0.0.0/8 --allow-port "$FP" -v
	many 300 "$P" "ftp://127.0.0.1:$FP/a.txt" > "$T/results"
	sort "$T/results" | uniq -c
	grep -v ' status=200 ' "$T/httpftpd.log" | grep -v debug | head -20
	[ "$(grep -c '^200 6$' "$T/results")" -eq 300 ]
	# It did meet the limit, and lowered its bound.
	grep -q 'busy (421): fewer connections' "$T/httpftpd.log"
}

@test "with every connection busy past --connect-timeout, a client gets 503 with Retry-After and Proxy-Status" {
	ftp_tree "$T/root"
	head -c 20000000 /dev/zero > "$T/root/big"
	FP=$(free_port)
	pyftpd_start "$FP"
	P=$(free_port)
	gtr_start httpftpd "$P" --allow-dest 127.0.0.0/8 --allow-port "$FP" \
	    --ftp-conns 1 --connect-timeout 1
	# One slow download holds the only connection.
	curl -sS --limit-rate 1M -x "http://127.0.0.1:$P" "ftp://127.0.0.1:$FP/big" \
	    -o /dev/null &
	echo $! >> "$T/pids"
	wait_log "RETR big" "$T/pyftpd.log"
	run curl -sS -i -x "http://127.0.0.1:$P" "ftp://127.0.0.1:$FP/a.txt"
	echo "$output"
	[[ "${lines[0]}" == "HTTP/1.1 503 "* ]]
	echo "$output" | grep -qi '^Retry-After: 5'
	echo "$output" | grep -q 'Proxy-Status: gtr; error=connection_limit_reached'
	wait_log 'status=503 .*reason=upstream_error' "$T/httpftpd.log"
}
