#include "check.h"
#include "frame.h"
#include <arpa/inet.h>
#include <string.h>

int main(void)
{
	/* The classic worked example (Wikipedia, "IPv4 header checksum"): checksum 0xb861. */
	uint8_t hdr[20] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
			   0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
	CHECK(ipv4_checksum(hdr, 20) == htons(0xb861));

	uint8_t buf[256];
	const uint8_t smac[6] = {2, 0, 0, 0, 0, 1}, dmac[6] = {2, 0, 0, 0, 0, 2};
	union sockaddr_any src = {.v4 = {.sin_family = AF_INET, .sin_port = htons(9)}};
	union sockaddr_any dst = {.v4 = {.sin_family = AF_INET, .sin_port = htons(4000)}};
	inet_pton(AF_INET, "198.18.0.1", &src.v4.sin_addr);
	inet_pton(AF_INET, "198.18.0.2", &dst.v4.sin_addr);
	size_t len = build_udp_frame(buf, smac, dmac, &src, &dst, 64);
	CHECK(len == 14 + 20 + 8 + 64);
	CHECK(memcmp(buf, dmac, 6) == 0 && memcmp(buf + 6, smac, 6) == 0);
	CHECK(buf[12] == 0x08 && buf[13] == 0x00);
	CHECK(buf[14] == 0x45 && buf[23] == 17);
	CHECK((buf[16] << 8 | buf[17]) == 20 + 8 + 64);
	/* A header with its checksum filled in sums to zero. */
	CHECK(ipv4_checksum(buf + 14, 20) == 0);
	CHECK((buf[34] << 8 | buf[35]) == 9 && (buf[36] << 8 | buf[37]) == 4000);
	CHECK((buf[38] << 8 | buf[39]) == 8 + 64);

	/* The AF_XDP server's reflection: the reply goes back where the request came from, with the
	 * payload untouched and the IP checksum still valid; reflecting twice gives the request back. */
	uint8_t req[256];
	memcpy(buf + 42, "CNP1payload", 11);
	memcpy(req, buf, len);
	CHECK(reflect_udp_frame(buf, len) == 0);
	CHECK(memcmp(buf, smac, 6) == 0 && memcmp(buf + 6, dmac, 6) == 0);
	CHECK(memcmp(buf + 26, &dst.v4.sin_addr, 4) == 0 && memcmp(buf + 30, &src.v4.sin_addr, 4) == 0);
	CHECK((buf[34] << 8 | buf[35]) == 4000 && (buf[36] << 8 | buf[37]) == 9);
	CHECK(ipv4_checksum(buf + 14, 20) == 0);
	CHECK(memcmp(buf + 42, "CNP1payload", 11) == 0);
	CHECK(reflect_udp_frame(buf, len) == 0 && memcmp(buf, req, len) == 0);
	/* Not IPv4/UDP, or too short: left alone and refused. */
	CHECK(reflect_udp_frame(buf, 41) == -1);
	buf[23] = 6; /* TCP */
	CHECK(reflect_udp_frame(buf, len) == -1 && memcmp(buf, req, 23) == 0);

	/* IPv6 (RFC 8200): 40-byte header, next header UDP, and a UDP checksum, which IPv6 makes
	 * mandatory. The expected checksum was computed apart, in Python, over the RFC's pseudo-header. */
	union sockaddr_any src6 = {.v6 = {.sin6_family = AF_INET6, .sin6_port = htons(9)}};
	union sockaddr_any dst6 = {.v6 = {.sin6_family = AF_INET6, .sin6_port = htons(4000)}};
	inet_pton(AF_INET6, "2001:2::1", &src6.v6.sin6_addr);
	inet_pton(AF_INET6, "2001:2::2", &dst6.v6.sin6_addr);
	CHECK(build_udp_frame(buf, smac, dmac, &src, &dst6, 64) == 0); /* families mixed: refused */
	len = build_udp_frame(buf, smac, dmac, &src6, &dst6, 64);
	CHECK(len == 14 + 40 + 8 + 64 && frame_headers(&dst6) == 62);
	CHECK(buf[12] == 0x86 && buf[13] == 0xdd && buf[14] == 0x60 && buf[20] == 17 && buf[21] == 64);
	CHECK((buf[18] << 8 | buf[19]) == 8 + 64); /* payload length: the UDP datagram */
	CHECK(memcmp(buf + 22, &src6.v6.sin6_addr, 16) == 0 && memcmp(buf + 38, &dst6.v6.sin6_addr, 16) == 0);
	CHECK((buf[54] << 8 | buf[55]) == 9 && (buf[56] << 8 | buf[57]) == 4000 && (buf[58] << 8 | buf[59]) == 72);
	CHECK(udp_frame_payload(buf, len) == 62 && udp_frame_payload(buf, 61) == 0);
	/* the payload written after the build (a round trip's header), then the checksum made good */
	memcpy(buf + 62, "CNP1payload", 11);
	udp_frame_checksum(buf, len);
	CHECK((buf[60] << 8 | buf[61]) == 0x5efd);
	memcpy(req, buf, len);
	CHECK(reflect_udp_frame(buf, len) == 0);
	CHECK(memcmp(buf + 22, &dst6.v6.sin6_addr, 16) == 0 && memcmp(buf + 38, &src6.v6.sin6_addr, 16) == 0);
	CHECK((buf[54] << 8 | buf[55]) == 4000 && (buf[56] << 8 | buf[57]) == 9);
	CHECK((buf[60] << 8 | buf[61]) == 0x5efd); /* swapped words: the same sum */
	CHECK(reflect_udp_frame(buf, len) == 0 && memcmp(buf, req, len) == 0);
	buf[20] = 6; /* TCP */
	CHECK(reflect_udp_frame(buf, len) == -1 && udp_frame_payload(buf, len) == 0);
	return check_done("frame");
}
