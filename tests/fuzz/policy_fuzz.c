/*
 * policy_fuzz.c - libFuzzer harness for the destination policy's
 * parsers (common/net.c: --allow-port, --allow-dest, as opts.c hands
 * them the option's value) and net_parse_authority(), the one parser of
 * an authority a request carries.  The first byte picks which; the rest
 * is the string (and, for --allow-dest, the addresses tried).  The
 * invariants:
 *
 *	- a port list is taken exactly when each item is a port or LO-HI
 *	  of 1-65535 in decimal, at most POLICY_MAX_PORTS of them; it
 *	  then allows exactly the ports it names; a refused list leaves
 *	  the policy as it was;
 *	- an --allow-dest list is taken exactly when each item is an IPv4
 *	  or IPv6 address with an optional /BITS in range; each block,
 *	  written again, reads back the same; an address inside a block
 *	  is allowed (if it does not carry an IPv4 address); an allowed
 *	  address stays allowed with more blocks; an address carrying an
 *	  IPv4 address is allowed only if that address is, or a block
 *	  names the bits that hold it; a refused list changes nothing;
 *	- an authority taken is a host of the allowed characters (or an
 *	  IPv6 address it was bracketed as) and a port in 1-65535 in plain
 *	  decimal; formatted again it reads back the same, and it is the
 *	  input itself when the input wrote its port plainly.
 *
 *	make fuzz FUZZERS=policy [FUZZ_SECONDS=60]
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net.h"
#include "fuzz.h"

#define INPUT_MAX	4096

static int	 ref_u16(const char *, size_t, unsigned *);
static int	 named(unsigned, const unsigned *, const unsigned *, int);
static void	 ports(const char *, const uint8_t *, size_t);
static const struct sockaddr *addr(struct sockaddr_storage *,
		    const uint8_t *, size_t);
static int	 within(const uint8_t *, const uint8_t *, int);
static int	 named_v6(const struct policy *, const uint8_t *, int);
static int	 carried(const uint8_t *, uint8_t (*)[4], int *);
static int	 may_carry(const uint8_t *);
static void	 dests(const char *, const uint8_t *, size_t);
static void	 authority(const char *, size_t, int);

/* Parses n bytes of decimal 0-65535 as net.c should; 0 or -1. */
static int
ref_u16(const char *s, size_t n, unsigned *v)
{
	size_t i;

	*v = 0;
	if (n == 0 || n > 5)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		*v = *v * 10 + (s[i] - '0');
	}
	return *v <= 65535 ? 0 : -1;
}

/* Returns 1 if port is in one of the n ranges (ports 1-65535 only). */
static int
named(unsigned port, const unsigned *lo, const unsigned *hi, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (port >= 1 && port <= 65535 && port >= lo[i] &&
		    port <= hi[i])
			return 1;
	return 0;
}

/* --allow-port: the list against a reading of its own. */
static void
ports(const char *list, const uint8_t *data, size_t size)
{
	static struct policy p, before;
	unsigned lo[POLICY_MAX_PORTS + 1], hi[POLICY_MAX_PORTS + 1], port;
	const char *s, *end, *dash;
	char err[256];
	int n = 0, ok = 1, i, rc;
	size_t k;

	for (s = list;; s = end + 1) {
		end = s + strcspn(s, ",");
		dash = memchr(s, '-', end - s);
		if (n == POLICY_MAX_PORTS ||
		    ref_u16(s, (dash ? dash : end) - s, &lo[n]) == -1 ||
		    (dash != NULL && ref_u16(dash + 1, end - dash - 1,
		    &hi[n]) == -1))
			ok = 0;
		if (dash == NULL)
			hi[n] = lo[n];
		if (!ok || lo[n] == 0 || lo[n] > hi[n]) {
			ok = 0;
			break;
		}
		n++;
		if (*end == '\0')
			break;
	}
	memset(&p, 0, sizeof(p));
	CHECK(policy_set_ports(&p, "80,443", err, sizeof(err)) == 0);
	before = p;
	rc = policy_set_ports(&p, list, err, sizeof(err));
	CHECK((rc == 0) == ok);
	if (rc != 0) {
		CHECK(memcmp(&p, &before, sizeof(p)) == 0);
		CHECK(err[0] != '\0');
		return;
	}
	CHECK(p.nports == n);
	/* Every edge of every range, and ports the input picks. */
	for (i = 0; i < n; i++) {
		CHECK(policy_port_ok(&p, lo[i]) && policy_port_ok(&p, hi[i]));
		CHECK(policy_port_ok(&p, (lo[i] + hi[i]) / 2));
	}
	for (i = 0; i < n; i++) {
		CHECK(policy_port_ok(&p, lo[i] - 1) == named(lo[i] - 1, lo, hi,
		    n));
		CHECK(policy_port_ok(&p, hi[i] + 1) == named(hi[i] + 1, lo, hi,
		    n));
	}
	for (k = 0; k + 1 < size && k < 64; k += 2) {
		port = (unsigned)data[k] << 8 | data[k + 1];
		CHECK(policy_port_ok(&p, port) == named(port, lo, hi, n));
	}
	for (port = 0; port <= 65535; port += 257)
		CHECK(policy_port_ok(&p, port) == named(port, lo, hi, n));
	CHECK(!policy_port_ok(&p, 0) && !policy_port_ok(&p, 65536));
}

/* Fills sa with an IPv4 (len 4) or IPv6 (16) address. */
static const struct sockaddr *
addr(struct sockaddr_storage *ss, const uint8_t *a, size_t len)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (len == 4) {
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, a, 4);
	} else {
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, a, 16);
	}
	return (const struct sockaddr *)ss;
}

/* Returns 1 if the first bits of a and b are equal. */
static int
within(const uint8_t *a, const uint8_t *b, int bits)
{
	int i;

	for (i = 0; i < bits; i++)
		if (((a[i / 8] ^ b[i / 8]) >> (7 - i % 8)) & 1)
			return 0;
	return 1;
}

/* Returns 1 if an IPv6 block of p longer than minbits holds a. */
static int
named_v6(const struct policy *p, const uint8_t *a, int minbits)
{
	int i;

	for (i = 0; i < p->ndests; i++)
		if (p->dests[i].family == AF_INET6 &&
		    p->dests[i].bits > minbits &&
		    within(a, p->dests[i].addr, p->dests[i].bits))
			return 1;
	return 0;
}

/*
 * The IPv4 addresses a carries (RFC 4291 mapped and compatible, SIIT,
 * NAT64, 6to4, Teredo), each with the bit it starts at; how many.
 */
static int
carried(const uint8_t *a, uint8_t v4[2][4], int at[2])
{
	static const uint8_t zero[16];
	static const uint8_t nat64[4] = { 0, 0x64, 0xff, 0x9b };
	int i;

	static const uint8_t ffff[2] = { 0xff, 0xff };
	int mapped, compat, siit, wkp, local;

	mapped = memcmp(a, zero, 10) == 0 && memcmp(a + 10, ffff, 2) == 0;
	/* ::/96, but :: and ::1 are themselves */
	compat = memcmp(a, zero, 12) == 0 &&
	    !(memcmp(a + 12, zero, 3) == 0 && a[15] <= 1);
	siit = memcmp(a, zero, 8) == 0 && memcmp(a + 8, ffff, 2) == 0 &&
	    memcmp(a + 10, zero, 2) == 0;
	wkp = memcmp(a, nat64, 4) == 0 && memcmp(a + 4, zero, 8) == 0;
	local = memcmp(a, nat64, 4) == 0 && a[4] == 0 && a[5] == 1;
	if (mapped || compat || siit || wkp || local) {
		memcpy(v4[0], a + 12, 4);
		at[0] = 96;
		return 1;
	}
	if (a[0] == 0x20 && a[1] == 0x02) {
		memcpy(v4[0], a + 2, 4);
		at[0] = 16;
		return 1;
	}
	if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0 && a[3] == 0) {
		memcpy(v4[0], a + 4, 4);
		at[0] = 32;
		for (i = 0; i < 4; i++)
			v4[1][i] = a[12 + i] ^ 0xff;
		at[1] = 96;
		return 2;
	}
	return 0;
}

/* Returns 1 if a (IPv6) is in a block that may carry an IPv4 address. */
static int
may_carry(const uint8_t *a)
{
	static const uint8_t zero[16];

	return memcmp(a, zero, 8) == 0 ||
	    (a[0] == 0 && a[1] == 0x64 && a[2] == 0xff && a[3] == 0x9b) ||
	    (a[0] == 0x20 && a[1] == 0x02) ||
	    (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0 && a[3] == 0);
}

/* --allow-dest: the list, each block, and addresses it picks. */
static void
dests(const char *list, const uint8_t *data, size_t size)
{
	static const struct policy none;
	static struct policy p, before, back;
	struct sockaddr_storage ss, ss4;
	uint8_t a[16], v4[2][4];
	char err[256], one[NET_IPLEN + 8], *slash, text[NET_IPLEN];
	const char *s, *end;
	unsigned bits;
	int n = 0, ok = 1, i, j, rc, len, at[2], nc;
	size_t k;

	for (s = list;; s = end + 1) {
		end = s + strcspn(s, ",");
		if ((size_t)(end - s) >= sizeof(one) ||
		    1 + n == POLICY_MAX_DESTS) {
			ok = 0;
			break;
		}
		memcpy(one, s, end - s);
		one[end - s] = '\0';
		bits = 0;
		if ((slash = strchr(one, '/')) != NULL) {
			*slash++ = '\0';
			if (ref_u16(slash, strlen(slash), &bits) == -1)
				ok = 0;
		}
		if (inet_pton(AF_INET, one, a) == 1)
			len = 32;
		else if (inet_pton(AF_INET6, one, a) == 1)
			len = 128;
		else
			len = -1;
		if (!ok || len == -1 || (slash != NULL && bits > (unsigned)len)) {
			ok = 0;
			break;
		}
		n++;
		if (*end == '\0')
			break;
	}
	memset(&p, 0, sizeof(p));
	CHECK(policy_add_dests(&p, "198.51.100.0/24", err, sizeof(err)) == 0);
	before = p;
	rc = policy_add_dests(&p, list, err, sizeof(err));
	CHECK((rc == 0) == ok);
	if (rc != 0) {
		CHECK(memcmp(&p, &before, sizeof(p)) == 0);
		CHECK(err[0] != '\0');
		return;
	}
	CHECK(p.ndests == 1 + n);
	for (i = 1; i < p.ndests; i++) {
		/* Host bits cleared; written again, read back the same. */
		len = p.dests[i].family == AF_INET ? 32 : 128;
		CHECK(p.dests[i].bits >= 0 && p.dests[i].bits <= len);
		for (j = p.dests[i].bits; j < 128; j++)
			CHECK(!((p.dests[i].addr[j / 8] >> (7 - j % 8)) & 1));
		CHECK(inet_ntop(p.dests[i].family, p.dests[i].addr, text,
		    sizeof(text)) != NULL);
		snprintf(one, sizeof(one), "%s/%d", text, p.dests[i].bits);
		memset(&back, 0, sizeof(back));
		CHECK(policy_add_dests(&back, one, err, sizeof(err)) == 0);
		CHECK(back.ndests == 1);
		CHECK(memcmp(&back.dests[0], &p.dests[i],
		    sizeof(back.dests[0])) == 0);
		/* An address inside, its host bits from the input. */
		memcpy(a, p.dests[i].addr, 16);
		for (j = p.dests[i].bits; j < len; j++)
			if (size > 0 && (data[(j / 8) % size] >> (j % 8)) & 1)
				a[j / 8] |= 1 << (7 - j % 8);
		if (len == 32) {
			CHECK(policy_dest_ok(&p, addr(&ss, a, 4)));
			/* The IPv4-mapped form of it too. */
			memmove(a + 12, a, 4);
			memset(a, 0, 10);
			a[10] = a[11] = 0xff;
			CHECK(policy_dest_ok(&p, addr(&ss, a, 16)));
		} else if (!may_carry(a))
			CHECK(policy_dest_ok(&p, addr(&ss, a, 16)));
	}
	/* Addresses the input spells: more blocks never refuse more. */
	for (k = 0; k + 16 <= size && k < 256; k += 16) {
		CHECK(!policy_dest_ok(&none, addr(&ss, data + k, 4)) ||
		    policy_dest_ok(&p, addr(&ss, data + k, 4)));
		CHECK(!policy_dest_ok(&none, addr(&ss, data + k, 16)) ||
		    policy_dest_ok(&p, addr(&ss, data + k, 16)));
		/* A carried IPv4 address passes, or its bits are named. */
		if (!policy_dest_ok(&p, addr(&ss, data + k, 16)))
			continue;
		nc = carried(data + k, v4, at);
		for (j = 0; j < nc; j++)
			CHECK(policy_dest_ok(&p, addr(&ss4, v4[j], 4)) ||
			    named_v6(&p, data + k, at[j]));
	}
}

/* net_parse_authority(): what it takes, formatted and read again. */
static void
authority(const char *s, size_t len, int with_default)
{
	char host[NET_HOSTLEN], port[NET_PORTLEN], host2[NET_HOSTLEN],
	    port2[NET_PORTLEN], buf[NET_HOSTLEN + NET_PORTLEN + 4];
	struct in6_addr a6;
	const char *colon;
	unsigned v;
	size_t hl;

	if (net_parse_authority(s, len, with_default ? "80" : NULL, host,
	    port) == -1)
		return;
	hl = strlen(host);
	CHECK(hl > 0 && hl < NET_HOSTLEN);
	if (s[0] == '[')
		CHECK(inet_pton(AF_INET6, host, &a6) == 1);
	else {
		CHECK(strspn(host, "abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._") == hl);
		CHECK(host[0] != '-' && host[0] != '.');
	}
	CHECK(ref_u16(port, strlen(port), &v) == 0 && v >= 1);
	CHECK(port[0] != '0');
	/* Formatted again, read back the same. */
	CHECK(net_format_authority(buf, sizeof(buf), host, port) == 0);
	CHECK(net_parse_authority(buf, strlen(buf), NULL, host2, port2) == 0);
	CHECK(strcmp(host, host2) == 0 && strcmp(port, port2) == 0);
	/* The input itself, when its port is there and plain. */
	colon = s[0] == '[' ? memchr(s, ']', len) : s;
	CHECK(colon != NULL);
	colon = memchr(colon, ':', len - (colon - s));
	if (colon == NULL) {
		CHECK(with_default && strcmp(port, "80") == 0);
		CHECK(len == hl + (s[0] == '[' ? 2 : 0));
	} else if (colon[1] != '0')
		CHECK(strlen(buf) == len && memcmp(buf, s, len) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char s[INPUT_MAX + 1];
	const uint8_t *nul, *rest;
	size_t n;

	if (size < 1 || size > INPUT_MAX)
		return 0;
	/* The string ends at a NUL; what follows picks addresses. */
	n = size - 1;
	rest = data + size;
	if ((nul = memchr(data + 1, '\0', n)) != NULL) {
		n = nul - (data + 1);
		rest = nul + 1;
	}
	memcpy(s, data + 1, n);
	s[n] = '\0';
	switch (data[0] % 4) {
	case 0:
		ports(s, rest, data + size - rest);
		break;
	case 1:
		dests(s, rest, data + size - rest);
		break;
	default:
		authority(s, n, data[0] % 4 == 3);
		break;
	}
	return 0;
}
