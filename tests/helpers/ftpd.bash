# ftpd.bash - real FTP servers on loopback for the httpftpd tests and bench.
#
# ftp_tree DIR: a prepared tree (files, a subdirectory, hostile names).
# pyftpd_start PORT [rw]: pyftpdlib serving $T/root, anonymous read-only
#   (read-write with rw), and user alice / password s3cret with full rights;
#   every command it receives is logged in $T/pyftpd.log.
# vsftpd_start PORT [ro|tls PEM|ftps PEM]: vsftpd serving $T/root
#   anonymously, read-only, logging the protocol in $T/vsftpd/vsftpd.log;
#   with tls, AUTH TLS is required with the certificate and key in PEM;
#   with ftps, TLS comes first (implicit, as on port 990).
# Both listen on 127.0.0.1 with a passive range of their own above 30000.

FTP_PY=/usr/bin/python3

ftp_tree() {
	local d=$1
	mkdir -p "$d/sub" "$d/dir with space" "$d/locked"
	printf 'hello\n' > "$d/a.txt"
	printf 'inside\n' > "$d/sub/b.txt"
	: > "$d/empty.txt"
	printf 'canary\n' > "$d/canary"
	printf '<p>x</p>\n' > "$d/page.html"
	printf 'spaced\n' > "$d/dir with space/c d.txt"
	printf 'evil\n' > "$d/<script>alert(1)<"
	printf 'utf8\n' > "$d/$(printf 'gr\303\274\303\237e.txt')"
	printf 'amp\n' > "$d/a&b\"c'.txt"
	head -c 100000 /dev/urandom > "$d/rand.bin"
	printf 'locked\n' > "$d/locked/x.txt"
	touch -d '2020-01-02 03:04:05 UTC' "$d/a.txt"
}

# pasv_base: the first of FTP_PASV_SPAN (20) passive ports, picked so
# tests rarely meet, or FTP_PASV_BASE.
FTP_PASV_SPAN=${FTP_PASV_SPAN:-20}
pasv_base() {
	echo "${FTP_PASV_BASE:-$((30000 + (RANDOM % 1500) * 20))}"
}

pyftpd_start() {
	local port=$1 mode=${2:-ro} root=${FTP_ROOT:-$T/root} base
	base=$(pasv_base)
	[ -d "$root" ] || ftp_tree "$root"
	cat > "$T/pyftpd.py" <<'PY'
import logging, sys
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer

port, root, base, mode = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
logging.basicConfig(level=logging.DEBUG, stream=sys.stdout,
                    format="%(message)s")
auth = DummyAuthorizer()
auth.add_user("alice", "s3cret", root, perm="elradfmwMT")
auth.add_anonymous(root, perm="elradfmw" if mode == "rw" else "elr")
# no rights at all below locked/: the server says so in its 550
auth.override_perm("alice", root + "/locked", perm="", recursive=True)
auth.override_perm("anonymous", root + "/locked", perm="", recursive=True)
FTPHandler.authorizer = auth
FTPHandler.passive_ports = range(base, base + int(sys.argv[5]))
FTPHandler.permit_foreign_addresses = False
server = FTPServer(("127.0.0.1", port), FTPHandler)
server.max_cons = 256
sys.stdout.flush()
server.serve_forever()
PY
	bg pyftpd "$FTP_PY" -u "$T/pyftpd.py" "$port" "$root" "$base" "$mode" \
		"$FTP_PASV_SPAN"
	wait_port "$port"
}

vsftpd_start() {
	local port=$1 mode=${2:-ro} pem=${3:-} root=${FTP_ROOT:-$T/root} base
	base=$(pasv_base)
	[ -d "$root" ] || ftp_tree "$root"
	mkdir -p "$T/vsftpd/empty"
	cat > "$T/vsftpd/vsftpd.conf" <<EOF
listen=YES
listen_ipv6=NO
listen_address=127.0.0.1
listen_port=$port
background=NO
anonymous_enable=YES
anon_root=$root
no_anon_password=YES
local_enable=NO
write_enable=NO
pasv_enable=YES
pasv_min_port=$base
pasv_max_port=$((base + FTP_PASV_SPAN - 1))
run_as_launching_user=YES
secure_chroot_dir=$T/vsftpd/empty
seccomp_sandbox=NO
xferlog_enable=YES
log_ftp_protocol=YES
vsftpd_log_file=$T/vsftpd/vsftpd.log
EOF
	# Above vsftpd's own limits (2,000 clients, 50 per address), unless
	# a test asks for those.
	[ -n "${VSFTPD_DEFAULT_LIMITS:-}" ] ||
		printf 'max_clients=500\nmax_per_ip=500\n' >> "$T/vsftpd/vsftpd.conf"
	[ -z "${VSFTPD_EXTRA:-}" ] ||
		printf '%s\n' "$VSFTPD_EXTRA" >> "$T/vsftpd/vsftpd.conf"
	if [ "$mode" = tls ] || [ "$mode" = ftps ]; then
		cat >> "$T/vsftpd/vsftpd.conf" <<EOF
ssl_enable=YES
allow_anon_ssl=YES
force_anon_logins_ssl=YES
force_anon_data_ssl=YES
require_ssl_reuse=NO
rsa_cert_file=$pem
EOF
	fi
	[ "$mode" = ftps ] && echo implicit_ssl=YES >> "$T/vsftpd/vsftpd.conf"
	bg vsftpd vsftpd "$T/vsftpd/vsftpd.conf"
	wait_port "$port"
}

# many N PORT URL: N clients at once, in batches of parallel curls; prints
# one line per transfer: the HTTP status and the size received.
many() {
	local n=$1 port=$2 url=$3 per=250 i j pids=()
	for ((i = 0; i < n; i += per)); do
		for ((j = 0; j < per && i + j < n; j++)); do
			printf 'url = "%s?%d"\noutput = "/dev/null"\n' "$url" $((i + j))
		done > "$T/urls.$i"
		curl -sS -Z --parallel-max "$per" -x "http://127.0.0.1:$port" \
		    -w '%{http_code} %{size_download}\n' -K "$T/urls.$i" &
		pids+=($!)
	done
	wait "${pids[@]}"
}
