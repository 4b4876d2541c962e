/* Ethernet/IPv4/UDP and Ethernet/IPv6/UDP frames for the raw APIs (AF_PACKET, AF_XDP, DPDK). Pure, so
 * it is unit-tested: a frame must be valid enough to reach the peer's UDP socket through veth, bridge
 * and routing — for IPv6 that includes the UDP checksum, which IPv6 makes mandatory (RFC 8200 8.1). */
#ifndef CNPERF_FRAME_H
#define CNPERF_FRAME_H
#include "args.h"
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#define FRAME_HEADERS4 (14u + 20u + 8u)
#define FRAME_HEADERS6 (14u + 40u + 8u)
/* The longer of the two: room a buffer keeps for any family's headers. */
#define FRAME_HEADERS_MAX FRAME_HEADERS6

/* The headers of a frame to or from this address's family. */
static inline size_t frame_headers(const union sockaddr_any *a)
{
	return a->sa.sa_family == AF_INET6 ? FRAME_HEADERS6 : FRAME_HEADERS4;
}

/* The UDP payload a frame of this address's family carries at an MTU of 1500. */
static inline uint32_t frame_max_payload(const union sockaddr_any *a)
{
	return 1500u - (uint32_t)(frame_headers(a) - 14u);
}

/* RFC 1071 ones' complement sum over an IPv4 header (returns the value to store, network order). */
uint16_t ipv4_checksum(const uint8_t *hdr, size_t len);

/* Writes headers + payload_len zero bytes into buf (at least frame_headers(dst) + payload_len bytes).
 * src and dst are of one family, addresses and ports in network byte order as in a sockaddr. IPv4's
 * UDP checksum is 0 ("none", allowed); IPv6's is computed. Returns the frame length, 0 when the two
 * families differ. */
size_t build_udp_frame(uint8_t *buf, const uint8_t src_mac[6], const uint8_t dst_mac[6],
		       const union sockaddr_any *src, const union sockaddr_any *dst, size_t payload_len);

/* After the payload of a frame from build_udp_frame changed (a round trip's sequence number): its UDP
 * checksum made valid again. Nothing to do for IPv4 (no checksum). */
void udp_frame_checksum(uint8_t *frame, size_t len);

/* Where the UDP payload of an Ethernet/IPv4 (no options) or Ethernet/IPv6 (no extension headers) UDP
 * frame starts; 0 when the frame is neither. */
size_t udp_frame_payload(const uint8_t *frame, size_t len);

/* Turns a received Ethernet/IPv4 or IPv6/UDP frame into its reply in place: MAC, IP addresses and UDP
 * ports swapped. Every checksum stays valid (a ones' complement sum does not depend on the order of
 * its words). Returns 0, or -1 when udp_frame_payload finds no UDP datagram. */
int reflect_udp_frame(uint8_t *frame, size_t len);

#endif
