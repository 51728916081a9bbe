#!/usr/bin/env bats
# contrib.bats - the launch recipes in contrib/, run for real.
#
# Each test takes a recipe as shipped (a systemd unit's ListenStream and
# ExecStart, an inetd.conf line, contrib/tcpserver.sh or contrib/socat.sh),
# changes only ports, paths and the user, starts it with the real launcher
# (systemd-socket-activate, openbsd-inetd, tcpserver, socat) and serves a
# real request through each program to a real server: nginx, pyftpdlib,
# nginx over TLS, a CGI program of tests/cgi.  Last, make install and
# make uninstall into a DESTDIR under $T.
#
# The units' sandbox cannot run as systemd runs it: that needs systemd as
# PID 1, which the test machine does not have.  What can be checked is:
# systemd-analyze verify and security read every unit; and the sandbox's
# seccomp part, the directives most likely to break a program
# (SystemCallFilter=@system-service, SystemCallArchitectures=native,
# RestrictAddressFamilies=, MemoryDenyWriteExecute=), is rebuilt as
# systemd 252 builds it (sandbox_py below) and each program serves under
# it as user nobody, with no_new_privs and no capability.  The
# namespace directives (ProtectSystem=, ProtectHome=, PrivateTmp=,
# PrivateDevices=, ProtectKernel*=, ProtectControlGroups=, ProtectProc=),
# DynamicUser='s allocation, LoadCredential= and the smaller seccomp
# filters (RestrictNamespaces=, RestrictRealtime=, RestrictSUIDSGID=,
# LockPersonality=) are checked by verify only.

load helpers/common
load helpers/ftpd

CONTRIB=$BATS_TEST_DIRNAME/../contrib
CGI=$BATS_TEST_DIRNAME/cgi
PROGRAMS="connectd relayd tlswrapd httpftpd tlsstripd cgid"

# Launchers leave children behind (inetd's wait-mode server, a process
# per connection): put them on the kill list before the launchers go.
teardown() {
	local pid
	if [ -f "$T/pids" ]; then
		for pid in $(cat "$T/pids"); do
			ps -o pid= --ppid "$pid" >> "$T/pids" || true
		done
	fi
	common_teardown
}

# default_port PROGRAM: the program's default address's port (DESIGN.md).
default_port() {
	case $1 in
	connectd) echo 3128 ;; relayd) echo 8080 ;; tlswrapd) echo 8081 ;;
	httpftpd) echo 8021 ;; tlsstripd) echo 8443 ;; cgid) echo 8000 ;;
	esac
}

# origin: nginx on a free port serving hello.txt with a content unique to
# this test; sets NP and BODY.
origin() {
	NP=$(free_port)
	mkdir -p "$T/www"
	BODY="hello from nginx, $BATS_TEST_NUMBER $RANDOM$RANDOM"
	printf '%s\n' "$BODY" > "$T/www/hello.txt"
	# nginx's workers run unprivileged: they must reach $T/www.
	chmod 755 "$T" "$T/www"
	chmod 644 "$T/www/hello.txt"
	nginx_start "$NP"
}

# unit_key FILE KEY: the value of KEY= in a systemd unit.
unit_key() {
	sed -n "s/^$2=//p" "$CONTRIB/systemd/$1"
}

# unit_exec FILE: the unit's ExecStart with the binary taken from $GTR_BIN,
# the credentials directory (%d) as $T/cred, and the placeholders the
# scene set (SUB, sed expressions) replaced.
unit_exec() {
	unit_key "$1" ExecStart | sed -e "s|@BINDIR@/|$GTR_BIN/|g" \
	    -e "s|%d/|$T/cred/|g" "${SUB[@]}"
}

# unit_listen PROGRAM PORT: PROGRAM.socket's ListenStream, which must be
# loopback at the program's default port, moved to PORT.
unit_listen() {
	local l
	l=$(unit_key "$1.socket" ListenStream)
	[ "$l" = "127.0.0.1:$(default_port "$1")" ] || {
		echo "$1.socket listens on $l" >&2
		return 1
	}
	echo "127.0.0.1:$2"
}

# The scenes: scene_PROGRAM starts the real server the program talks to
# and sets SUB (sed expressions for the placeholders of its ExecStart)
# and EXTRA (options a loopback test adds: destinations on 127.0.0.1);
# fetch_PROGRAM PORT makes one request through the program on PORT and
# checks the answer, with the head in $T/head and the body in $T/body.
SUB=()
EXTRA=()

scene_connectd() {
	origin
	EXTRA=(--allow-dest 127.0.0.1 --allow-port "$NP")
}
fetch_connectd() {
	tunnel_get "$1"
	assert_tunneled
}

scene_relayd() {
	origin
	EXTRA=(--allow-dest 127.0.0.1 --allow-port "$NP")
}
fetch_relayd() {
	relay_get "$1"
	assert_relayed
}

scene_tlswrapd() {
	https_origin
	EXTRA=(--cacert "$T/pki/ca.pem" --allow-dest 127.0.0.1
	    --allow-port "$SPORT")
}
fetch_tlswrapd() {
	# http:// with an explicit port: tlswrapd goes to https:// there.
	curl -sS -m 30 -x "http://127.0.0.1:$1" -D "$T/head" -o "$T/body" \
	    "http://127.0.0.1:$SPORT/index.html"
	grep -q '^HTTP/1.1 200' "$T/head"
	grep -q '^Server: nginx' "$T/head"
	[ "$(cat "$T/body")" = "hello over tls" ]
}

scene_httpftpd() {
	FP=$(free_port)
	ftp_tree "$T/root"
	pyftpd_start "$FP"
	EXTRA=(--allow-dest 127.0.0.1 --allow-port "$FP")
}
fetch_httpftpd() {
	curl -sS -m 30 -x "http://127.0.0.1:$1" -D "$T/head" -o "$T/body" \
	    "ftp://127.0.0.1:$FP/a.txt"
	grep -q '^HTTP/1.1 200' "$T/head"
	[ "$(cat "$T/body")" = hello ]
}

# tlsstripd's certificate goes where systemd's LoadCredential= would put
# it ($T/cred for %d), readable by the unit's user; the plaintext goes to
# nginx instead of 127.0.0.1:8080.
scene_tlsstripd() {
	origin
	make_ca "$T/pki"
	make_cert "$T/pki" localhost "DNS:localhost,IP:127.0.0.1"
	mkdir -p "$T/cred"
	cp "$T/pki/localhost.pem" "$T/cred/tlsstripd.pem"
	chmod 755 "$T/cred"
	chmod 644 "$T/cred/tlsstripd.pem"
	SUB=(-e "s|-c 127\.0\.0\.1:8080\$|-c 127.0.0.1:$NP|"
	    -e "s|/etc/gtr/tlsstripd\.pem|$T/cred/tlsstripd.pem|")
}
fetch_tlsstripd() {
	curl -sS -m 30 --cacert "$T/pki/ca.pem" -D "$T/head" -o "$T/body" \
	    "https://127.0.0.1:$1/hello.txt"
	grep -q '^HTTP/1.1 200' "$T/head"
	grep -q '^Server: nginx' "$T/head"
	assert_origin_body
}

# cgid's --root is a copy of tests/cgi, searchable by the unit's user.
scene_cgid() {
	mkdir -p "$T/cgi"
	cp -p "$CGI"/hello.sh "$CGI"/env.py "$T/cgi/"
	chmod 755 "$T" "$T/cgi"
	SUB=(-e "s|--root /srv/cgi-bin\$|--root $T/cgi|")
}
fetch_cgid() {
	curl -sS -m 30 -D "$T/head" -o "$T/body" "http://127.0.0.1:$1/hello.sh"
	grep -q '^HTTP/1.1 200' "$T/head"
	[ "$(cat "$T/body")" = hello ]
}

# relay_get PROXYPORT: GET hello.txt from the origin through relayd as an
# HTTP proxy; the head goes to $T/head, the body to $T/body.
relay_get() {
	curl -sS -m 30 -x "http://127.0.0.1:$1" -D "$T/head" -o "$T/body" \
	    "http://127.0.0.1:$NP/hello.txt"
}

# tunnel_get PROXYPORT: the same through a CONNECT tunnel (curl -p).
tunnel_get() {
	curl -sS -m 30 -p -x "http://127.0.0.1:$1" -D "$T/head" -o "$T/body" \
	    "http://127.0.0.1:$NP/hello.txt"
}

# refute FILE... PATTERN: fails if an extended regex matches in any FILE
# that exists (a plain "! grep" would not fail a bats test).
refute() {
	local pat=${!#} files=("${@:1:$#-1}") f
	for f in "${files[@]}"; do
		[ -f "$f" ] || continue
		if grep -Eqi -- "$pat" "$f"; then
			echo "unexpected in $f: $pat" >&2
			grep -Ei -- "$pat" "$f" >&2
			return 1
		fi
	done
}

# assert_origin_body: the body is exactly nginx's file, with no log line
# or anything else mixed into it.
assert_origin_body() {
	printf '%s\n' "$BODY" | cmp - "$T/body" || {
		echo "--- body"; cat "$T/body"; false
	}
}

# assert_relayed: relayd's exchange reached nginx and came back closed.
assert_relayed() {
	grep -q '^HTTP/1.1 200' "$T/head"
	grep -qi '^Connection: close' "$T/head"
	refute "$T/head" '^Connection: keep-alive'
	assert_origin_body
}

# assert_tunneled: connectd said 200 and the origin's answer came through.
assert_tunneled() {
	grep -q '^HTTP/1.1 200 Connection established' "$T/head"
	grep -q '^Server: nginx' "$T/head"
	assert_origin_body
}

# access_pids LOG PROG: the pids of PROG's access lines in LOG for a
# tunnel or exchange to the origin, one each.
access_pids() {
	sed -n "s/^$2\[\([0-9]*\)\]: info: \(conn=[0-9]* \)\{0,1\}client=.* target=[^ ]*127\.0\.0\.1:$NP[^ ]* status=.*/\1/p" \
	    "$T/$1.log" | sort -u
}

# served LOG PROG: PROG's access lines in LOG, for a client on loopback.
served() {
	grep -E "^$2\[[0-9]+\]: info: conn=[0-9]+ client=127\.0\.0\.1:[0-9]+ .*reason=done( |\$)" \
	    "$T/$1.log"
}

# served_pids LOG PROG: the pids those lines came from, one each.
served_pids() {
	served "$1" "$2" | sed 's/^[^[]*\[\([0-9]*\)\].*/\1/' | sort -u
}

# wait_served LOG PROG N: waits up to 10 s until LOG has N access lines
# of PROG (a line may come after the client has its answer).
wait_served() {
	local i
	for i in $(seq 100); do
		[ "$(served "$1" "$2" | wc -l)" -ge "$3" ] && return 0
		sleep 0.1
	done
	echo "fewer than $3 access lines of $2 in $T/$1.log after 10 s" >&2
	return 1
}

# wait_no_children PID: waits up to 10 s until PID has no children.
wait_no_children() {
	local i
	for i in $(seq 100); do
		[ "$(child_count "$1")" -eq 0 ] && return 0
		sleep 0.1
	done
	echo "$1 still has children after 10 s:" >&2
	ps -o pid=,args= --ppid "$1" >&2
	return 1
}

# accept_yes PROGRAM: PROGRAM.socket's address with Accept=yes and
# PROGRAM@.service's ExecStart: each of two requests is served by a
# process of its own, which logs its access line and exits.
accept_yes() {
	local prog=$1 p
	p=$(free_port)
	"scene_$prog"
	bg ssa systemd-socket-activate --accept -l "$(unit_listen "$prog" "$p")" \
	    $(unit_exec "$prog@.service") "${EXTRA[@]}"
	wait_port "$p"
	"fetch_$prog" "$p"
	"fetch_$prog" "$p"
	wait_no_children "$ssa_pid"
	[ "$(served ssa "$prog" | wc -l)" -eq 2 ]
	[ "$(served_pids ssa "$prog" | wc -l)" -eq 2 ]
	served_pids ssa "$prog" > "$T/pids.seen"
	refute "$T/pids.seen" "^$ssa_pid\$"
	refute "$T/ssa.log" ': (error|warning):'
}

# accept_no PROGRAM [WRAPPER...]: PROGRAM.socket's address with Accept=no
# and PROGRAM.service's ExecStart (under WRAPPER): one process serves
# both requests, and keeps running on $PORT.
accept_no() {
	local prog=$1 p
	shift
	p=$(free_port)
	PORT=$p
	"scene_$prog"
	bg ssa systemd-socket-activate -l "$(unit_listen "$prog" "$p")" \
	    "$@" $(unit_exec "$prog.service") "${EXTRA[@]}"
	wait_port "$p"
	"fetch_$prog" "$p"
	"fetch_$prog" "$p"
	wait_served ssa "$prog" 2
	[ "$(served ssa "$prog" | wc -l)" -eq 2 ]
	[ "$(served_pids ssa "$prog")" = "$ssa_pid" ]
	kill -0 "$ssa_pid"
	refute "$T/ssa.log" ': (error|warning):|Bad system call'
}

# sandbox_py: writes $T/sandbox.py, which execs its arguments under the
# seccomp filters systemd 252 (Debian 12) loads for the units'
# SystemCallFilter=@system-service, SystemCallArchitectures=native,
# RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 and
# MemoryDenyWriteExecute=yes: the same system call list (from
# systemd-analyze), the same actions (SIGSYS for a call off the list,
# EPERM for writable executable memory, EAFNOSUPPORT for another socket
# family).
sandbox_py() {
	cat > "$T/sandbox.py" <<'PY'
import ctypes, errno, os, platform, re, struct, subprocess, sys

ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}[platform.machine()]
ALLOW, KILL, ERRNO = 0x7FFF0000, 0x80000000, 0x00050000
LD, JEQ, JSET, RET, AND = 0x20, 0x15, 0x45, 0x06, 0x54

def arg(i):
	return 16 + 8 * i		# struct seccomp_data: args[i], low half

def syscalls():
	out = subprocess.run(["cc", "-E", "-dM", "-"],
	    input="#include <sys/syscall.h>\n", capture_output=True,
	    text=True, check=True).stdout
	defs = dict(re.findall(r"#define (__NR\w*) (\w+)", out))
	nr = {}
	for name, v in defs.items():
		while v in defs:	# asm-generic: __NR_fcntl __NR3264_fcntl
			v = defs[v]
		if name.startswith("__NR_") and v.isdigit():
			nr[name[5:]] = int(v)
	return nr

def groups():
	g, cur = {}, None
	out = subprocess.run(["systemd-analyze", "syscall-filter"],
	    capture_output=True, text=True, check=True).stdout
	for line in out.splitlines():
		w = line.strip()
		if line.startswith("@"):
			cur = g.setdefault(w, [])
		elif cur is not None and w and not w.startswith("#"):
			cur.append(w)
	return g

def expand(g, name, seen):
	for s in g[name]:
		if s.startswith("@"):
			expand(g, s, seen)
		else:
			seen.add(s)
	return seen

class Fprog(ctypes.Structure):
	_fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

def load(ins):
	buf = ctypes.create_string_buffer(
	    b"".join(struct.pack("HBBI", *i) for i in ins))
	p = Fprog(len(ins), ctypes.addressof(buf))
	libc = ctypes.CDLL(None, use_errno=True)
	if libc.prctl(22, 2, ctypes.byref(p), 0, 0) != 0:  # PR_SET_SECCOMP
		sys.exit("seccomp: " + os.strerror(ctypes.get_errno()))

nr = syscalls()
allowed = sorted({nr[s] for s in expand(groups(), "@system-service", set())
    if s in nr})
f = [(LD, 0, 0, 4), (JEQ, 1, 0, ARCH), (RET, 0, 0, KILL), (LD, 0, 0, 0)]
if ARCH == 0xC000003E:		# x32 calls are another ABI
	f += [(JSET, 0, 1, 0x40000000), (RET, 0, 0, KILL)]
for n in allowed:
	f += [(JEQ, 0, 1, n), (RET, 0, 0, ALLOW)]
load(f + [(RET, 0, 0, KILL)])

PROT_WRITE, PROT_EXEC, SHM_EXEC = 2, 4, 0o100000
f = []
for name, mask in (("mmap", PROT_WRITE | PROT_EXEC), ("mprotect", PROT_EXEC),
    ("pkey_mprotect", PROT_EXEC), ("shmat", SHM_EXEC)):
	f += [(LD, 0, 0, 0), (JEQ, 0, 4, nr[name]), (LD, 0, 0, arg(2)),
	    (AND, 0, 0, mask), (JEQ, 0, 1, mask),
	    (RET, 0, 0, ERRNO | errno.EPERM)]
load(f + [(RET, 0, 0, ALLOW)])

load([(LD, 0, 0, 0), (JEQ, 0, 5, nr["socket"]), (LD, 0, 0, arg(0)),
    (JEQ, 3, 0, 1), (JEQ, 2, 0, 2), (JEQ, 1, 0, 10),	# UNIX INET INET6
    (RET, 0, 0, ERRNO | errno.EAFNOSUPPORT), (RET, 0, 0, ALLOW)])
os.execv(sys.argv[1], sys.argv[1:])
PY
	chmod 755 "$T"
	chmod 644 "$T/sandbox.py"
}

# assert_sandboxed PID: PID runs as nobody, with no_new_privs, an empty
# capability bounding set and sandbox_py's three filters.
assert_sandboxed() {
	local st=/proc/$1/status
	[ "$(ps -o user= -p "$1")" = nobody ]
	grep -qx $'NoNewPrivs:\t1' "$st"
	grep -qx $'CapBnd:\t0000000000000000' "$st"
	grep -qx $'Seccomp:\t2' "$st"
	grep -qx $'Seccomp_filters:\t3' "$st"
}

# sandboxed: prints the command that runs what follows it as the units
# do, as far as that goes without systemd: user nobody (for DynamicUser=),
# no_new_privs, no capability, and the filters of sandbox_py.
sandboxed() {
	sandbox_py
	echo setpriv --reuid=nobody --regid=nogroup --clear-groups \
	    --inh-caps=-all --bounding-set=-all --no-new-privs \
	    /usr/bin/python3 "$T/sandbox.py"
}

@test "each program has a .socket, an @.service and a .service, on loopback at its default port" {
	local prog acc
	for prog in $PROGRAMS; do
		[ -f "$CONTRIB/systemd/$prog.socket" ]
		[ -f "$CONTRIB/systemd/$prog@.service" ]
		[ -f "$CONTRIB/systemd/$prog.service" ]
		unit_listen "$prog" 1
		[ "$(unit_key "$prog.socket" ListenStream | wc -l)" -eq 1 ]
		# One ExecStart, the same in both services, of this program.
		[ "$(unit_key "$prog.service" ExecStart | wc -l)" -eq 1 ]
		[ "$(unit_key "$prog@.service" ExecStart)" = \
		    "$(unit_key "$prog.service" ExecStart)" ]
		[[ "$(unit_key "$prog.service" ExecStart)" == "@BINDIR@/$prog"* ]]
		[ "$(unit_key "$prog.service" Requires)" = "$prog.socket" ]
		[ "$(unit_key "$prog.service" Also)" = "$prog.socket" ]
		[ "$(unit_key "$prog.socket" WantedBy)" = sockets.target ]
		refute "$CONTRIB/systemd/$prog@.service" '^\[Install\]'
		# The long-lived programs keep what they share across
		# connections (TLS sessions, FTP logins, certificates):
		# Accept=no; connectd needs nothing shared.
		acc=no
		[ "$prog" = connectd ] && acc=yes
		[ "$(unit_key "$prog.socket" Accept)" = "$acc" ]
	done
	[ "$(unit_key relayd.service ExecStart)" = @BINDIR@/relayd ]
	[ "$(unit_key connectd@.service ExecStart)" = @BINDIR@/connectd ]
	[ "$(unit_key tlswrapd.service ExecStart)" = @BINDIR@/tlswrapd ]
	[ "$(unit_key httpftpd.service ExecStart)" = @BINDIR@/httpftpd ]
	[ "$(unit_key tlsstripd.service ExecStart)" = \
	    "@BINDIR@/tlsstripd --cert %d/tlsstripd.pem -c 127.0.0.1:8080" ]
	[ "$(unit_key tlsstripd.service LoadCredential)" = \
	    tlsstripd.pem:/etc/gtr/tlsstripd.pem ]
	[ "$(unit_key cgid.service ExecStart)" = \
	    "@BINDIR@/cgid --root /srv/cgi-bin" ]
	# No unit beyond the eighteen.
	[ "$(ls "$CONTRIB/systemd" | wc -l)" -eq 18 ]
}

@test "every service logs to the journal, takes its socket as fd 3 and carries the whole sandbox" {
	local f d
	for f in "$CONTRIB"/systemd/*.service; do
		refute "$f" 'StandardInput=socket|StandardOutput=socket|StandardError=socket|/usr/local'
		for d in StandardInput=null StandardError=journal \
		    DynamicUser=yes NoNewPrivileges=yes CapabilityBoundingSet= \
		    AmbientCapabilities= UMask=0077 ProtectSystem=strict \
		    ProtectHome=yes PrivateTmp=yes PrivateDevices=yes \
		    PrivateMounts=yes ProtectKernelTunables=yes \
		    ProtectKernelModules=yes ProtectKernelLogs=yes \
		    ProtectControlGroups=yes ProtectClock=yes \
		    ProtectHostname=yes ProtectProc=invisible \
		    'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6' \
		    RestrictNamespaces=yes RestrictRealtime=yes \
		    RestrictSUIDSGID=yes LockPersonality=yes \
		    MemoryDenyWriteExecute=yes RemoveIPC=yes \
		    SystemCallFilter=@system-service \
		    SystemCallArchitectures=native; do
			grep -qx -- "$d" "$f" || {
				echo "$f: no $d" >&2
				return 1
			}
		done
		# Nothing loosens it again further down.
		[ "$(grep -c '^SystemCallFilter=' "$f")" -eq 1 ]
		refute "$f" '^(User|Group|PrivateNetwork|ReadWritePaths)='
	done
}

# verify_units DIR: systemd-analyze verify of every unit in DIR, after
# @BINDIR@ is replaced (verify wants the programs to exist).
verify_units() {
	sed -i "s|@BINDIR@/|$GTR_BIN/|g" "$1"/*.service
	cd "$1"
	run systemd-analyze verify --man=no ./*.socket ./*.service
	cd - > /dev/null
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "the systemd units pass systemd-analyze verify with no warning, with either Accept=" {
	mkdir "$T/units" "$T/flipped"
	cp "$CONTRIB"/systemd/* "$T/units/"
	[ "$(ls "$T"/units/*.socket | wc -l)" -eq 6 ]
	[ "$(ls "$T"/units/*.service | wc -l)" -eq 12 ]
	verify_units "$T/units"
	# The other Accept= the sockets' comments offer needs the other
	# service, which is there.
	cp "$CONTRIB"/systemd/* "$T/flipped/"
	sed -i -e 's/^Accept=yes$/Accept=x/' -e 's/^Accept=no$/Accept=yes/' \
	    -e 's/^Accept=x$/Accept=no/' "$T"/flipped/*.socket
	[ "$(grep -l '^Accept=yes' "$T"/flipped/*.socket | wc -l)" -eq 5 ]
	verify_units "$T/flipped"
}

@test "systemd-analyze security rates every service's exposure at 1.5 or better" {
	local f
	mkdir "$T/units"
	cp "$CONTRIB"/systemd/* "$T/units/"
	sed -i "s|@BINDIR@/|$GTR_BIN/|g" "$T"/units/*.service
	cd "$T/units"
	for f in *.service; do
		run systemd-analyze security --offline=yes --threshold=15 "./$f"
		[ "$status" -eq 0 ] || {
			echo "$f:"; printf '%s\n' "$output" | tail -3; false
		}
	done
}

@test "connectd.socket with Accept=yes and connectd@.service: a process per tunnel" {
	accept_yes connectd
}
@test "connectd.service's ExecStart with Accept=no serves every tunnel in one process" {
	accept_no connectd
}
@test "relayd.socket with Accept=yes and relayd@.service: a process per exchange" {
	accept_yes relayd
}
@test "relayd.socket with Accept=no and relayd.service: one process relays every exchange" {
	accept_no relayd
}
@test "tlswrapd.socket with Accept=yes and tlswrapd@.service: a process per connection to an HTTPS nginx" {
	accept_yes tlswrapd
}
@test "tlswrapd.socket with Accept=no and tlswrapd.service: one process for every connection" {
	accept_no tlswrapd
}
@test "httpftpd.socket with Accept=yes and httpftpd@.service: a process per connection to pyftpdlib" {
	accept_yes httpftpd
	[ "$(grep -c 'RETR a.txt' "$T/pyftpd.log")" -eq 2 ]
}
@test "httpftpd.socket with Accept=no and httpftpd.service: one process for every connection" {
	accept_no httpftpd
}
@test "tlsstripd.socket with Accept=yes and tlsstripd@.service: a TLS front per connection, the certificate from %d" {
	accept_yes tlsstripd
	[ "$(grep -c 'GET /hello.txt' "$T/nginx/access.log")" -eq 2 ]
}
@test "tlsstripd.socket with Accept=no and tlsstripd.service: one TLS front for every connection" {
	accept_no tlsstripd
}
@test "cgid.socket with Accept=yes and cgid@.service: a process per connection runs the CGI program" {
	accept_yes cgid
}
@test "cgid.socket with Accept=no and cgid.service: one process for every connection" {
	accept_no cgid
}

@test "connectd@.service refuses a loopback destination as shipped, with 403" {
	origin
	local p
	p=$(free_port)
	bg ssa systemd-socket-activate --accept \
	    -l "127.0.0.1:$p" $(unit_exec connectd@.service)
	wait_port "$p"
	run tunnel_get "$p"
	[ "$status" -ne 0 ]
	grep -q '^HTTP/1.1 403' "$T/head"
	grep -qi '^Proxy-Status: .*error=' "$T/head"
	refute "$T/head" '^Server: nginx'
	[ ! -s "$T/nginx/access.log" ]
}

@test "connectd.service serves as user nobody under the units' seccomp filters" {
	accept_no connectd $(sandboxed)
	assert_sandboxed "$ssa_pid"
}
@test "relayd.service serves as user nobody under the units' seccomp filters" {
	accept_no relayd $(sandboxed)
	assert_sandboxed "$ssa_pid"
}
@test "tlswrapd.service (libcurl, OpenSSL) serves as user nobody under the units' seccomp filters" {
	accept_no tlswrapd $(sandboxed)
	assert_sandboxed "$ssa_pid"
}
@test "httpftpd.service (libcurl) serves as user nobody under the units' seccomp filters" {
	accept_no httpftpd $(sandboxed)
	assert_sandboxed "$ssa_pid"
}
@test "tlsstripd.service (OpenSSL) serves as user nobody under the units' seccomp filters" {
	accept_no tlsstripd $(sandboxed)
	assert_sandboxed "$ssa_pid"
}
@test "cgid.service runs shell and Python CGI programs under the units' seccomp filters" {
	accept_no cgid $(sandboxed)
	assert_sandboxed "$ssa_pid"
	curl -sS -m 30 -o "$T/body" "http://127.0.0.1:$PORT/env.py/x"
	grep -qx 'GATEWAY_INTERFACE=CGI/1.1' "$T/body"
	grep -qx 'PATH_INFO=/x' "$T/body"
}

# probe_cgi: $T/cgi/probe.py says whether it could map memory writable
# and executable at once (as a JIT does) and open a netlink socket;
# $T/cgi/ptrace.py makes a system call no unit allows.
probe_cgi() {
	cat > "$T/cgi/probe.py" <<'PY'
#!/usr/bin/python3
import errno, mmap, socket

def probe(f):
	try:
		f()
		return "ok"
	except OSError as e:
		return errno.errorcode[e.errno]

wx = probe(lambda: mmap.mmap(-1, 4096,
    prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC))
nl = probe(lambda: socket.socket(socket.AF_NETLINK, socket.SOCK_RAW).close())
print("Content-Type: text/plain\n\nwx=%s netlink=%s" % (wx, nl))
PY
	cat > "$T/cgi/ptrace.py" <<'PY'
#!/usr/bin/python3
import ctypes
ctypes.CDLL(None).ptrace(0, 0, 0, 0)	# PTRACE_TRACEME
print("Content-Type: text/plain\n\ntraced")
PY
	chmod 755 "$T/cgi/probe.py" "$T/cgi/ptrace.py"
}

@test "under the units' filters a CGI program cannot map writable executable memory, open a netlink socket or ptrace" {
	accept_no cgid $(sandboxed)
	probe_cgi
	curl -sS -m 30 -o "$T/body" "http://127.0.0.1:$PORT/probe.py"
	[ "$(cat "$T/body")" = "wx=EPERM netlink=EAFNOSUPPORT" ]
	# SIGSYS: the program dies before its header, cgid says 502.
	run curl -sS -m 30 -o "$T/body" -w '%{http_code}' \
	    "http://127.0.0.1:$PORT/ptrace.py"
	[ "$output" = 502 ]
	refute "$T/body" traced
	kill -0 "$ssa_pid"
}

@test "without the filters the same CGI programs can: the filters above are what refused them" {
	accept_no cgid
	probe_cgi
	curl -sS -m 30 -o "$T/body" "http://127.0.0.1:$PORT/probe.py"
	[ "$(cat "$T/body")" = "wx=ok netlink=ok" ]
	curl -sS -m 30 -o "$T/body" "http://127.0.0.1:$PORT/ptrace.py"
	[ "$(cat "$T/body")" = traced ]
}

# inetd_conf PROGRAM wait|nowait PORT [FIRSTARG]: writes $T/inetd.conf
# with the contrib line for PROGRAM in that mode (uncommented) whose
# first argument is FIRSTARG (none by default), on 127.0.0.1:PORT, run as
# the current user with the binary from $GTR_BIN.
inetd_conf() {
	local prog=$1 mode=$2 port=$3 arg=${4:-}
	awk -v prog="$prog" -v mode="$mode" -v port="$port" -v arg="$arg" \
	    -v user="$(id -un)" -v bin="$GTR_BIN" '
		{ sub(/^#/, "") }
		NF >= 7 && $2 == "stream" && $6 ~ ("/" prog "$") &&
		    $4 ~ ("^" mode "(\\.|$)") && $8 == arg && !done {
			$1 = "127.0.0.1:" port
			$5 = user
			sub(/^@BINDIR@\//, bin "/", $6)
			print
			done = 1
		}' "$CONTRIB/inetd.conf" > "$T/inetd.conf"
	[ -s "$T/inetd.conf" ] || {
		echo "no $mode line for $prog in contrib/inetd.conf" >&2
		return 1
	}
}

# inetd_start PORT: openbsd-inetd in the foreground with $T/inetd.conf.
inetd_start() {
	bg inetd inetd -d "$T/inetd.conf"
	wait_port "$1"
}

# inetd_nowait PROGRAM [FIRSTARG]: the scene's server, PROGRAM's nowait
# line with the scene's placeholders and options, two requests served
# each by a process of its own that exits.  inetd's fd 2 is the socket,
# so there is no log to count: the answers are what shows.
inetd_nowait() {
	local prog=$1 p
	p=$(free_port)
	"scene_$prog"
	inetd_conf "$prog" nowait "$p" "${2:-}"
	[ ${#SUB[@]} -eq 0 ] || sed -i "${SUB[@]}" "$T/inetd.conf"
	[ ${#EXTRA[@]} -eq 0 ] || sed -i "s|\$| ${EXTRA[*]}|" "$T/inetd.conf"
	inetd_start "$p"
	"fetch_$prog" "$p"
	"fetch_$prog" "$p"
	wait_no_children "$inetd_pid"
	refute "$T/head" "$T/body" "$prog\\["
}

@test "the inetd lines are nowait lines of each program on loopback at its default port, as user nobody" {
	local prog line
	for prog in $PROGRAMS; do
		line=$(grep -E "^[^#].*[[:space:]]@BINDIR@/$prog[[:space:]]" \
		    "$CONTRIB/inetd.conf")
		[ "$(printf '%s\n' "$line" | wc -l)" -eq 1 ]
		read -r -a f <<< "$line"
		[ "${f[0]}" = "127.0.0.1:$(default_port "$prog")" ]
		[ "${f[1]} ${f[2]}" = "stream tcp" ]
		[ "${f[3]}" = nowait.1000 ]
		[[ "${f[4]}" == nobody || "${f[4]}" == nobody:* ]]
		[ "${f[6]}" = "$prog" ]
	done
	grep -qx $'127.0.0.1:8443\tstream\ttcp\tnowait.1000\tnobody:gtr-tls\t@BINDIR@/tlsstripd\ttlsstripd --cert /etc/gtr/tlsstripd.pem -c 127.0.0.1:8080' \
	    "$CONTRIB/inetd.conf"
	grep -qx $'127.0.0.1:8000\tstream\ttcp\tnowait.1000\tnobody\t@BINDIR@/cgid\tcgid --root /srv/cgi-bin' \
	    "$CONTRIB/inetd.conf"
	run grep -Ev '^#|^[[:space:]]*$|^127\.0\.0\.1:(3128|8080|8081|8021|8443|8000)[[:space:]]' \
	    "$CONTRIB/inetd.conf"
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	refute "$CONTRIB/inetd.conf" '/usr/local'
}

@test "the inetd nowait line for tlswrapd fetches from an HTTPS nginx per process" {
	inetd_nowait tlswrapd
	[ "$(grep -c 'GET /index.html' "$T/nginx/access.log")" -eq 2 ]
}

@test "the inetd nowait line for httpftpd fetches from pyftpdlib per process" {
	inetd_nowait httpftpd
	[ "$(grep -c 'RETR a.txt' "$T/pyftpd.log")" -eq 2 ]
}

@test "the inetd nowait line for tlsstripd terminates TLS in front of nginx per process" {
	inetd_nowait tlsstripd --cert
	[ "$(grep -c 'GET /hello.txt' "$T/nginx/access.log")" -eq 2 ]
}

@test "the inetd nowait line for cgid runs the CGI program per process" {
	inetd_nowait cgid --root
}

@test "the inetd nowait line for relayd relays one exchange per process" {
	origin
	local p
	p=$(free_port)
	inetd_conf relayd nowait "$p"
	sed -i "s|\$| --allow-dest 127.0.0.1 --allow-port $NP|" "$T/inetd.conf"
	inetd_start "$p"
	relay_get "$p"
	assert_relayed
	relay_get "$p"
	assert_relayed
	wait_no_children "$inetd_pid"
	[ "$(grep -c 'GET /hello.txt' "$T/nginx/access.log")" -eq 2 ]
}

@test "the inetd wait line for relayd keeps one relayd accepting every connection" {
	origin
	local p child
	p=$(free_port)
	inetd_conf relayd wait "$p"
	sed -i "s|\$| --allow-dest 127.0.0.1 --allow-port $NP|" "$T/inetd.conf"
	inetd_start "$p"
	relay_get "$p"
	assert_relayed
	child=$(ps -o pid= --ppid "$inetd_pid")
	[ -n "$child" ]
	relay_get "$p"
	assert_relayed
	relay_get "$p"
	assert_relayed
	[ "$(ps -o pid= --ppid "$inetd_pid")" = "$child" ]
	[ "$(grep -c 'GET /hello.txt' "$T/nginx/access.log")" -eq 3 ]
}

@test "the inetd line for relayd --raw relays bytes unchanged to its fixed backend" {
	origin
	local p
	p=$(free_port)
	inetd_conf relayd nowait "$p" --raw
	grep -q -- '--raw -c 192\.0\.2\.10:80$' "$T/inetd.conf"
	sed -i "s|-c 192\.0\.2\.10:80\$|-c 127.0.0.1:$NP|" "$T/inetd.conf"
	inetd_start "$p"
	curl -sS -m 30 -D "$T/head" -o "$T/body" \
	    -H 'Connection: keep-alive' "http://127.0.0.1:$p/hello.txt"
	grep -q '^HTTP/1.1 200' "$T/head"
	grep -qi '^Connection: keep-alive' "$T/head"
	assert_origin_body
	grep -q "\"GET /hello.txt HTTP/1.1\" 200" "$T/nginx/access.log"
}

@test "the inetd nowait line for connectd opens a tunnel per process" {
	origin
	local p
	p=$(free_port)
	inetd_conf connectd nowait "$p"
	sed -i "s|\$| --allow-dest 127.0.0.1 --allow-port $NP|" "$T/inetd.conf"
	inetd_start "$p"
	tunnel_get "$p"
	assert_tunneled
	tunnel_get "$p"
	assert_tunneled
	wait_no_children "$inetd_pid"
}

@test "the inetd wait line for connectd keeps one connectd accepting every tunnel" {
	origin
	local p child
	p=$(free_port)
	inetd_conf connectd wait "$p"
	sed -i "s|\$| --allow-dest 127.0.0.1 --allow-port $NP|" "$T/inetd.conf"
	inetd_start "$p"
	tunnel_get "$p"
	assert_tunneled
	child=$(ps -o pid= --ppid "$inetd_pid")
	[ -n "$child" ]
	tunnel_get "$p"
	assert_tunneled
	[ "$(ps -o pid= --ppid "$inetd_pid")" = "$child" ]
}

@test "the inetd line for connectd refuses a loopback destination as shipped" {
	origin
	local p
	p=$(free_port)
	inetd_conf connectd nowait "$p"
	inetd_start "$p"
	run tunnel_get "$p"
	[ "$status" -ne 0 ]
	grep -q '^HTTP/1.1 403' "$T/head"
	refute "$T/head" '^Server: nginx'
	refute "$T/head" "$T/body" 'connectd\['
}

@test "contrib/tcpserver.sh runs connectd per tunnel and logs the client address" {
	origin
	local p
	p=$(free_port)
	bg tcpserver env GTR_BIN="$GTR_BIN" "$CONTRIB/tcpserver.sh" connectd \
	    "$p" --allow-dest 127.0.0.1 --allow-port "$NP"
	wait_port "$p"
	tunnel_get "$p"
	assert_tunneled
	wait_no_children "$tcpserver_pid"
	grep -E "^connectd\[[0-9]+\]: .*client=127\.0\.0\.1(:[0-9]+)? .*method=CONNECT target=127\.0\.0\.1:$NP status=200" \
	    "$T/tcpserver.log"
}

@test "contrib/tcpserver.sh runs relayd in front of nginx" {
	origin
	local p
	p=$(free_port)
	bg tcpserver env GTR_BIN="$GTR_BIN" "$CONTRIB/tcpserver.sh" relayd \
	    "$p" --allow-dest 127.0.0.1 --allow-port "$NP"
	wait_port "$p"
	relay_get "$p"
	assert_relayed
	grep -Eq "^relayd\[[0-9]+\]: info: conn=[0-9]+ client=127\.0\.0\.1:[0-9]+ method=GET target=http://127\.0\.0\.1:$NP/hello\.txt " \
	    "$T/tcpserver.log"
}

@test "contrib/tcpserver.sh without a port prints its usage and exits 64" {
	run "$CONTRIB/tcpserver.sh" relayd
	[ "$status" -eq 64 ]
	[[ "$output" == *"usage: tcpserver.sh PROGRAM PORT"* ]]
}

@test "contrib/socat.sh runs relayd --raw as a byte-exact relay to an echo server" {
	local ep p
	ep=$(free_port)
	p=$(free_port)
	bg echo socat -t 30 "TCP-LISTEN:$ep,bind=127.0.0.1,reuseaddr,fork" \
	    EXEC:cat
	wait_port "$ep"
	bg socat env GTR_BIN="$GTR_BIN" "$CONTRIB/socat.sh" relayd "$p" \
	    --raw -c "127.0.0.1:$ep"
	wait_port "$p"
	head -c 262144 /dev/urandom > "$T/sent"
	socat -t 30 - "TCP:127.0.0.1:$p" < "$T/sent" > "$T/got"
	cmp "$T/sent" "$T/got"
}

@test "contrib/socat.sh runs connectd, which tunnels curl to nginx" {
	origin
	local p
	p=$(free_port)
	bg socat env GTR_BIN="$GTR_BIN" "$CONTRIB/socat.sh" connectd "$p" \
	    --allow-dest 127.0.0.1 --allow-port "$NP"
	wait_port "$p"
	tunnel_get "$p"
	assert_tunneled
	grep -q "method=CONNECT target=127.0.0.1:$NP status=200" "$T/socat.log"
}

# make_top ARGS...: make in the repository's top with the build the tests
# run (B, BIN and SANITIZE as it was made with), so nothing is rebuilt
# and nothing is written outside $T; the output goes to $T/make.log.
make_top() {
	local san=
	grep -q fsanitize "$GTR_BUILD/.flags" && san=1
	(cd "$BATS_TEST_DIRNAME/.." && make B="$GTR_BUILD" BIN="$GTR_BIN" \
	    SANITIZE=$san "$@") >> "$T/make.log" 2>&1
}

# sections FILE: the names of FILE's ELF sections, one a line.
sections() {
	readelf -S -W "$1" | sed -n 's/^ *\[ *[0-9]*\] \([^ ]*\).*/\1/p'
}

@test "make install puts stripped programs, man pages, units, inetd.conf and README under DESTDIR and PREFIX; make uninstall takes them all away" {
	local r=$T/root prog f m
	make_top install DESTDIR="$r" PREFIX=/usr
	# Everything was built already: no compiler ran.
	refute "$T/make.log" ' -c -o |-o [^ ]*/bin/'
	{
		for prog in $PROGRAMS; do
			echo "$r/usr/bin/$prog"
			echo "$r/usr/share/man/man8/$prog.8"
		done
		echo "$r/usr/share/man/man7/gtr.7"
		for f in "$CONTRIB"/systemd/*; do
			echo "$r/usr/lib/systemd/system/${f##*/}"
		done
		echo "$r/usr/share/doc/gtr/inetd.conf"
		echo "$r/usr/share/doc/gtr/README.md"
		echo "$r/usr/share/doc/gtr/examples/haproxy/haproxy.cfg"
		echo "$r/usr/share/doc/gtr/examples/fail2ban/filter.d/gtr-auth.conf"
		echo "$r/usr/share/doc/gtr/examples/fail2ban/jail.d/gtr-auth.conf"
	} | sort > "$T/expected"
	find "$r" -type f | sort > "$T/installed"
	diff "$T/expected" "$T/installed"
	[ "$(wc -l < "$T/installed")" -eq 36 ]
	for prog in $PROGRAMS; do
		f=$r/usr/bin/$prog
		[ "$(stat -c %a "$f")" = 755 ]
		# Stripped: no symbol table, no debugging sections, which
		# the built program (cc -g) has.
		sections "$GTR_BIN/$prog" | grep -qx '\.debug_info'
		sections "$f" > "$T/sections"
		refute "$T/sections" '^\.(symtab|debug_.*)$'
		run "$f" --version
		[ "$status" -eq 0 ]
		[[ "$output" == "$prog "* ]]
		cmp "$BATS_TEST_DIRNAME/../man/man8/$prog.8" \
		    "$r/usr/share/man/man8/$prog.8"
		grep -qx "ExecStart=/usr/bin/$prog\\( .*\\)\\{0,1\\}" \
		    "$r/usr/lib/systemd/system/$prog.service"
	done
	grep -qx 'ExecStart=/usr/bin/connectd' \
	    "$r/usr/lib/systemd/system/connectd@.service"
	grep -q $'\t/usr/bin/connectd\tconnectd$' "$r/usr/share/doc/gtr/inetd.conf"
	cmp "$BATS_TEST_DIRNAME/../README.md" "$r/usr/share/doc/gtr/README.md"
	for f in "$r"/usr/lib/systemd/system/* "$r"/usr/share/doc/gtr/*.* \
	    "$r"/usr/share/doc/gtr/examples/*/* "$r"/usr/share/man/man*/*; do
		[ -f "$f" ] || continue
		[ "$(stat -c %a "$f")" = 644 ]
	done
	refute "$r"/usr/lib/systemd/system/* "$r/usr/share/doc/gtr/inetd.conf" \
	    '@BINDIR@|^[^#].*/usr/local'
	make_top uninstall DESTDIR="$r" PREFIX=/usr
	run find "$r" -type f
	[ -z "$output" ]
	[ ! -e "$r/usr/share/doc/gtr" ]
}

@test "make install STRIP= keeps the programs' symbols, and PREFIX and SYSTEMDUNITDIR place the units" {
	local r=$T/root prog
	make_top install DESTDIR="$r" PREFIX=/opt/gtr STRIP= \
	    SYSTEMDUNITDIR=/etc/systemd/system
	for prog in $PROGRAMS; do
		sections "$r/opt/gtr/bin/$prog" | grep -qx '\.debug_info'
		sections "$r/opt/gtr/bin/$prog" | grep -qx '\.symtab'
	done
	grep -qx 'ExecStart=/opt/gtr/bin/relayd' \
	    "$r/etc/systemd/system/relayd.service"
	[ -f "$r/opt/gtr/share/doc/gtr/inetd.conf" ]
	[ -f "$r/opt/gtr/share/man/man7/gtr.7" ]
	make_top uninstall DESTDIR="$r" PREFIX=/opt/gtr \
	    SYSTEMDUNITDIR=/etc/systemd/system
	run find "$r" -type f
	[ -z "$output" ]
}
