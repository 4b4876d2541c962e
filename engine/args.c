#include "args.h"
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void opts_defaults(struct opts *o)
{
	memset(o, 0, sizeof *o);
	o->cpu = -1;
	o->wait = WAIT_BLOCK;
	o->size = 64;
	o->count = 1000;
	o->warmup = 1;
	o->interval_ns = 1000000;
	o->timeout_ns = 200000000;
	o->max_consecutive_lost = 1000;
	o->addr.v4.sin_family = AF_INET;
	o->api = API_SEND;
	o->burst = 1;
	o->duration_ns = 10000000000ull;
	o->xdp_frames = 4096;
	o->xdp_ring = 2048;
	o->response_size = 0; /* 0: as large as the request */
	o->flows = 1;
}

int parse_u64(const char *s, uint64_t *out)
{
	if (!s || !*s || *s == '-' || *s == '+')
		return -1;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

static int parse_ipv4_port(const char *s, struct sockaddr_in *out)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	if (!colon || (size_t)(colon - s) >= sizeof host || colon == s)
		return -1;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = 0;
	uint64_t port;
	if (parse_u64(colon + 1, &port) || port > 65535)
		return -1;
	memset(out, 0, sizeof *out);
	out->sin_family = AF_INET;
	out->sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, host, &out->sin_addr) == 1 ? 0 : -1;
}

int parse_addr_port(const char *s, union sockaddr_any *out)
{
	memset(out, 0, sizeof *out);
	if (s[0] != '[')
		return parse_ipv4_port(s, &out->v4);
	const char *close = strchr(s, ']');
	char host[INET6_ADDRSTRLEN];
	uint64_t port;
	if (!close || close[1] != ':' || (size_t)(close - s - 1) >= sizeof host || parse_u64(close + 2, &port) ||
	    port > 65535)
		return -1;
	memcpy(host, s + 1, (size_t)(close - s - 1));
	host[close - s - 1] = 0;
	out->v6.sin6_family = AF_INET6;
	out->v6.sin6_port = htons((uint16_t)port);
	return inet_pton(AF_INET6, host, &out->v6.sin6_addr) == 1 ? 0 : -1;
}

const char *sa_host(const union sockaddr_any *a, char *buf, size_t cap)
{
	if (a->sa.sa_family == AF_INET6)
		inet_ntop(AF_INET6, &a->v6.sin6_addr, buf, (socklen_t)cap);
	else
		inet_ntop(AF_INET, &a->v4.sin_addr, buf, (socklen_t)cap);
	return buf;
}

/* Same rule as the TypeScript side: what `ip netns add` accepts, minus anything path-like. */
int valid_netns_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 64 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.'))
			return 0;
	}
	return 1;
}

int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	char end;
	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &end) != 6)
		return -1;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	return 0;
}

static const char *const API_NAMES[] = {"send", "sendmmsg", "raw", "raw-mmsg", "tcp", "xdp", "raw-ring", "dpdk", "gso"};

const char *api_name(enum stream_api a) { return API_NAMES[a]; }

const char *pace_name(enum pace_mode p)
{
	return p == PACE_SPIN ? "spin" : p == PACE_YIELD ? "yield" : p == PACE_AUTO ? "auto" : "sleep";
}

#define FAIL(...) do { snprintf(err, errlen, __VA_ARGS__); return -1; } while (0)

int parse_opts(int argc, char **argv, int first, struct opts *o, char *err, size_t errlen)
{
	for (int i = first; i < argc; i++) {
		const char *k = argv[i];
		if (strcmp(k, "--mlock") == 0) {
			o->mlock = 1;
			continue;
		}
		if (strcmp(k, "--open-loop") == 0) {
			o->open_loop = 1;
			continue;
		}
		if (strcmp(k, "--qdisc-bypass") == 0) {
			o->qdisc_bypass = 1;
			continue;
		}
		if (strcmp(k, "--crr") == 0) {
			o->crr = 1;
			continue;
		}
		if (strcmp(k, "--zerocopy") == 0) {
			o->zerocopy = 1;
			continue;
		}
		if (strcmp(k, "--vhost-server") == 0) {
			o->vhost_server = 1;
			continue;
		}
		if (i + 1 >= argc)
			FAIL("option %s needs a value", k);
		const char *v = argv[++i];
		uint64_t n;
		if (strcmp(k, "--netns") == 0) {
			if (!valid_netns_name(v))
				FAIL("--netns '%s': not a valid namespace name", v);
			o->netns = v;
		} else if (strcmp(k, "--cpu") == 0) {
			if (parse_u64(v, &n) || n > 4095)
				FAIL("--cpu '%s': expected a CPU number 0..4095", v);
			o->cpu = (int)n;
		} else if (strcmp(k, "--rt-prio") == 0) {
			if (parse_u64(v, &n) || n > 99)
				FAIL("--rt-prio '%s': expected 0..99 (0 = normal scheduling)", v);
			o->rt_prio = (int)n;
		} else if (strcmp(k, "--wait") == 0) {
			if (strcmp(v, "block") == 0)
				o->wait = WAIT_BLOCK;
			else if (strcmp(v, "spin") == 0)
				o->wait = WAIT_SPIN;
			else if (strcmp(v, "yield") == 0)
				o->wait = WAIT_YIELD;
			else
				FAIL("--wait '%s': expected block, spin or yield", v);
		} else if (strcmp(k, "--pace") == 0) {
			if (strcmp(v, "sleep") == 0)
				o->pace = PACE_SLEEP;
			else if (strcmp(v, "spin") == 0)
				o->pace = PACE_SPIN;
			else if (strcmp(v, "yield") == 0)
				o->pace = PACE_YIELD;
			else if (strcmp(v, "auto") == 0)
				o->pace = PACE_AUTO;
			else
				FAIL("--pace '%s': expected sleep, spin, auto or yield", v);
		} else if (strcmp(k, "--bind") == 0 || strcmp(k, "--server") == 0) {
			if (parse_addr_port(v, &o->addr))
				FAIL("%s '%s': expected IPV4:PORT or [IPV6]:PORT", k, v);
			o->have_addr = 1;
		} else if (strcmp(k, "--size") == 0) {
			if (parse_u64(v, &n) || n < 1 || n > MAX_TCP_WRITE)
				FAIL("--size '%s': expected 1..%u bytes (UDP: %u..%u; a TCP stream's writes up to %u)", v,
				     MAX_UDP_PAYLOAD, RTT_HEADER_BYTES, MAX_UDP_PAYLOAD, MAX_TCP_WRITE);
			o->size = (uint32_t)n;
		} else if (strcmp(k, "--response-size") == 0) {
			if (parse_u64(v, &n) || n < 1 || n > MAX_UDP_PAYLOAD)
				FAIL("--response-size '%s': expected 1..%u bytes", v, MAX_UDP_PAYLOAD);
			o->response_size = (uint32_t)n;
		} else if (strcmp(k, "--flows") == 0) {
			if (parse_u64(v, &n) || n < 1 || n > MAX_FLOWS)
				FAIL("--flows '%s': expected 1..%u", v, MAX_FLOWS);
			o->flows = (uint32_t)n;
		} else if (strcmp(k, "--count") == 0) {
			if (parse_u64(v, &n) || n < 1 || n > MAX_COUNT)
				FAIL("--count '%s': expected 1..%llu", v, MAX_COUNT);
			o->count = n;
		} else if (strcmp(k, "--warmup") == 0) {
			if (parse_u64(v, &n) || n > MAX_COUNT)
				FAIL("--warmup '%s': expected 0..%llu", v, MAX_COUNT);
			o->warmup = n;
		} else if (strcmp(k, "--interval-ns") == 0) {
			if (parse_u64(v, &n) || n > 60000000000ull)
				FAIL("--interval-ns '%s': expected 0..60e9", v);
			o->interval_ns = n;
		} else if (strcmp(k, "--timeout-ns") == 0) {
			if (parse_u64(v, &n) || n < 1000 || n > 60000000000ull)
				FAIL("--timeout-ns '%s': expected 1000..60e9", v);
			o->timeout_ns = n;
		} else if (strcmp(k, "--max-consecutive-lost") == 0) {
			if (parse_u64(v, &n))
				FAIL("--max-consecutive-lost '%s': expected a count (0 = never give up)", v);
			o->max_consecutive_lost = n;
		} else if (strcmp(k, "--api") == 0) {
			size_t a;
			for (a = 0; a < sizeof API_NAMES / sizeof *API_NAMES; a++)
				if (strcmp(v, API_NAMES[a]) == 0)
					break;
			if (a == sizeof API_NAMES / sizeof *API_NAMES)
				FAIL("--api '%s': expected send, sendmmsg, gso, raw, raw-mmsg, raw-ring, tcp, xdp or dpdk", v);
			o->api = (enum stream_api)a;
		} else if (strcmp(k, "--burst") == 0) {
			if (parse_u64(v, &n) || n < 1 || n > MAX_BURST)
				FAIL("--burst '%s': expected 1..%u", v, MAX_BURST);
			o->burst = (uint32_t)n;
		} else if (strcmp(k, "--rate") == 0) {
			if (parse_u64(v, &n) || n > 1000000000ull)
				FAIL("--rate '%s': expected packets per second, 0..1e9 (0 = as fast as possible)", v);
			o->rate_pps = n;
		} else if (strcmp(k, "--duration-ns") == 0) {
			if (parse_u64(v, &n) || n < 1000000 || n > 86400000000000ull)
				FAIL("--duration-ns '%s': expected 1e6..86400e9", v);
			o->duration_ns = n;
		} else if (strcmp(k, "--dev") == 0) {
			if (!*v || strlen(v) > 15)
				FAIL("--dev '%s': expected an interface name of 1..15 characters", v);
			o->dev = v;
		} else if (strcmp(k, "--dst-mac") == 0) {
			if (parse_mac(v, o->dst_mac))
				FAIL("--dst-mac '%s': expected xx:xx:xx:xx:xx:xx", v);
			o->have_dst_mac = 1;
		} else if (strcmp(k, "--src") == 0) {
			if (parse_addr_port(v, &o->src))
				FAIL("--src '%s': expected IPV4:PORT or [IPV6]:PORT", v);
			o->have_src = 1;
		} else if (strcmp(k, "--raw-out") == 0) {
			if (!*v)
				FAIL("--raw-out: empty path");
			o->raw_out = v;
		} else if (strcmp(k, "--congestion") == 0) {
			size_t len = strlen(v);
			if (len < 1 || len > 15 || strspn(v, "abcdefghijklmnopqrstuvwxyz0123456789_") != len)
				FAIL("--congestion '%s': expected a congestion control's name (1..15 of a-z, 0-9, _)", v);
			o->congestion = v;
		} else if (strcmp(k, "--rcvbuf") == 0 || strcmp(k, "--sndbuf") == 0) {
			if (parse_u64(v, &n) || n < 4096 || n > (1ull << 30))
				FAIL("%s '%s': expected 4096..1073741824 bytes", k, v);
			*(k[2] == 'r' ? &o->rcvbuf : &o->sndbuf) = n;
		} else if (strcmp(k, "--xdp-frames") == 0 || strcmp(k, "--xdp-ring") == 0) {
			if (parse_u64(v, &n) || n < 64 || n > (1u << 20) || (n & (n - 1)))
				FAIL("%s '%s': expected a power of two, 64..1048576", k, v);
			*(k[6] == 'f' ? &o->xdp_frames : &o->xdp_ring) = (uint32_t)n;
		} else if (strcmp(k, "--mac") == 0) {
			if (parse_mac(v, o->mac))
				FAIL("--mac '%s': expected xx:xx:xx:xx:xx:xx", v);
			o->have_mac = 1;
		} else if (strcmp(k, "--vhost-socket") == 0 || strcmp(k, "--file-prefix") == 0 || strcmp(k, "--huge-dir") == 0) {
			if (!*v || strlen(v) > 200 || strpbrk(v, ", "))
				FAIL("%s '%s': expected a path or name of 1..200 characters without commas or spaces", k, v);
			*(k[2] == 'v' ? &o->vhost_socket : k[2] == 'f' ? &o->file_prefix : &o->huge_dir) = v;
		} else if (strcmp(k, "--stamps-out") == 0) {
			if (!*v)
				FAIL("--stamps-out: empty path");
			o->stamps_out = v;
		} else {
			FAIL("unknown option '%s'", k);
		}
	}
	if (o->rt_prio)
		o->mlock = 1;
	if (o->xdp_ring >= o->xdp_frames)
		FAIL("--xdp-ring %u must be smaller than --xdp-frames %u (the receiver stocks its fill ring with ring-many frames)",
		     o->xdp_ring, o->xdp_frames);
	return 0;
}

int opts_check_udp_size(const struct opts *o, char *err, size_t errlen)
{
	if (o->size < RTT_HEADER_BYTES)
		FAIL("--size %u: a UDP payload carries cnperf's %u-byte header: expected %u..%u bytes", o->size,
		     RTT_HEADER_BYTES, RTT_HEADER_BYTES, MAX_UDP_PAYLOAD);
	if (o->api != API_TCP && o->size > MAX_UDP_PAYLOAD)
		FAIL("--size %u: a UDP payload is at most %u bytes (a TCP stream's writes up to %u)", o->size,
		     MAX_UDP_PAYLOAD, MAX_TCP_WRITE);
	return 0;
}

int opts_require_addr(const struct opts *o, char *err, size_t errlen)
{
	if (!o->have_addr)
		FAIL("missing --bind (server) or --server (client) IPV4:PORT");
	return 0;
}
