#!/usr/bin/env bats
# examples.bats - every example of README.md and of the manual pages'
# EXAMPLES sections, taken from the page itself and run.
#
# helpers/examples.py cuts the pages into examples (each .Bd -literal
# block and .Dl line of EXAMPLES, a literal block of commands elsewhere,
# each code block of the README), as mandoc shows them, each with an ID:
# PAGE#N, its place on the page.  Each test below is named after one ID
# and takes that example's lines from the page: a command after its
# prompt ("$ " or "# ", or none in the README and in gtr(7)'s chains),
# the output a page shows, a unit file, an inetd.conf line, a program.
# A new example without a test here fails the first test, and a test
# leaves no line of its example unused (ex_done): each line is run,
# checked against the log, or set aside with the reason (ex_skip).
#
# Each example runs in namespaces of its own (unshare): a network with
# only loopback, so the ports and addresses are the page's own (443,
# 0.0.0.0:8443) and nothing can leave the machine; a pid namespace, so a
# page's "pkill -x tlsstripd" finds only this example's, and everything
# the example started ends with it; and a mount namespace, for the
# substitutions below.  The real servers are the ones the page talks of:
# nginx (over HTTP, over TLS, with PROXY protocol, asking for client
# certificates), pyftpdlib and vsftpd (FTPS), haproxy, an echo server;
# the clients are real: curl, wget, openssl s_client, socat.
#
# What is substituted, and nothing else:
#   host names      the pages' names (example.org, proxy.example, ...,
#                   origin.example) resolve to 127.0.0.1 from a private
#                   /etc/hosts, and db.example to ::1 (its port is the
#                   relay's own); /etc/resolv.conf names 127.0.0.1, where
#                   no server answers.  The address literals 10.0.0.5 and
#                   192.0.2.10 become 127.0.0.1.
#   policy          a program that takes its destination from the request
#                   (connectd, relayd, tlswrapd, httpftpd without -c or a
#                   program) refuses loopback, where the names now point:
#                   --allow-dest 127.0.0.1 is added after its name.
#   paths           /usr/local/bin/ is the build under test ($GTR_BIN);
#                   /etc/ssl, /etc/tls, /etc/gtr and /srv are under
#                   $T/fs; files a page names without a directory (site.pem,
#                   alice.pem) are in the directory the commands run in.
#   certificates    one test CA, trusted as the system's CAs are: its
#                   certificate is bind-mounted over
#                   /etc/ssl/certs/ca-certificates.crt.  The pages'
#                   certificates are made by openssl for the names they
#                   serve; "renewing" one writes a new one.
#   systemd         %d (LoadCredential's directory) is $T/cred.
#   make            make runs with the build under test (B, BIN, SANITIZE)
#                   and installs under DESTDIR=$T/inst, not into /.
#   passwords       a prompt for one (htpasswd) is answered "secret", the
#                   password the page's curl then gives.
#
# Files a page names but does not show how to make (an htpasswd file of
# an earlier example, a CGI program other than cgid(8)'s hello.sh, the
# FTP server's README) are made by the test, as the page's reader would.
#
# Not run here, and checked otherwise: systemctl and journalctl (no
# systemd as PID 1): a page's units are checked with systemd-analyze
# verify and run with systemd-socket-activate as systemd would start
# them; "make check" is the suite this file is part of.

load helpers/common
load helpers/ftpd

TOP=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
EXPY=$BATS_TEST_DIRNAME/helpers/examples.py
CGI=$BATS_TEST_DIRNAME/cgi
BODY="hello from the example origin"

setup_file() {
	export EXD=$BATS_FILE_TMPDIR/examples PKI=$BATS_FILE_TMPDIR/pki
	python3 "$EXPY" dump "$EXD"
	make_pki "$PKI"
}

# bg NAME CMD...: common.bash's, but the pid goes to $T/ns.pids: the
# examples run in a pid namespace whose pids mean other processes outside
# it, and everything in it ends with it.
bg() {
	local name=$1
	shift
	"$@" > "$T/$name.log" 2>&1 3>&- < /dev/null &
	echo $! >> "$T/ns.pids"
	eval "${name//-/_}_pid=$!"
}

# --- certificates -------------------------------------------------------

# ca DIR NAME SUBJECT: a CA, DIR/NAME.pem and DIR/NAME.key.
ca() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -days 2 -subj "$3" -keyout "$1/$2.key" -out "$1/$2.pem" 2>/dev/null
}

# leaf DIR NAME CA SUBJECT [SAN]: a certificate signed by DIR/CA; DIR/NAME.crt,
# DIR/NAME.key and both in DIR/NAME.pem.
leaf() {
	local d=$1 n=$2
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -subj "$4" -keyout "$d/$n.key" -out "$d/$n.csr" 2>/dev/null
	if [ -n "${5:-}" ]; then
		printf 'subjectAltName=%s\n' "$5" > "$d/$n.ext"
	else
		printf 'extendedKeyUsage=clientAuth\n' > "$d/$n.ext"
	fi
	openssl x509 -req -in "$d/$n.csr" -CA "$d/$3.pem" -CAkey "$d/$3.key" \
	    -CAcreateserial -days 2 -extfile "$d/$n.ext" -out "$d/$n.crt" \
	    2>/dev/null
	cat "$d/$n.crt" "$d/$n.key" > "$d/$n.pem"
}

# make_pki DIR: the test CA (ca), whose certificate is the system's CA
# bundle in the examples' namespace; site, a certificate for every name
# the pages serve; www and api for the SNI example, and www2, www renewed;
# a private CA (pca) and its api.example; a CA of client certificates
# (cca) and alice's; a self-signed certificate for test.internal.
make_pki() {
	local d=$1 n names=
	mkdir -p "$d"
	ca "$d" ca "/CN=gtr examples CA"
	ca "$d" pca "/CN=gtr examples private CA"
	ca "$d" cca "/CN=gtr examples clients CA"
	for n in $(hosts_v4) db.example; do
		names+="DNS:$n,"
	done
	leaf "$d" site ca /CN=site.example "${names}IP:127.0.0.1"
	leaf "$d" www ca /CN=www.example.org DNS:www.example.org
	leaf "$d" www2 ca /CN=www.example.org DNS:www.example.org
	leaf "$d" api ca /CN=api.example.org DNS:api.example.org
	leaf "$d" private pca /CN=api.example DNS:api.example
	leaf "$d" alice cca /O=Example/CN=alice
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -days 2 -subj /CN=test.internal -addext \
	    subjectAltName=DNS:test.internal -keyout "$d/self.key" \
	    -out "$d/self.crt" 2>/dev/null
	chmod -R go+rX "$d"
}

# serial FILE: the serial number of the certificate in FILE.
serial() {
	openssl x509 -noout -serial -in "$1"
}

# served_serial NAME PORT: the serial of the certificate served to a
# client asking for NAME on 127.0.0.1:PORT.
served_serial() {
	openssl s_client -connect "127.0.0.1:$2" -servername "$1" \
	    < /dev/null 2>/dev/null | openssl x509 -noout -serial
}

# --- the namespaces -----------------------------------------------------

# hosts_v4: the pages' host names, which resolve to 127.0.0.1.
hosts_v4() {
	echo example.org www.example.org api.example.org ftp.example.org \
	    proxy.example site.example files.example ftp.example api.example \
	    test.internal origin origin.example
}

# ns_run ID FUNCTION: runs FUNCTION on example ID in new network, pid
# and mount namespaces, with ID's lines loaded; fails if FUNCTION does,
# or if it left a line of the example unused.
ns_run() {
	declare -f > "$T/ns.sh"
	declare -p GTR_BIN GTR_BUILD TOP EXPY EXD PKI CGI BODY HELPERS \
	    FTP_PY FTP_PASV_SPAN BATS_TEST_DIRNAME >> "$T/ns.sh"
	timeout -k 5 240 setsid -w unshare --pid --fork --mount-proc --net \
	    --kill-child bash -c '
		set -o pipefail
		. "$T/ns.sh"
		ns_init
		set -eE
		trap '\''ns_fail "$BASH_COMMAND"'\'' ERR
		ex_load "$1"
		"$2"
		ex_done' ns "$@"
}

# ns_fail COMMAND: says what failed, and where.
ns_fail() {
	local i
	echo "# $EX_ID: failed: $1" >&2
	for ((i = 1; i < ${#FUNCNAME[@]}; i++)); do
		echo "#   in ${FUNCNAME[i]}" >&2
	done
	[ -f "$T/trace" ] && sed 's/^/# /' "$T/trace" >&2
	exit 1
}

# ns_init: loopback up; the private /etc/hosts, /etc/resolv.conf and CA
# bundle; the directories of the substituted paths; the commands run in
# $T/work, which holds the pages' certificates by the names they give.
ns_init() {
	local n
	ip link set lo up
	mkdir -p "$T/ns" "$T/out" "$T/work" "$T/cred" "$T/fs/etc/ssl" \
	    "$T/fs/etc/tls" "$T/fs/etc/gtr" "$T/fs/srv" "$T/www"
	{
		echo "127.0.0.1 localhost $(hosts_v4)"
		echo "::1 ip6-localhost db.example"
	} > "$T/ns/hosts"
	echo "nameserver 127.0.0.1" > "$T/ns/resolv.conf"
	cp -r "$PKI" "$T/pki"
	mount --bind "$T/ns/hosts" /etc/hosts
	mount --bind "$T/ns/resolv.conf" /etc/resolv.conf
	mount --bind "$T/pki/ca.pem" /etc/ssl/certs/ca-certificates.crt
	for n in site.pem proxy.pem srv.pem ftp.pem; do
		cp "$T/pki/site.pem" "$T/work/$n"
	done
	cp "$T/pki/cca.pem" "$T/work/clients-ca.pem"
	cp "$T/pki/cca.pem" "$T/work/ca.pem"
	cp "$T/pki/alice.pem" "$T/work/alice.pem"
	echo "$BODY" > "$T/www/index.html"
	# nginx's workers, nobody, www-data and the units' users read here.
	chmod 755 "$T" "$T/fs" "$T/fs/etc" "$T/fs/srv" "$T/www" "$T/work"
	cd "$T/work"
}

# --- an example's lines -------------------------------------------------

# ex_load ID: EXL[1..] are the example's logical lines, none used yet.
ex_load() {
	EX_ID=$1
	[ -f "$EXD/$1.lines" ] || {
		echo "# there is no example $1" >&2
		return 1
	}
	mapfile -t EXL < "$EXD/$1.lines"
	EXL=("" "${EXL[@]}")
	EXU=()
}

# ex_done: every line of the example was used.
ex_done() {
	local i bad=0
	for ((i = 1; i < ${#EXL[@]}; i++)); do
		[ -n "${EXU[i]:-}" ] && continue
		echo "# $EX_ID: line $i not tested: ${EXL[i]}" >&2
		bad=1
	done
	return $bad
}

# ex_line N: LINE is line N, marked used.
ex_line() {
	LINE=${EXL[$1]:-}
	[ -n "$LINE" ] || {
		echo "# $EX_ID has no line $1" >&2
		return 1
	}
	EXU[$1]=1
}

# ex_skip N REASON: line N is not run here, for REASON.
ex_skip() {
	ex_line "$1"
	echo "$EX_ID line $1 not run: $2: $LINE" >> "$T/trace"
}

# ex_comment N: line N is a "#" comment that says what the next does.
ex_comment() {
	ex_line "$1"
	[[ $LINE == '# '* ]]
}

# ex_all: every line is used at once (a file's text).
ex_all() {
	local i
	for ((i = 1; i < ${#EXL[@]}; i++)); do
		EXU[i]=1
	done
}

# ex_cmd N: CMD is line N's command, its prompt taken off, substituted.
ex_cmd() {
	ex_line "$1"
	case $LINE in
	'$ '* | '# '*) LINE=${LINE#??} ;;
	esac
	CMD=$(subst "$LINE")
	echo "+ $CMD" >> "$T/trace"
}

# subst TEXT: the paths and address literals of the table above, then
# the policy.
subst() {
	policy "$(subst_paths "$1")"
}

subst_paths() {
	printf '%s\n' "$1" | sed -E \
	    -e "s#/usr/local/bin/#$GTR_BIN/#g" \
	    -e "s#(^|[ =:'])/(etc/ssl|etc/tls|etc/gtr|srv)(/| |\$)#\\1$T/fs/\\2\\3#g" \
	    -e 's/(^|[^0-9.])(10\.0\.0\.5|192\.0\.2\.10)([^0-9]|$)/\1127.0.0.1\3/g'
}

# policy COMMAND: COMMAND with --allow-dest 127.0.0.1 after each
# connectd, relayd, tlswrapd or httpftpd in it that finds its destination
# in the request (no -c and no program after --).
policy() {
	local -a w
	local out= i j add changed=
	set -f
	read -r -a w <<< "$1"
	set +f
	for ((i = 0; i < ${#w[@]}; i++)); do
		out+="${out:+ }${w[i]}"
		[[ ${w[i]} =~ (^|/|\')(connectd|relayd|tlswrapd|httpftpd)$ ]] ||
		    continue
		add=1
		for ((j = i + 1; j < ${#w[@]}; j++)); do
			case ${w[j]} in
			-c | --connect | --connect=* | --) add= ; break ;;
			'|' | '&&' | ';' | '&' | '#'*) break ;;
			esac
		done
		if [ -n "$add" ]; then
			out+=" --allow-dest 127.0.0.1"
			changed=1
		fi
	done
	if [ -n "$changed" ]; then
		printf '%s\n' "$out"
	else
		printf '%s\n' "$1"
	fi
}

# ex_run N [INPUT]: runs line N's command in the foreground, INPUT (a
# string) on its stdin; its stdout is in $OUT.  Fails if it does.
ex_run() {
	ex_cmd "$1"
	OUT=$T/out/$1
	if ! printf '%s' "${2:-}" | timeout 60 bash -c "$CMD" > "$OUT" \
	    2> "$T/run$1.log"; then
		echo "# $EX_ID line $1 failed: $CMD" >&2
		cat "$OUT" "$T/run$1.log" >&2
		return 1
	fi
}

# ex_serve N NAME PORT [HOST]: starts line N's command in the background
# (stdin /dev/null, as from a script), its log in $T/NAME.log, and waits
# until it listens on HOST:PORT.
ex_serve() {
	ex_cmd "$1"
	bg "$2" bash -c "exec $CMD"
	wait_port "$3" "${4:-127.0.0.1}"
}

# stop NAME: ends what bg started as NAME, and waits for it.
stop() {
	local v=${1//-/_}_pid
	kill "${!v}" 2> /dev/null || true
	wait "${!v}" 2> /dev/null || true
}

# ex_output N LOG: line N is output a page shows ("name[4711]: ...");
# LOG gets that line, with any pid, within 10 s.
ex_output() {
	local i name rest
	ex_line "$1"
	name=${LINE%%\[*}
	rest=${LINE#*\]}
	for i in $(seq 100); do
		awk -v n="$name" -v r="$rest" '
		    index($0, n "[") == 1 {
			s = substr($0, length(n) + 2)
			p = index(s, "]")
			if (substr(s, 1, p - 1) ~ /^[0-9]+$/ &&
			    substr(s, p + 1) == r)
				found = 1
		    }
		    END { exit !found }' "$2" && return 0
		sleep 0.1
	done
	echo "# $EX_ID: no line '$LINE' in $2" >&2
	cat "$2" >&2
	return 1
}

# has FILE TEXT: FILE holds TEXT (a fixed string).
has() {
	grep -qF -- "$2" "$1" || {
		echo "# no '$2' in $1:" >&2
		head -c 2000 "$1" >&2
		return 1
	}
}

# hasnt FILE TEXT: FILE does not hold TEXT.
hasnt() {
	if grep -qF -- "$2" "$1"; then
		echo "# unexpected '$2' in $1" >&2
		return 1
	fi
}

# fails CMD...: CMD exits non-zero ("! CMD" would not stop the test).
fails() {
	if "$@"; then
		echo "# should have failed: $*" >&2
		return 1
	fi
}

# code CURL-ARGS...: curl's status code for a request, or the proxy's
# for CONNECT when it refused (000 when nothing answered).
code() {
	curl -s -o /dev/null -w '%{http_code} %{http_connect}\n' "$@" || true
}

# user_of PROG: the users running PROG (the pid namespace has only the
# example's).
user_of() {
	ps -o user= -C "$1" | sort -u
}

# --- the servers the pages talk to --------------------------------------

# nginx_up SERVERS: nginx with the server blocks SERVERS, serving $T/www;
# @TLS@ in them stands for the site certificate.
nginx_up() {
	local tls="ssl_certificate $T/pki/site.crt; ssl_certificate_key $T/pki/site.key;"
	mkdir -p "$T/nginx"
	cat > "$T/nginx/nginx.conf" <<EOF
daemon off;
worker_processes 1;
pid $T/nginx/nginx.pid;
error_log $T/nginx/error.log;
events { worker_connections 256; }
http {
	access_log $T/nginx/access.log;
	client_body_temp_path $T/nginx;
	proxy_temp_path $T/nginx;
	fastcgi_temp_path $T/nginx;
	uwsgi_temp_path $T/nginx;
	scgi_temp_path $T/nginx;
	default_type text/plain;
	root $T/www;
	${1//@TLS@/$tls}
}
EOF
	bg nginx nginx -c "$T/nginx/nginx.conf" -e "$T/nginx/error.log"
}

# web_origin: example.org and the pages' other names over HTTP (80) and
# HTTPS (443, 8443), with keep-alive; / is $BODY, /api and /README too.
web_origin() {
	echo "the api answers" > "$T/www/api"
	nginx_up "server {
		listen 127.0.0.1:80; listen 127.0.0.1:443 ssl;
		${ORIGIN_8443:+listen 127.0.0.1:8443 ssl;} @TLS@
	}"
	wait_port 80
	wait_port 443
}

# headers_origin PORT: an HTTP server on 127.0.0.1:PORT that answers
# every request with the forwarding fields it got.
headers_origin() {
	nginx_up "server {
		listen 127.0.0.1:$1;
		location / { return 200 'proto=\$http_x_forwarded_proto xff=\$http_x_forwarded_for subject=\$http_x_client_cert_subject\n'; }
	}"
	wait_port "$1"
}

# ftp_site: pyftpdlib on ftp.example's port 21, pub/README in it.
ftp_site() {
	mkdir -p "$T/ftp/pub" "$T/ftp/locked"
	echo "README of the example FTP site" > "$T/ftp/pub/README"
	chmod -R go+rX "$T/ftp"
	FTP_ROOT=$T/ftp pyftpd_start 21
}

# ftps_mirror: vsftpd speaking implicit FTPS on port 990 with the site
# certificate, for user mirror, password secret (a private /etc/passwd
# and /etc/shadow in the namespace), pub/README in its directory.
ftps_mirror() {
	local d=$T/vsftpd
	mkdir -p "$d/empty" "$T/ftp/pub"
	echo "README of the mirror" > "$T/ftp/pub/README"
	chmod -R go+rX "$T/ftp"
	cp /etc/passwd "$d/passwd"
	echo "mirror:x:60123:65534::$T/ftp:/bin/sh" >> "$d/passwd"
	cp /etc/shadow "$d/shadow"
	echo "mirror:$(openssl passwd -6 secret):19000:0:99999:7:::" >> "$d/shadow"
	mount --bind "$d/passwd" /etc/passwd
	mount --bind "$d/shadow" /etc/shadow
	cat > "$d/vsftpd.conf" <<EOF
listen=YES
listen_ipv6=NO
listen_address=127.0.0.1
listen_port=990
background=NO
anonymous_enable=NO
local_enable=YES
local_root=$T/ftp
write_enable=NO
pasv_enable=YES
pasv_min_port=31000
pasv_max_port=31019
secure_chroot_dir=$d/empty
seccomp_sandbox=NO
ssl_enable=YES
implicit_ssl=YES
force_local_logins_ssl=YES
force_local_data_ssl=YES
require_ssl_reuse=NO
rsa_cert_file=$T/pki/site.pem
xferlog_enable=YES
log_ftp_protocol=YES
vsftpd_log_file=$d/vsftpd.log
EOF
	bg vsftpd vsftpd "$d/vsftpd.conf"
	wait_port 990
}

# cgi_dir: /srv/cgi-bin with cgid(8)'s minimal program as hello.sh (from
# the page), env.py (prints its environment) and whoami.sh (its user).
cgi_dir() {
	local d=$T/fs/srv/cgi-bin
	mkdir -p "$d"
	cp "$EXD/cgid.8#8.txt" "$d/hello.sh"
	cp "$CGI/env.py" "$d/env.py"
	printf '#!/bin/sh\nprintf "Content-Type: text/plain\\n\\n"\nid -un\n' \
	    > "$d/whoami.sh"
	chmod 755 "$d" "$d"/*
}

# silent_lookups: a DNS server (where /etc/resolv.conf points) and an
# ident server on loopback that take the question and never answer: a
# launcher that looks each client up (tcpserver without -H -R) then keeps
# it waiting, as a slow resolver would (a minute: tcpserver's DNS and
# ident timeouts), where -H -R -l0 serves at once.  The curls after it
# give up after 20 s.
silent_lookups() {
	bg dns socat -u UDP-RECV:53,bind=127.0.0.1 /dev/null
	bg ident socat TCP-LISTEN:113,bind=127.0.0.1,reuseaddr,fork \
	    SYSTEM:'sleep 100'
	wait_port 113
}

# --- launchers ----------------------------------------------------------

# ex_inetd N: line N, an inetd.conf line, served by openbsd-inetd; the
# program's path and arguments substituted.
ex_inetd() {
	local -a f
	ex_line "$1"
	read -r -a f <<< "$LINE"
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "${f[@]:0:5}" \
	    "$(subst_paths "${f[5]}")" "$(subst "${f[*]:6}")" > "$T/inetd.conf"
	cat "$T/inetd.conf" >> "$T/trace"
	bg inetd inetd -d "$T/inetd.conf"
	wait_port "${f[0]##*:}"
}

# ex_units DIR: the example is unit files, each after a "# NAME" line;
# writes them to DIR with the paths substituted, and checks them with
# systemd-analyze verify, which must say nothing.
ex_units() {
	local dir=$1 l f=
	mkdir -p "$dir"
	ex_all
	for ((l = 1; l < ${#EXL[@]}; l++)); do
		if [[ ${EXL[l]} =~ ^#\ ([a-z@]+\.(socket|service))$ ]]; then
			f=$dir/${BASH_REMATCH[1]}
			: > "$f"
		elif [ -n "$f" ]; then
			subst_paths "${EXL[l]}" >> "$f"
			# verify does not look the user up.
			if [[ ${EXL[l]} =~ ^User=(.*) ]]; then
				getent passwd "${BASH_REMATCH[1]}" > /dev/null || {
					echo "# $EX_ID: no user ${BASH_REMATCH[1]}" >&2
					return 1
				}
			fi
		else
			echo "# $EX_ID: line $l is in no unit" >&2
			return 1
		fi
	done
	(cd "$dir" && systemd-analyze verify --man=no ./*) > "$T/verify.log" 2>&1
	if [ -s "$T/verify.log" ]; then
		cat "$T/verify.log" >&2
		return 1
	fi
}

# activate DIR NAME BINDIR: starts NAME.socket of DIR as systemd would,
# with systemd-socket-activate: its ListenStream, its Accept, and the
# ExecStart of NAME@.service (Accept=yes) or NAME.service, the programs
# taken from BINDIR instead of /usr/local/bin.  Waits until it listens.
activate() {
	local dir=$1 name=$2 listen accept= svc=$2.service exec
	listen=$(sed -n 's/^ListenStream=//p' "$dir/$name.socket")
	if grep -qx 'Accept=yes' "$dir/$name.socket"; then
		accept=--accept
		svc=$name@.service
	fi
	exec=$(sed -n 's/^ExecStart=//p' "$dir/$svc" |
	    sed -e "s#/usr/local/bin/#$3/#g" -e "s#%d/#$T/cred/#g")
	exec=$(policy "$exec")
	echo "+ systemd-socket-activate $accept -l $listen $exec" >> "$T/trace"
	# shellcheck disable=SC2086
	bg "$name" systemd-socket-activate $accept -l "$listen" $exec
	wait_port "${listen##*:}"
}

# --- the tests ----------------------------------------------------------

@test "every example of the README and the manual pages has a test here, and every test here an example" {
	grep -oE '^@test "[A-Za-z0-9.]+#[0-9]+:' "$BATS_TEST_FILENAME" |
	    sed -e 's/^@test "//' -e 's/:$//' | sort > "$T/tested"
	sort "$EXD/list" > "$T/examples"
	diff "$T/examples" "$T/tested"
	[ "$(wc -l < "$T/examples")" -gt 40 ]
}

@test "every example shows the same in mandoc and groff, in printable ASCII, a .Dl on one line" {
	run python3 "$EXPY" check
	[ "$status" -eq 0 ] || { echo "$output"; false; }
}

@test "no manual page nests its quotes or leaves one open, in mandoc or groff" {
	run python3 "$EXPY" quotes
	[ "$status" -eq 0 ] || { echo "$output"; false; }
}

# --- cgid(8) ------------------------------------------------------------

ex_cgid_1() {
	mkdir -p "$T/fs/srv/app"
	printf '%s\n' '#!/usr/bin/python3' 'import os' \
	    'print("Content-Type: text/plain\n")' \
	    'print("handler.py for", os.environ["PATH_INFO"])' \
	    > "$T/fs/srv/app/handler.py"
	chmod 755 "$T/fs/srv/app" "$T/fs/srv/app/handler.py"
	ex_serve 1 cgid 8000
	ex_run 2
	[ "$(cat "$OUT")" = "handler.py for /any/path" ]
}
@test "cgid.8#1: one program for every request on loopback port 8000" {
	ns_run cgid.8#1 ex_cgid_1
}

ex_cgid_2() {
	cgi_dir
	ex_serve 1 cgid 80 127.0.0.1
	ex_run 2
	[ "$(cat "$OUT")" = "hello from /hello.sh, path /x" ]
	[ "$(curl -sS http://127.0.0.1/whoami.sh)" = www-data ]
	[ "$(user_of cgid)" = www-data ]
}
@test "cgid.8#2: programs under a directory on every address, as www-data" {
	ns_run cgid.8#2 ex_cgid_2
}

ex_cgid_3() {
	cgi_dir
	ex_run 1
	head -1 "$OUT" | grep -q '^HTTP/1\.[01] 200 '
	[ "$(tail -1 "$OUT")" = "hello from /hello.sh, path /x" ]
}
@test "cgid.8#3: one request on a pipe runs hello.sh" {
	ns_run cgid.8#3 ex_cgid_3
}

ex_cgid_4() {
	cgi_dir
	ex_inetd 1
	[ "$(curl -sS http://127.0.0.1:8000/hello.sh/x)" = "hello from /hello.sh, path /x" ]
	[ "$(curl -sS http://127.0.0.1:8000/whoami.sh)" = www-data ]
}
@test "cgid.8#4: the inetd.conf line runs a cgid per connection as www-data" {
	ns_run cgid.8#4 ex_cgid_4
}

ex_cgid_5() {
	cgi_dir
	ex_units "$T/units"
	activate "$T/units" cgid "$GTR_BIN"
	[ "$(curl -sS http://127.0.0.1:8000/hello.sh/x)" = "hello from /hello.sh, path /x" ]
	[ "$(curl -sS http://127.0.0.1:8000/hello.sh/y)" = "hello from /hello.sh, path /y" ]
	[ "$(grep -c 'target=/hello.sh/. status=200' "$T/cgid.log")" -eq 2 ]
	[ "$(grep -o '^cgid\[[0-9]*\]' "$T/cgid.log" | sort -u | wc -l)" -eq 1 ]
}
@test "cgid.8#5: the systemd units verify, and one cgid serves every connection" {
	ns_run cgid.8#5 ex_cgid_5
}

ex_cgid_6() {
	cgi_dir
	silent_lookups
	ex_serve 1 tcpserver 8000
	[ "$(curl -sS -m 20 http://127.0.0.1:8000/hello.sh/x)" = "hello from /hello.sh, path /x" ]
	[ "$(curl -sS -m 20 http://127.0.0.1:8000/whoami.sh)" = www-data ]
	wait_log 'cgid\[[0-9]+\]: info: .*client=127\.0\.0\.1:[0-9]+ .*target=/whoami\.sh status=200' "$T/tcpserver.log"
}
@test "cgid.8#6: tcpserver runs cgid per connection as www-data, the client's address logged" {
	ns_run cgid.8#6 ex_cgid_6
}

ex_cgid_7() {
	cgi_dir
	ex_serve 1 tlsstripd 443
	curl -sS https://site.example/env.py > "$T/env"
	has "$T/env" HTTPS=on
	has "$T/env" SSL_PROTOCOL=TLSv1.
	has "$T/env" SSL_TLS_SNI=site.example
	[ "$(curl -sS https://site.example/hello.sh/x)" = "hello from /hello.sh, path /x" ]
}
@test "cgid.8#7: behind tlsstripd, programs see HTTPS and SSL_*" {
	ns_run cgid.8#7 ex_cgid_7
}

ex_cgid_8() {
	cgi_dir
	ex_all
	printf 'GET /hello.sh/a/b HTTP/1.0\r\n\r\n' |
	    cgid --root "$T/fs/srv/cgi-bin" > "$T/resp"
	[ "$(tail -1 "$T/resp")" = "hello from /hello.sh, path /a/b" ]
	grep -q $'^Content-Type: text/plain\r$' "$T/resp"
}
@test "cgid.8#8: the minimal program answers as a CGI program" {
	ns_run cgid.8#8 ex_cgid_8
}

# --- connectd(8) --------------------------------------------------------

ex_connectd_1() {
	web_origin
	ex_serve 1 connectd 3128
	ex_output 2 "$T/connectd.log"
	ex_run 3
	[ "$(cat "$OUT")" = "$BODY" ]
	wait_log 'method=CONNECT target=example\.org:443 status=200 ' "$T/connectd.log"
	# The default policy: port 443 only.
	[ "$(code -p -x http://127.0.0.1:3128 https://example.org:8443/)" = "000 403" ]
}
@test "connectd.8#1: connectd alone listens on 127.0.0.1:3128 and tunnels curl to an HTTPS origin" {
	ns_run connectd.8#1 ex_connectd_1
}

ex_connectd_2() {
	ORIGIN_8443=1 web_origin
	ex_run 1 $'secret\nsecret\n'
	ex_serve 2 connectd 3128
	ex_run 3
	[ "$(cat "$OUT")" = "$BODY" ]
	wait_log 'method=CONNECT target=example\.org:443 status=200 user=alice ' "$T/connectd.log"
	[ "$(curl -sS -p -x http://alice:secret@proxy.example:3128 https://example.org:8443/)" = "$BODY" ]
	[ "$(code -p -x http://proxy.example:3128 https://example.org/)" = "000 407" ]
	[ "$(code -p -x http://alice:wrong@proxy.example:3128 https://example.org/)" = "000 407" ]
	[ "$(user_of connectd)" = nobody ]
}
@test "connectd.8#2: htpasswd, then a public connectd as nobody asks for alice's password" {
	ns_run connectd.8#2 ex_connectd_2
}

ex_connectd_3() {
	web_origin
	ex_inetd 1
	[ "$(curl -sS -p -x http://127.0.0.1:3128 https://example.org/)" = "$BODY" ]
	[ "$(curl -sS -p -x http://127.0.0.1:3128 https://example.org/)" = "$BODY" ]
}
@test "connectd.8#3: the inetd.conf line tunnels, a connectd per tunnel" {
	ns_run connectd.8#3 ex_connectd_3
}

ex_connectd_4() {
	web_origin
	ex_units "$T/units"
	activate "$T/units" connectd "$GTR_BIN"
	[ "$(curl -sS -p -x http://127.0.0.1:3128 https://example.org/)" = "$BODY" ]
	[ "$(curl -sS -p -x http://127.0.0.1:3128 https://example.org/)" = "$BODY" ]
	wait_log 'status=200 .*reason=done' "$T/connectd.log"
	[ "$(grep 'method=CONNECT' "$T/connectd.log" | grep -o '^connectd\[[0-9]*\]' | sort -u | wc -l)" -eq 2 ]
}
@test "connectd.8#4: the systemd units verify, and Accept=yes runs a connectd per tunnel" {
	ns_run connectd.8#4 ex_connectd_4
}

ex_connectd_5() {
	web_origin
	silent_lookups
	ex_serve 1 tcpserver 3128
	[ "$(curl -sS -m 20 -p -x http://127.0.0.1:3128 https://example.org/)" = "$BODY" ]
	wait_log '^connectd\[[0-9]+\]: info: conn=[0-9]+ client=127\.0\.0\.1:[0-9]+ method=CONNECT target=example\.org:443 status=200 ' "$T/tcpserver.log"
}
@test "connectd.8#5: tcpserver runs connectd per tunnel, the client's address in the access line" {
	ns_run connectd.8#5 ex_connectd_5
}

ex_connectd_6() {
	web_origin
	htpasswd -bBc "$T/fs/etc/gtr/htpasswd" alice secret 2> /dev/null
	ex_serve 1 tlsstripd 3129
	ex_run 2
	[ "$(cat "$OUT")" = "$BODY" ]
	wait_log 'method=CONNECT target=example\.org:443 status=200 user=alice ' "$T/tlsstripd.log"
	[ "$(code -p -x https://proxy.example:3129 https://example.org/)" = "000 407" ]
}
@test "connectd.8#6: an HTTPS proxy, tlsstripd in front of connectd, with passwords" {
	ns_run connectd.8#6 ex_connectd_6
}

ex_connectd_7() {
	bg sshd socat TCP-LISTEN:22,bind=127.0.0.1,reuseaddr,fork \
	    SYSTEM:'echo SSH-2.0-example_backend\; cat'
	wait_port 22
	ex_serve 1 connectd 2222
	printf 'CONNECT example.org:443 HTTP/1.1\r\nHost: example.org:443\r\n\r\nping\n' |
	    socat -t 5 - TCP:127.0.0.1:2222 > "$T/a"
	printf 'CONNECT other.example:22 HTTP/1.1\r\nHost: other.example:22\r\n\r\n' |
	    socat -t 5 - TCP:127.0.0.1:2222 > "$T/b"
	for f in "$T/a" "$T/b"; do
		head -1 "$f" | grep -q '^HTTP/1.1 200 '
		has "$f" SSH-2.0-example_backend
	done
	has "$T/a" ping
}
@test "connectd.8#7: -c tunnels every CONNECT to the one backend, whatever it names" {
	ns_run connectd.8#7 ex_connectd_7
}

# --- httpftpd(8) --------------------------------------------------------

ex_httpftpd_1() {
	ftp_site
	ex_serve 1 httpftpd 8021
	ex_run 2
	[ "$(cat "$OUT")" = "README of the example FTP site" ]
	ex_run 3
	# wget saves the listing as index.html, with a link to README.
	has "$T/work/index.html" 'href="./README"'
	wait_log 'target=ftp://ftp\.example\.org:21/pub/ status=200 ' "$T/httpftpd.log"
}
@test "httpftpd.8#1: a standalone httpftpd serves curl -x and wget's ftp_proxy" {
	ns_run httpftpd.8#1 ex_httpftpd_1
}

ex_httpftpd_2() {
	ftp_site
	ex_units "$T/units"
	activate "$T/units" httpftpd "$GTR_BIN"
	[ "$(curl -sS http://127.0.0.1:8021/README)" = "README of the example FTP site" ]
	curl -sS http://127.0.0.1:8021/ > "$T/list"
	has "$T/list" 'href="./README"'
	[ "$(grep -o '^httpftpd\[[0-9]*\]' "$T/httpftpd.log" | sort -u | wc -l)" -eq 1 ]
}
@test "httpftpd.8#2: the systemd units verify, and one httpftpd serves an FTP directory over HTTP" {
	ns_run httpftpd.8#2 ex_httpftpd_2
}

ex_httpftpd_3() {
	ftps_mirror
	ex_serve 1 tlsstripd 443
	ex_run 2
	[ "$(cat "$OUT")" = "README of the mirror" ]
	has "$T/vsftpd/vsftpd.log" '[mirror] OK LOGIN'
	# The client never sees the login.
	curl -sS -D "$T/head" -o /dev/null https://site.example/README
	hasnt "$T/head" secret
}
@test "httpftpd.8#3: behind tlsstripd, an HTTPS front on an FTPS archive with a login" {
	ns_run httpftpd.8#3 ex_httpftpd_3
}

# --- relayd(8) ----------------------------------------------------------

ex_relayd_1() {
	web_origin
	ex_serve 1 relayd 8080
	ex_output 2 "$T/relayd.log"
	ex_run 3
	[ "$(cat "$OUT")" = "$BODY" ]
	ex_run 4
	[ "$(cat "$T/work/index.html")" = "$BODY" ]
	[ "$(grep -c 'target=http://example\.org/ status=200 ' "$T/relayd.log")" -eq 2 ]
}
@test "relayd.8#1: relayd alone listens on 127.0.0.1:8080 for curl -x and wget's http_proxy" {
	ns_run relayd.8#1 ex_relayd_1
}

ex_relayd_2() {
	nginx_up "server { listen 127.0.0.1:8080; keepalive_timeout 60; }"
	wait_port 8080
	ex_serve 1 relayd 80
	curl -sS -D "$T/head" -o "$T/body" http://127.0.0.1/
	[ "$(cat "$T/body")" = "$BODY" ]
	grep -qi '^Connection: close' "$T/head"
	[ "$(user_of relayd)" = nobody ]
}
@test "relayd.8#2: a front for one web server, every exchange closed after its response" {
	ns_run relayd.8#2 ex_relayd_2
}

ex_relayd_3() {
	bg db socat TCP6-LISTEN:5432,bind='[::1]',reuseaddr,fork EXEC:cat
	wait_port 5432 ::1
	ex_serve 1 relayd 5432
	head -c 100000 /dev/urandom > "$T/sent"
	socat -t 10 - TCP:127.0.0.1:5432 < "$T/sent" > "$T/got"
	cmp "$T/sent" "$T/got"
}
@test "relayd.8#3: --raw relays bytes unchanged to db.example:5432" {
	ns_run relayd.8#3 ex_relayd_3
}

ex_relayd_4() {
	ftp_site
	ex_serve 1 relayd 8021
	ex_run 2
	[ "$(cat "$OUT")" = "README of the example FTP site" ]
	curl -sS http://127.0.0.1:8021/ > "$T/list"
	has "$T/list" 'href="./README"'
}
@test "relayd.8#4: an FTP site as plain HTTP, an httpftpd per connection" {
	ns_run relayd.8#4 ex_relayd_4
}

ex_relayd_5() {
	web_origin
	ex_inetd 1
	[ "$(curl -sS -x http://127.0.0.1:8080 http://example.org/)" = "$BODY" ]
	[ "$(curl -sS -x http://127.0.0.1:8080 http://example.org/api)" = "the api answers" ]
}
@test "relayd.8#5: the inetd.conf line relays, a relayd per exchange" {
	ns_run relayd.8#5 ex_relayd_5
}

ex_relayd_6() {
	web_origin
	ex_units "$T/units"
	activate "$T/units" relayd "$GTR_BIN"
	[ "$(curl -sS -x http://127.0.0.1:8080 http://example.org/)" = "$BODY" ]
	[ "$(curl -sS -x http://127.0.0.1:8080 http://example.org/api)" = "the api answers" ]
	wait_log 'target=http://example\.org/api status=200' "$T/relayd.log"
	[ "$(grep -o '^relayd\[[0-9]*\]' "$T/relayd.log" | sort -u | wc -l)" -eq 1 ]
}
@test "relayd.8#6: the systemd units verify, and one relayd serves every connection" {
	ns_run relayd.8#6 ex_relayd_6
}

ex_relayd_7() {
	web_origin
	silent_lookups
	ex_serve 1 tcpserver 8080
	[ "$(curl -sS -m 20 -x http://127.0.0.1:8080 http://example.org/)" = "$BODY" ]
	wait_log '^relayd\[[0-9]+\]: info: conn=[0-9]+ client=127\.0\.0\.1:[0-9]+ method=GET target=http://example\.org/ status=200 ' "$T/tcpserver.log"
	stop tcpserver
	ex_serve 2 socat 8080
	curl -sS -m 20 -D "$T/head" -o "$T/body" http://127.0.0.1:8080/api
	[ "$(cat "$T/body")" = "the api answers" ]
	# Bytes only: nginx's keep-alive passes unchanged.
	fails grep -qi '^Connection: close' "$T/head"
	wait_log '^relayd\[[0-9]+\]: info: conn=[0-9]+ client=127\.0\.0\.1:[0-9]+ upstream=127\.0\.0\.1:80 ' "$T/socat.log"
}
@test "relayd.8#7: tcpserver runs relayd per connection, and socat relayd --raw" {
	ns_run relayd.8#7 ex_relayd_7
}

# --- tlsstripd(8) -------------------------------------------------------

ex_tlsstripd_1() {
	local d=$T/fs/etc/ssl
	headers_origin 8080
	cp "$T/pki/www.pem" "$d/www.example.org.pem"
	cp "$T/pki/api.pem" "$d/api.example.org.pem"
	chgrp www-data "$d"/*.pem
	chmod 640 "$d"/*.pem
	ex_serve 1 tlsstripd 443
	[ "$(curl -sS https://www.example.org/)" = "proto=https xff=127.0.0.1 subject=" ]
	[ "$(curl -sS -H 'X-Forwarded-For: 6.6.6.6' https://api.example.org/x)" = "proto=https xff=127.0.0.1 subject=" ]
	# Each name gets its certificate.
	[ "$(served_serial www.example.org 443)" = "$(serial "$T/pki/www.crt")" ]
	[ "$(served_serial api.example.org 443)" = "$(serial "$T/pki/api.crt")" ]
	[ "$(user_of tlsstripd)" = www-data ]
	# Renewed: the same file, a new certificate; SIGHUP reads it.
	cat "$T/pki/www2.pem" > "$d/www.example.org.pem"
	ex_run 2
	for i in $(seq 50); do
		[ "$(served_serial www.example.org 443)" = "$(serial "$T/pki/www2.crt")" ] && break
		sleep 0.1
	done
	[ "$(served_serial www.example.org 443)" = "$(serial "$T/pki/www2.crt")" ]
	[ "$(served_serial api.example.org 443)" = "$(serial "$T/pki/api.crt")" ]
	[ "$(curl -sS https://www.example.org/)" = "proto=https xff=127.0.0.1 subject=" ]
	kill -0 "$tlsstripd_pid"
	fails grep -E ': (error|warning):' "$T/tlsstripd.log"
}
@test "tlsstripd.8#1: two names, each its certificate, --forwarded, as www-data; pkill -HUP reads a renewed one" {
	ns_run tlsstripd.8#1 ex_tlsstripd_1
}

ex_tlsstripd_2() {
	cp "$T/pki/site.pem" "$T/fs/etc/tls/site.pem"
	nginx_up "server {
		listen 127.0.0.1:8081 proxy_protocol;
		location / { return 200 '\$proxy_protocol_addr:\$proxy_protocol_port\n'; }
	}"
	wait_port 8081
	ex_serve 1 tlsstripd 8443
	# The load balancer: haproxy, PROXY v2 to tlsstripd.
	cat > "$T/haproxy.cfg" <<HA
defaults
	mode tcp
	timeout connect 5s
	timeout client 30s
	timeout server 30s
frontend lb
	bind 127.0.0.1:443
	default_backend gtr
backend gtr
	server tlsstripd 127.0.0.1:8443 send-proxy-v2
HA
	bg haproxy haproxy -db -f "$T/haproxy.cfg"
	wait_port 443
	curl -sS -w '\n%{local_port}\n' https://site.example/ > "$T/got"
	[ "$(head -1 "$T/got")" = "127.0.0.1:$(tail -1 "$T/got")" ]
	# Without the load balancer's header, nothing.
	fails curl -sS -m 20 https://site.example:8443/
}
@test "tlsstripd.8#2: behind haproxy's PROXY v2, nginx learns the client's address and port" {
	ns_run tlsstripd.8#2 ex_tlsstripd_2
}

ex_tlsstripd_3() {
	headers_origin 8080
	ex_serve 1 tlsstripd 8443
	ex_run 2
	[ "$(cat "$OUT")" = "proto=https xff=127.0.0.1 subject=CN=alice,O=Example" ]
	fails curl -sS -m 20 https://www.example.org:8443/
	# A certificate the CA did not sign is refused too.
	fails curl -sS -m 20 --cert "$T/pki/site.pem" https://www.example.org:8443/
}
@test "tlsstripd.8#3: client certificates required, the subject passed on as X-Client-Cert-Subject" {
	ns_run tlsstripd.8#3 ex_tlsstripd_3
}

ex_tlsstripd_4() {
	headers_origin 8080
	cp "$T/pki/site.pem" "$T/fs/etc/tls/site.pem"
	ex_units "$T/units"
	# LoadCredential=: systemd copies the file where %d points.
	grep -qx "LoadCredential=site.pem:$T/fs/etc/tls/site.pem" "$T/units/tlsstripd.service"
	cp "$T/fs/etc/tls/site.pem" "$T/cred/site.pem"
	activate "$T/units" tlsstripd "$GTR_BIN"
	[ "$(curl -sS https://site.example/)" = "proto= xff= subject=" ]
	[ "$(curl -sS https://www.example.org/)" = "proto= xff= subject=" ]
	[ "$(grep -o '^tlsstripd\[[0-9]*\]' "$T/tlsstripd.log" | sort -u | wc -l)" -eq 1 ]
}
@test "tlsstripd.8#4: the systemd units verify, and one tlsstripd serves every connection" {
	ns_run tlsstripd.8#4 ex_tlsstripd_4
}

ex_tlsstripd_5() {
	web_origin
	htpasswd -bBc "$T/fs/etc/gtr/htpasswd" alice secret 2> /dev/null
	ex_serve 1 tlsstripd 8443
	ex_run 2
	[ "$(cat "$OUT")" = "$BODY" ]
	# Not an open proxy.
	[ "$(code -p -x https://proxy.example:8443 https://example.org/)" = "000 407" ]
}
@test "tlsstripd.8#5: an HTTPS proxy, connectd behind tlsstripd, with passwords" {
	ns_run tlsstripd.8#5 ex_tlsstripd_5
}

ex_tlsstripd_6() {
	web_origin
	ex_serve 1 tlsstripd 8443
	ex_run 2
	[ "$(cat "$OUT")" = "$BODY" ]
	# Not an open relay: a client without a certificate gets nothing.
	fails curl -sS -m 20 -x https://proxy.example:8443 http://example.org/
}
@test "tlsstripd.8#6: an HTTPS relay, relayd behind tlsstripd, for clients with a certificate" {
	ns_run tlsstripd.8#6 ex_tlsstripd_6
}

ex_tlsstripd_7() {
	ftp_site
	ex_serve 1 tlsstripd 443
	ex_run 2
	[ "$(cat "$OUT")" = "README of the example FTP site" ]
}
@test "tlsstripd.8#7: an FTP site over HTTPS, httpftpd behind tlsstripd" {
	ns_run tlsstripd.8#7 ex_tlsstripd_7
}

ex_tlsstripd_8() {
	printf '%s\n' '#!/bin/sh' 'printf "Content-Type: text/plain\n\n"' \
	    'echo "subject: $SSL_CLIENT_S_DN, verify: $SSL_CLIENT_VERIFY"' \
	    > "$T/fs/srv/app.cgi"
	chmod 755 "$T/fs/srv/app.cgi"
	ex_serve 1 tlsstripd 8443
	ex_run 2
	[ "$(cat "$OUT")" = "subject: CN=alice,O=Example, verify: SUCCESS" ]
	fails curl -sS -m 20 https://www.example.org:8443/
}
@test "tlsstripd.8#8: a CGI program over HTTPS finds the client's subject in SSL_CLIENT_S_DN" {
	ns_run tlsstripd.8#8 ex_tlsstripd_8
}

ex_tlsstripd_9() {
	web_origin
	silent_lookups
	ex_serve 1 tcpserver 8443
	[ "$(curl -sS -m 20 https://www.example.org:8443/)" = "$BODY" ]
	[ "$(curl -sS -m 20 https://site.example:8443/api)" = "the api answers" ]
	wait_log '^tlsstripd\[[0-9]+\]: info: conn=[0-9]+ client=127\.0\.0\.1:[0-9]+ .*upstream=127\.0\.0\.1:80 ' "$T/tcpserver.log"
}
@test "tlsstripd.8#9: tcpserver runs tlsstripd per connection in front of a web server" {
	ns_run tlsstripd.8#9 ex_tlsstripd_9
}

# --- tlswrapd(8) --------------------------------------------------------

ex_tlswrapd_1() {
	ORIGIN_8443=1 web_origin
	ex_serve 1 tlswrapd 8081
	ex_output 2 "$T/tlswrapd.log"
	ex_run 3
	[ "$(cat "$OUT")" = "$BODY" ]
	ex_run 4
	[ "$(cat "$OUT")" = "the api answers" ]
	wait_log 'target=https://example\.org:8443/api status=200 ' "$T/tlswrapd.log"
	# Over TLS: nginx logged both requests on its TLS ports.
	[ "$(grep -c '"GET /\(api\)\{0,1\} HTTP/1.1" 200' "$T/nginx/access.log")" -eq 2 ]
}
@test "tlswrapd.8#1: tlswrapd alone listens on 127.0.0.1:8081; wget and curl get verified HTTPS on 443 and 8443" {
	ns_run tlswrapd.8#1 ex_tlswrapd_1
}

ex_tlswrapd_2() {
	mkdir -p "$T/www/v1"
	echo "status: ok" > "$T/www/v1/status"
	cp "$T/pki/pca.pem" "$T/fs/etc/ssl/private-ca.pem"
	cp "$T/pki/alice.crt" "$T/fs/etc/gtr/client.pem"
	cp "$T/pki/alice.key" "$T/fs/etc/gtr/client.key"
	nginx_up "server {
		listen 127.0.0.1:8443 ssl;
		ssl_certificate $T/pki/private.crt;
		ssl_certificate_key $T/pki/private.key;
		ssl_client_certificate $T/pki/cca.pem;
		ssl_verify_client on;
	}"
	wait_port 8443
	ex_serve 1 tlswrapd 8080
	ex_run 2
	[ "$(cat "$OUT")" = "status: ok" ]
	# The private CA is not the system's: curl alone does not trust it.
	fails curl -sS -m 20 --cert "$T/pki/alice.pem" https://api.example:8443/v1/status
}
@test "tlswrapd.8#2: origin mode to an API with a private CA that asks for a client certificate" {
	ns_run tlswrapd.8#2 ex_tlswrapd_2
}

ex_tlswrapd_3() {
	web_origin
	ex_units "$T/units"
	activate "$T/units" tlswrapd "$GTR_BIN"
	[ "$(curl -sS -x http://127.0.0.1:8081 http://example.org/)" = "$BODY" ]
	[ "$(curl -sS -x http://127.0.0.1:8081 http://www.example.org/api)" = "the api answers" ]
	wait_log 'target=https://www\.example\.org:443/api status=200' "$T/tlswrapd.log"
	[ "$(grep -o '^tlswrapd\[[0-9]*\]' "$T/tlswrapd.log" | sort -u | wc -l)" -eq 1 ]
}
@test "tlswrapd.8#3: the systemd units verify, and one tlswrapd serves every connection" {
	ns_run tlswrapd.8#3 ex_tlswrapd_3
}

ex_tlswrapd_4() {
	nginx_up "server {
		listen 127.0.0.1:443 ssl;
		ssl_certificate $T/pki/self.crt;
		ssl_certificate_key $T/pki/self.key;
	}"
	wait_port 443
	ex_serve 1 tlswrapd 8081
	ex_output 2 "$T/tlswrapd.log"
	ex_run 3
	[ "$(cat "$OUT")" = "$BODY" ]
	fails curl -sS -m 20 https://test.internal/
}
@test "tlswrapd.8#4: --insecure reaches a self-signed origin, and says so" {
	ns_run tlswrapd.8#4 ex_tlswrapd_4
}

# --- gtr(7) -------------------------------------------------------------

ex_gtr_1() {
	web_origin
	htpasswd -bBc pw alice secret 2> /dev/null
	cp site.pem c.pem
	ex_comment 1
	ex_serve 2 tlsstripd 3129
	[ "$(curl -sS -p -x https://alice:secret@proxy.example:3129 https://example.org/)" = "$BODY" ]
	[ "$(code -p -x https://proxy.example:3129 https://example.org/)" = "000 407" ]
	stop tlsstripd
	stop nginx
	ftp_site
	ex_comment 3
	ex_serve 4 tlsstripd 443
	[ "$(curl -sS https://ftp.example/pub/README)" = "README of the example FTP site" ]
	stop tlsstripd
	web_origin
	ex_comment 5
	ex_serve 6 relayd 8080
	curl -sS -D "$T/head" -o "$T/body" http://127.0.0.1:8080/api
	[ "$(cat "$T/body")" = "the api answers" ]
	grep -qi '^Connection: close' "$T/head"
	grep -q '"GET /api HTTP/1.1" 200' "$T/nginx/access.log"
	mkdir -p "$T/fs/srv/cgi"
	cp "$EXD/cgid.8#8.txt" "$T/fs/srv/cgi/hello.sh"
	chmod 755 "$T/fs/srv/cgi" "$T/fs/srv/cgi/hello.sh"
	ex_comment 7
	ex_serve 8 cgid 8443
	[ "$(curl -sS https://site.example:8443/hello.sh/x)" = "hello from /hello.sh, path /x" ]
}
@test "gtr.7#1: the chains: an HTTPS proxy, an FTP site over HTTPS, HTTP to HTTPS through a relay, CGI behind TLS" {
	ns_run gtr.7#1 ex_gtr_1
}

ex_gtr_2() {
	web_origin
	ex_cmd 1
	eval "$CMD" > "$T/connectd.log" 2>&1
	wait_port 3128
	ex_run 2
	[ "$(cat "$OUT")" = "$BODY" ]
	ex_cmd 3
	eval "$CMD" > "$T/relayd.log" 2>&1
	wait_port 8080
	ex_run 4
	[ "$(cat "$OUT")" = "$BODY" ]
	wait_log 'listening on 127\.0\.0\.1:3128' "$T/connectd.log"
	wait_log 'listening on 127\.0\.0\.1:8080' "$T/relayd.log"
}
@test "gtr.7#2: connectd & and relayd & from a script listen on loopback, and serve curl" {
	ns_run gtr.7#2 ex_gtr_2
}

ex_gtr_3() {
	local d=$TOP/contrib/systemd s
	web_origin
	ex_inetd 1
	[ "$(curl -sS -m 20 -p -x http://127.0.0.1:3128 https://example.org/)" = "$BODY" ]
	stop inetd
	# systemctl enable --now: the two sockets of contrib/systemd as make
	# install puts them (PREFIX=/usr/local), each started as systemd
	# would (no systemd as PID 1 here).
	ex_skip 2 "no systemd as PID 1: contrib's two sockets run with systemd-socket-activate instead"
	mkdir -p "$T/units"
	for s in connectd relayd; do
		for f in "$s.socket" "$s.service" "$s@.service"; do
			sed 's#@BINDIR@#/usr/local/bin#g' "$d/$f" > "$T/units/$f"
		done
		grep -qx 'WantedBy=sockets.target' "$T/units/$s.socket"
		activate "$T/units" "$s" "$GTR_BIN"
	done
	[ "$(curl -sS -m 20 -p -x http://127.0.0.1:3128 https://example.org/)" = "$BODY" ]
	[ "$(curl -sS -m 20 -x http://127.0.0.1:8080 http://example.org/)" = "$BODY" ]
	stop relayd
	silent_lookups
	ex_serve 3 tcpserver 8080
	[ "$(curl -sS -m 20 -x http://127.0.0.1:8080 http://example.org/)" = "$BODY" ]
}
@test "gtr.7#3: the same from inetd, systemd's sockets and tcpserver" {
	ns_run gtr.7#3 ex_gtr_3
}

# --- README.md ----------------------------------------------------------

ex_readme_1() {
	ex_line 1
	[[ $LINE == "make demo "* ]]
	local san=
	grep -q fsanitize "$GTR_BUILD/.flags" && san=1
	make -C "$TOP" B="$GTR_BUILD" BIN="$GTR_BIN" SANITIZE=$san demo > "$T/demo.log" 2>&1
	has "$T/demo.log" "gtr demo: every step worked"
	fails grep -E '^  (FAIL|not ok)' "$T/demo.log"
	ex_skip 2 "make check is the suite this file is part of"
}
@test "README.md#1: make demo shows each program at work" {
	ns_run README.md#1 ex_readme_1
}

ex_readme_2() {
	web_origin
	ex_serve 1 connectd 3128
	ex_serve 2 relayd 8080
	[ "$(curl -sS -p -x http://127.0.0.1:3128 https://example.org/)" = "$BODY" ]
	[ "$(code -p -x http://127.0.0.1:3128 https://example.org:8443/)" = "000 403" ]
	wait_log 'listening on 127\.0\.0\.1:3128' "$T/connectd.log"
	[ "$(curl -sS http://127.0.0.1:8080/api)" = "the api answers" ]
	wait_log 'listening on 0\.0\.0\.0:8080' "$T/relayd.log"
}
@test "README.md#2: connectd on loopback port 3128, relayd publicly to a fixed origin" {
	ns_run README.md#2 ex_readme_2
}

ex_readme_3() {
	local san= u=$T/inst/usr/local/lib/systemd/system
	web_origin
	grep -q fsanitize "$GTR_BUILD/.flags" && san=1
	ex_line 1
	[[ $LINE == "make && sudo make install "* ]]
	make -C "$TOP" B="$GTR_BUILD" BIN="$GTR_BIN" SANITIZE=$san > "$T/make.log" 2>&1
	make -C "$TOP" B="$GTR_BUILD" BIN="$GTR_BIN" SANITIZE=$san \
	    DESTDIR="$T/inst" install >> "$T/make.log" 2>&1
	ex_skip 2 "no systemd as PID 1"
	ex_skip 3 "no systemd as PID 1: the installed connectd.socket runs with systemd-socket-activate instead"
	[ -f "$u/connectd.socket" ]
	activate "$u" connectd "$T/inst/usr/local/bin"
	ex_run 4
	[ "$(cat "$OUT")" = "$BODY" ]
	ex_skip 5 "no journal here: StandardError=journal sends the log there; it is read from the unit's stderr instead"
	grep -qx 'StandardError=journal' "$u/connectd@.service"
	wait_log '^connectd\[[0-9]+\]: info: conn=[0-9]+ client=127\.0\.0\.1:[0-9]+ method=CONNECT target=example\.org:443 status=200 ' "$T/connectd.log"
}
@test "README.md#3: make install, then the installed connectd.socket tunnels curl, the access line in its log" {
	ns_run README.md#3 ex_readme_3
}

ex_readme_4() {
	web_origin
	ex_inetd 1
	[ "$(curl -sS -p -x http://127.0.0.1:3128 https://example.org/)" = "$BODY" ]
}
@test "README.md#4: the inetd.conf line tunnels" {
	ns_run README.md#4 ex_readme_4
}

ex_readme_5() {
	web_origin
	silent_lookups
	ex_serve 1 tcpserver 8080
	[ "$(curl -sS -m 20 http://127.0.0.1:8080/)" = "$BODY" ]
	wait_log '^relayd\[[0-9]+\]: info: conn=[0-9]+ client=127\.0\.0\.1:[0-9]+ method=GET target=/ status=200 ' "$T/tcpserver.log"
}
@test "README.md#5: tcpserver runs relayd to a fixed origin" {
	ns_run README.md#5 ex_readme_5
}

ex_readme_6() {
	ftp_site
	ex_serve 1 tlsstripd 443
	ex_run 2
	[ "$(cat "$OUT")" = "README of the example FTP site" ]
}
@test "README.md#6: tlsstripd runs httpftpd per connection for HTTPS to an FTP site" {
	ns_run README.md#6 ex_readme_6
}
