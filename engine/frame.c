#include "frame.h"
#include <arpa/inet.h>
#include <string.h>

/* The ones' complement sum of len bytes, big-endian 16-bit words, an odd last byte padded with zero. */
static uint32_t sum16(const uint8_t *p, size_t len, uint32_t sum)
{
	size_t i = 0;
	for (; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (i < len)
		sum += (uint32_t)(p[i] << 8);
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

uint16_t ipv4_checksum(const uint8_t *hdr, size_t len) { return htons(fold(sum16(hdr, len, 0))); }

/* IPv6's UDP checksum: the pseudo-header (addresses, UDP length, next header 17) and the datagram. */
static void udp6_checksum(uint8_t *ip6, uint8_t *udp, size_t udp_len)
{
	udp[6] = udp[7] = 0;
	uint32_t sum = sum16(ip6 + 8, 32, 0) + (uint32_t)udp_len + 17;
	uint16_t c = fold(sum16(udp, udp_len, sum));
	c = htons(c ? c : 0xffff); /* 0 would mean "no checksum", which IPv6 forbids: send its twin */
	memcpy(udp + 6, &c, 2);
}

size_t build_udp_frame(uint8_t *buf, const uint8_t src_mac[6], const uint8_t dst_mac[6],
		       const union sockaddr_any *src, const union sockaddr_any *dst, size_t payload_len)
{
	int v6 = dst->sa.sa_family == AF_INET6;
	if (src->sa.sa_family != dst->sa.sa_family)
		return 0;
	uint8_t *eth = buf, *ip = buf + 14, *udp = buf + (v6 ? 54 : 34);
	memcpy(eth, dst_mac, 6);
	memcpy(eth + 6, src_mac, 6);
	eth[12] = v6 ? 0x86 : 0x08; /* ETH_P_IPV6, ETH_P_IP */
	eth[13] = v6 ? 0xdd : 0x00;

	uint16_t udp_len = htons((uint16_t)(8 + payload_len));
	memcpy(udp, v6 ? &src->v6.sin6_port : &src->v4.sin_port, 2);
	memcpy(udp + 2, v6 ? &dst->v6.sin6_port : &dst->v4.sin_port, 2);
	memcpy(udp + 4, &udp_len, 2);
	udp[6] = udp[7] = 0;
	memset(udp + 8, 0, payload_len);
	if (v6) {
		memset(ip, 0, 40);
		ip[0] = 0x60;          /* version 6, traffic class and flow label 0 */
		memcpy(ip + 4, &udp_len, 2); /* payload length: the UDP datagram */
		ip[6] = 17;            /* next header: UDP */
		ip[7] = 64;            /* hop limit */
		memcpy(ip + 8, &src->v6.sin6_addr, 16);
		memcpy(ip + 24, &dst->v6.sin6_addr, 16);
		udp6_checksum(ip, udp, 8 + payload_len);
		return FRAME_HEADERS6 + payload_len;
	}
	uint16_t tot_len = htons((uint16_t)(20 + 8 + payload_len));
	memset(ip, 0, 20);
	ip[0] = 0x45;          /* version 4, 5 words */
	memcpy(ip + 2, &tot_len, 2);
	ip[6] = 0x40;          /* don't fragment */
	ip[8] = 64;            /* TTL */
	ip[9] = 17;            /* UDP */
	memcpy(ip + 12, &src->v4.sin_addr, 4);
	memcpy(ip + 16, &dst->v4.sin_addr, 4);
	uint16_t csum = ipv4_checksum(ip, 20);
	memcpy(ip + 10, &csum, 2);
	return FRAME_HEADERS4 + payload_len;
}

size_t udp_frame_payload(const uint8_t *f, size_t len)
{
	if (len >= FRAME_HEADERS4 && f[12] == 0x08 && f[13] == 0x00 && f[14] == 0x45 && f[23] == 17)
		return FRAME_HEADERS4;
	if (len >= FRAME_HEADERS6 && f[12] == 0x86 && f[13] == 0xdd && (f[14] >> 4) == 6 && f[20] == 17)
		return FRAME_HEADERS6;
	return 0;
}

void udp_frame_checksum(uint8_t *f, size_t len)
{
	if (udp_frame_payload(f, len) == FRAME_HEADERS6)
		udp6_checksum(f + 14, f + 54, len - 54);
}

static void swap(uint8_t *a, uint8_t *b, size_t n)
{
	uint8_t t[16];
	memcpy(t, a, n);
	memcpy(a, b, n);
	memcpy(b, t, n);
}

int reflect_udp_frame(uint8_t *f, size_t len)
{
	size_t at = udp_frame_payload(f, len);
	if (at == 0)
		return -1;
	swap(f, f + 6, 6); /* MACs */
	if (at == FRAME_HEADERS6)
		swap(f + 22, f + 38, 16); /* IPv6 source and destination */
	else
		swap(f + 26, f + 30, 4); /* IPv4 source and destination */
	swap(f + at - 8, f + at - 6, 2); /* UDP ports */
	return 0;
}
