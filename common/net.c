/*
 * net.c - addresses, the destination policy, and connecting with a timeout.
 *
 * Destination checks happen on each resolved address just before the
 * connect, so a name that resolves to a private address is refused no
 * matter what it looks like.  "Special" is DESIGN.md's: every entry of
 * IANA's two special-purpose address registries, and every IPv6 form
 * that carries an IPv4 address.  Such a form is special whatever it
 * carries, as the registry lists the forms themselves, and the IPv4
 * address inside is judged as well (see policy_dest_ok()).
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "net.h"

/*
 * How a special IPv6 block carries an IPv4 address: not at all; as the
 * address itself (a connect there reaches that IPv4 host, through the
 * stack or a translator); or as a tunnel's far end (6to4, Teredo), where
 * the IPv4 address is a router in front of some other host.
 */
enum embed {
	EMBED_NONE,
	EMBED_IS,	/* bytes 12-15 are the destination */
	EMBED_6TO4,	/* bytes 2-5: the 6to4 router (RFC 3056 section 2) */
	EMBED_TEREDO	/* bytes 4-7 the server, 12-15 inverted the client */
};

struct special {
	const char	*addr;
	int		 bits;
	enum embed	 embed;
};

/* An IPv4 address carried in an IPv6 one, and the bit it starts at. */
struct carried {
	uint8_t		 v4[4];
	int		 at;
};

static int	 parse_unix(const char *, struct net_addr *, char *, size_t);
static int	 authority(const char *, size_t, const char *, unsigned,
		    char *, char *, char *, size_t);
static int	 parse_port(const char *, size_t, char *, char *, size_t);
static int	 parse_host(const char *, size_t, char *, size_t);
static int	 parse_u16(const char *, size_t, uint16_t *);
static int	 is_v6(const char *, size_t);
static int	 cidr_parse(const char *, struct cidr *, char *, size_t);
static int	 prefix_match(const uint8_t *, const uint8_t *, int);
static int	 embedded_v4(const struct special *, const uint8_t *,
		    struct carried *);
static int	 embedded_ok(const struct policy *, const struct special *,
		    const uint8_t *);
static int	 v4_special(const uint8_t *);
static const struct special *v6_special(const uint8_t *);
static int	 allowed(const struct policy *, int, const uint8_t *, int);
static const struct special *special_match(const struct special *, size_t,
		    int, const uint8_t *);
static int	 try_connect(const struct addrinfo *, int, int *);
static enum net_error errno_kind(int);

/*
 * IANA's IPv4 Special-Purpose Address Registry (RFC 6890, as updated to
 * 2025), every entry, and multicast from its own registry: never a
 * destination unless --allow-dest says so.  Nested entries are listed
 * although their parent block already refuses them, so that the table
 * can be checked against the registry line by line.
 */
static const struct special v4_specials[] = {
	{ "0.0.0.0", 8, EMBED_NONE },		/* this network, RFC 791 */
	{ "0.0.0.0", 32, EMBED_NONE },		/* this host, RFC 1122 */
	{ "10.0.0.0", 8, EMBED_NONE },		/* private-use, RFC 1918 */
	{ "100.64.0.0", 10, EMBED_NONE },	/* shared (CGN), RFC 6598 */
	{ "127.0.0.0", 8, EMBED_NONE },		/* loopback, RFC 1122 */
	{ "169.254.0.0", 16, EMBED_NONE },	/* link-local, RFC 3927 */
	{ "172.16.0.0", 12, EMBED_NONE },	/* private-use, RFC 1918 */
	{ "192.0.0.0", 24, EMBED_NONE },	/* IETF protocol, RFC 6890 */
	{ "192.0.0.0", 29, EMBED_NONE },	/* DS-Lite, RFC 7335 */
	{ "192.0.0.8", 32, EMBED_NONE },	/* dummy address, RFC 7600 */
	{ "192.0.0.9", 32, EMBED_NONE },	/* PCP anycast, RFC 7723 */
	{ "192.0.0.10", 32, EMBED_NONE },	/* TURN anycast, RFC 8155 */
	{ "192.0.0.170", 32, EMBED_NONE },	/* NAT64 discovery, RFC 8880 */
	{ "192.0.0.171", 32, EMBED_NONE },	/* DNS64 discovery, RFC 8880 */
	{ "192.0.2.0", 24, EMBED_NONE },	/* TEST-NET-1, RFC 5737 */
	{ "192.31.196.0", 24, EMBED_NONE },	/* AS112-v4, RFC 7535 */
	{ "192.52.193.0", 24, EMBED_NONE },	/* AMT, RFC 7450 */
	{ "192.88.99.0", 24, EMBED_NONE },	/* 6to4 relays, RFC 7526 */
	{ "192.88.99.2", 32, EMBED_NONE },	/* 6a44 relay, RFC 6751 */
	{ "192.168.0.0", 16, EMBED_NONE },	/* private-use, RFC 1918 */
	{ "192.175.48.0", 24, EMBED_NONE },	/* AS112 direct, RFC 7534 */
	{ "198.18.0.0", 15, EMBED_NONE },	/* benchmarking, RFC 2544 */
	{ "198.51.100.0", 24, EMBED_NONE },	/* TEST-NET-2, RFC 5737 */
	{ "203.0.113.0", 24, EMBED_NONE },	/* TEST-NET-3, RFC 5737 */
	{ "224.0.0.0", 4, EMBED_NONE },		/* multicast, RFC 5771 */
	{ "240.0.0.0", 4, EMBED_NONE },		/* reserved, RFC 1112 */
	{ "255.255.255.255", 32, EMBED_NONE }	/* broadcast, RFC 8190 */
};

/*
 * IANA's IPv6 Special-Purpose Address Registry (RFC 6890, as updated to
 * 2025), every entry, then what DESIGN.md adds: the other forms that
 * carry an IPv4 address (RFC 4291 section 2.5.5.1's deprecated
 * IPv4-compatible, RFC 2765's IPv4-translated), deprecated site-local
 * and multicast.  The most specific entry that matches decides, so ::
 * and ::1 are themselves and not IPv4-compatible 0.0.0.0 and 0.0.0.1.
 */
static const struct special v6_specials[] = {
	{ "::1", 128, EMBED_NONE },		/* loopback, RFC 4291 */
	{ "::", 128, EMBED_NONE },		/* unspecified, RFC 4291 */
	{ "::ffff:0:0", 96, EMBED_IS },		/* IPv4-mapped, RFC 4291 */
	{ "64:ff9b::", 96, EMBED_IS },		/* NAT64, RFC 6052 */
	{ "64:ff9b:1::", 48, EMBED_IS },	/* local NAT64, RFC 8215 */
	{ "100::", 64, EMBED_NONE },		/* discard-only, RFC 6666 */
	{ "100:0:0:1::", 64, EMBED_NONE },	/* dummy prefix, RFC 9780 */
	{ "2001::", 23, EMBED_NONE },		/* IETF protocol, RFC 2928 */
	{ "2001::", 32, EMBED_TEREDO },		/* Teredo, RFC 4380 */
	{ "2001:1::1", 128, EMBED_NONE },	/* PCP anycast, RFC 7723 */
	{ "2001:1::2", 128, EMBED_NONE },	/* TURN anycast, RFC 8155 */
	{ "2001:1::3", 128, EMBED_NONE },	/* DNS-SD SRP, RFC 9665 */
	{ "2001:2::", 48, EMBED_NONE },		/* benchmarking, RFC 5180 */
	{ "2001:3::", 32, EMBED_NONE },		/* AMT, RFC 7450 */
	{ "2001:4:112::", 48, EMBED_NONE },	/* AS112-v6, RFC 7535 */
	{ "2001:10::", 28, EMBED_NONE },	/* ORCHID, RFC 4843 */
	{ "2001:20::", 28, EMBED_NONE },	/* ORCHIDv2, RFC 7343 */
	{ "2001:30::", 28, EMBED_NONE },	/* drone DETs, RFC 9374 */
	{ "2001:db8::", 32, EMBED_NONE },	/* documentation, RFC 3849 */
	{ "2002::", 16, EMBED_6TO4 },		/* 6to4, RFC 3056 */
	{ "2620:4f:8000::", 48, EMBED_NONE },	/* AS112 direct, RFC 7534 */
	{ "3fff::", 20, EMBED_NONE },		/* documentation, RFC 9637 */
	{ "5f00::", 16, EMBED_NONE },		/* SRv6 SIDs, RFC 9602 */
	{ "fc00::", 7, EMBED_NONE },		/* unique-local, RFC 4193 */
	{ "fe80::", 10, EMBED_NONE },		/* link-local, RFC 4291 */
	/* Beyond the registry (DESIGN.md). */
	{ "::", 96, EMBED_IS },			/* IPv4-compatible, RFC 4291 */
	{ "::ffff:0:0:0", 96, EMBED_IS },	/* SIIT, RFC 2765 */
	{ "fec0::", 10, EMBED_NONE },		/* site-local, RFC 3879 */
	{ "ff00::", 8, EMBED_NONE }		/* multicast, RFC 4291 */
};

static const uint8_t v4mapped_prefix[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

/*
 * Returns 0 with a parsed "PORT", "HOST:PORT", "[V6]:PORT" or "unix:PATH"
 * in *a, or -1 with the reason in err.  Ports are 0-65535: 0 only makes
 * sense for listening (the kernel picks one), and callers that connect
 * reject it themselves.  A host is as strict as a request's (see
 * net_parse_authority()).
 */
int
net_addr_parse(const char *s, const char *default_host,
    const char *default_port, struct net_addr *a, char *err, size_t errlen)
{
	memset(a, 0, sizeof(*a));
	if (strncmp(s, "unix:", 5) == 0)
		return parse_unix(s + 5, a, err, errlen);
	/* "PORT" and ":PORT" listen on the default host. */
	if (s[0] != '\0' && strspn(s + (s[0] == ':'), "0123456789") ==
	    strlen(s + (s[0] == ':'))) {
		if (default_host == NULL) {
			snprintf(err, errlen, "missing host in %s", s);
			return -1;
		}
		if (strlen(default_host) >= sizeof(a->host)) {
			snprintf(err, errlen, "default host too long");
			return -1;
		}
		strcpy(a->host, default_host);
		s += s[0] == ':';
		return parse_port(s, strlen(s), a->port, err, errlen);
	}
	return authority(s, strlen(s), default_port, 0, a->host, a->port, err,
	    errlen);
}

int
net_parse_authority(const char *s, size_t len, const char *default_port,
    char *host, char *port)
{
	char err[8];

	return authority(s, len, default_port, 1, host, port, err,
	    sizeof(err));
}

int
net_format_authority(char *buf, size_t len, const char *host,
    const char *port)
{
	int n;

	n = snprintf(buf, len, strchr(host, ':') != NULL ? "[%s]:%s" :
	    "%s:%s", host, port);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* Returns 0 with the path of "unix:PATH" in a, or -1. */
static int
parse_unix(const char *path, struct net_addr *a, char *err, size_t errlen)
{
	if (*path == '\0') {
		snprintf(err, errlen, "unix: needs a path");
		return -1;
	}
	if (strlen(path) >= sizeof(a->path)) {
		snprintf(err, errlen, "unix socket path too long: %s", path);
		return -1;
	}
	a->is_unix = 1;
	strcpy(a->path, path);
	return 0;
}

/*
 * The one authority parser: "host", "host:port" or "[v6]:port", len
 * bytes of s, ports from min_port.  Returns 0 with host (NET_HOSTLEN,
 * without brackets) and port (NET_PORTLEN, plain decimal) written, or -1
 * with the reason in err.
 */
static int
authority(const char *s, size_t len, const char *default_port,
    unsigned min_port, char *host, char *port, char *err, size_t errlen)
{
	const char *end = s + len, *h = s, *p = NULL, *close, *colon;
	size_t hlen;

	if (len == 0) {
		snprintf(err, errlen, "empty address");
		return -1;
	}
	if (s[0] == '[') {
		if ((close = memchr(s, ']', len)) == NULL) {
			snprintf(err, errlen, "missing ] in %.*s", (int)len, s);
			return -1;
		}
		h = s + 1;
		hlen = close - h;
		if (!is_v6(h, hlen)) {
			snprintf(err, errlen, "not an IPv6 address in []: %.*s",
			    (int)len, s);
			return -1;
		}
		if (close + 1 < end && close[1] != ':') {
			snprintf(err, errlen, "junk after ] in %.*s", (int)len,
			    s);
			return -1;
		}
		if (close + 1 < end)
			p = close + 2;
	} else {
		if ((colon = memchr(s, ':', len)) != NULL) {
			p = colon + 1;
			if (memchr(p, ':', end - p) != NULL) {
				snprintf(err, errlen, "IPv6 addresses need "
				    "brackets: [%.*s]:PORT", (int)len, s);
				return -1;
			}
		}
		hlen = (colon != NULL ? colon : end) - s;
		if (parse_host(h, hlen, err, errlen) == -1)
			return -1;
	}
	if (hlen >= NET_HOSTLEN) {
		snprintf(err, errlen, "host too long: %zu bytes", hlen);
		return -1;
	}
	if (p == NULL && default_port == NULL) {
		snprintf(err, errlen, "missing port in %.*s", (int)len, s);
		return -1;
	}
	if (parse_port(p != NULL ? p : default_port, p != NULL ?
	    (size_t)(end - p) : strlen(default_port), port, err, errlen) ==
	    -1)
		return -1;
	if ((unsigned)atoi(port) < min_port) {
		snprintf(err, errlen, "port %s is not a destination", port);
		return -1;
	}
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	return 0;
}

/* Returns 1 if s[0..len) is an IPv6 address. */
static int
is_v6(const char *s, size_t len)
{
	struct in6_addr a;
	char buf[NET_IPLEN];

	if (len == 0 || len >= sizeof(buf))
		return 0;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return inet_pton(AF_INET6, buf, &a) == 1;
}

/*
 * Returns 0 if h[0..len) is a host name (or an IPv4 address): letters,
 * digits, '-', '.' and '_', not starting with '-' or '.'; else -1.
 */
static int
parse_host(const char *h, size_t len, char *err, size_t errlen)
{
	if (len == 0) {
		snprintf(err, errlen, "missing host");
		return -1;
	}
	if (strspn(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789-._") < len || h[0] == '-' || h[0] == '.') {
		snprintf(err, errlen, "bad character in host: %.*s",
		    (int)len, h);
		return -1;
	}
	return 0;
}

/* Returns 0 with the decimal port 0-65535 of p[0..len) in out, or -1. */
static int
parse_port(const char *p, size_t len, char *out, char *err, size_t errlen)
{
	uint16_t v;

	if (parse_u16(p, len, &v) == -1) {
		snprintf(err, errlen, "bad port (0-65535): %.*s", (int)len, p);
		return -1;
	}
	snprintf(out, NET_PORTLEN, "%u", v);
	return 0;
}

/* Returns 0 with the decimal number 0-65535 of p[0..len) in *v, or -1. */
static int
parse_u16(const char *p, size_t len, uint16_t *v)
{
	unsigned long n = 0;
	size_t i;

	if (len == 0 || len > 5)
		return -1;
	for (i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		n = n * 10 + (p[i] - '0');
	}
	if (n > 65535)
		return -1;
	*v = n;
	return 0;
}

/* Returns 0 with the port list replaced, or -1 (policy unchanged). */
int
policy_set_ports(struct policy *p, const char *list, char *err,
    size_t errlen)
{
	struct port_range r[POLICY_MAX_PORTS];
	const char *s, *end, *dash;
	int n = 0;

	for (s = list;; s = end + 1) {
		end = s + strcspn(s, ",");
		if (n == POLICY_MAX_PORTS) {
			snprintf(err, errlen, "more than %d port ranges",
			    POLICY_MAX_PORTS);
			return -1;
		}
		dash = memchr(s, '-', end - s);
		if (dash == NULL) {
			if (parse_u16(s, end - s, &r[n].lo) == -1)
				goto bad;
			r[n].hi = r[n].lo;
		} else if (parse_u16(s, dash - s, &r[n].lo) == -1 ||
		    parse_u16(dash + 1, end - dash - 1, &r[n].hi) == -1)
			goto bad;
		if (r[n].lo == 0 || r[n].lo > r[n].hi)
			goto bad;
		n++;
		if (*end == '\0')
			break;
	}
	memcpy(p->ports, r, sizeof(r[0]) * n);
	p->nports = n;
	return 0;
bad:
	snprintf(err, errlen, "bad port or range (1-65535, LO-HI): %.*s",
	    (int)(end - s), s);
	return -1;
}

/* Returns 0 with each block of the list added, or -1 (policy unchanged). */
int
policy_add_dests(struct policy *p, const char *list, char *err,
    size_t errlen)
{
	return net_cidr_add(p->dests, &p->ndests, POLICY_MAX_DESTS,
	    "--allow-dest", list, err, errlen);
}

int
net_cidr_add(struct cidr *v, int *n, int max, const char *what,
    const char *list, char *err, size_t errlen)
{
	struct cidr c[POLICY_MAX_DESTS];
	char one[NET_IPLEN + 8];
	const char *s, *end;
	int k = 0;

	for (s = list;; s = end + 1) {
		end = s + strcspn(s, ",");
		if (*n + k == max || k == POLICY_MAX_DESTS) {
			snprintf(err, errlen, "more than %d %s blocks", max,
			    what);
			return -1;
		}
		if ((size_t)(end - s) >= sizeof(one)) {
			snprintf(err, errlen, "bad address block: %.*s",
			    (int)(end - s), s);
			return -1;
		}
		memcpy(one, s, end - s);
		one[end - s] = '\0';
		if (cidr_parse(one, &c[k], err, errlen) == -1)
			return -1;
		k++;
		if (*end == '\0')
			break;
	}
	memcpy(v + *n, c, sizeof(c[0]) * k);
	*n += k;
	return 0;
}

/*
 * Returns 0 with "ADDR" or "ADDR/BITS" parsed into *c (host bits cleared:
 * "127.0.0.1/8" means 127.0.0.0/8), or -1.
 */
static int
cidr_parse(const char *s, struct cidr *c, char *err, size_t errlen)
{
	char addr[NET_IPLEN];
	const char *slash;
	size_t len;
	uint16_t bits;
	int max, i;

	memset(c, 0, sizeof(*c));
	slash = strchr(s, '/');
	len = slash ? (size_t)(slash - s) : strlen(s);
	if (len == 0 || len >= sizeof(addr))
		goto bad;
	memcpy(addr, s, len);
	addr[len] = '\0';
	if (inet_pton(AF_INET, addr, c->addr) == 1) {
		c->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, addr, c->addr) == 1) {
		c->family = AF_INET6;
		max = 128;
	} else
		goto bad;
	if (slash == NULL)
		bits = max;
	else if (parse_u16(slash + 1, strlen(slash + 1), &bits) == -1 ||
	    bits > max)
		goto bad;
	c->bits = bits;
	for (i = 0; i < 16; i++) {
		if (i * 8 >= bits)
			c->addr[i] = 0;
		else if (i * 8 + 8 > bits)
			c->addr[i] &= 0xff << (8 - (bits - i * 8));
	}
	return 0;
bad:
	snprintf(err, errlen, "bad address block (ADDR or ADDR/BITS): %s", s);
	return -1;
}

/* Returns 1 if port is in one of the policy's ranges. */
int
policy_port_ok(const struct policy *p, unsigned port)
{
	int i;

	for (i = 0; i < p->nports; i++)
		if (port >= p->ports[i].lo && port <= p->ports[i].hi)
			return 1;
	return 0;
}

/* Returns 1 if the first bits of a and b are equal. */
static int
prefix_match(const uint8_t *a, const uint8_t *b, int bits)
{
	int full = bits / 8, rest = bits % 8;
	uint8_t mask;

	if (memcmp(a, b, full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	mask = 0xff << (8 - rest);
	return (a[full] & mask) == (b[full] & mask);
}

/*
 * Returns how many IPv4 addresses an address in block s carries (0 to
 * 2), with each and the bit it starts at in c.  NAT64's local-use prefix
 * may put the IPv4 address at any of RFC 6052's offsets; it is read at
 * /96, the well-known prefix's and the usual one.
 */
static int
embedded_v4(const struct special *s, const uint8_t *a, struct carried *c)
{
	int i;

	switch (s->embed) {
	case EMBED_IS:
		memcpy(c[0].v4, a + 12, 4);
		c[0].at = 96;
		return 1;
	case EMBED_6TO4:
		memcpy(c[0].v4, a + 2, 4);
		c[0].at = 16;
		return 1;
	case EMBED_TEREDO:
		memcpy(c[0].v4, a + 4, 4);
		c[0].at = 32;
		for (i = 0; i < 4; i++)
			c[1].v4[i] = a[12 + i] ^ 0xff;
		c[1].at = 96;
		return 2;
	case EMBED_NONE:
		break;
	}
	return 0;
}

/*
 * Returns the most specific of the table's blocks that holds addr, or
 * NULL.
 */
static const struct special *
special_match(const struct special *t, size_t n, int family,
    const uint8_t *addr)
{
	const struct special *best = NULL;
	uint8_t block[16];
	size_t i;

	for (i = 0; i < n; i++) {
		if (inet_pton(family, t[i].addr, block) != 1)
			continue;
		if (prefix_match(addr, block, t[i].bits) &&
		    (best == NULL || t[i].bits > best->bits))
			best = &t[i];
	}
	return best;
}

static int
v4_special(const uint8_t *a)
{
	return special_match(v4_specials,
	    sizeof(v4_specials) / sizeof(v4_specials[0]), AF_INET, a) != NULL;
}

static const struct special *
v6_special(const uint8_t *a)
{
	return special_match(v6_specials,
	    sizeof(v6_specials) / sizeof(v6_specials[0]), AF_INET6, a);
}

/*
 * Returns 1 if an --allow-dest block of this family longer than minbits
 * contains addr.
 */
static int
allowed(const struct policy *p, int family, const uint8_t *addr,
    int minbits)
{
	int i;

	if (p == NULL)
		return 0;
	for (i = 0; i < p->ndests; i++)
		if (p->dests[i].family == family &&
		    p->dests[i].bits > minbits &&
		    prefix_match(addr, p->dests[i].addr, p->dests[i].bits))
			return 1;
	return 0;
}

/*
 * Returns 1 if a, in block s that carries IPv4 addresses, may be
 * connected to.  The form itself must be named: by an IPv6 block, or,
 * for a form that is the IPv4 address (mapped, compatible, SIIT, NAT64),
 * by an IPv4 block holding it; a 6to4 or Teredo address only leads to a
 * router at its IPv4 address, so naming the router names nothing.  Then
 * each IPv4 address carried must pass as itself, or be named: by an IPv4
 * block, or by an IPv6 block long enough to reach into it (::ffff:10.0.0.0/104).
 * So --allow-dest 2002::/16 opens 6to4 to public routers only, and
 * ::/0 does not open ::ffff:127.0.0.1.
 */
static int
embedded_ok(const struct policy *p, const struct special *s,
    const uint8_t *a)
{
	struct carried c[2];
	int i, n;

	n = embedded_v4(s, a, c);
	if (!allowed(p, AF_INET6, a, -1) &&
	    !(s->embed == EMBED_IS && allowed(p, AF_INET, c[0].v4, -1)))
		return 0;
	for (i = 0; i < n; i++)
		if (v4_special(c[i].v4) && !allowed(p, AF_INET, c[i].v4, -1) &&
		    !allowed(p, AF_INET6, a, c[i].at))
			return 0;
	return 1;
}

/* Returns 1 if sa may be connected to (see net.h). */
int
policy_dest_ok(const struct policy *p, const struct sockaddr *sa)
{
	const struct sockaddr_in *sin;
	const struct sockaddr_in6 *sin6;
	const struct special *s;
	const uint8_t *a;

	switch (sa->sa_family) {
	case AF_INET:
		sin = (const struct sockaddr_in *)sa;
		a = (const uint8_t *)&sin->sin_addr;
		return !v4_special(a) || allowed(p, AF_INET, a, -1);
	case AF_INET6:
		sin6 = (const struct sockaddr_in6 *)sa;
		a = sin6->sin6_addr.s6_addr;
		if ((s = v6_special(a)) == NULL)
			return 1;
		if (s->embed != EMBED_NONE)
			return embedded_ok(p, s, a);
		return allowed(p, AF_INET6, a, -1);
	default:
		return 0;
	}
}

const char *
net_strerror(enum net_error e)
{
	switch (e) {
	case NET_OK:
		return "connected";
	case NET_DNS:
		return "name does not resolve";
	case NET_REFUSED:
		return "connection refused";
	case NET_UNREACH:
		return "destination unreachable";
	case NET_TIMEOUT:
		return "connection timed out";
	case NET_POLICY:
		return "destination not allowed";
	case NET_LOOP:
		return "destination is this proxy";
	case NET_SYSTEM:
		break;
	}
	return "cannot connect (system error)";
}

enum proxy_error
net_proxy_error(enum net_error e)
{
	switch (e) {
	case NET_OK:
		return PE_NONE;
	case NET_DNS:
		return PE_DNS_ERROR;
	case NET_REFUSED:
		return PE_CONNECTION_REFUSED;
	case NET_UNREACH:
		return PE_DESTINATION_IP_UNROUTABLE;
	case NET_TIMEOUT:
		return PE_CONNECTION_TIMEOUT;
	case NET_POLICY:
		return PE_DESTINATION_IP_PROHIBITED;
	case NET_LOOP:
		return PE_PROXY_LOOP_DETECTED;
	case NET_SYSTEM:
		break;
	}
	return PE_PROXY_INTERNAL_ERROR;
}

const char *
net_proxy_status(enum net_error e)
{
	const char *tok = http_proxy_error_token(net_proxy_error(e));

	return tok != NULL ? tok : "";
}

int
net_http_status(enum net_error e)
{
	switch (e) {
	case NET_OK:
		return HTTP_OK;
	case NET_TIMEOUT:
		return HTTP_GATEWAY_TIMEOUT;
	case NET_POLICY:
	case NET_LOOP:
		return HTTP_FORBIDDEN;
	default:
		return HTTP_BAD_GATEWAY;
	}
}

enum log_reason
net_log_reason(enum net_error e)
{
	switch (e) {
	case NET_OK:
		return REASON_DONE;
	case NET_TIMEOUT:
		return REASON_UPSTREAM_TIMEOUT;
	case NET_POLICY:
	case NET_LOOP:
		return REASON_POLICY;
	default:
		return REASON_UPSTREAM_ERROR;
	}
}

const char *
policy_port_refusal(char *buf, size_t len, unsigned port)
{
	snprintf(buf, len, "port %u is not allowed", port);
	return buf;
}

const char *
policy_dest_refusal(char *buf, size_t len, enum net_error e,
    const char *host, const char *port)
{
	char hp[NET_HOSTLEN + NET_PORTLEN + 4];

	if (e == NET_LOOP && net_format_authority(hp, sizeof(hp), host,
	    port) != -1)
		snprintf(buf, len, "destination %s is this program's own "
		    "listener", hp);
	else
		snprintf(buf, len, "destination %s is not allowed", host);
	return buf;
}

static enum net_error
errno_kind(int e)
{
	switch (e) {
	case ECONNREFUSED:
	case ECONNRESET:
		return NET_REFUSED;
	case ENETUNREACH:
	case EHOSTUNREACH:
	case ENETDOWN:
	case EHOSTDOWN:
	case EADDRNOTAVAIL:
	case EAFNOSUPPORT:
		return NET_UNREACH;
	case ETIMEDOUT:
		return NET_TIMEOUT;
	default:
		return NET_SYSTEM;
	}
}

/*
 * Returns a connected socket to one address within ms milliseconds, or -1
 * with errno set (ETIMEDOUT when the time ran out).
 */
static int
try_connect(const struct addrinfo *ai, int ms, int *fdp)
{
	struct pollfd pfd;
	socklen_t len;
	int fd, r, soerr;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, ai->ai_protocol);
	if (fd == -1)
		return -1;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		goto done;
	if (errno != EINPROGRESS)
		goto fail;
	pfd.fd = fd;
	pfd.events = POLLOUT;
	do
		r = poll(&pfd, 1, ms);
	while (r == -1 && errno == EINTR);	/* ms is a share; fine */
	if (r == 0)
		errno = ETIMEDOUT;
	if (r <= 0)
		goto fail;
	len = sizeof(soerr);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == -1)
		goto fail;
	if (soerr != 0) {
		errno = soerr;
		goto fail;
	}
done:
	*fdp = fd;
	return 0;
fail:
	soerr = errno;
	close(fd);
	errno = soerr;
	return -1;
}

/*
 * Returns a connected blocking socket (see net.h), or -1 with *err.  Each
 * address gets an equal share of the time left, so one black hole cannot
 * eat the whole timeout before the next address is tried; the last one
 * gets everything that remains.  The policy skips the addresses it
 * refuses (and loops): the error is theirs only when every address was
 * skipped, a loop before a refusal, and otherwise what the last address
 * tried said (DESIGN.md).  A "worst" error instead made a refused ::1
 * hide that 127.0.0.1 timed out, and a loop on one address hide a
 * refused connection on another.
 */
int
net_connect(const char *host, const char *port, const struct policy *p,
    int (*own)(const struct sockaddr *), int timeout_ms,
    enum net_error *err, char *ip)
{
	struct addrinfo hints, *res, *ai;
	enum net_error skipped = NET_DNS, last = NET_OK;
	uint64_t deadline;
	int fd, flags, left, n, one = 1, gerr;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;	/* ports are numbers, parsed */
	deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	if ((gerr = getaddrinfo(host, port, &hints, &res)) != 0) {
		*err = (gerr == EAI_SYSTEM || gerr == EAI_MEMORY) ?
		    NET_SYSTEM : NET_DNS;
		return -1;
	}
	for (n = 0, ai = res; ai != NULL; ai = ai->ai_next)
		n++;
	fd = -1;
	for (ai = res; ai != NULL; ai = ai->ai_next, n--) {
		if (own != NULL && own(ai->ai_addr))
			skipped = NET_LOOP;
		else if (p != NULL && !policy_dest_ok(p, ai->ai_addr)) {
			if (skipped != NET_LOOP)
				skipped = NET_POLICY;
		} else {
			left = (int)((int64_t)deadline - (int64_t)now_ms());
			if (left <= 0)
				last = NET_TIMEOUT;
			else if (try_connect(ai, n > 1 ? left / n : left,
			    &fd) == 0)
				break;
			else
				last = errno_kind(errno);
		}
	}
	if (fd == -1) {
		freeaddrinfo(res);
		*err = last != NET_OK ? last : skipped;
		return -1;
	}
	if (ip != NULL)
		net_ntop(ai->ai_addr, ip, NULL);
	freeaddrinfo(res);
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if ((flags = fcntl(fd, F_GETFL)) != -1)
		(void)fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
	*err = NET_OK;
	return fd;
}

/* Returns a socket connected to the unix path, or -1 with *err. */
int
net_connect_unix(const char *path, enum net_error *err)
{
	struct sockaddr_un sun;
	int fd, e;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		*err = NET_SYSTEM;
		return -1;
	}
	strcpy(sun.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		*err = NET_SYSTEM;
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		e = errno;
		close(fd);
		*err = (e == ENOENT || e == ECONNREFUSED || e == ENOTSOCK) ?
		    NET_REFUSED : errno_kind(e);
		return -1;
	}
	*err = NET_OK;
	return fd;
}

/* Writes sa's address and port; "-" for what is not an IP address. */
void
net_ntop(const struct sockaddr *sa, char *ip, char *port)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
	const uint8_t *a;
	unsigned p = 0;
	int ok = 0;

	if (sa->sa_family == AF_INET) {
		if (ip != NULL)
			ok = inet_ntop(AF_INET, &sin->sin_addr, ip,
			    NET_IPLEN) != NULL;
		p = ntohs(sin->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		a = sin6->sin6_addr.s6_addr;
		if (ip != NULL && memcmp(a, v4mapped_prefix, 12) == 0)
			ok = inet_ntop(AF_INET, a + 12, ip, NET_IPLEN) != NULL;
		else if (ip != NULL)
			ok = inet_ntop(AF_INET6, a, ip, NET_IPLEN) != NULL;
		p = ntohs(sin6->sin6_port);
	} else {
		if (ip != NULL)
			strcpy(ip, "-");
		if (port != NULL)
			strcpy(port, "-");
		return;
	}
	if (ip != NULL && !ok)
		strcpy(ip, "-");
	if (port != NULL)
		snprintf(port, NET_PORTLEN, "%u", p);
}

/*
 * Returns 1 if both are the same address and port.  A v4-mapped IPv6
 * address counts as the IPv4 address it carries, as a dual-stack
 * listener sees IPv4 peers that way.
 */
int
net_same_addr(const struct sockaddr *a, const struct sockaddr *b)
{
	struct sockaddr_in na, nb;
	const struct sockaddr_in6 *a6, *b6;
	const struct sockaddr *s[2] = { a, b };
	struct sockaddr_in *n[2] = { &na, &nb };
	int i;

	for (i = 0; i < 2; i++) {
		if (s[i]->sa_family != AF_INET6)
			continue;
		a6 = (const struct sockaddr_in6 *)s[i];
		if (memcmp(a6->sin6_addr.s6_addr, v4mapped_prefix, 12) != 0)
			continue;
		memset(n[i], 0, sizeof(*n[i]));
		n[i]->sin_family = AF_INET;
		n[i]->sin_port = a6->sin6_port;
		memcpy(&n[i]->sin_addr, a6->sin6_addr.s6_addr + 12, 4);
		s[i] = (const struct sockaddr *)n[i];
	}
	a = s[0];
	b = s[1];
	if (a->sa_family != b->sa_family)
		return 0;
	if (a->sa_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_port ==
		    ((const struct sockaddr_in *)b)->sin_port &&
		    ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		    ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	if (a->sa_family == AF_INET6) {
		a6 = (const struct sockaddr_in6 *)a;
		b6 = (const struct sockaddr_in6 *)b;
		return a6->sin6_port == b6->sin6_port &&
		    memcmp(&a6->sin6_addr, &b6->sin6_addr, 16) == 0;
	}
	return 0;
}

int
net_connect_to(const struct net_addr *fixed, const char *host,
    const char *port, const struct policy *policy,
    int (*own)(const struct sockaddr *), int timeout_ms,
    enum net_error *err, char *upstream, size_t ulen)
{
	char ip[NET_IPLEN];
	int fd;

	if (fixed != NULL && fixed->is_unix) {
		if ((fd = net_connect_unix(fixed->path, err)) != -1)
			snprintf(upstream, ulen, "unix");
		return fd;
	}
	if (fixed != NULL) {
		host = fixed->host;
		port = fixed->port;
		policy = NULL;
	}
	if ((fd = net_connect(host, port, policy, own, timeout_ms, err,
	    ip)) != -1)
		(void)net_format_authority(upstream, ulen, ip, port);
	return fd;
}

int
net_cidr_match(const struct cidr *v, int n, const struct sockaddr *sa)
{
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
	const uint8_t *addr;
	int family, i;

	if (sa->sa_family == AF_INET) {
		family = AF_INET;
		addr = (const uint8_t *)
		    &((const struct sockaddr_in *)sa)->sin_addr;
	} else if (sa->sa_family == AF_INET6 &&
	    memcmp(sin6->sin6_addr.s6_addr, v4mapped_prefix, 12) == 0) {
		family = AF_INET;	/* a dual-stack socket's IPv4 client */
		addr = sin6->sin6_addr.s6_addr + 12;
	} else if (sa->sa_family == AF_INET6) {
		family = AF_INET6;
		addr = sin6->sin6_addr.s6_addr;
	} else
		return 0;
	for (i = 0; i < n; i++)
		if (v[i].family == family &&
		    prefix_match(addr, v[i].addr, v[i].bits))
			return 1;
	return 0;
}
