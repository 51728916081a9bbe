#!/bin/bash
# cgid.sh - the resource gateway against lighttpd's mod_cgi and fcgiwrap
# behind nginx (the Debian packages), all running the same shell CGI
# programs from one directory: requests per second, measured with wrk
# (keep-alive, CGI_CONNS connections, CGI_SECONDS per run) for a trivial
# program and for one that writes 64 KiB.  Ratios are to the best peer.

. "$(dirname "$0")/lib.sh"

SECONDS_PER_RUN=${CGI_SECONDS:-5}
CONNS=${CGI_CONNS:-16}
CP=$(free_port)
LP=$(free_port)
NP=$(free_port)

if ! have_gtr cgid; then
	bench_fail cgid "not built"
	exit 1
fi
if ! command -v wrk > /dev/null; then
	bench_fail cgid "wrk is not installed"
	exit 1
fi

mkdir -p "$T/www"
cat > "$T/www/hello.sh" <<'EOF'
#!/bin/sh
printf 'Content-Type: text/plain\n\nhello\n'
EOF
head -c 65536 /dev/urandom > "$T/www/64k.bin"
cat > "$T/www/64k.sh" <<EOF
#!/bin/sh
printf 'Content-Type: application/octet-stream\n\n'
exec cat $T/www/64k.bin
EOF
chmod 755 "$T/www/hello.sh" "$T/www/64k.sh"
chmod 644 "$T/www/64k.bin"

peer_start cgid "$GTR_BIN/cgid" $GTR_FLAGS -l "127.0.0.1:$CP" \
    --root "$T/www"
wait_port "$CP" || { bench_fail cgid "cgid did not start"; exit 1; }

# start_lighttpd: mod_cgi runs every .sh under $T/www.
start_lighttpd() {
	command -v lighttpd > /dev/null || PATH=$PATH:/usr/sbin
	command -v lighttpd > /dev/null || return 1
	cat > "$T/lighttpd.conf" <<-EOF
	server.document-root = "$T/www"
	server.bind = "127.0.0.1"
	server.port = $LP
	server.modules = ( "mod_cgi" )
	server.pid-file = "$T/lighttpd.pid"
	server.errorlog = "$T/lighttpd.error.log"
	server.max-connections = 1024
	server.max-fds = 4096
	cgi.assign = ( ".sh" => "" )
	EOF
	peer_start lighttpd lighttpd -D -f "$T/lighttpd.conf"
	wait_port "$LP"
}

# start_fcgiwrap: nginx passing every .sh to fcgiwrap over a unix socket,
# with as many fcgiwrap processes as nginx has workers.
start_fcgiwrap() {
	local n
	command -v fcgiwrap > /dev/null || PATH=$PATH:/usr/sbin
	command -v fcgiwrap > /dev/null && command -v nginx > /dev/null ||
	    return 1
	n=$(nproc)
	peer_start fcgiwrap fcgiwrap -c "$((n * 2))" -s "unix:$T/fcgiwrap.sock"
	mkdir -p "$T/nginx"
	cat > "$T/nginx/nginx.conf" <<-EOF
	$([ "$(id -u)" = 0 ] && echo "user root root;")
	daemon off;
	worker_processes $n;
	pid $T/nginx/nginx.pid;
	error_log $T/nginx/error.log;
	events { worker_connections 4096; }
	http {
		access_log off;
		client_body_temp_path $T/nginx;
		fastcgi_temp_path $T/nginx;
		proxy_temp_path $T/nginx;
		uwsgi_temp_path $T/nginx;
		scgi_temp_path $T/nginx;
		keepalive_requests 1000000;
		server {
			listen 127.0.0.1:$NP;
			root $T/www;
			location ~ \.sh$ {
				include /etc/nginx/fastcgi_params;
				fastcgi_param SCRIPT_FILENAME \$document_root\$fastcgi_script_name;
				fastcgi_pass unix:$T/fcgiwrap.sock;
			}
		}
	}
	EOF
	peer_start nginx nginx -c "$T/nginx/nginx.conf" -e "$T/nginx/error.log"
	wait_port "$NP"
}

start_lighttpd || bench_fail cgid "lighttpd did not start"
start_fcgiwrap || bench_fail cgid "fcgiwrap behind nginx did not start"

# rate URL: requests per second over one wrk run, or FAILED when a
# response was not 2xx or a connection failed.
rate() {
	local out
	out=$(wrk -t 2 -c "$CONNS" -d "${SECONDS_PER_RUN}s" "$1" 2>&1)
	if echo "$out" | grep -Eq 'Non-2xx|Socket errors'; then
		echo FAILED
		return
	fi
	echo "$out" | awk '/^Requests\/sec:/ { printf "%d\n", $2 }'
}

# median_rate URL: the median of BENCH_RUNS runs.
median_rate() {
	local i v=()
	curl -fsS -o /dev/null "$1" || { echo FAILED; return; }
	for i in $(seq "$BENCH_RUNS"); do
		v+=("$(rate "$1")")
	done
	median "${v[@]}"
}

for prog in hello.sh 64k.sh; do
	declare -A R=()
	R[cgid]=$(median_rate "http://127.0.0.1:$CP/$prog")
	[ -n "$(peer_pid lighttpd)" ] &&
	    R[lighttpd]=$(median_rate "http://127.0.0.1:$LP/$prog")
	[ -n "$(peer_pid nginx)" ] &&
	    R[fcgiwrap]=$(median_rate "http://127.0.0.1:$NP/$prog")
	best=
	for p in lighttpd fcgiwrap; do
		v=${R[$p]:-}
		case $v in ''|*[!0-9]*) continue ;; esac
		if [ -z "$best" ] || [ "$v" -gt "$best" ]; then
			best=$v
		fi
	done
	for p in cgid lighttpd fcgiwrap; do
		[ -n "${R[$p]:-}" ] || continue
		case $p in
		cgid) name="cgid" ;;
		lighttpd) name="lighttpd mod_cgi" ;;
		fcgiwrap) name="nginx + fcgiwrap" ;;
		esac
		bench_row cgid "$name" "$prog req/s" "${R[$p]}" \
		    "$(ratio "${R[$p]}" "${best:-}")" \
		    "$([ "$p" = cgid ] && echo "vs best peer")"
	done
	unset R
done
bench_note "cgid: wrk -c $CONNS keep-alive, ${SECONDS_PER_RUN} s," \
    "median of $BENCH_RUNS; ratio is to the best peer (lighttpd mod_cgi" \
    "or nginx + fcgiwrap) on the same programs"
