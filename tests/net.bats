#!/usr/bin/env bats
# net.bats - addresses, the destination policy and net_connect(): the unit
# cases, then name resolution in a private mount namespace whose
# resolv.conf or hosts file the test writes, so no query leaves the host.

load helpers/common

NT=$GTR_BUILD/unit/net_test

# in_ns FILE TARGET CMD...: runs CMD with FILE mounted over TARGET (and a
# resolv.conf naming 127.0.0.1, where nothing answers) in a mount
# namespace of its own.
in_ns() {
	local file=$1 target=$2
	shift 2
	echo 'nameserver 127.0.0.1' > "$T/resolv.conf"
	unshare -m sh -c 'mount --bind "$1" /etc/resolv.conf &&
		mount --bind "$2" "$3" && shift 3 && exec "$@"' \
		sh "$T/resolv.conf" "$file" "$target" "$@"
}

@test "address parsing, port lists, CIDR blocks, every special range and loopback connects pass" {
	run "$NT"
	[ "$status" -eq 0 ]
	[[ ${lines[-1]} =~ ^[0-9]+\ passed,\ 0\ failed$ ]]
	[[ $output != *"not ok"* ]]
	# the table covers every range of the default policy
	[[ $output == *"ok - 100.64.0.0 is refused by default"* ]]
	[[ $output == *"ok - 64:ff9b::127.0.0.1 is refused by default"* ]]
	[[ $output == *"ok - ::ffff:8.8.8.8 is allowed by default"* ]]
}

@test "a name that does not resolve is a DNS error answered 502 dns_error" {
	run in_ns "$T/resolv.conf" /etc/resolv.conf "$NT" dns
	[ "$status" -eq 0 ]
	[[ $output == *"ok - a name that does not resolve is NET_DNS"* ]]
	[[ ${lines[-1]} == "2 passed, 0 failed" ]]
	[[ $output != *"not ok"* ]]
}

@test "a name with a loopback v6 and v4 address connects only where policy allows and reports the real failure" {
	printf '127.0.0.1 localhost\n::1 gtr-multi.test\n127.0.0.1 gtr-multi.test\n' > "$T/hosts"
	run in_ns "$T/hosts" /etc/hosts "$NT" hosts
	[ "$status" -eq 0 ]
	[[ $output == *"ok - a name with ::1 and 127.0.0.1 connects to the allowed one"* ]]
	[[ ${lines[-1]} == "3 passed, 0 failed" ]]
	[[ $output != *"not ok"* ]]
}

@test "without its hosts entry the multi-address name fails as DNS, so the test above depends on it" {
	run in_ns "$T/resolv.conf" /etc/resolv.conf "$NT" hosts
	[ "$status" -ne 0 ]
	[[ $output == *"not ok - a name with ::1 and 127.0.0.1"* ]]
}
