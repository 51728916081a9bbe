#!/usr/bin/env bats
# httpftpd: the HTTP/FTP gateway, against real FTP servers (pyftpdlib and
# vsftpd) on loopback and real clients (curl, wget, socat).

load helpers/common
load helpers/ftpd
bats_require_minimum_version 1.5.0

# ftp_up KIND: starts that FTP server on $FP, and httpftpd in proxy form
# on $HP allowed to reach it.
ftp_up() {
	FP=$(free_port)
	HP=$(free_port)
	KIND=$1
	ftp_tree "$T/root"
	"${1}_start" "$FP" "${2:-ro}"
	gtr_start httpftpd "$HP" --allow-dest 127.0.0.0/8 --allow-port "$FP" \
		"${@:3}"
	U="ftp://127.0.0.1:$FP"
}

# origin_up KIND URLPATH [ARGS]: the same with httpftpd in origin form.
origin_up() {
	FP=$(free_port)
	HP=$(free_port)
	KIND=$1
	ftp_tree "$T/root"
	"${1}_start" "$FP"
	gtr_start httpftpd "$HP" -c "ftp://127.0.0.1:$FP/$2" "${@:3}"
}

# ftplog: what the FTP server logged (the commands it received).
ftplog() {
	if [ "$KIND" = vsftpd ]; then cat "$T/vsftpd/vsftpd.log"; else cat "$T/pyftpd.log"; fi
}

px() {
	curl -sS --max-time 20 -x "http://127.0.0.1:$HP" "$@"
}

# raw: sends stdin to httpftpd, half-closes, prints the answer.
raw() {
	socat -t 20 - TCP:127.0.0.1:"$HP"
}

# --- core file tests, run against both servers ---

get_file() {
	ftp_up "$1"
	run px -D "$T/h" "$U/a.txt"
	[ "$status" -eq 0 ]
	[ "$output" = hello ]
	grep -q '^HTTP/1.1 200' "$T/h"
	grep -qi '^Content-Length: 6' "$T/h"
	grep -qi '^Content-Type: text/plain' "$T/h"
	grep -qi '^Last-Modified: Thu, 02 Jan 2020 03:04:05 GMT' "$T/h"
	grep -qi '^Accept-Ranges: bytes' "$T/h"
	grep -qi '^ETag: "' "$T/h"
	# bytes_out: the head curl got and the six bytes of the file
	wait_log "method=GET target=$U/a.txt status=200 upstream=127.0.0.1:$FP .*bytes_out=$(( $(stat -c %s "$T/h") + 6 )) .*reason=done ftp=226\$" \
		"$T/httpftpd.log"
}
@test "pyftpdlib: a file comes through the proxy form with length, type, date and ETag" { get_file pyftpd; }
@test "vsftpd: a file comes through the proxy form with length, type, date and ETag" { get_file vsftpd; }

binary_file() {
	ftp_up "$1"
	px -o "$T/got" "$U/rand.bin"
	cmp "$T/got" "$T/root/rand.bin"
	run px -o /dev/null -w '%{http_code}' "$U/empty.txt"
	[ "$output" = 200 ]
}
@test "pyftpdlib: binary and empty files arrive byte for byte" { binary_file pyftpd; }
@test "vsftpd: binary and empty files arrive byte for byte" { binary_file vsftpd; }

# splice_on: succeeds if httpftpd (started with -v, which says at its
# start whether its libcurl is one the splice path was checked against)
# said it splices.
splice_on() {
	grep -qE 'debug: libcurl [0-9.]+: the rest of a plain FTP file is spliced' \
		"$T/httpftpd.log"
}

# Past its first piece a large file goes from the data connection to the
# client by splice: every byte in order, and the FTP login still good.
# The debug line of each splice shows it ran: it would pass unseen as
# plain copies otherwise.
large_file() {
	ftp_up "$1" ro -v
	head -c 9000001 /dev/urandom > "$T/root/large.bin"
	px -o "$T/got1" "$U/large.bin" -o "$T/got2" "$U/large.bin" \
		-o "$T/got3" "$U/a.txt"
	cmp "$T/got1" "$T/root/large.bin"
	cmp "$T/got2" "$T/root/large.bin"
	[ "$(cat "$T/got3")" = hello ]
	[ "$(grep -cE "target=$U/large.bin status=200 .*bytes_out=9000[0-9]{3} .*reason=done ftp=226\$" \
		"$T/httpftpd.log")" -eq 2 ]
	[ "$(ftplog | grep -c 'USER anonymous')" -eq 1 ]
	! grep -q 'broken\|FTP sent' "$T/httpftpd.log" || false
	wait_log 'debug: libcurl [0-9.]+: ' "$T/httpftpd.log"
	n=0
	if splice_on; then
		# libcurl reads at most 11 buffers of 512 KiB between two
		# progress calls: millions of bytes are left to splice
		[ "$(grep -cE 'debug: conn=[0-9]+: spliced [0-9]{7} bytes$' \
			"$T/httpftpd.log")" -eq 2 ]
		n=2
	fi
	# a.txt came whole in libcurl's first read: nothing else spliced
	[ "$(grep -c ': spliced ' "$T/httpftpd.log")" -eq "$n" ]
}
@test "pyftpdlib: a large file arrives byte for byte twice on one FTP login" { large_file pyftpd; }
@test "vsftpd: a large file arrives byte for byte twice on one FTP login" { large_file vsftpd; }

# The splice path was checked against the reads of libcurl 7.88.1 and
# 8.14.1 (ftp.c, curl_reads_through): on another version it stays off,
# every byte copied through the gateway, whole but slower.  A libcurl
# upgrade must not close it unseen: check the new version's reads and
# add its version_num there.
@test "the libcurl in use is one the splice path was checked against, and splices" {
	ftp_up vsftpd ro -v
	wait_log 'debug: libcurl [0-9.]+: ' "$T/httpftpd.log"
	splice_on || {
		grep 'debug: libcurl' "$T/httpftpd.log"
		echo "check this libcurl's reads before it splices (ftp.c)"
		false
	}
}

origin_form() {
	origin_up "$1" sub
	run curl -sS "http://127.0.0.1:$HP/b.txt"
	[ "$output" = inside ]
	# neither .. nor its escapes climb above sub/
	for p in /../a.txt /%2e%2e/a.txt /x/../../a.txt /%2E%2E%2Fa.txt; do
		run curl -s -o "$T/body" -w '%{http_code}' --path-as-is \
			"http://127.0.0.1:$HP$p"
		[ "$output" = 404 ]
		! grep -q hello "$T/body" || false
	done
	# servers on Windows would split "..\\" too
	run curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$HP/..%5C..%5Ca.txt"
	[ "$output" = 400 ]
	# the absolute form a server must accept
	run raw < <(printf 'GET http://x/b.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
	[[ "$output" == *inside ]]
}
@test "pyftpdlib: origin form serves under -c and .. never climbs above it" { origin_form pyftpd; }
@test "vsftpd: origin form serves under -c and .. never climbs above it" { origin_form vsftpd; }

head_no_retr() {
	ftp_up "$1"
	run px -I "$U/a.txt"
	[[ "$output" == *"HTTP/1.1 200"* ]]
	[[ "$output" == *"Content-Length: 6"* ]]
	[[ "$output" == *"Last-Modified: Thu, 02 Jan 2020 03:04:05 GMT"* ]]
	! ftplog | grep -q RETR || false
}
@test "pyftpdlib: HEAD gives the headers without RETR" { head_no_retr pyftpd; }
@test "vsftpd: HEAD gives the headers without RETR" { head_no_retr vsftpd; }

ranges() {
	ftp_up "$1"
	run px -D "$T/h" -r 1-3 "$U/a.txt"
	[ "$output" = ell ]
	grep -q '^HTTP/1.1 206' "$T/h"
	grep -qi '^Content-Range: bytes 1-3/6' "$T/h"
	ftplog | grep -q 'REST 1'
	run px -r 4- "$U/a.txt"
	[ "$output" = o ]
	run px -o /dev/null -w '%{http_code}' -r 50-60 "$U/a.txt"
	[ "$output" = 416 ]
	head -c 1000 "$T/root/rand.bin" | tail -c 500 > "$T/want"
	px -r 500-999 -o "$T/got" "$U/rand.bin"
	cmp "$T/got" "$T/want"
}
@test "pyftpdlib: a single range is fetched with REST as 206, beyond the end 416" { ranges pyftpd; }
@test "vsftpd: a single range is fetched with REST as 206, beyond the end 416" { ranges vsftpd; }

conditional() {
	ftp_up "$1"
	run px -o /dev/null -w '%{http_code}' -z 'Fri, 03 Jan 2020 00:00:00 GMT' "$U/a.txt"
	[ "$output" = 304 ]
	run px -z 'Wed, 01 Jan 2020 00:00:00 GMT' "$U/a.txt"
	[ "$output" = hello ]
	tag=$(px -I "$U/a.txt" | tr -d '\r' | sed -n 's/^ETag: //p')
	[ -n "$tag" ]
	run px -o /dev/null -w '%{http_code}' -H "If-None-Match: $tag" "$U/a.txt"
	[ "$output" = 304 ]
	run px -H 'If-None-Match: "other"' "$U/a.txt"
	[ "$output" = hello ]
}
@test "pyftpdlib: If-Modified-Since and If-None-Match give 304 when nothing changed" { conditional pyftpd; }
@test "vsftpd: If-Modified-Since and If-None-Match give 304 when nothing changed" { conditional vsftpd; }

directories() {
	ftp_up "$1"
	run px -D "$T/h" -o /dev/null "$U/sub"
	grep -q '^HTTP/1.1 301' "$T/h"
	grep -qi '^Location: ./sub/' "$T/h"
	# curl 8 follows no Location for an ftp:// URL, even through a proxy:
	# the listing the 301 names is asked for as a client would.
	run px "$U/sub/"
	[[ "$output" == *'href="./b.txt"'* ]]
	[[ "$output" == *'<title>Index of '*'/sub/</title>'* ]]
	[[ "$output" == *'href="../"'* ]]
	[[ "$output" == *'>b.txt</a></td><td>7</td>'* ]]
	run px "$U/"
	[[ "$output" == *'href="./dir%20with%20space/">dir with space/</a>'* ]]
	[[ "$output" != *'href="../"'* ]]
}
@test "pyftpdlib: a directory without its slash gets 301, with it an HTML listing" { directories pyftpd; }
@test "vsftpd: a directory without its slash gets 301, with it an HTML listing" { directories vsftpd; }

# In origin form a listing is titled with the path the client asked for,
# whatever directory -c names on the FTP server.
origin_titles() {
	origin_up "$1" sub
	mkdir -p "$T/root/sub/deeper/most"
	printf 'deep\n' > "$T/root/sub/deeper/d.txt"
	run curl -sS "http://127.0.0.1:$HP/deeper/"
	[[ "$output" == *'<title>Index of /deeper/</title>'* ]]
	[[ "$output" == *'<h1>Index of /deeper/</h1>'* ]]
	[[ "$output" == *'href="./d.txt"'* && "$output" == *'href="../"'* ]]
	run curl -sS "http://127.0.0.1:$HP/deeper/most/"
	[[ "$output" == *'<title>Index of /deeper/most/</title>'* ]]
	run curl -sS "http://127.0.0.1:$HP/"
	[[ "$output" == *'<title>Index of /</title>'* ]]
	[[ "$output" != *'href="../"'* ]]
}
@test "pyftpdlib: an origin-form listing under a -c directory is titled with the client's path" { origin_titles pyftpd; }
@test "vsftpd: an origin-form listing under a -c directory is titled with the client's path" { origin_titles vsftpd; }

hostile_names() {
	ftp_up "$1"
	px -o "$T/list.html" "$U/"
	grep -qF '&lt;script&gt;alert(1)&lt;' "$T/list.html"
	! grep -q '<script' "$T/list.html" || false
	grep -qF 'href="./%3Cscript%3Ealert%281%29%3C"' "$T/list.html"
	grep -qF 'a&amp;b&quot;c&#39;.txt' "$T/list.html"
	grep -qF "$(printf 'gr\303\274\303\237e.txt')</a>" "$T/list.html"
	grep -qF 'href="./gr%C3%BC%C3%9Fe.txt"' "$T/list.html"
	# each link leads back to the file
	run px "$U/%3Cscript%3Ealert%281%29%3C"
	[ "$output" = evil ]
	run px "$U/gr%C3%BC%C3%9Fe.txt"
	[ "$output" = utf8 ]
}
@test "pyftpdlib: hostile names in listings are escaped and their links encoded" { hostile_names pyftpd; }
@test "vsftpd: hostile names in listings are escaped and their links encoded" { hostile_names vsftpd; }

json_listing() {
	ftp_up "$1"
	px -H 'Accept: application/json' -D "$T/h" -o "$T/list.json" "$U/"
	grep -qi '^Content-Type: application/json' "$T/h"
	"$FTP_PY" - "$T/list.json" <<'PY'
import json, re, sys
v = json.load(open(sys.argv[1]))
d = {e["name"]: e for e in v}
assert d["a.txt"]["type"] == "file" and d["a.txt"]["size"] == 6, d["a.txt"]
assert d["a.txt"]["modified"].startswith("2020-01-02T"), d["a.txt"]
assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", d["a.txt"]["modified"])
assert d["sub"]["type"] == "dir"
assert "<script>alert(1)<" in d and "gr\u00fc\u00dfe.txt" in d
assert "a&b\"c'.txt" in d and "dir with space" in d
PY
	run px -H 'Accept: text/html, application/json;q=0.5' "$U/"
	[[ "$output" == "<!DOCTYPE html>"* ]]
}
@test "pyftpdlib: a listing is JSON when Accept prefers application/json" { json_listing pyftpd; }
@test "vsftpd: a listing is JSON when Accept prefers application/json" { json_listing vsftpd; }

not_found() {
	ftp_up "$1"
	run px -D "$T/h" "$U/missing.txt"
	grep -q '^HTTP/1.1 404' "$T/h"
	grep -qi '^Proxy-Status: gtr; error=' "$T/h"
	[[ "$output" == "404 Not Found: "* ]]
	run px -o /dev/null -w '%{http_code}' "$U/nodir/"
	[ "$output" = 404 ]
}
@test "pyftpdlib: a missing file or directory is 404 with Proxy-Status" { not_found pyftpd; }
@test "vsftpd: a missing file or directory is 404 with Proxy-Status" { not_found vsftpd; }

injection() {
	ftp_up "$1"
	for p in "a.txt%0d%0aDELE%20canary" "a.txt%0aDELE%20canary" \
	    "a.txt%00DELE%20canary" "sub%0D%0ADELE%20..%2Fcanary/"; do
		run px -o /dev/null -w '%{http_code}' "$U/$p"
		[ "$output" = 400 ]
	done
	run raw < <(printf 'GET ftp://x%%0d%%0aDELE%%20canary:y@127.0.0.1:%s/a.txt HTTP/1.1\r\nHost: x\r\n\r\n' "$FP")
	[[ "$output" == "HTTP/1.1 400 "* ]]
	run raw < <(printf 'GET %s/a.txt HTTP/1.1\r\nAuthorization: Basic %s\r\n\r\n' "$U" "$(printf 'u\r\nDELE canary:p' | base64 -w0)")
	[[ "$output" == "HTTP/1.1 400 "* ]]
	[ -f "$T/root/canary" ]
	! ftplog | grep -qi 'DELE' || false
}
@test "pyftpdlib: CR, LF or NUL in path or credentials is 400 and no DELE reaches the server" { injection pyftpd; }
@test "vsftpd: CR, LF or NUL in path or credentials is 400 and no DELE reaches the server" { injection vsftpd; }

reuse() {
	ftp_up "$1"
	run curl -sS -v -x "http://127.0.0.1:$HP" "$U/a.txt" "$U/sub/b.txt" "$U/a.txt"
	[[ "$output" == *"Re-using existing"* || "$output" == *"Reusing existing"* ]]
	# the last line is written once the 226 has come, after curl has
	# read the whole body: wait for it
	for i in $(seq 100); do
		[ "$(grep -c 'status=200' "$T/httpftpd.log")" -ge 3 ] && break
		sleep 0.1
	done
	[ "$(grep -c 'status=200' "$T/httpftpd.log")" -eq 3 ]
	# a second client gets the same FTP login
	run px "$U/a.txt"
	[ "$output" = hello ]
	[ "$(ftplog | grep -c 'USER anonymous')" -eq 1 ]
}
@test "pyftpdlib: keep-alive requests and later clients reuse one FTP login" { reuse pyftpd; }
@test "vsftpd: keep-alive requests and later clients reuse one FTP login" { reuse vsftpd; }

# --- one server is enough below ---

@test "pipelined requests are answered in order on one connection" {
	ftp_up pyftpd
	run raw < <(printf 'GET %s/a.txt HTTP/1.1\r\nHost: x\r\n\r\nGET %s/sub/b.txt HTTP/1.1\r\nHost: x\r\n\r\nHEAD %s/a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' "$U" "$U" "$U")
	[[ "$output" == *"hello"*"inside"*"Content-Length: 6"* ]]
	[ "$(grep -c '^HTTP/1.1 200' <<< "$output")" -eq 3 ]
}

@test "concurrent clients through the shared FTP connections each get their own file" {
	ftp_up pyftpd
	for i in $(seq 1 40); do
		if [ $((i % 2)) -eq 0 ]; then echo "rand.bin $i"; else echo "sub/b.txt $i"; fi
	done > "$T/jobs"
	xargs -P 10 -L 1 sh -c 'curl -sS --max-time 30 -x "http://127.0.0.1:$0" \
		-o "$1/got.$3" "$2/$4" "$2/$4" -o "$1/got2.$3"' "$HP" "$T" "$U" \
		< <(awk '{ print $2, $1 }' "$T/jobs")
	while read -r f i; do
		cmp "$T/got.$i" "$T/root/$f"
		cmp "$T/got2.$i" "$T/root/$f"
	done < "$T/jobs"
}

@test "HTTP/1.0 clients get their file and the connection closes" {
	ftp_up vsftpd
	run raw < <(printf 'GET %s/a.txt HTTP/1.0\r\n\r\n' "$U")
	[[ "$output" == "HTTP/1.1 200"* ]]
	[[ "$output" == *"Connection: close"* ]]
	[[ "$output" == *"hello" ]]
}

@test "curl finds the gateway through ftp_proxy in its environment" {
	ftp_up vsftpd
	run env ftp_proxy="http://127.0.0.1:$HP" curl -sS --max-time 20 "$U/a.txt"
	[ "$output" = hello ]
	wait_log "target=$U/a.txt .*status=200" "$T/httpftpd.log"
}

@test "wget fetches through the proxy form and from the origin form" {
	ftp_up vsftpd
	(cd "$T" && ftp_proxy="http://127.0.0.1:$HP" wget -q -O w1 "$U/sub/b.txt")
	[ "$(cat "$T/w1")" = inside ]
	H2=$(free_port)
	gtr_start httpftpd "$H2" -c "ftp://127.0.0.1:$FP/"
	(cd "$T" && wget -q -O w2 "http://127.0.0.1:$H2/a.txt")
	[ "$(cat "$T/w2")" = hello ]
}

@test "a user and password from the URL log in, the user is logged and the password never" {
	ftp_up pyftpd
	run px "ftp://alice:s3cret@127.0.0.1:$FP/a.txt"
	[ "$output" = hello ]
	grep -q 'USER alice' "$T/pyftpd.log"
	run px "ftp://alice:s3cret@127.0.0.1:$FP/"
	[[ "$output" != *s3cret* ]]
	wait_log "target=$U/ status=200 user=alice upstream=" "$T/httpftpd.log"
	[ "$(grep -c ' user=alice ' "$T/httpftpd.log")" -eq 2 ]
	! grep -q s3cret "$T/httpftpd.log" || false
	! grep -q 'alice[:@]' "$T/httpftpd.log" || false
	# anonymous is nobody's login: no user= at all
	run px "$U/a.txt"
	wait_log "target=$U/a.txt status=200 upstream=" "$T/httpftpd.log"
	# a refused login does not name the user it refused
	run px -o /dev/null "ftp://alice:bad@127.0.0.1:$FP/a.txt"
	wait_log "target=$U/a.txt status=403 upstream=127.0.0.1:$FP .*reason=auth ftp=530" "$T/httpftpd.log"
	[ "$(grep -c ' user=alice ' "$T/httpftpd.log")" -eq 2 ]
}

@test "a pooled FTP login is reused only with the same user and password" {
	ftp_up pyftpd
	run px "ftp://alice:s3cret@127.0.0.1:$FP/a.txt"
	[ "$output" = hello ]
	# a wrong password must not ride on alice's logged-in connection
	run px -o /dev/null -w '%{http_code}' "ftp://alice:bad@127.0.0.1:$FP/a.txt"
	[ "$output" = 403 ]
	run px "$U/a.txt"
	[ "$output" = hello ]
	run px "ftp://alice:s3cret@127.0.0.1:$FP/sub/b.txt"
	[ "$output" = inside ]
	[ "$(ftplog | grep -c 'USER alice')" -eq 2 ]
	[ "$(ftplog | grep -c 'USER anonymous')" -eq 1 ]
}

@test "a wrong password in the URL is 403, from Basic it is 401 with WWW-Authenticate" {
	ftp_up pyftpd
	run px -D "$T/h" -o /dev/null "ftp://alice:bad@127.0.0.1:$FP/a.txt"
	grep -q '^HTTP/1.1 403' "$T/h"
	run px -D "$T/h2" -H "Authorization: Basic $(printf alice:bad | base64)" "$U/a.txt"
	grep -q '^HTTP/1.1 401' "$T/h2"
	grep -qi '^WWW-Authenticate: Basic realm="FTP 127.0.0.1"' "$T/h2"
	run px -H "Authorization: Basic $(printf alice:s3cret | base64)" "$U/a.txt"
	[ "$output" = hello ]
	# a user in the URL without a password asks for one, and takes it
	run px -o /dev/null -w '%{http_code}' "ftp://alice@127.0.0.1:$FP/a.txt"
	[ "$output" = 401 ]
	run px -H "Authorization: Basic $(printf alice:s3cret | base64)" "ftp://alice@127.0.0.1:$FP/a.txt"
	[ "$output" = hello ]
	! grep -q 'bad\|s3cret' "$T/httpftpd.log" || false
}

@test "curl -u answers the 401 in origin form" {
	origin_up pyftpd ""
	run curl -sS -o /dev/null -w '%{http_code}' -u alice:bad "http://127.0.0.1:$HP/a.txt"
	[ "$output" = 401 ]
	run curl -sS -u alice:s3cret "http://127.0.0.1:$HP/a.txt"
	[ "$output" = hello ]
	grep -q 'USER alice' "$T/pyftpd.log"
}

@test "a file the FTP server refuses with permission wording is 403" {
	ftp_up pyftpd
	run px -D "$T/h" "$U/locked/x.txt"
	grep -q '^HTTP/1.1 403' "$T/h"
	[[ "$output" != *locked* || "$output" == "403 "* ]]
}

@test "methods other than GET and HEAD are 405 with Allow" {
	ftp_up pyftpd rw
	for m in POST PUT DELETE OPTIONS CONNECT; do
		run px -X "$m" -D "$T/h" -o /dev/null "$U/a.txt"
		grep -q '^HTTP/1.1 405' "$T/h"
		grep -qi '^Allow: GET, HEAD' "$T/h"
	done
	[ -f "$T/root/a.txt" ]
	! grep -q 'STOR\|DELE' "$T/pyftpd.log" || false
}

@test "with --writable PUT stores (201 then 204) and DELETE deletes (204)" {
	ftp_up pyftpd rw --writable
	head -c 300000 /dev/urandom > "$T/up.bin"
	run px -o /dev/null -w '%{http_code}' -T "$T/up.bin" "$U/sub/new.bin"
	[ "$output" = 201 ]
	cmp "$T/up.bin" "$T/root/sub/new.bin"
	run px -o /dev/null -w '%{http_code}' -T "$T/up.bin" "$U/sub/new.bin"
	[ "$output" = 204 ]
	run px -o /dev/null -w '%{http_code}' -X DELETE "$U/sub/new.bin"
	[ "$output" = 204 ]
	[ ! -e "$T/root/sub/new.bin" ]
	run px -o /dev/null -w '%{http_code}' -X DELETE "$U/sub/new.bin"
	[ "$output" = 404 ]
	[ -f "$T/root/a.txt" ] && [ -f "$T/root/sub/b.txt" ]
}

# put_hiding_get PORT TARGET GET-TARGET [FIELD]: sends a PUT of TARGET
# whose body is a whole GET of GET-TARGET, then half-closes; the answer
# is in $T/resp.  A gateway that read that body as the next request would
# answer twice and RETR the file.
put_hiding_get() {
	local body
	printf -v body 'GET %s HTTP/1.1\r\nHost: x\r\n\r\n' "$3"
	printf 'PUT %s HTTP/1.1\r\nHost: x\r\n%sContent-Length: %d\r\n\r\n%s' \
		"$2" "${4:+$4$'\r\n'}" "${#body}" "$body" |
		socat -t 20 - TCP:127.0.0.1:"$1" > "$T/resp"
}

# refused_put_closed STATUS: $T/resp is that one response, which closed
# the connection, and the FTP server never sent the hidden file.
refused_put_closed() {
	cat "$T/resp"
	[ "$(grep -c '^HTTP/1.1 ' "$T/resp")" -eq 1 ]
	grep -q "^HTTP/1.1 $1 " "$T/resp"
	grep -qi '^Connection: close' "$T/resp"
	! grep -q topsecret "$T/resp" || false
	! grep -q 'RETR' "$T/pyftpd.log" || false
}

@test "a PUT refused for its path or its Authorization closes, and a GET in its body is never served" {
	FP=$(free_port)
	HP=$(free_port)
	KIND=pyftpd
	ftp_tree "$T/root"
	printf 'topsecret\n' > "$T/root/secret"
	pyftpd_start "$FP" rw
	gtr_start httpftpd "$HP" --writable -c "ftp://127.0.0.1:$FP/"
	put_hiding_get "$HP" '/..%5Cx' /secret
	refused_put_closed 400
	put_hiding_get "$HP" /new.txt /secret 'Authorization: Basic !!!'
	refused_put_closed 400
	[ ! -e "$T/root/new.txt" ]
	# the gateway itself serves the file, so the refusals above meant it
	run curl -sS "http://127.0.0.1:$HP/secret"
	[ "$output" = topsecret ]
	# and a PUT whose body was stored keeps its connection
	run raw < <(printf 'PUT /new.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nabc\nGET /secret HTTP/1.1\r\nHost: x\r\n\r\n')
	[[ "$output" == "HTTP/1.1 201 "*"HTTP/1.1 200 "*topsecret* ]]
	[ "$(cat "$T/root/new.txt")" = abc ]
}

@test "a PUT refused by policy (403) closes, and a GET in its body is never served" {
	ftp_up pyftpd rw --writable
	printf 'topsecret\n' > "$T/root/secret"
	put_hiding_get "$HP" "ftp://127.0.0.1:$(free_port)/x" "$U/secret"
	refused_put_closed 403
	grep -qi '^Proxy-Status: gtr; error=destination_ip_prohibited' "$T/resp"
}

@test "a PUT to an FTP server that cannot be reached (502) closes, and a GET in its body is never served" {
	FP=$(free_port)
	HP=$(free_port)
	DEAD=$(free_port)
	KIND=pyftpd
	ftp_tree "$T/root"
	printf 'topsecret\n' > "$T/root/secret"
	pyftpd_start "$FP" rw
	gtr_start httpftpd "$HP" --writable --allow-dest 127.0.0.0/8 \
		--allow-port "$FP,$DEAD"
	put_hiding_get "$HP" "ftp://127.0.0.1:$DEAD/x" "ftp://127.0.0.1:$FP/secret"
	refused_put_closed 502
	grep -qi '^Proxy-Status: gtr; error=connection_refused' "$T/resp"
}

@test "a request head of exactly 32 KiB before a chunked PUT body is logged as it came" {
	FP=$(free_port)
	HP=$(free_port)
	KIND=pyftpd
	ftp_tree "$T/root"
	pyftpd_start "$FP" rw
	gtr_start httpftpd "$HP" --writable -c "ftp://127.0.0.1:$FP/"
	# the head fills the input buffer to its last byte; the body comes
	# after it, its chunk extension the text a forger would plant
	"$FTP_PY" - "$T/req" <<'PY'
import sys
start = b"PUT /up.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
pad = 32768 - len(start) - 2
fields = b""
while pad > 0:
    n = min(pad, 4000)
    line = b"X-Pad: " + b"a" * (n - 9) + b"\r\n"
    if n < 16:
        line = b"X-P: " + b"a" * (n - 7) + b"\r\n"
    fields += line
    pad -= len(line)
head = start + fields + b"\r\n"
assert len(head) == 32768, len(head)
body = b"6;evil=\"forged line\"\r\nhello\n\r\n0\r\n\r\n"
open(sys.argv[1], "wb").write(head + body)
PY
	run raw < "$T/req"
	[[ "$output" == "HTTP/1.1 201 "* ]]
	[ "$(cat "$T/root/up.txt")" = hello ]
	wait_log "method=PUT target=ftp://127.0.0.1:$FP/up.txt .*status=201 " \
		"$T/httpftpd.log"
	! grep -q $'\r' "$T/httpftpd.log" || false
	! grep -q 'forged' "$T/httpftpd.log" || false
}

@test "proxy form refuses loopback without --allow-dest and other ports, before any FTP" {
	FP=$(free_port)
	HP=$(free_port)
	KIND=pyftpd
	ftp_tree "$T/root"
	pyftpd_start "$FP"
	gtr_start httpftpd "$HP" --allow-port "$FP"
	run px -D "$T/h" "ftp://127.0.0.1:$FP/a.txt"
	grep -q '^HTTP/1.1 403' "$T/h"
	grep -qi 'Proxy-Status: gtr; error=destination_ip_prohibited' "$T/h"
	H2=$(free_port)
	gtr_start httpftpd "$H2" --allow-dest 127.0.0.0/8
	run curl -sS -x "http://127.0.0.1:$H2" -o /dev/null -w '%{http_code}' "ftp://127.0.0.1:$FP/a.txt"
	[ "$output" = 403 ]
	! grep -q 'USER' "$T/pyftpd.log" || false
}

# fake_ftpd MODE: a bare FTP server on a port of its own choosing, put in
# $P.  It has neither SIZE nor MDTM and sends 100000 bytes for any RETR,
# then 226 (ok), or closes both connections without it (cut), or never
# answers RETR (stall).  mute accepts and never says a word; busy greets
# with 421 and hangs up.
fake_ftpd() {
	cat > "$T/fake.py" <<'PY'
import os, socket, sys, threading, time
mode, portfile = sys.argv[1], sys.argv[2]
ls = socket.socket()
ls.bind(("127.0.0.1", 0))
ls.listen(8)
with open(portfile + ".tmp", "w") as f:
    f.write(str(ls.getsockname()[1]))
os.rename(portfile + ".tmp", portfile)
def serve(c):
    say = lambda s: c.sendall((s + "\r\n").encode())
    if mode == "mute":
        time.sleep(60)
        return
    if mode == "busy":
        say("421 Too many users, try later")
        c.close()
        return
    say("220 fake")
    data = None
    for line in c.makefile("rb"):
        cmd = line.decode().strip()
        verb = cmd.split(" ")[0].upper()
        print("<-", cmd, flush=True)
        if verb == "USER": say("331 password please")
        elif verb == "PASS": say("230 in")
        elif verb == "PWD": say('257 "/"')
        elif verb in ("CWD", "TYPE"): say("200 ok")
        elif verb == "EPSV":
            data = socket.socket()
            data.bind(("127.0.0.1", 0))
            data.listen(1)
            say("229 Entering Extended Passive Mode (|||%d|)" % data.getsockname()[1])
        elif verb == "RETR" and mode == "stall":
            time.sleep(60)
        elif verb == "RETR" and mode == "sized150":
            say("150 Opening BINARY mode data connection for f.bin (100000 bytes).")
            d, _ = data.accept()
            d.sendall(b"x" * 100000)
            d.close()
            say("226 done")
        elif verb == "RETR":
            say("150 here it comes")
            d, _ = data.accept()
            d.sendall(b"x" * 100000)
            d.close()
            if mode == "cut":
                c.close()
                return
            say("226 done")
        elif verb == "QUIT":
            say("221 bye")
            break
        else: say("502 not implemented")
    c.close()
while True:
    c, _ = ls.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
	bg fake "$FTP_PY" "$T/fake.py" "$1" "$T/fake.port"
	wait_file "$T/fake.port"
	P=$(cat "$T/fake.port")
}

@test "an FTP server that is down gives 502 connection_refused" {
	P=$(free_port)
	HP=$(free_port)
	gtr_start httpftpd "$HP" --allow-dest 127.0.0.0/8 --allow-port "$P"
	run px -D "$T/h" "ftp://127.0.0.1:$P/a.txt"
	grep -q '^HTTP/1.1 502' "$T/h"
	grep -qi 'Proxy-Status: gtr; error=connection_refused' "$T/h"
	[[ "$output" == "502 Bad Gateway: "* ]]
	wait_log "target=ftp://127.0.0.1:$P/a.txt status=502 .*reason=upstream_error ftp=0\$" \
		"$T/httpftpd.log"
}

@test "an FTP server that accepts and never answers gives 504 after the timeout" {
	HP=$(free_port)
	fake_ftpd mute
	gtr_start httpftpd "$HP" --allow-dest 127.0.0.0/8 --allow-port "$P" \
		--connect-timeout 1 --idle-timeout 2
	run px -D "$T/h" "ftp://127.0.0.1:$P/a.txt"
	grep -q '^HTTP/1.1 504' "$T/h"
	grep -qi 'Proxy-Status: gtr; error=connection_timeout' "$T/h"
	wait_log "status=504 upstream=127.0.0.1:$P .*reason=upstream_timeout ftp=0\$" \
		"$T/httpftpd.log"
}

@test "an FTP server that says 421 gives 503" {
	HP=$(free_port)
	fake_ftpd busy
	gtr_start httpftpd "$HP" --allow-dest 127.0.0.0/8 --allow-port "$P"
	run px -D "$T/h" "ftp://127.0.0.1:$P/a.txt"
	grep -q '^HTTP/1.1 503' "$T/h"
	[[ "$output" == *"421"* ]]
	wait_log "status=503 upstream=127.0.0.1:$P .*reason=upstream_error ftp=421\$" \
		"$T/httpftpd.log"
}

@test "an FTP server killed mid-transfer leaves the client with a short body" {
	ftp_up pyftpd
	truncate -s 200M "$T/root/big.bin"
	curl -sS --max-time 60 --limit-rate 2M -x "http://127.0.0.1:$HP" \
		-o "$T/got" "$U/big.bin" 2> "$T/curl.err" &
	cpid=$!
	wait_log 'RETR big.bin' "$T/pyftpd.log"
	sleep 1
	kill -9 "$pyftpd_pid"
	rc=0
	wait "$cpid" || rc=$?
	[ "$rc" -eq 18 ]
	size=$(stat -c %s "$T/got")
	[ "$size" -lt $((200 * 1024 * 1024)) ]
	wait_log 'transfer broken' "$T/httpftpd.log"
	wait_log "target=$U/big.bin status=200 .*reason=upstream_closed" "$T/httpftpd.log"
}

@test "without SIZE the body is chunked and ends with the last chunk" {
	HP=$(free_port)
	fake_ftpd ok
	gtr_start httpftpd "$HP" --allow-dest 127.0.0.0/8 --allow-port "$P"
	run px -D "$T/h" -o "$T/got" "ftp://127.0.0.1:$P/f.bin"
	[ "$status" -eq 0 ]
	grep -qi '^Transfer-Encoding: chunked' "$T/h"
	! grep -qi '^Content-Length' "$T/h" || false
	[ "$(stat -c %s "$T/got")" -eq 100000 ]
}

@test "a chunked transfer broken by the FTP server never gets its last chunk" {
	HP=$(free_port)
	fake_ftpd cut
	gtr_start httpftpd "$HP" --allow-dest 127.0.0.0/8 --allow-port "$P"
	run px -D "$T/h" -o "$T/got" "ftp://127.0.0.1:$P/f.bin"
	[ "$status" -eq 18 ]
	grep -qi '^Transfer-Encoding: chunked' "$T/h"
	wait_log 'transfer broken' "$T/httpftpd.log"
}

@test "without SIZE the length comes from the 150 reply's byte count" {
	HP=$(free_port)
	fake_ftpd sized150
	gtr_start httpftpd "$HP" --allow-dest 127.0.0.0/8 --allow-port "$P"
	run px -D "$T/h" -o "$T/got" "ftp://127.0.0.1:$P/f.bin"
	[ "$status" -eq 0 ]
	grep -qi '^Content-Length: 100000' "$T/h"
	! grep -qi '^Transfer-Encoding' "$T/h" || false
	[ "$(stat -c %s "$T/got")" -eq 100000 ]
	grep -q 'SIZE f.bin' "$T/fake.log"
}

@test "a client reading slowly gets a large file byte for byte" {
	ftp_up vsftpd
	head -c 3000000 /dev/urandom > "$T/root/large.bin"
	px --limit-rate 1500K -o "$T/got" "$U/large.bin"
	cmp "$T/got" "$T/root/large.bin"
}

@test "a client that stops reading a large file is dropped after --idle-timeout" {
	ftp_up vsftpd ro --idle-timeout 1
	truncate -s 300M "$T/root/big.bin"
	# asks, then reads nothing for 30 s
	bg stuck "$FTP_PY" -c '
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(("127.0.0.1", int(sys.argv[1])))
s.sendall(("GET %s/big.bin HTTP/1.1\r\nHost: x\r\n\r\n" % sys.argv[2]).encode())
time.sleep(30)' "$HP" "$U"
	wait_log "target=$U/big.bin status=200 .*reason=client_closed" "$T/httpftpd.log"
	# and the gateway serves on
	run px "$U/a.txt"
	[ "$output" = hello ]
}

@test "an FTP server that stops answering after login gives 504 after --idle-timeout" {
	HP=$(free_port)
	fake_ftpd stall
	gtr_start httpftpd "$HP" --allow-dest 127.0.0.0/8 --allow-port "$P" \
		--idle-timeout 1
	run px -D "$T/h" "ftp://127.0.0.1:$P/f.bin"
	grep -q '^HTTP/1.1 504' "$T/h"
	grep -qi 'Proxy-Status: gtr; error=connection_read_timeout' "$T/h"
	grep -q 'RETR f.bin' "$T/fake.log"
}

@test "a 1 GiB file streams through with the gateway's peak RSS under 64 MiB" {
	ftp_up vsftpd
	truncate -s 1G "$T/root/huge.bin"
	run px -o /dev/null -w '%{size_download} %{http_code}' "$U/huge.bin"
	[ "$output" = "1073741824 200" ]
	hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$httpftpd_pid/status")
	echo "VmHWM ${hwm} kB"
	[ "$hwm" -lt $((64 * 1024)) ]
}

@test "ftps: --ftp-ssl logs in over verified TLS, and an unknown CA is 502" {
	make_ca "$T/pki"
	make_cert "$T/pki" localhost "DNS:localhost,IP:127.0.0.1"
	FP=$(free_port)
	HP=$(free_port)
	ftp_tree "$T/root"
	vsftpd_start "$FP" tls "$T/pki/localhost.pem"
	gtr_start httpftpd "$HP" --allow-dest 127.0.0.0/8 --allow-port "$FP" \
		--ftp-ssl --cacert "$T/pki/ca.pem"
	run curl -sS -x "http://127.0.0.1:$HP" "ftp://localhost:$FP/a.txt"
	[ "$output" = hello ]
	grep -qE 'AUTH (TLS|SSL)' "$T/vsftpd/vsftpd.log"
	H2=$(free_port)
	gtr_start httpftpd "$H2" --allow-dest 127.0.0.0/8 --allow-port "$FP" --ftp-ssl
	run curl -sS -x "http://127.0.0.1:$H2" -D "$T/h" "ftp://localhost:$FP/a.txt"
	grep -q '^HTTP/1.1 502' "$T/h"
	grep -qi 'Proxy-Status: gtr; error=tls_certificate_error' "$T/h"
	# without --ftp-ssl the server refuses the plain login
	H3=$(free_port)
	gtr_start httpftpd "$H3" --allow-dest 127.0.0.0/8 --allow-port "$FP"
	run curl -sS -x "http://127.0.0.1:$H3" -o /dev/null -w '%{http_code}' "ftp://localhost:$FP/a.txt"
	[ "$output" != 200 ]
}

@test "ftps:// URLs speak implicit TLS, verified" {
	make_ca "$T/pki"
	make_cert "$T/pki" localhost "DNS:localhost,IP:127.0.0.1"
	FP=$(free_port)
	HP=$(free_port)
	ftp_tree "$T/root"
	vsftpd_start "$FP" ftps "$T/pki/localhost.pem"
	gtr_start httpftpd "$HP" --allow-dest 127.0.0.0/8 --allow-port "$FP" \
		--cacert "$T/pki/ca.pem" -v
	# curl tunnels ftps:// with CONNECT; other clients send it as is
	run raw < <(printf 'GET ftps://localhost:%s/sub/b.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' "$FP")
	[[ "$output" == "HTTP/1.1 200 "*inside ]]
	grep -q 'RETR b.txt' "$T/vsftpd/vsftpd.log"
	# a large file under TLS is not spliced, and arrives whole
	head -c 3000000 /dev/urandom > "$T/root/large.bin"
	printf 'GET ftps://localhost:%s/large.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' "$FP" |
		socat -t 20 - TCP:127.0.0.1:"$HP" > "$T/resp"
	tail -c 3000000 "$T/resp" | cmp - "$T/root/large.bin"
	grep -q '^Content-Length: 3000000' "$T/resp"
	wait_log 'target=ftps://localhost:[0-9]+/large.bin status=200 ' "$T/httpftpd.log"
	! grep -q ': spliced ' "$T/httpftpd.log" || false
}

# line ACCESS-LINE-REGEX: waits for that whole access line in the log.
line() {
	wait_log "^httpftpd\[[0-9]+\]: info: conn=[0-9]+ client=127\.0\.0\.1:[0-9]+ $1\$" \
		"$T/httpftpd.log"
}

@test "the access line has DESIGN.md's keys in order, every byte both ways, and ftp= last" {
	ftp_up vsftpd
	printf 'GET %s/rand.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' "$U" > "$T/req"
	raw < "$T/req" > "$T/resp"
	line "method=GET target=$U/rand.bin status=200 upstream=127\.0\.0\.1:$FP bytes_in=$(stat -c %s "$T/req") bytes_out=$(stat -c %s "$T/resp") ms=[0-9]+ reason=done ftp=226"
	# the origin's own refusals are answers: done
	printf 'GET %s/missing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' "$U" > "$T/req"
	raw < "$T/req" > "$T/resp"
	line "method=GET target=$U/missing status=404 upstream=127\.0\.0\.1:$FP bytes_in=$(stat -c %s "$T/req") bytes_out=$(stat -c %s "$T/resp") ms=[0-9]+ reason=done ftp=550"
	# refused before any FTP: a bad path, a port, a method
	printf 'GET %s/a%%00b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' "$U" > "$T/req"
	raw < "$T/req" > "$T/resp"
	line "method=GET target=- status=400 upstream=- bytes_in=$(stat -c %s "$T/req") bytes_out=$(stat -c %s "$T/resp") ms=[0-9]+ reason=bad_request ftp=0"
	run px -o /dev/null "ftp://127.0.0.1:$(free_port)/x"
	line "method=GET target=ftp://127\.0\.0\.1:[0-9]+/x status=403 upstream=- bytes_in=[0-9]+ bytes_out=[0-9]+ ms=[0-9]+ reason=policy ftp=0"
	run px -o /dev/null -X POST "$U/a.txt"
	line "method=POST target=$U/a.txt status=405 upstream=- bytes_in=[0-9]+ bytes_out=[0-9]+ ms=[0-9]+ reason=policy ftp=0"
	# a malformed head: no method to speak of
	printf 'GET / HTTP/1.1\r\nHost: x\r\nBad Field: y\r\n\r\n' > "$T/req"
	raw < "$T/req" > "$T/resp"
	[[ "$(head -n 1 "$T/resp")" == "HTTP/1.1 400 "* ]]
	line "method=- target=- status=400 upstream=- bytes_in=$(stat -c %s "$T/req") bytes_out=$(stat -c %s "$T/resp") ms=[0-9]+ reason=bad_request ftp=0"
	# one line per request, never a line with a CR or a second key
	[ "$(grep -c ' reason=' "$T/httpftpd.log")" -eq 6 ]
	! grep -q $'\r' "$T/httpftpd.log" || false
}

@test "a head that misses --header-timeout gets 408 and its line says header_timeout" {
	HP=$(free_port)
	gtr_start httpftpd "$HP" --header-timeout 1 -c "ftp://127.0.0.1:$(free_port)/"
	run socat -t 10 - TCP:127.0.0.1:"$HP" < <(printf 'GET /a'; sleep 4)
	[[ "$output" == "HTTP/1.1 408 "* ]]
	line "method=- target=- status=408 upstream=- bytes_in=6 bytes_out=[0-9]+ ms=[0-9]+ reason=header_timeout ftp=0"
}

@test "a request on stdin is answered on stdout (inetd style)" {
	FP=$(free_port)
	KIND=vsftpd
	ftp_tree "$T/root"
	vsftpd_start "$FP"
	run --separate-stderr httpftpd -c "ftp://127.0.0.1:$FP/sub/" \
		< <(printf 'GET /b.txt HTTP/1.0\r\n\r\n')
	[[ "$output" == "HTTP/1.1 200"* ]]
	[[ "$output" == *inside ]]
	# a large file to a pipe, which is never spliced to
	head -c 3000000 /dev/urandom > "$T/root/sub/large.bin"
	httpftpd -v -c "ftp://127.0.0.1:$FP/sub/" \
		< <(printf 'GET /large.bin HTTP/1.0\r\n\r\n') 2> "$T/stdin.log" |
		tail -c 3000000 | cmp - "$T/root/sub/large.bin"
	grep -q 'status=200 ' "$T/stdin.log"
	! grep -q ': spliced ' "$T/stdin.log" || false
}

@test "usage errors exit 64 and --help matches the options" {
	run httpftpd --no-such-option
	[ "$status" -eq 64 ]
	run httpftpd -c http://example/
	[ "$status" -eq 64 ]
	run httpftpd --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"--writable"* && "$output" == *"--ftp-ssl"* && "$output" == *"--cacert"* ]]
}

@test "the pool of idle libcurl handles keeps keys apart, stays bounded and ages handles out" {
	run -0 "$GTR_BUILD/unit/curlpool_test"
	[ "${lines[-1]}" = "ok threads" ]
	[[ $output != *"not ok"* ]]
}

# Pooled FTP connections are closed at exit with QUIT; a server that no
# longer answers must not hold the exit past --grace.
@test "httpftpd exits within --grace though the FTP server of a pooled connection has stopped" {
	ftp_tree "$T/root"
	FP=$(free_port)
	pyftpd_start "$FP"
	P=$(free_port)
	gtr_start httpftpd "$P" --allow-dest 127.0.0.0/8 --allow-port "$FP" --grace 1
	run curl -sS -x "http://127.0.0.1:$P" "ftp://127.0.0.1:$FP/a.txt"
	[ "$output" = hello ]
	kill -STOP "$pyftpd_pid"
	kill -TERM "$httpftpd_pid"
	for i in $(seq 50); do kill -0 "$httpftpd_pid" 2>/dev/null || break; sleep 0.1; done
	kill -CONT "$pyftpd_pid"
	! kill -0 "$httpftpd_pid" 2>/dev/null || false
	wait "$httpftpd_pid"
}

# libcurl takes a proxy from the environment unless told not to: the
# gateway must reach the FTP server itself, under its own policy, whatever
# the environment of the service that starts it says.
@test "ftp_proxy and all_proxy in httpftpd's environment are not used" {
	ftp_tree "$T/root"
	FP=$(free_port)
	pyftpd_start "$FP"
	TRAP=$(free_port)
	bg trap socat -u TCP-LISTEN:"$TRAP",bind=127.0.0.1,reuseaddr,fork \
	    OPEN:"$T/trapped",creat,append
	wait_port "$TRAP"
	HP=$(free_port)
	ftp_proxy=http://127.0.0.1:$TRAP all_proxy=http://127.0.0.1:$TRAP \
	    gtr_start httpftpd "$HP" --allow-dest 127.0.0.0/8 --allow-port "$FP"
	run px "ftp://127.0.0.1:$FP/a.txt"
	[ "$output" = hello ]
	[ ! -s "$T/trapped" ]
	wait_log "RETR a.txt" "$T/pyftpd.log"
}
