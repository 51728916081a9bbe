#!/usr/bin/env bats
# net.bats - addresses, the destination policy and net_connect(): the unit
# groups of tests/unit/net_test.c, then name resolution in a private mount
# namespace whose resolv.conf or hosts file the test writes, so no query
# leaves the host.

load helpers/common

NT=$GTR_BUILD/unit/net_test

# unit GROUP: runs that group; it must pass whole and say so.
unit() {
	run "$NT" "$@"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ ${lines[-1]} =~ ^[1-9][0-9]*\ passed,\ 0\ failed$ ]]
	[[ $output != *"not ok"* ]]
}

# in_ns FILE TARGET CMD...: runs CMD with FILE mounted over TARGET, and a
# resolv.conf naming 127.0.0.1 (where nothing answers), in a mount
# namespace of its own.
in_ns() {
	local file=$1 target=$2
	shift 2
	echo 'nameserver 127.0.0.1' > "$T/resolv.conf"
	unshare -m sh -c 'mount --bind "$1" /etc/resolv.conf &&
		mount --bind "$2" "$3" && shift 3 && exec "$@"' \
		sh "$T/resolv.conf" "$file" "$target" "$@"
}

@test "PORT, HOST:PORT, [V6]:PORT and unix:PATH parse, and bad addresses are refused with a reason" {
	unit parse
	[[ $output == *'ok - "host:65536" is refused: bad port (0-65535): 65536'* ]]
}

@test "port lists and ranges parse with bounds, and a bad list keeps the old one" {
	unit ports
}

@test "--allow-dest blocks parse as CIDR or bare addresses, and bad ones add nothing" {
	unit dests
}

@test "every special IPv4 and IPv6 range is refused by default, its neighbours allowed, every form that embeds IPv4 refused" {
	unit ranges
	[[ $output == *"ok - 100.64.0.0 is refused by default"* ]]
	[[ $output == *"ok - 64:ff9b::127.0.0.1 is refused by default"* ]]
	[[ $output == *"ok - ::ffff:8.8.8.8 is refused by default"* ]]
}

@test "each entry of both IANA special-purpose registries is refused by default and allowed once --allow-dest names it; public addresses pass" {
	unit registry
	[[ $output == *"ok - 2002:101:101::1 is refused by default"* ]]
	[[ $output == *"ok - 3fff::1 is allowed with --allow-dest 3fff::/20"* ]]
	[[ $output == *"ok - 2606:4700::1111 is allowed by default"* ]]
}

@test "6to4, IPv4-compatible, SIIT, NAT64 and Teredo forms are judged by the IPv4 address they carry" {
	unit embedded
	[[ $output == *"ok - 2002:7f00:1:: is refused with --allow-dest 2002::/16"* ]]
	[[ $output == *"ok - ::127.0.0.1 is refused by default"* ]]
	[[ $output == *"ok - ::127.0.0.1 is allowed with --allow-dest 127.0.0.0/8"* ]]
}

@test "--allow-dest opens exactly the blocks it names, v4-mapped included" {
	unit allow
}

@test "each connect error has its reason, its Proxy-Status token and its HTTP status" {
	unit errors
	[[ $output == *"ok - connection timed out: Proxy-Status connection_timeout, HTTP 504"* ]]
}

@test "net_connect reaches an allowed loopback port and reports refusal, policy, loops and timeouts" {
	unit connect
}

@test "net_connect reaches [::1] only when ::1 is allowed" {
	unit connect6
}

@test "net_connect_unix connects to a unix socket and reports a missing one as refused" {
	unit unix
}

@test "net_ntop prints v4-mapped addresses as IPv4 and net_same_addr compares them so" {
	unit ntop
}

@test "a name that does not resolve is a DNS error answered 502 dns_error" {
	run in_ns "$T/resolv.conf" /etc/resolv.conf "$NT" dns
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output == *"ok - a name that does not resolve is NET_DNS"* ]]
	[[ ${lines[-1]} == "2 passed, 0 failed" ]]
}

@test "a name with a loopback v6 and v4 address connects only where policy allows and reports the real failure" {
	printf '127.0.0.1 localhost\n::1 gtr-multi.test\n127.0.0.1 gtr-multi.test\n' > "$T/hosts"
	run in_ns "$T/hosts" /etc/hosts "$NT" hosts
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output == *"ok - a name with ::1 and 127.0.0.1 connects to the allowed one"* ]]
	[[ $output == *"ok - the first address refused, the last timed out: NET_TIMEOUT"* ]]
	[[ ${lines[-1]} == "6 passed, 0 failed" ]]
}

@test "without its hosts entry the multi-address name does not resolve, so the test above depends on it" {
	run in_ns "$T/resolv.conf" /etc/resolv.conf "$NT" hosts
	[ "$status" -ne 0 ]
	[[ $output == *"not ok - a name with ::1 and 127.0.0.1"* ]]
}

@test "an unknown group name is an error, so a typo cannot pass" {
	run "$NT" no-such-group
	[ "$status" -ne 0 ]
	[[ $output == *"not ok - test group no-such-group exists"* ]]
}
