/* cnperf-engine-dpdk's port: DPDK's EAL started for one virtio-user port on a vhost-user socket (the
 * switch's: testpmd's net_vhost, OVS-DPDK's dpdkvhostuser), with the run's hugepages and file prefix.
 * Built only into cnperf-engine-dpdk (engine/Makefile, where pkg-config finds libdpdk). */
#ifndef CNPERF_DPDK_H
#define CNPERF_DPDK_H
#include "args.h"
#include <stdint.h>

struct rte_mempool;

struct dport {
	uint16_t port;
	struct rte_mempool *pool;
	uint8_t mac[6];
};

#define DPDK_BURST 32u
/* Descriptors of each virtio ring. A sender that shares its CPU yields every quarter ring: the
 * receiver then finds work waiting and the rings never fill while the other side is off the CPU. */
#define DPDK_RING_SIZE 1024u
#define DPDK_YIELD_EVERY (DPDK_RING_SIZE / 4)

/* EAL up, the port configured (one RX and one TX queue), started and its link up: 0, or an error
 * event and -1. */
int dpdk_open(const struct opts *o, struct dport *d);
void dpdk_close(struct dport *d);
/* Frames the port could not take in (rx ring full, no mbuf): the receiver's drops. */
uint64_t dpdk_drops(const struct dport *d);
/* Nothing arrived: spin on, or give the CPU away (--wait yield) so pollers can share it. */
void dpdk_idle(const struct opts *o);

/* The weak hook io_udp.c calls (rtt_method.h has rtt_dpdk's); the plain engine has neither. */
extern const struct io_ops io_dpdk __attribute__((weak));
#endif
