# peers.sh - sourced by bench/run and bench/ab: installs the peers.
#
# install_peers: the programs users would pick instead of ours.
install_peers() {
	local cmd pkg missing=
	for cmd in socat:socat haproxy:haproxy rinetd:rinetd redir:redir \
	    tinyproxy:tinyproxy squid:squid wrk:wrk stunnel4:stunnel4 \
	    hitch:hitch lighttpd:lighttpd fcgiwrap:fcgiwrap vsftpd:vsftpd \
	    nginx:nginx-light; do
		pkg=${cmd#*:}
		cmd=${cmd%%:*}
		command -v "$cmd" > /dev/null ||
		    [ -x "/usr/sbin/$cmd" ] || missing="$missing $pkg"
	done
	[ -n "$missing" ] || return 0
	if [ "$(id -u)" != 0 ]; then
		echo "bench: not root, cannot install:$missing" >&2
		return 0
	fi
	echo "bench: installing$missing" >&2
	# The Debian services must not start on their own and take ports.
	printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
	chmod 755 /usr/sbin/policy-rc.d
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing \
	    > /dev/null || echo "bench: could not install:$missing" >&2
	rm -f /usr/sbin/policy-rc.d
}
