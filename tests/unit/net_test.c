/*
 * net_test.c - addresses, the destination policy, and net_connect() on
 * loopback.
 *
 * Arguments name groups of tests; without any it runs every group that
 * needs no name service.  "dns" expects nonexistent.invalid not to
 * resolve and "hosts" expects gtr-multi.test to resolve to ::1 and
 * 127.0.0.1: tests/net.bats runs those under unshare -m with its own
 * resolv.conf or hosts file, so no query ever leaves the machine.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net.h"

struct dest {
	const char	*addr;
	int		 ok;
};

/* An address, the --allow-dest list it is judged under (NULL: none). */
struct judged {
	const char	*addr;
	const char	*allow;
	int		 ok;
};

static void	 check(int, const char *, ...);
static void	 test_parse(void);
static void	 test_authority(void);
static void	 test_ports(void);
static void	 test_dests(void);
static void	 test_dest_table(void);
static void	 test_registry(void);
static void	 test_embedded(void);
static void	 test_allow(void);
static void	 test_errors(void);
static void	 test_connect(void);
static void	 test_connect_v6(void);
static void	 test_unix(void);
static void	 test_ntop(void);
static void	 test_dns(void);
static void	 test_hosts(void);
static void	 test_hosts_last(void);
static int	 last_family(const char *);
static int	 silent_listener(int, char *, int *, int *);
static int	 listener(int, const char *, char *, int);
static int	 closed_port(char *);
static int	 pending(int);
static int	 sa_of(const char *, struct sockaddr_storage *);
static int	 dest_ok(const struct policy *, const char *);
static void	 judge(const struct judged *, size_t);
static int	 is_own(const struct sockaddr *);

static int passed, failed;
static struct sockaddr_storage own_addr;

static void
check(int ok, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("%s - ", ok ? "ok" : "not ok");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	if (ok)
		passed++;
	else
		failed++;
}

static void
test_parse(void)
{
	struct net_addr a;
	char err[256];
	static const char *bad[] = {
		"", "host:", "host:65536", "host:abc", "host:-1", "::1:80",
		"[::1", "[::1]x", "[::1]:", "unix:", "a b:80", ":99999",
		"host:123456", "[]:80", "[example.com]:80"
	};
	size_t i;

	check(net_addr_parse("8080", "127.0.0.1", NULL, &a, err,
	    sizeof(err)) == 0 && !a.is_unix &&
	    strcmp(a.host, "127.0.0.1") == 0 && strcmp(a.port, "8080") == 0,
	    "a bare port gets the default host");
	check(net_addr_parse("example.com:80", NULL, NULL, &a, err,
	    sizeof(err)) == 0 && strcmp(a.host, "example.com") == 0 &&
	    strcmp(a.port, "80") == 0, "HOST:PORT");
	check(net_addr_parse("[::1]:443", NULL, NULL, &a, err,
	    sizeof(err)) == 0 && strcmp(a.host, "::1") == 0 &&
	    strcmp(a.port, "443") == 0, "[V6]:PORT loses its brackets");
	check(net_addr_parse("[2001:db8::1]", NULL, "3128", &a, err,
	    sizeof(err)) == 0 && strcmp(a.host, "2001:db8::1") == 0 &&
	    strcmp(a.port, "3128") == 0, "[V6] gets the default port");
	check(net_addr_parse("unix:/run/gtr.sock", NULL, NULL, &a, err,
	    sizeof(err)) == 0 && a.is_unix &&
	    strcmp(a.path, "/run/gtr.sock") == 0, "unix:PATH");
	check(net_addr_parse("origin", NULL, "443", &a, err,
	    sizeof(err)) == 0 && strcmp(a.host, "origin") == 0 &&
	    strcmp(a.port, "443") == 0, "a bare host gets the default port");
	check(net_addr_parse(":8443", "127.0.0.1", NULL, &a, err,
	    sizeof(err)) == 0 && strcmp(a.host, "127.0.0.1") == 0 &&
	    strcmp(a.port, "8443") == 0, ":PORT gets the default host");
	check(net_addr_parse("0", "127.0.0.1", NULL, &a, err,
	    sizeof(err)) == 0 && strcmp(a.port, "0") == 0,
	    "port 0 parses (listening on a port the kernel picks)");
	check(net_addr_parse("h:0080", NULL, NULL, &a, err,
	    sizeof(err)) == 0 && strcmp(a.port, "80") == 0,
	    "a port is normalized to plain decimal");
	check(net_addr_parse("origin", NULL, NULL, &a, err,
	    sizeof(err)) == -1 && strstr(err, "missing port") != NULL,
	    "a host without a port and no default is refused: %s", err);
	check(net_addr_parse("8080", NULL, NULL, &a, err,
	    sizeof(err)) == -1 && strstr(err, "missing host") != NULL,
	    "a port without a host and no default is refused: %s", err);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		check(net_addr_parse(bad[i], "127.0.0.1", NULL, &a, err,
		    sizeof(err)) == -1 && err[0] != '\0',
		    "\"%s\" is refused: %s", bad[i], err);
	}
	check(net_addr_parse("::1:80", NULL, NULL, &a, err,
	    sizeof(err)) == -1 && strstr(err, "brackets") != NULL,
	    "an IPv6 address without brackets says brackets are needed");
}

/* net_parse_authority(): what connectd, relayd and tlswrapd accept. */
static void
test_authority(void)
{
	static const struct {
		const char	*in;
		const char	*def;
		const char	*host;
		const char	*port;
	} good[] = {
		{ "example.com:443", NULL, "example.com", "443" },
		{ "[::1]:8443", NULL, "::1", "8443" },
		{ "[2001:db8::1]", "443", "2001:db8::1", "443" },
		{ "[::ffff:127.0.0.1]:80", NULL, "::ffff:127.0.0.1", "80" },
		{ "Origin.Example", "80", "Origin.Example", "80" },
		{ "127.0.0.1:65535", NULL, "127.0.0.1", "65535" },
		{ "h:0080", NULL, "h", "80" },
		{ "a_b.c-d:1", NULL, "a_b.c-d", "1" },
		{ "example.org.:80", NULL, "example.org.", "80" }
	};
	static const char *const bad[] = {
		"", ":443", "host:", "host:0", "host:65536", "host:123456",
		"host:abc", "host:+80", "host: 80", "host:-1", "host:80x",
		"host:80 ", "host", "::1:443", "::1", "a:1:2", "[::1",
		"[::1]x", "[::1]:", "[::1]:0", "[::1]:80:81", "[]:80",
		"[example.com]:80", "[fe80::1%eth0]:80", "[1.2.3.4]:80",
		"a b:80", "-a:80", ".a:80", "a@b:80", "u:p@a:80", "a/b:80",
		"a\n:80", "a:80\r\n", "a%41:80", "*:80"
	};
	char host[NET_HOSTLEN], port[NET_PORTLEN], longhost[300], buf[64];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		host[0] = port[0] = '\0';
		check(net_parse_authority(good[i].in, strlen(good[i].in),
		    good[i].def, host, port) == 0 &&
		    strcmp(host, good[i].host) == 0 &&
		    strcmp(port, good[i].port) == 0,
		    "authority \"%s\" is host %s port %s: got %s %s",
		    good[i].in, good[i].host, good[i].port, host, port);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		check(net_parse_authority(bad[i], strlen(bad[i]), NULL, host,
		    port) == -1, "authority \"%.*s\"%s is refused",
		    (int)strcspn(bad[i], "\r\n"), bad[i],
		    bad[i][strcspn(bad[i], "\r\n")] != '\0' ? " and a CR or LF" :
		    "");
	check(net_parse_authority("host", 4, NULL, host, port) == -1 &&
	    net_parse_authority("host:", 5, "80", host, port) == -1,
	    "no port without a default, and an empty port even with one");
	check(net_parse_authority("example.org:8080/path?q", 16, NULL, host,
	    port) == 0 && strcmp(host, "example.org") == 0 &&
	    strcmp(port, "8080") == 0,
	    "only len bytes are read (an absolute URI's authority)");
	check(net_parse_authority("a:80", 3, NULL, host, port) == 0 &&
	    strcmp(port, "8") == 0, "a port ends where len says");
	check(net_parse_authority("[::1]:443", 5, "80", host, port) == 0 &&
	    strcmp(host, "::1") == 0 && strcmp(port, "80") == 0,
	    "a bracketed address cut by len gets the default port");
	memset(longhost, 'a', 255);
	memcpy(longhost + 255, ":80", 4);
	check(net_parse_authority(longhost, strlen(longhost), NULL, host,
	    port) == 0 && strlen(host) == 255, "a 255-byte host fits");
	memset(longhost, 'a', 256);
	memcpy(longhost + 256, ":80", 4);
	check(net_parse_authority(longhost, strlen(longhost), NULL, host,
	    port) == -1, "a 256-byte host is refused");
	check(net_format_authority(buf, sizeof(buf), "2001:db8::1", "443") ==
	    0 && strcmp(buf, "[2001:db8::1]:443") == 0 &&
	    net_format_authority(buf, sizeof(buf), "example.com", "80") ==
	    0 && strcmp(buf, "example.com:80") == 0,
	    "net_format_authority brackets IPv6 only");
	check(net_format_authority(buf, 8, "example.com", "80") == -1,
	    "net_format_authority says when it cut");
}

static void
test_ports(void)
{
	struct policy p;
	char err[256];
	char many[1024];
	static const char *bad[] = {
		"", "0", "65536", "100-50", "1,,2", "a", "1-", "-5", "80,",
		"1-65536", "99999999999"
	};
	size_t i;
	int n;

	memset(&p, 0, sizeof(p));
	check(policy_set_ports(&p, "443,8443,9000-9100", err,
	    sizeof(err)) == 0 && p.nports == 3, "a port list parses");
	check(policy_port_ok(&p, 443) && policy_port_ok(&p, 8443) &&
	    policy_port_ok(&p, 9000) && policy_port_ok(&p, 9050) &&
	    policy_port_ok(&p, 9100), "listed ports and range ends pass");
	check(!policy_port_ok(&p, 80) && !policy_port_ok(&p, 444) &&
	    !policy_port_ok(&p, 8999) && !policy_port_ok(&p, 9101) &&
	    !policy_port_ok(&p, 0), "other ports do not");
	check(policy_set_ports(&p, "1-65535", err, sizeof(err)) == 0 &&
	    policy_port_ok(&p, 1) && policy_port_ok(&p, 65535) &&
	    p.nports == 1, "a new list replaces the old one");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		check(policy_set_ports(&p, bad[i], err, sizeof(err)) == -1 &&
		    err[0] != '\0' && p.nports == 1 &&
		    policy_port_ok(&p, 65535),
		    "port list \"%s\" is refused, the old list kept: %s",
		    bad[i], err);
	}
	many[0] = '\0';
	for (n = 1; n <= POLICY_MAX_PORTS + 1; n++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many),
		    "%s%d", n > 1 ? "," : "", n);
	check(policy_set_ports(&p, many, err, sizeof(err)) == -1,
	    "more than %d ranges are refused: %s", POLICY_MAX_PORTS, err);
}

static void
test_dests(void)
{
	struct policy p;
	char err[256];
	static const char *bad[] = {
		"", "10.0.0.0/33", "::/129", "foo", "1.2.3.4/", "1.2.3.4/x",
		"1.2.3", "10.0.0.0/8,", "[::1]", "1.2.3.4/-1"
	};
	size_t i;
	int n;

	memset(&p, 0, sizeof(p));
	check(policy_add_dests(&p, "127.0.0.0/8,::1", err,
	    sizeof(err)) == 0 && p.ndests == 2 &&
	    p.dests[0].family == AF_INET && p.dests[0].bits == 8 &&
	    p.dests[1].family == AF_INET6 && p.dests[1].bits == 128,
	    "a CIDR and a bare v6 address (/128) parse");
	check(policy_add_dests(&p, "192.168.7.9/16", err, sizeof(err)) == 0 &&
	    p.dests[2].addr[2] == 0 && p.dests[2].addr[3] == 0,
	    "host bits are cleared");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		check(policy_add_dests(&p, bad[i], err, sizeof(err)) == -1 &&
		    err[0] != '\0' && p.ndests == 3,
		    "block \"%s\" is refused, nothing added: %s", bad[i], err);
	}
	for (n = p.ndests; n < POLICY_MAX_DESTS; n++)
		policy_add_dests(&p, "198.51.100.1", err, sizeof(err));
	check(p.ndests == POLICY_MAX_DESTS &&
	    policy_add_dests(&p, "1.1.1.1", err, sizeof(err)) == -1,
	    "more than %d blocks are refused: %s", POLICY_MAX_DESTS, err);
}

/* Returns sa for a numeric address (port 80). */
static int
sa_of(const char *s, struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, s, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(80);
		return 0;
	}
	if (inet_pton(AF_INET6, s, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(80);
		return 0;
	}
	return -1;
}

static int
dest_ok(const struct policy *p, const char *s)
{
	struct sockaddr_storage ss;

	if (sa_of(s, &ss) == -1)
		return -1;
	return policy_dest_ok(p, (struct sockaddr *)&ss);
}

/* Each special range: its ends refused, the addresses around it not. */
static void
test_dest_table(void)
{
	static const struct dest t[] = {
		{ "0.0.0.0", 0 }, { "0.255.255.255", 0 }, { "1.0.0.0", 1 },
		{ "9.255.255.255", 1 }, { "10.0.0.0", 0 },
		{ "10.255.255.255", 0 }, { "11.0.0.0", 1 },
		{ "100.63.255.255", 1 }, { "100.64.0.0", 0 },
		{ "100.127.255.255", 0 }, { "100.128.0.0", 1 },
		{ "126.255.255.255", 1 }, { "127.0.0.1", 0 },
		{ "127.255.255.255", 0 }, { "128.0.0.0", 1 },
		{ "169.253.255.255", 1 }, { "169.254.0.0", 0 },
		{ "169.254.169.254", 0 }, { "169.254.255.255", 0 },
		{ "169.255.0.0", 1 }, { "172.15.255.255", 1 },
		{ "172.16.0.0", 0 }, { "172.31.255.255", 0 },
		{ "172.32.0.0", 1 }, { "191.255.255.255", 1 },
		{ "192.0.0.0", 0 }, { "192.0.0.255", 0 }, { "192.0.1.0", 1 },
		{ "192.0.2.0", 0 }, { "192.0.2.255", 0 }, { "192.0.3.0", 1 },
		{ "192.88.98.255", 1 }, { "192.88.99.0", 0 },
		{ "192.88.99.255", 0 }, { "192.88.100.0", 1 },
		{ "192.167.255.255", 1 }, { "192.168.0.0", 0 },
		{ "192.168.255.255", 0 }, { "192.169.0.0", 1 },
		{ "198.17.255.255", 1 }, { "198.18.0.0", 0 },
		{ "198.19.255.255", 0 }, { "198.20.0.0", 1 },
		{ "198.51.99.255", 1 }, { "198.51.100.0", 0 },
		{ "198.51.100.255", 0 }, { "198.51.101.0", 1 },
		{ "203.0.112.255", 1 }, { "203.0.113.0", 0 },
		{ "203.0.113.255", 0 }, { "203.0.114.0", 1 },
		{ "223.255.255.255", 1 }, { "224.0.0.0", 0 },
		{ "239.255.255.255", 0 }, { "240.0.0.0", 0 },
		{ "255.255.255.254", 0 }, { "255.255.255.255", 0 },
		{ "8.8.8.8", 1 }, { "93.184.216.34", 1 },
		{ "::", 0 }, { "::1", 0 }, { "::2", 0 },
		{ "::ffff:127.0.0.1", 0 }, { "::ffff:10.1.2.3", 0 },
		{ "::ffff:169.254.169.254", 0 }, { "::ffff:8.8.8.8", 0 },
		{ "::ffff:0.0.0.0", 0 }, { "::fffe:7f00:1", 1 },
		{ "64:ff9b::127.0.0.1", 0 }, { "64:ff9b::192.168.1.1", 0 },
		{ "64:ff9b::8.8.8.8", 0 }, { "64:ff9b:1::8.8.8.8", 0 },
		{ "100::", 0 }, { "100::ffff:ffff:ffff:ffff", 0 },
		{ "100:0:0:1::", 0 }, { "2001::", 0 },
		{ "2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff", 0 },
		{ "2001:200::", 1 }, { "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", 1 },
		{ "2001:db8::", 0 }, { "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", 0 },
		{ "2001:db9::", 1 }, { "2606:4700::1111", 1 },
		{ "fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 1 },
		{ "fc00::", 0 }, { "fd12:3456::1", 0 },
		{ "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 0 },
		{ "fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 1 },
		{ "fe80::", 0 }, { "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 0 },
		{ "fec0::", 0 }, { "feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 0 },
		{ "ff00::", 0 }, { "ff02::1", 0 },
		{ "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 0 }
	};
	struct policy p;
	size_t i;

	memset(&p, 0, sizeof(p));
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		check(dest_ok(&p, t[i].addr) == t[i].ok, "%s is %s by default",
		    t[i].addr, t[i].ok ? "allowed" : "refused");
	check(dest_ok(NULL, "10.0.0.1") == 0 && dest_ok(NULL, "8.8.8.8") == 1,
	    "a NULL policy still refuses special ranges");
}

/* Checks each row: its address under its --allow-dest list. */
static void
judge(const struct judged *t, size_t n)
{
	struct policy p;
	char err[256];
	size_t i;
	int r;

	for (i = 0; i < n; i++) {
		memset(&p, 0, sizeof(p));
		if (t[i].allow != NULL && policy_add_dests(&p, t[i].allow, err,
		    sizeof(err)) == -1) {
			check(0, "--allow-dest %s parses: %s", t[i].allow, err);
			continue;
		}
		r = dest_ok(&p, t[i].addr);
		if (t[i].allow == NULL)
			check(r == t[i].ok, "%s is %s by default", t[i].addr,
			    t[i].ok ? "allowed" : "refused");
		else
			check(r == t[i].ok, "%s is %s with --allow-dest %s",
			    t[i].addr, t[i].ok ? "allowed" : "refused",
			    t[i].allow);
	}
}

/*
 * Every entry of IANA's IPv4 and IPv6 special-purpose address registries
 * (and the special blocks beyond them DESIGN.md names): an address
 * inside it is refused by default and allowed once --allow-dest names
 * the entry.  Public addresses pass.  These are policy inputs only:
 * nothing here connects anywhere.
 */
static void
test_registry(void)
{
	static const struct judged t[] = {
		/* iana-ipv4-special-registry */
		{ "0.1.2.3", NULL, 0 }, { "0.1.2.3", "0.0.0.0/8", 1 },
		{ "0.0.0.0", NULL, 0 }, { "0.0.0.0", "0.0.0.0/32", 1 },
		{ "10.1.2.3", NULL, 0 }, { "10.1.2.3", "10.0.0.0/8", 1 },
		{ "100.100.1.1", NULL, 0 },
		{ "100.100.1.1", "100.64.0.0/10", 1 },
		{ "127.0.0.1", NULL, 0 }, { "127.0.0.1", "127.0.0.0/8", 1 },
		{ "169.254.169.254", NULL, 0 },
		{ "169.254.169.254", "169.254.0.0/16", 1 },
		{ "172.20.0.1", NULL, 0 }, { "172.20.0.1", "172.16.0.0/12", 1 },
		{ "192.0.0.100", NULL, 0 },
		{ "192.0.0.100", "192.0.0.0/24", 1 },
		{ "192.0.0.1", NULL, 0 }, { "192.0.0.1", "192.0.0.0/29", 1 },
		{ "192.0.0.8", NULL, 0 }, { "192.0.0.8", "192.0.0.8/32", 1 },
		{ "192.0.0.9", NULL, 0 }, { "192.0.0.9", "192.0.0.9/32", 1 },
		{ "192.0.0.10", NULL, 0 }, { "192.0.0.10", "192.0.0.10/32", 1 },
		{ "192.0.0.170", NULL, 0 },
		{ "192.0.0.170", "192.0.0.170/32", 1 },
		{ "192.0.0.171", NULL, 0 },
		{ "192.0.0.171", "192.0.0.171/32", 1 },
		{ "192.0.2.1", NULL, 0 }, { "192.0.2.1", "192.0.2.0/24", 1 },
		{ "192.31.196.1", NULL, 0 },
		{ "192.31.196.1", "192.31.196.0/24", 1 },
		{ "192.52.193.1", NULL, 0 },
		{ "192.52.193.1", "192.52.193.0/24", 1 },
		{ "192.88.99.1", NULL, 0 },
		{ "192.88.99.1", "192.88.99.0/24", 1 },
		{ "192.88.99.2", NULL, 0 },
		{ "192.88.99.2", "192.88.99.2/32", 1 },
		{ "192.168.1.1", NULL, 0 },
		{ "192.168.1.1", "192.168.0.0/16", 1 },
		{ "192.175.48.1", NULL, 0 },
		{ "192.175.48.1", "192.175.48.0/24", 1 },
		{ "198.19.0.1", NULL, 0 }, { "198.19.0.1", "198.18.0.0/15", 1 },
		{ "198.51.100.1", NULL, 0 },
		{ "198.51.100.1", "198.51.100.0/24", 1 },
		{ "203.0.113.1", NULL, 0 },
		{ "203.0.113.1", "203.0.113.0/24", 1 },
		{ "240.0.0.1", NULL, 0 }, { "240.0.0.1", "240.0.0.0/4", 1 },
		{ "255.255.255.255", NULL, 0 },
		{ "255.255.255.255", "255.255.255.255/32", 1 },
		/* multicast, from its own registry */
		{ "224.0.0.1", NULL, 0 }, { "224.0.0.1", "224.0.0.0/4", 1 },

		/* iana-ipv6-special-registry */
		{ "::1", NULL, 0 }, { "::1", "::1/128", 1 },
		{ "::", NULL, 0 }, { "::", "::/128", 1 },
		{ "::ffff:1.1.1.1", NULL, 0 },
		{ "::ffff:1.1.1.1", "::ffff:0:0/96", 1 },
		{ "64:ff9b::1.1.1.1", NULL, 0 },
		{ "64:ff9b::1.1.1.1", "64:ff9b::/96", 1 },
		{ "64:ff9b:1::1.1.1.1", NULL, 0 },
		{ "64:ff9b:1::1.1.1.1", "64:ff9b:1::/48", 1 },
		{ "100::1", NULL, 0 }, { "100::1", "100::/64", 1 },
		{ "100:0:0:1::1", NULL, 0 },
		{ "100:0:0:1::1", "100:0:0:1::/64", 1 },
		{ "2001:100::1", NULL, 0 }, { "2001:100::1", "2001::/23", 1 },
		/* Teredo: server 1.0.0.1, client 1.1.1.1 (inverted) */
		{ "2001:0:100:1::fefe:fefe", NULL, 0 },
		{ "2001:0:100:1::fefe:fefe", "2001::/32", 1 },
		{ "2001:1::1", NULL, 0 }, { "2001:1::1", "2001:1::1/128", 1 },
		{ "2001:1::2", NULL, 0 }, { "2001:1::2", "2001:1::2/128", 1 },
		{ "2001:1::3", NULL, 0 }, { "2001:1::3", "2001:1::3/128", 1 },
		{ "2001:2::1", NULL, 0 }, { "2001:2::1", "2001:2::/48", 1 },
		{ "2001:3::1", NULL, 0 }, { "2001:3::1", "2001:3::/32", 1 },
		{ "2001:4:112::1", NULL, 0 },
		{ "2001:4:112::1", "2001:4:112::/48", 1 },
		{ "2001:10::1", NULL, 0 }, { "2001:10::1", "2001:10::/28", 1 },
		{ "2001:20::1", NULL, 0 }, { "2001:20::1", "2001:20::/28", 1 },
		{ "2001:30::1", NULL, 0 }, { "2001:30::1", "2001:30::/28", 1 },
		{ "2001:db8::1", NULL, 0 }, { "2001:db8::1", "2001:db8::/32", 1 },
		/* 6to4 of 1.1.1.1 */
		{ "2002:101:101::1", NULL, 0 },
		{ "2002:101:101::1", "2002::/16", 1 },
		{ "2620:4f:8000::1", NULL, 0 },
		{ "2620:4f:8000::1", "2620:4f:8000::/48", 1 },
		{ "3fff::1", NULL, 0 }, { "3fff::1", "3fff::/20", 1 },
		{ "3fff:fff:ffff:ffff:ffff:ffff:ffff:ffff", NULL, 0 },
		{ "5f00::1", NULL, 0 }, { "5f00::1", "5f00::/16", 1 },
		{ "fd00::1", NULL, 0 }, { "fd00::1", "fc00::/7", 1 },
		{ "fe80::1", NULL, 0 }, { "fe80::1", "fe80::/10", 1 },
		/* beyond the registry: IPv4-compatible, SIIT, site-local,
		 * multicast */
		{ "::1.1.1.1", NULL, 0 }, { "::1.1.1.1", "::/96", 1 },
		{ "::ffff:0:1.1.1.1", NULL, 0 },
		{ "::ffff:0:1.1.1.1", "::ffff:0:0:0/96", 1 },
		{ "fec0::1", NULL, 0 }, { "fec0::1", "fec0::/10", 1 },
		{ "ff02::1", NULL, 0 }, { "ff02::1", "ff00::/8", 1 },

		/* public addresses, and the neighbours of the new blocks */
		{ "1.1.1.1", NULL, 1 }, { "8.8.8.8", NULL, 1 },
		{ "9.9.9.9", NULL, 1 }, { "192.31.195.255", NULL, 1 },
		{ "192.31.197.0", NULL, 1 }, { "192.52.192.255", NULL, 1 },
		{ "192.52.194.0", NULL, 1 }, { "192.175.47.255", NULL, 1 },
		{ "192.175.49.0", NULL, 1 },
		{ "2606:4700::1111", NULL, 1 }, { "2001:200::1", NULL, 1 },
		{ "2a00:1450:4001::1", NULL, 1 },
		{ "2003::1", NULL, 1 }, { "2001:ffff::1", NULL, 1 },
		{ "2620:4f:7fff:ffff:ffff:ffff:ffff:ffff", NULL, 1 },
		{ "2620:4f:8001::", NULL, 1 },
		{ "3ffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff", NULL, 1 },
		{ "3fff:1000::", NULL, 1 },
		{ "5eff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", NULL, 1 },
		{ "5f01::", NULL, 1 },
		{ "64:ff9b:2::", NULL, 1 }, { "64:ff9a:ffff::", NULL, 1 }
	};

	judge(t, sizeof(t) / sizeof(t[0]));
}

/*
 * Forms that carry an IPv4 address are special whatever they carry, and
 * naming the form does not open the special IPv4 addresses inside it:
 * those are judged as the IPv4 address itself.
 */
static void
test_embedded(void)
{
	static const struct judged t[] = {
		/* 6to4 of loopback and of a private address */
		{ "2002:7f00:1::", NULL, 0 },
		{ "2002:7f00:1::", "2002::/16", 0 },
		{ "2002:7f00:1::", "2002::/16,127.0.0.0/8", 1 },
		{ "2002:7f00:1::", "127.0.0.0/8", 0 },
		{ "2002:c0a8:101::1", NULL, 0 },
		{ "2002:c0a8:101::1", "2002::/16", 0 },
		{ "2002:c0a8:101::1", "2002:c0a8::/32", 1 },
		/* IPv4-compatible and SIIT */
		{ "::127.0.0.1", NULL, 0 }, { "::127.0.0.1", "::/96", 0 },
		{ "::127.0.0.1", "127.0.0.0/8", 1 },
		{ "::ffff:0:127.0.0.1", NULL, 0 },
		{ "::ffff:0:127.0.0.1", "::ffff:0:0:0/96", 0 },
		{ "::ffff:0:127.0.0.1", "127.0.0.0/8", 1 },
		/* NAT64, both prefixes */
		{ "64:ff9b::10.0.0.1", "64:ff9b::/96", 0 },
		{ "64:ff9b::10.0.0.1", "10.0.0.0/8", 1 },
		{ "64:ff9b:1::127.0.0.1", NULL, 0 },
		{ "64:ff9b:1::127.0.0.1", "64:ff9b:1::/48", 0 },
		{ "64:ff9b:1::127.0.0.1", "127.0.0.0/8", 1 },
		/* mapped: naming all of IPv6 does not name IPv4 loopback */
		{ "::ffff:127.0.0.1", "::/0", 0 },
		{ "::1", "::/0", 1 },
		{ "::ffff:127.0.0.1", "::ffff:127.0.0.0/104", 1 },
		/* Teredo: client 127.0.0.1, then server 10.0.0.1 */
		{ "2001:0:100:1::80ff:fffe", "2001::/32", 0 },
		{ "2001:0:a00:1::fefe:fefe", "2001::/32", 0 },
		{ "2001:0:a00:1::fefe:fefe", "2001::/32,10.0.0.0/8", 1 },
		/* an IPv4 block names the forms that are that address, not a
		 * tunnel's router */
		{ "::ffff:1.1.1.1", "1.1.1.1", 1 },
		{ "64:ff9b::1.1.1.1", "1.1.1.1", 1 },
		{ "::1.1.1.1", "1.1.1.1", 1 },
		{ "2002:101:101::1", "1.1.1.1", 0 },
		{ "2001:0:100:1::fefe:fefe", "1.1.1.1", 0 },
		/* :: and ::1 are themselves, not IPv4-compatible 0.0.0.x */
		{ "::1", "0.0.0.0/8", 0 }, { "::", "0.0.0.0/8", 0 }
	};

	judge(t, sizeof(t) / sizeof(t[0]));
}

static void
test_allow(void)
{
	struct sockaddr_un sun;
	struct policy p;
	char err[256];

	memset(&p, 0, sizeof(p));
	policy_add_dests(&p, "127.0.0.0/8", err, sizeof(err));
	check(dest_ok(&p, "127.0.0.1") == 1 && dest_ok(&p, "127.9.9.9") == 1,
	    "--allow-dest 127.0.0.0/8 allows loopback");
	check(dest_ok(&p, "::ffff:127.0.0.1") == 1,
	    "it allows v4-mapped loopback too");
	check(dest_ok(&p, "64:ff9b::127.0.0.1") == 1,
	    "and NAT64 loopback");
	check(dest_ok(&p, "::1") == 0 && dest_ok(&p, "10.0.0.1") == 0 &&
	    dest_ok(&p, "::ffff:10.0.0.1") == 0,
	    "but not ::1 nor other special ranges");
	policy_add_dests(&p, "::1,fc00::/7", err, sizeof(err));
	check(dest_ok(&p, "::1") == 1 && dest_ok(&p, "fd00::1") == 1 &&
	    dest_ok(&p, "fe80::1") == 0,
	    "--allow-dest ::1,fc00::/7 allows those, not link-local");
	memset(&p, 0, sizeof(p));
	policy_add_dests(&p, "::ffff:10.0.0.0/104", err, sizeof(err));
	check(dest_ok(&p, "::ffff:10.1.1.1") == 1 &&
	    dest_ok(&p, "10.1.1.1") == 0,
	    "a v6 block of mapped addresses matches mapped addresses");
	memset(&p, 0, sizeof(p));
	policy_add_dests(&p, "0.0.0.0/0", err, sizeof(err));
	check(dest_ok(&p, "10.0.0.1") == 1 && dest_ok(&p, "fd00::1") == 0,
	    "0.0.0.0/0 allows every IPv4 address and no IPv6 one");
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	check(policy_dest_ok(&p, (struct sockaddr *)&sun) == 0,
	    "a non-IP address is never a destination");
}

static void
test_errors(void)
{
	static const struct {
		enum net_error	 e;
		enum proxy_error pe;
		const char	*token;
		int		 status;
		enum log_reason	 reason;
	} t[] = {
		{ NET_DNS, PE_DNS_ERROR, "dns_error", 502,
		    REASON_UPSTREAM_ERROR },
		{ NET_REFUSED, PE_CONNECTION_REFUSED, "connection_refused",
		    502, REASON_UPSTREAM_ERROR },
		{ NET_UNREACH, PE_DESTINATION_IP_UNROUTABLE,
		    "destination_ip_unroutable", 502, REASON_UPSTREAM_ERROR },
		{ NET_TIMEOUT, PE_CONNECTION_TIMEOUT, "connection_timeout",
		    504, REASON_UPSTREAM_TIMEOUT },
		{ NET_POLICY, PE_DESTINATION_IP_PROHIBITED,
		    "destination_ip_prohibited", 403, REASON_POLICY },
		{ NET_LOOP, PE_PROXY_LOOP_DETECTED, "proxy_loop_detected",
		    403, REASON_POLICY },
		{ NET_SYSTEM, PE_PROXY_INTERNAL_ERROR, "proxy_internal_error",
		    502, REASON_UPSTREAM_ERROR }
	};
	size_t i, j;
	int distinct = 1;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		check(net_proxy_error(t[i].e) == t[i].pe &&
		    strcmp(net_proxy_status(t[i].e), t[i].token) == 0 &&
		    net_http_status(t[i].e) == t[i].status &&
		    net_log_reason(t[i].e) == t[i].reason,
		    "%s: Proxy-Status %s, HTTP %d, reason=%s",
		    net_strerror(t[i].e), t[i].token, t[i].status,
		    log_reason_name(t[i].reason));
		for (j = 0; j < i; j++)
			if (strcmp(net_strerror(t[i].e),
			    net_strerror(t[j].e)) == 0)
				distinct = 0;
	}
	check(distinct, "every error has its own reason text");
	check(net_proxy_error(NET_OK) == PE_NONE &&
	    strcmp(net_proxy_status(NET_OK), "") == 0,
	    "a connection made has no Proxy-Status");
}

/* Returns a listening socket on loopback (v4 or v6); its port in port. */
static int
listener(int family, const char *ip, char *port, int backlog)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int fd;

	memset(&ss, 0, sizeof(ss));
	sa_of(ip, &ss);
	((struct sockaddr_in *)&ss)->sin_port = 0;	/* same offset in v6 */
	if ((fd = socket(family, SOCK_STREAM, 0)) == -1 ||
	    bind(fd, (struct sockaddr *)&ss, family == AF_INET ?
	    sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6)) == -1 ||
	    listen(fd, backlog) == -1 ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) == -1) {
		perror("listener");
		exit(1);
	}
	net_ntop((struct sockaddr *)&ss, NULL, port);
	memcpy(&own_addr, &ss, sizeof(ss));
	fcntl(fd, F_SETFL, O_NONBLOCK);
	return fd;
}

/* Returns a socket bound to a loopback port nobody listens on. */
static int
closed_port(char *port)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) == -1) {
		perror("closed_port");
		exit(1);
	}
	net_ntop((struct sockaddr *)&sin, NULL, port);
	return fd;
}

/* Returns how many connections wait to be accepted (accepts them). */
static int
pending(int l)
{
	int n = 0, fd;

	while ((fd = accept(l, NULL, NULL)) != -1) {
		close(fd);
		n++;
	}
	return n;
}

static int
is_own(const struct sockaddr *sa)
{
	return net_same_addr(sa, (struct sockaddr *)&own_addr);
}

static void
test_connect(void)
{
	struct policy allow, none;
	enum net_error e;
	char port[NET_PORTLEN], cport[NET_PORTLEN], ip[NET_IPLEN], err[64];
	int l, fd, c, nodelay = 0, fl;
	socklen_t len = sizeof(nodelay);

	memset(&allow, 0, sizeof(allow));
	memset(&none, 0, sizeof(none));
	policy_add_dests(&allow, "127.0.0.0/8", err, sizeof(err));
	l = listener(AF_INET, "127.0.0.1", port, 16);
	ip[0] = '\0';
	fd = net_connect("127.0.0.1", port, &allow, NULL, 5000, &e, ip);
	check(fd != -1 && e == NET_OK && strcmp(ip, "127.0.0.1") == 0,
	    "connects to a listening loopback port allowed by policy");
	getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &nodelay, &len);
	fl = fcntl(fd, F_GETFL);
	check(nodelay != 0 && fl != -1 && !(fl & O_NONBLOCK),
	    "the socket is blocking, with TCP_NODELAY");
	check(write(fd, "x", 1) == 1 && pending(l) == 1,
	    "the listener got the connection");
	close(fd);

	fd = net_connect("localhost", port, &allow, NULL, 5000, &e, ip);
	check(fd != -1 && strcmp(ip, "127.0.0.1") == 0,
	    "a name from /etc/hosts resolves and connects");
	close(fd);
	pending(l);

	fd = net_connect("127.0.0.1", port, &none, NULL, 5000, &e, NULL);
	check(fd == -1 && e == NET_POLICY && pending(l) == 0,
	    "loopback without --allow-dest is refused by policy, "
	    "without connecting");
	fd = net_connect("127.0.0.1", port, NULL, NULL, 5000, &e, NULL);
	check(fd != -1, "no policy (a fixed -c target) connects anywhere");
	close(fd);
	pending(l);
	fd = net_connect("127.0.0.1", port, &allow, is_own, 5000, &e, NULL);
	check(fd == -1 && e == NET_LOOP && pending(l) == 0,
	    "our own listening address is refused as a loop");

	c = closed_port(cport);
	fd = net_connect("127.0.0.1", cport, &allow, NULL, 5000, &e, NULL);
	check(fd == -1 && e == NET_REFUSED && net_http_status(e) == 502,
	    "a closed port is NET_REFUSED (502 connection_refused)");
	close(c);
	close(l);

	/* a full accept queue drops SYNs: the connect can only time out */
	l = listener(AF_INET, "127.0.0.1", port, 0);
	c = socket(AF_INET, SOCK_STREAM, 0);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	{
		struct sockaddr_storage ss;

		sa_of("127.0.0.1", &ss);
		((struct sockaddr_in *)&ss)->sin_port = htons(atoi(port));
		connect(c, (struct sockaddr *)&ss, sizeof(struct sockaddr_in));
		connect(fd, (struct sockaddr *)&ss, sizeof(struct sockaddr_in));
	}
	usleep(100000);
	fd = net_connect("127.0.0.1", port, &allow, NULL, 300, &e, NULL);
	check(fd == -1 && e == NET_TIMEOUT && net_http_status(e) == 504,
	    "a connect that gets no answer is NET_TIMEOUT (504) (%s)",
	    net_strerror(e));
	close(c);
	close(l);
}

static void
test_connect_v6(void)
{
	struct policy allow;
	enum net_error e;
	char port[NET_PORTLEN], ip[NET_IPLEN], err[64];
	int l, fd;

	memset(&allow, 0, sizeof(allow));
	policy_add_dests(&allow, "::1", err, sizeof(err));
	l = listener(AF_INET6, "::1", port, 16);
	fd = net_connect("::1", port, &allow, NULL, 5000, &e, ip);
	check(fd != -1 && strcmp(ip, "::1") == 0 && pending(l) == 1,
	    "connects to [::1] when --allow-dest ::1");
	close(fd);
	memset(&allow, 0, sizeof(allow));
	policy_add_dests(&allow, "127.0.0.0/8", err, sizeof(err));
	fd = net_connect("::1", port, &allow, NULL, 5000, &e, ip);
	check(fd == -1 && e == NET_POLICY,
	    "allowing 127.0.0.0/8 does not allow ::1");
	close(l);
}

static void
test_unix(void)
{
	struct sockaddr_un sun;
	enum net_error e;
	char path[] = "/tmp/net_test.XXXXXX";
	int l, fd;

	if (mkdtemp(path) == NULL)
		return;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/s", path);
	l = socket(AF_UNIX, SOCK_STREAM, 0);
	bind(l, (struct sockaddr *)&sun, sizeof(sun));
	listen(l, 4);
	fd = net_connect_unix(sun.sun_path, &e);
	check(fd != -1 && e == NET_OK, "connects to a unix socket");
	close(fd);
	close(l);
	unlink(sun.sun_path);
	fd = net_connect_unix(sun.sun_path, &e);
	check(fd == -1 && e == NET_REFUSED,
	    "a missing unix socket is NET_REFUSED");
	rmdir(path);
}

static void
test_ntop(void)
{
	struct sockaddr_storage a, b;
	struct sockaddr_un sun;
	char ip[NET_IPLEN], port[NET_PORTLEN];

	sa_of("192.0.2.7", &a);
	net_ntop((struct sockaddr *)&a, ip, port);
	check(strcmp(ip, "192.0.2.7") == 0 && strcmp(port, "80") == 0,
	    "net_ntop prints IPv4 and its port");
	sa_of("2001:db8::1", &a);
	net_ntop((struct sockaddr *)&a, ip, port);
	check(strcmp(ip, "2001:db8::1") == 0 && strcmp(port, "80") == 0,
	    "net_ntop prints IPv6");
	sa_of("::ffff:10.1.2.3", &a);
	net_ntop((struct sockaddr *)&a, ip, NULL);
	check(strcmp(ip, "10.1.2.3") == 0,
	    "net_ntop prints a v4-mapped address as plain IPv4");
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	net_ntop((struct sockaddr *)&sun, ip, port);
	check(strcmp(ip, "-") == 0 && strcmp(port, "-") == 0,
	    "net_ntop prints - for a unix address");

	sa_of("127.0.0.1", &a);
	sa_of("127.0.0.1", &b);
	check(net_same_addr((struct sockaddr *)&a, (struct sockaddr *)&b),
	    "same IPv4 address and port are the same");
	((struct sockaddr_in *)&b)->sin_port = htons(81);
	check(!net_same_addr((struct sockaddr *)&a, (struct sockaddr *)&b),
	    "another port is not");
	sa_of("127.0.0.2", &b);
	check(!net_same_addr((struct sockaddr *)&a, (struct sockaddr *)&b),
	    "another address is not");
	sa_of("::ffff:127.0.0.1", &b);
	check(net_same_addr((struct sockaddr *)&a, (struct sockaddr *)&b),
	    "a v4-mapped address is the IPv4 address it carries");
	sa_of("::1", &a);
	check(!net_same_addr((struct sockaddr *)&a, (struct sockaddr *)&b),
	    "::1 is not 127.0.0.1");
	sa_of("::1", &b);
	check(net_same_addr((struct sockaddr *)&a, (struct sockaddr *)&b),
	    "same IPv6 address and port are the same");
}

/* Run with a resolv.conf naming 127.0.0.1, where nothing answers. */
static void
test_dns(void)
{
	enum net_error e;
	int fd;

	fd = net_connect("nonexistent.invalid", "80", NULL, NULL, 5000, &e,
	    NULL);
	check(fd == -1 && e == NET_DNS, "a name that does not resolve is "
	    "NET_DNS (%s)", net_strerror(e));
	check(net_http_status(e) == 502 &&
	    strcmp(net_proxy_status(e), "dns_error") == 0,
	    "it is answered 502 with Proxy-Status dns_error");
}

/* Run with a hosts file giving gtr-multi.test both ::1 and 127.0.0.1. */
static void
test_hosts(void)
{
	struct policy allow;
	enum net_error e;
	char port[NET_PORTLEN], ip[NET_IPLEN], err[64];
	int l, fd, c;

	memset(&allow, 0, sizeof(allow));
	policy_add_dests(&allow, "127.0.0.0/8", err, sizeof(err));
	l = listener(AF_INET, "127.0.0.1", port, 16);
	fd = net_connect("gtr-multi.test", port, &allow, NULL, 5000, &e, ip);
	check(fd != -1 && strcmp(ip, "127.0.0.1") == 0,
	    "a name with ::1 and 127.0.0.1 connects to the allowed one");
	close(fd);
	close(l);
	c = closed_port(port);
	fd = net_connect("gtr-multi.test", port, &allow, NULL, 5000, &e, ip);
	check(fd == -1 && e == NET_REFUSED,
	    "one address refused by policy, one by the port: "
	    "the refused connection is what is reported (%s)",
	    net_strerror(e));
	memset(&allow, 0, sizeof(allow));
	fd = net_connect("gtr-multi.test", port, &allow, NULL, 5000, &e, ip);
	check(fd == -1 && e == NET_POLICY,
	    "both addresses refused by policy is NET_POLICY");
	close(c);
	test_hosts_last();
}

/*
 * Returns the family getaddrinfo() lists last for name: the last
 * address net_connect() tries.
 */
static int
last_family(const char *name)
{
	struct addrinfo hints, *res, *ai;
	int family = AF_UNSPEC;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(name, "80", &hints, &res) != 0)
		return AF_UNSPEC;
	for (ai = res; ai != NULL; ai = ai->ai_next)
		family = ai->ai_family;
	freeaddrinfo(res);
	return family;
}

/*
 * Returns a listener on family's loopback whose accept queue is full,
 * so a connect to it can only time out; *c1 and *c2 fill the queue.
 */
static int
silent_listener(int family, char *port, int *c1, int *c2)
{
	struct sockaddr_storage ss;
	const char *ip = family == AF_INET ? "127.0.0.1" : "::1";
	socklen_t len = family == AF_INET ? sizeof(struct sockaddr_in) :
	    sizeof(struct sockaddr_in6);
	int l;

	l = listener(family, ip, port, 0);
	sa_of(ip, &ss);
	((struct sockaddr_in *)&ss)->sin_port = htons(atoi(port));
	*c1 = socket(family, SOCK_STREAM, 0);
	*c2 = socket(family, SOCK_STREAM | SOCK_NONBLOCK, 0);
	connect(*c1, (struct sockaddr *)&ss, len);
	connect(*c2, (struct sockaddr *)&ss, len);
	usleep(100000);
	return l;
}

/*
 * A name whose addresses fail differently is answered with the failure
 * of the last address tried (DESIGN.md), not the "worst" one; skipped
 * addresses (policy, loops) only count when every address was skipped.
 */
static void
test_hosts_last(void)
{
	struct policy allow;
	enum net_error e;
	char port[NET_PORTLEN], ip[NET_IPLEN], err[64];
	int first, last, l, fd, c1, c2;

	memset(&allow, 0, sizeof(allow));
	policy_add_dests(&allow, "127.0.0.0/8,::1", err, sizeof(err));
	last = last_family("gtr-multi.test");
	first = last == AF_INET ? AF_INET6 : AF_INET;

	l = silent_listener(last, port, &c1, &c2);
	fd = net_connect("gtr-multi.test", port, &allow, NULL, 600, &e, ip);
	check(fd == -1 && e == NET_TIMEOUT && net_http_status(e) == 504,
	    "the first address refused, the last timed out: NET_TIMEOUT "
	    "(%s)", net_strerror(e));
	close(c1);
	close(c2);
	close(l);

	l = silent_listener(first, port, &c1, &c2);
	fd = net_connect("gtr-multi.test", port, &allow, NULL, 600, &e, ip);
	check(fd == -1 && e == NET_REFUSED && net_http_status(e) == 502,
	    "the first address timed out, the last refused: NET_REFUSED "
	    "(%s)", net_strerror(e));
	close(c1);
	close(c2);
	close(l);

	l = listener(first, first == AF_INET ? "127.0.0.1" : "::1", port, 16);
	fd = net_connect("gtr-multi.test", port, &allow, is_own, 5000, &e, ip);
	check(fd == -1 && e == NET_REFUSED && pending(l) == 0,
	    "the first address our own listener, the last refused: "
	    "NET_REFUSED, not a loop (%s)", net_strerror(e));
	close(l);
}

static const struct {
	const char	*name;
	void		(*fn)(void);
	int		 by_default;
} tests[] = {
	{ "parse", test_parse, 1 },
	{ "authority", test_authority, 1 },
	{ "ports", test_ports, 1 },
	{ "dests", test_dests, 1 },
	{ "ranges", test_dest_table, 1 },
	{ "registry", test_registry, 1 },
	{ "embedded", test_embedded, 1 },
	{ "allow", test_allow, 1 },
	{ "errors", test_errors, 1 },
	{ "connect", test_connect, 1 },
	{ "connect6", test_connect_v6, 1 },
	{ "unix", test_unix, 1 },
	{ "ntop", test_ntop, 1 },
	{ "dns", test_dns, 0 },
	{ "hosts", test_hosts, 0 }
};

/* net_test [NAME...]: runs the named groups, or all but dns and hosts. */
int
main(int argc, char *argv[])
{
	size_t i;
	int a, found;

	for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		found = argc == 1 && tests[i].by_default;
		for (a = 1; a < argc; a++)
			found = found || strcmp(argv[a], tests[i].name) == 0;
		if (found)
			tests[i].fn();
	}
	for (a = 1; a < argc; a++) {
		found = 0;
		for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
			found = found || strcmp(argv[a], tests[i].name) == 0;
		if (!found)
			check(0, "test group %s exists", argv[a]);
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed != 0;
}
