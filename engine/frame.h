/* Ethernet/IPv4/UDP frames for the raw (AF_PACKET) APIs. Pure, so it is unit-tested: a frame must
 * be valid enough to reach the peer's UDP socket through veth, bridge and routing. */
#ifndef CNPERF_FRAME_H
#define CNPERF_FRAME_H
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#define FRAME_HEADERS (14u + 20u + 8u)

/* RFC 1071 ones' complement sum over an IPv4 header (returns the value to store, network order). */
uint16_t ipv4_checksum(const uint8_t *hdr, size_t len);

/* Writes headers + payload_len zero bytes into buf (at least FRAME_HEADERS + payload_len bytes).
 * Addresses and ports in network byte order, as in struct sockaddr_in. UDP checksum 0 (allowed
 * for IPv4: "no checksum"). Returns the frame length. */
size_t build_udp_frame(uint8_t *buf, const uint8_t src_mac[6], const uint8_t dst_mac[6],
		       const struct sockaddr_in *src, const struct sockaddr_in *dst, size_t payload_len);

/* Turns a received Ethernet/IPv4/UDP frame into its reply in place: MAC, IP addresses and UDP ports
 * swapped. Both checksums stay valid (a ones' complement sum does not depend on the order of its
 * words). Returns 0, or -1 when the frame is not IPv4/UDP without IP options. */
int reflect_udp_frame(uint8_t *frame, size_t len);

#endif
