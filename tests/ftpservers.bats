#!/usr/bin/env bats
# ftpservers: httpftpd's core behaviours against the three FTP servers
# users meet, vsftpd, proftpd and pure-ftpd, each started as root the way
# a system runs it (it drops its privileges, chroots, and answers as the
# FTP user it logged in), all on loopback.  vsftpd is the installed
# package; proftpd and pure-ftpd conflict with it as packages, so
# helpers/ftpservers.sh unpacks them beside it (build/ftpservers).
#
# Every server serves $T/root to anonymous (as the system's ftp user) and
# to alice / s3cret, a Unix user that exists only inside the mount
# namespace each server runs in: its /etc/passwd, shadow and group are
# bind-mounted copies with alice added and ~ftp pointing at $T/root.

load helpers/common
load helpers/ftpd
bats_require_minimum_version 1.5.0

FTPS_DIR=${GTR_FTPSERVERS:-$BATS_TEST_DIRNAME/../build/ftpservers}
PROFTPD=$FTPS_DIR/root/usr/sbin/proftpd
PUREFTPD=$FTPS_DIR/root/usr/sbin/pure-ftpd
ALICE_UID=4242

setup_file() {
	[ "$(id -u)" -eq 0 ] || return 0
	[ -f "$FTPS_DIR/ok" ] || sh "$BATS_TEST_DIRNAME/helpers/ftpservers.sh"
}

setup() {
	[ "$(id -u)" -eq 0 ] || skip "needs root (servers drop privileges, mount namespace)"
	[ -f "$FTPS_DIR/ok" ] || {
		echo "proftpd and pure-ftpd are not in $FTPS_DIR (helpers/ftpservers.sh)" >&2
		return 1
	}
	common_setup
	FTPS_LD=$(cat "$FTPS_DIR/ldpath")
}

# users: $T/etc/{passwd,shadow,group}, the system's with alice added and
# ftp's home at $T/root; and a PAM file that checks alice against that
# shadow and nothing else (Debian's vsftpd file includes pam_systemd).
users() {
	local ftp
	mkdir -p "$T/etc"
	ftp=$(grep '^ftp:' /etc/passwd)
	{
		grep -v '^ftp:\|^alice:' /etc/passwd
		if [ -n "$ftp" ]; then
			echo "$ftp" | awk -F: -v h="$T/root" 'BEGIN { OFS = ":" } { $6 = h; print }'
		else
			echo "ftp:x:4243:65534::$T/root:/usr/sbin/nologin"
		fi
		echo "alice:x:$ALICE_UID:$ALICE_UID::$T/root:/bin/sh"
	} > "$T/etc/passwd"
	{
		grep -v '^alice:' /etc/shadow
		echo "alice:$(openssl passwd -6 s3cret):19000:0:99999:7:::"
	} > "$T/etc/shadow"
	chmod 600 "$T/etc/shadow"
	{ grep -v '^alice:' /etc/group; echo "alice:x:$ALICE_UID:"; } > "$T/etc/group"
	printf 'auth required pam_unix.so\naccount required pam_permit.so\nsession required pam_permit.so\n' \
		> "$T/etc/pam-vsftpd"
}

# tree: ftp_tree's files, and some only the FTP server's users tell
# apart: unreadable to all, alice's own, a directory alice may write.
tree() {
	ftp_tree "$T/root"
	printf 'nobody reads this\n' > "$T/root/noread.txt"
	chmod 000 "$T/root/noread.txt"
	printf 'for alice\n' > "$T/root/alice.txt"
	chown "$ALICE_UID:$ALICE_UID" "$T/root/alice.txt"
	chmod 600 "$T/root/alice.txt"
	ln -s a.txt "$T/root/link.txt"
	mkdir -p "$T/root/up"
	chown "$ALICE_UID:$ALICE_UID" "$T/root/up"
	# the servers' unprivileged processes must reach the tree
	chmod go+rx "$T" "$T/root"
}

# ns NAME CMD...: CMD in the background (bg) in a mount namespace of its
# own, with $T/etc's passwd, shadow and group in /etc, and the PAM file
# as vsftpd's.
ns() {
	local name=$1
	shift
	bg "$name" env LD_LIBRARY_PATH="$FTPS_LD" unshare -m sh -c '
		for f in passwd shadow group; do
			mount --bind "$0/$f" "/etc/$f" || exit 1
		done
		if [ -e /etc/pam.d/vsftpd ]; then
			mount --bind "$0/pam-vsftpd" /etc/pam.d/vsftpd || exit 1
		fi
		exec "$@"' "$T/etc" "$@"
}

vsftpd_up() {
	local port=$1 base=$2
	mkdir -p "$T/vsftpd/empty"
	cat > "$T/vsftpd/vsftpd.conf" <<EOF
listen=YES
listen_ipv6=NO
listen_address=127.0.0.1
listen_port=$port
background=NO
anonymous_enable=YES
anon_root=$T/root
no_anon_password=YES
local_enable=YES
local_root=$T/root
chroot_local_user=YES
allow_writeable_chroot=YES
write_enable=YES
local_umask=022
pam_service_name=vsftpd
pasv_enable=YES
pasv_min_port=$base
pasv_max_port=$((base + FTP_PASV_SPAN - 1))
secure_chroot_dir=$T/vsftpd/empty
seccomp_sandbox=NO
max_clients=500
max_per_ip=500
idle_session_timeout=${FTP_IDLE:-300}
xferlog_enable=YES
log_ftp_protocol=YES
vsftpd_log_file=$T/vsftpd.log
EOF
	ns vsftpd-daemon vsftpd "$T/vsftpd/vsftpd.conf"
}

proftpd_up() {
	local port=$1 base=$2
	mkdir -p "$T/proftpd"
	cat > "$T/proftpd/proftpd.conf" <<EOF
ServerType standalone
ServerName "gtr test"
Port $port
DefaultAddress 127.0.0.1
SocketBindTight on
UseIPv6 off
User nobody
Group nogroup
UseReverseDNS off
WtmpLog off
UseLastlog off
DelayEngine off
ScoreboardFile $T/proftpd/scoreboard
PidFile $T/proftpd/proftpd.pid
PassivePorts $base $((base + FTP_PASV_SPAN - 1))
MaxInstances ${PROFTPD_MAX:-500}
TimeoutIdle ${FTP_IDLE:-600}
AuthOrder mod_auth_unix.c
DefaultRoot ~
AllowOverwrite on
Umask 022
SystemLog $T/proftpd.log
ExtendedLog $T/proftpd-cmd.log ALL
<Anonymous $T/root>
	User ftp
	Group nogroup
	UserAlias anonymous ftp
	RequireValidShell off
	<Limit WRITE>
		DenyAll
	</Limit>
</Anonymous>
EOF
	ns proftpd-daemon "$PROFTPD" -n -c "$T/proftpd/proftpd.conf"
}

pureftpd_up() {
	local port=$1 base=$2
	# -A chroots everyone, -i keeps anonymous from uploading, -H no DNS
	ns pureftpd-daemon "$PUREFTPD" -S "127.0.0.1,$port" \
		-p "$base:$((base + FTP_PASV_SPAN - 1))" -l unix -A -i -H \
		-c "${PUREFTPD_MAX:-200}" -C "${PUREFTPD_MAX:-200}" \
		-O "clf:$T/pureftpd-xfer.log" \
		-g "$T/pureftpd.pid"
}

# up KIND [HTTPFTPD-ARGS]: the tree, that FTP server on $FP, and httpftpd
# in proxy form on $HP allowed to reach it; $U is the server's URL.
up() {
	KIND=$1
	shift
	FP=$(free_port)
	HP=$(free_port)
	users
	tree
	"${KIND}_up" "$FP" "${FTP_PASV_BASE:-$(pasv_base)}"
	wait_port "$FP"
	gtr_start httpftpd "$HP" --allow-dest 127.0.0.0/8 --allow-port "$FP" "$@"
	U="ftp://127.0.0.1:$FP"
}

px() {
	curl -sS --max-time 30 -x "http://127.0.0.1:$HP" "$@"
}

# code ARGS...: the HTTP status px got.
code() {
	px -o /dev/null -w '%{http_code}' "$@"
}

# --- the behaviours, each run against every server below ---

# A file for anonymous: its exact bytes and length, its type and date.
t_get() {
	up "$1"
	run px -D "$T/h" "$U/a.txt"
	[ "$status" -eq 0 ]
	[ "$output" = hello ]
	grep -q '^HTTP/1.1 200' "$T/h"
	grep -qi '^Content-Length: 6' "$T/h"
	grep -qi '^Content-Type: text/plain' "$T/h"
	grep -qi '^Last-Modified: Thu, 02 Jan 2020 03:04:05 GMT' "$T/h"
	wait_log "method=GET target=$U/a.txt status=200 upstream=127.0.0.1:$FP .*reason=done ftp=226\$" \
		"$T/httpftpd.log"
	px -D "$T/h2" -o "$T/got" "$U/rand.bin"
	cmp "$T/got" "$T/root/rand.bin"
	grep -qi '^Content-Length: 100000' "$T/h2"
	run px -D "$T/h3" "$U/empty.txt"
	[ -z "$output" ]
	grep -q '^HTTP/1.1 200' "$T/h3"
	grep -qi '^Content-Length: 0' "$T/h3"
	run px -I "$U/a.txt"
	[[ "$output" == *"Content-Length: 6"* ]]
	[[ "$output" == *"Last-Modified: Thu, 02 Jan 2020 03:04:05 GMT"* ]]
}

# alice logs in from the URL or from Basic, and reads what only she may;
# a wrong password is 403 from the URL, 401 from Basic; the password is
# never logged.
t_login() {
	up "$1"
	run px "ftp://alice:s3cret@127.0.0.1:$FP/alice.txt"
	[ "$output" = "for alice" ]
	run px -H "Authorization: Basic $(printf alice:s3cret | base64)" "$U/alice.txt"
	[ "$output" = "for alice" ]
	run code "$U/alice.txt"
	[ "$output" = 403 ]
	run code "ftp://alice:bad@127.0.0.1:$FP/a.txt"
	[ "$output" = 403 ]
	run px -D "$T/h" -o /dev/null -H "Authorization: Basic $(printf alice:bad | base64)" "$U/a.txt"
	grep -q '^HTTP/1.1 401' "$T/h"
	grep -qi '^WWW-Authenticate: Basic realm="FTP 127.0.0.1"' "$T/h"
	wait_log "target=$U/alice.txt status=200 user=alice upstream=127.0.0.1:$FP .*reason=done ftp=226\$" \
		"$T/httpftpd.log"
	wait_log "target=$U/a.txt status=401 upstream=127.0.0.1:$FP .*reason=auth ftp=530\$" \
		"$T/httpftpd.log"
	! grep -q 's3cret\|bad' "$T/httpftpd.log" || false
}

# An HTML index with every name, its size and its date as the server's
# MLSD or LIST gave them; and the same as JSON.
t_listing() {
	local recent
	up "$1"
	# a date of this year: LIST gives it to the minute
	recent=$(( $(date +%s) / 60 * 60 - 7200 ))
	touch -d "@$recent" "$T/root/sub/b.txt"
	run px -D "$T/h" "$U/"
	grep -q '^HTTP/1.1 200' "$T/h"
	grep -qi '^Content-Type: text/html' "$T/h"
	[[ "$output" == *'<title>Index of '"$U"'/</title>'* ]]
	[[ "$output" == *'>a.txt</a></td><td>6</td><td>2020-01-02 '* ]]
	# MLSD has the time of an old file, LIST only its year
	if [ "$1" != vsftpd ]; then
		[[ "$output" == *'>a.txt</a></td><td>6</td><td>2020-01-02 03:04</td>'* ]]
	fi
	[[ "$output" == *'>rand.bin</a></td><td>100000</td>'* ]]
	[[ "$output" == *'>empty.txt</a></td><td>0</td>'* ]]
	[[ "$output" == *'href="./sub/">sub/</a></td><td>-</td>'* ]]
	[[ "$output" == *'href="./dir%20with%20space/">dir with space/</a>'* ]]
	[[ "$output" == *'>noread.txt</a>'* && "$output" == *'>up/</a>'* ]]
	[[ "$output" != *'href="../"'* ]]
	[[ "$output" != *'>.</a>'* && "$output" != *'>./</a>'* && "$output" != *'>../</a>'* ]]
	run px "$U/sub/"
	[[ "$output" == *'href="../"'* ]]
	[[ "$output" == *">b.txt</a></td><td>7</td><td>$(date -u -d "@$recent" '+%Y-%m-%d %H:%M')</td>"* ]]
	px -H 'Accept: application/json' -o "$T/list.json" "$U/"
	"$FTP_PY" - "$T/list.json" "$1" <<'PY'
import json, sys
v = json.load(open(sys.argv[1]))
d = {e["name"]: e for e in v}
assert d["a.txt"]["type"] == "file" and d["a.txt"]["size"] == 6, d["a.txt"]
assert d["a.txt"]["modified"].startswith("2020-01-02T"), d["a.txt"]
if sys.argv[2] != "vsftpd":
    assert d["a.txt"]["modified"] == "2020-01-02T03:04:05Z", d["a.txt"]
assert d["sub"]["type"] == "dir" and d["dir with space"]["type"] == "dir"
assert d["rand.bin"]["size"] == 100000
assert "<script>alert(1)<" in d and "gr\u00fc\u00dfe.txt" in d
assert "a&b\"c'.txt" in d
assert "." not in d and ".." not in d
assert d["link.txt"]["type"] == "link", d["link.txt"]
PY
	# a directory without its slash is sent to it; a link leads on
	run px -D "$T/h" -o /dev/null "$U/sub"
	grep -q '^HTTP/1.1 301' "$T/h"
	grep -qi '^Location: ./sub/' "$T/h"
	run px "$U/link.txt"
	[ "$output" = hello ]
}

t_missing() {
	up "$1"
	run px -D "$T/h" "$U/missing.txt"
	grep -q '^HTTP/1.1 404' "$T/h"
	grep -qi '^Proxy-Status: gtr; error=destination_not_found' "$T/h"
	[[ "$output" == "404 Not Found: "* ]]
	run code "$U/nodir/"
	[ "$output" = 404 ]
	run code "$U/nodir/a.txt"
	[ "$output" = 404 ]
	wait_log "target=$U/missing.txt status=404 .*reason=done ftp=550\$" \
		"$T/httpftpd.log"
}

# A file the server will not send (mode 000) is 403, not 404: it exists.
t_denied() {
	up "$1"
	run px -D "$T/h" "$U/noread.txt"
	grep -q '^HTTP/1.1 403' "$T/h"
	grep -qi '^Proxy-Status: gtr; error=http_request_denied' "$T/h"
	[[ "$output" != *"nobody reads"* ]]
	# a range of it, or a conditional GET that must send it, alike; the
	# access lines name the server's refusal, not what came after it
	run code -r 1-3 "$U/noread.txt"
	[ "$output" = 403 ]
	run code -z 'Thu, 02 Jan 2020 03:04:04 GMT' "$U/noread.txt"
	[ "$output" = 403 ]
	wait_count "target=$U/noread.txt status=403 .*reason=done ftp=550\$" \
		"$T/httpftpd.log" 3
	# a directory it may not enter: vsftpd says "Failed to change
	# directory." alike for one that is not there, so 404 is all it tells
	chmod 700 "$T/root/locked"
	run code "$U/locked/"
	if [ "$1" = vsftpd ]; then [ "$output" = 404 ]; else [ "$output" = 403 ]; fi
	# and the connection serves on
	run px "$U/a.txt"
	[ "$output" = hello ]
}

t_range() {
	up "$1"
	run px -D "$T/h" -r 1-3 "$U/a.txt"
	[ "$output" = ell ]
	grep -q '^HTTP/1.1 206' "$T/h"
	grep -qi '^Content-Range: bytes 1-3/6' "$T/h"
	grep -qi '^Content-Length: 3' "$T/h"
	run px -r 4- "$U/a.txt"
	[ "$output" = o ]
	run code -r 50-60 "$U/a.txt"
	[ "$output" = 416 ]
	head -c 1000 "$T/root/rand.bin" | tail -c 500 > "$T/want"
	px -r 500-999 -o "$T/got" "$U/rand.bin"
	cmp "$T/got" "$T/want"
	tail -c 100 "$T/root/rand.bin" > "$T/want"
	px -r -100 -o "$T/got" "$U/rand.bin"
	cmp "$T/got" "$T/want"
}

# If-Modified-Since against MDTM's date.
t_conditional() {
	up "$1"
	run code -z 'Fri, 03 Jan 2020 00:00:00 GMT' "$U/a.txt"
	[ "$output" = 304 ]
	run code -z 'Thu, 02 Jan 2020 03:04:05 GMT' "$U/a.txt"
	[ "$output" = 304 ]
	run px -z 'Thu, 02 Jan 2020 03:04:04 GMT' "$U/a.txt"
	[ "$output" = hello ]
	tag=$(px -I "$U/a.txt" | tr -d '\r' | sed -n 's/^ETag: //p')
	[ -n "$tag" ]
	run code -H "If-None-Match: $tag" "$U/a.txt"
	[ "$output" = 304 ]
}

# 20 MiB byte for byte, twice on one login, and a small file after.
t_large() {
	up "$1"
	head -c $((20 * 1024 * 1024)) /dev/urandom > "$T/root/large.bin"
	px -D "$T/h" -o "$T/got1" "$U/large.bin" -o "$T/got2" "$U/large.bin" \
		-o "$T/got3" "$U/a.txt"
	cmp "$T/got1" "$T/root/large.bin"
	cmp "$T/got2" "$T/root/large.bin"
	[ "$(cat "$T/got3")" = hello ]
	grep -qi '^Content-Length: 20971520' "$T/h"
	[ "$(grep -c "target=$U/large.bin status=200 .*reason=done ftp=226\$" \
		"$T/httpftpd.log")" -eq 2 ]
	! grep -q 'broken\|FTP sent' "$T/httpftpd.log" || false
}

# Spaces and UTF-8 in names: listed, linked, and fetched by those links.
t_names() {
	up "$1"
	run px "$U/dir%20with%20space/c%20d.txt"
	[ "$output" = spaced ]
	run px "$U/gr%C3%BC%C3%9Fe.txt"
	[ "$output" = utf8 ]
	run px "$U/dir%20with%20space/"
	[[ "$output" == *'<title>Index of '"$U"'/dir%20with%20space/</title>'* ]]
	[[ "$output" == *'href="./c%20d.txt">c d.txt</a></td><td>7</td>'* ]]
	px -o "$T/list.html" "$U/"
	grep -qF "href=\"./gr%C3%BC%C3%9Fe.txt\">$(printf 'gr\303\274\303\237e.txt')</a>" "$T/list.html"
	grep -qF 'href="./%3Cscript%3Ealert%281%29%3C">&lt;script&gt;alert(1)&lt;</a>' "$T/list.html"
	grep -qF 'a&amp;b&quot;c&#39;.txt' "$T/list.html"
	! grep -q '<script' "$T/list.html" || false
	run px "$U/%3Cscript%3Ealert%281%29%3C"
	[ "$output" = evil ]
	run px "$U/a%26b%22c%27.txt"
	[ "$output" = amp ]
	# A backslash too: the listing's link fetches the file, but from
	# pure-ftpd, which lists such a name and refuses it in every command
	# (553): there the link says so, 403, rather than "not found".
	printf 'bs\n' > "$T/root/"'<script>alert(1)<\script>.txt'
	px -o "$T/list2.html" "$U/"
	link=$(grep -o 'href="\./%3Cscript%3Ealert%281%29%3C[^"]*\.txt"' \
	    "$T/list2.html" | sed 's|^href="\./||; s|"$||')
	echo "link: $link"
	[ -n "$link" ]
	run px -i "$U/$link"
	if [ "$KIND" = pureftpd ]; then
		[[ "${lines[0]}" == "HTTP/1.1 403 "* ]]
		[[ "$output" == *"does not allow this file name (553)"* ]]
	else
		[ "${lines[-1]}" = bs ]
	fi
}

# The server ends an idle login: vsftpd and proftpd after their idle
# timeout, with a 421 first; pure-ftpd (whose timeout is in minutes) here
# by its session's end.  The next request must not take that 421, or the
# closed connection, for its answer: it logs in again.
t_stale() {
	local pid
	FTP_IDLE=1 up "$1"
	run px "$U/a.txt"
	[ "$output" = hello ]
	if [ "$1" = pureftpd ]; then
		for pid in $(ps -o pid= --ppid "$pureftpd_daemon_pid"); do
			kill "$pid"
		done
		sleep 0.5
	else
		sleep 2.5
	fi
	run px -D "$T/h" "$U/a.txt"
	[ "$output" = hello ]
	grep -q '^HTTP/1.1 200' "$T/h"
	run px "$U/sub/b.txt"
	[ "$output" = inside ]
	! grep -q 'status=50[0-9]' "$T/httpftpd.log" || false
}

# --writable: alice stores (201, then 204 replacing), deletes (204);
# anonymous may not store.
t_put() {
	up "$1" --writable
	local A="ftp://alice:s3cret@127.0.0.1:$FP"
	head -c 300000 /dev/urandom > "$T/up.bin"
	run code -T "$T/up.bin" "$A/up/new.bin"
	[ "$output" = 201 ]
	cmp "$T/up.bin" "$T/root/up/new.bin"
	[ "$(stat -c %u "$T/root/up/new.bin")" = "$ALICE_UID" ]
	printf 'second\n' > "$T/up2.txt"
	run code -T "$T/up2.txt" "$A/up/new.bin"
	[ "$output" = 204 ]
	cmp "$T/up2.txt" "$T/root/up/new.bin"
	run px "$A/up/new.bin"
	[ "$output" = second ]
	run code -X DELETE "$A/up/new.bin"
	[ "$output" = 204 ]
	[ ! -e "$T/root/up/new.bin" ]
	run code -X DELETE "$A/up/new.bin"
	[ "$output" = 404 ]
	run code -T "$T/up2.txt" "$U/up/anon.txt"
	[ "$output" = 403 ]
	[ ! -e "$T/root/up/anon.txt" ]
}

@test "vsftpd: anonymous GET gives the exact bytes, length, type and date" { t_get vsftpd; }
@test "proftpd: anonymous GET gives the exact bytes, length, type and date" { t_get proftpd; }
@test "pure-ftpd: anonymous GET gives the exact bytes, length, type and date" { t_get pureftpd; }

@test "vsftpd: a user logs in from the URL or Basic; a wrong password is 403 or 401" { t_login vsftpd; }
@test "proftpd: a user logs in from the URL or Basic; a wrong password is 403 or 401" { t_login proftpd; }
@test "pure-ftpd: a user logs in from the URL or Basic; a wrong password is 403 or 401" { t_login pureftpd; }

@test "vsftpd: a listing shows every name with its size and date, as HTML and JSON" { t_listing vsftpd; }
@test "proftpd: a listing shows every name with its size and date, as HTML and JSON" { t_listing proftpd; }
@test "pure-ftpd: a listing shows every name with its size and date, as HTML and JSON" { t_listing pureftpd; }

@test "vsftpd: a missing file or directory is 404" { t_missing vsftpd; }
@test "proftpd: a missing file or directory is 404" { t_missing proftpd; }
@test "pure-ftpd: a missing file or directory is 404" { t_missing pureftpd; }

@test "vsftpd: a file the server may not read is 403" { t_denied vsftpd; }
@test "proftpd: a file the server may not read is 403" { t_denied proftpd; }
@test "pure-ftpd: a file the server may not read is 403" { t_denied pureftpd; }

@test "vsftpd: a Range is 206 with the bytes asked, beyond the end 416" { t_range vsftpd; }
@test "proftpd: a Range is 206 with the bytes asked, beyond the end 416" { t_range proftpd; }
@test "pure-ftpd: a Range is 206 with the bytes asked, beyond the end 416" { t_range pureftpd; }

@test "vsftpd: If-Modified-Since and If-None-Match give 304" { t_conditional vsftpd; }
@test "proftpd: If-Modified-Since and If-None-Match give 304" { t_conditional proftpd; }
@test "pure-ftpd: If-Modified-Since and If-None-Match give 304" { t_conditional pureftpd; }

@test "vsftpd: a 20 MiB file arrives byte for byte, twice on one login" { t_large vsftpd; }
@test "proftpd: a 20 MiB file arrives byte for byte, twice on one login" { t_large proftpd; }
@test "pure-ftpd: a 20 MiB file arrives byte for byte, twice on one login" { t_large pureftpd; }

@test "vsftpd: names with spaces, UTF-8 and HTML in them are listed, linked and fetched" { t_names vsftpd; }
@test "proftpd: names with spaces, UTF-8 and HTML in them are listed, linked and fetched" { t_names proftpd; }
@test "pure-ftpd: names with spaces, UTF-8 and HTML in them are listed, linked and fetched" { t_names pureftpd; }

@test "vsftpd: --writable PUT stores as the user (201, 204), DELETE deletes, anonymous may not" { t_put vsftpd; }
@test "proftpd: --writable PUT stores as the user (201, 204), DELETE deletes, anonymous may not" { t_put proftpd; }
@test "pure-ftpd: --writable PUT stores as the user (201, 204), DELETE deletes, anonymous may not" { t_put pureftpd; }

@test "vsftpd: a login the server ended while idle is not taken for an answer" { t_stale vsftpd; }
@test "proftpd: a login the server ended while idle is not taken for an answer" { t_stale proftpd; }
@test "pure-ftpd: a login the server ended while idle is not taken for an answer" { t_stale pureftpd; }

# 2,000 clients at once, each for a small file, through one httpftpd to
# a server with its usual limits: Debian's proftpd.conf (MaxInstances 30),
# pure-ftpd's default (50 clients); vsftpd's (50 per address) is in
# ftppool.bats.
# Passive ports below the ephemeral range, which the clients' own
# sockets fill.
t_many() {
	FTP_PASV_BASE=$((28000 + RANDOM % 10 * 400)) FTP_PASV_SPAN=400 \
	    PROFTPD_MAX=30 PUREFTPD_MAX=50 up "$1"
	many 2000 "$HP" "$U/a.txt" > "$T/results"
	sort "$T/results" | uniq -c
	grep -v ' status=200 ' "$T/httpftpd.log" | head -20
	[ "$(grep -c '^200 6$' "$T/results")" -eq 2000 ]
}
@test "proftpd (MaxInstances 30): 2,000 clients at once each get their file" { t_many proftpd; }
@test "pure-ftpd (50 clients): 2,000 clients at once each get their file" { t_many pureftpd; }
