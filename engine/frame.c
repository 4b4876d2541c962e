#include "frame.h"
#include <arpa/inet.h>
#include <string.h>

uint16_t ipv4_checksum(const uint8_t *hdr, size_t len)
{
	uint32_t sum = 0;
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(hdr[i] << 8 | hdr[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

size_t build_udp_frame(uint8_t *buf, const uint8_t src_mac[6], const uint8_t dst_mac[6],
		       const struct sockaddr_in *src, const struct sockaddr_in *dst, size_t payload_len)
{
	uint8_t *eth = buf, *ip = buf + 14, *udp = buf + 34;
	memcpy(eth, dst_mac, 6);
	memcpy(eth + 6, src_mac, 6);
	eth[12] = 0x08; /* ETH_P_IP */
	eth[13] = 0x00;

	uint16_t tot_len = htons((uint16_t)(20 + 8 + payload_len));
	memset(ip, 0, 20);
	ip[0] = 0x45;          /* version 4, 5 words */
	memcpy(ip + 2, &tot_len, 2);
	ip[6] = 0x40;          /* don't fragment */
	ip[8] = 64;            /* TTL */
	ip[9] = 17;            /* UDP */
	memcpy(ip + 12, &src->sin_addr, 4);
	memcpy(ip + 16, &dst->sin_addr, 4);
	uint16_t csum = ipv4_checksum(ip, 20);
	memcpy(ip + 10, &csum, 2);

	uint16_t udp_len = htons((uint16_t)(8 + payload_len));
	memcpy(udp, &src->sin_port, 2);
	memcpy(udp + 2, &dst->sin_port, 2);
	memcpy(udp + 4, &udp_len, 2);
	udp[6] = udp[7] = 0;
	memset(udp + 8, 0, payload_len);
	return FRAME_HEADERS + payload_len;
}

int reflect_udp_frame(uint8_t *f, size_t len)
{
	if (len < FRAME_HEADERS || f[12] != 0x08 || f[13] != 0x00 || f[14] != 0x45 || f[23] != 17)
		return -1;
	uint8_t t[6];
	memcpy(t, f, 6); /* MACs */
	memcpy(f, f + 6, 6);
	memcpy(f + 6, t, 6);
	memcpy(t, f + 26, 4); /* IPv4 source and destination */
	memcpy(f + 26, f + 30, 4);
	memcpy(f + 30, t, 4);
	memcpy(t, f + 34, 2); /* UDP ports */
	memcpy(f + 34, f + 36, 2);
	memcpy(f + 36, t, 2);
	return 0;
}
