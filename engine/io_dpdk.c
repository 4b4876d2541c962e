/* A stream over a DPDK virtio-user port (--api dpdk, cnperf-engine-dpdk only): the sender copies a
 * pre-built frame into a burst of mbufs from the pool and hands them to the port in one call; the
 * receiver polls bursts and counts UDP payload bytes. Drops are the port's own (rx ring full, no
 * mbuf), read once at the end. Nothing enters a kernel: no syscall in either loop (sched_yield
 * with --wait yield: every quarter ring of frames sent, and when a poll found nothing). */
#define _GNU_SOURCE
#include "dpdk.h"
#include "frame.h"
#include "io.h"
#include "out.h"

#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <stdlib.h>
#include <string.h>

#define DPDK_DEFAULT_PORT 9000

static struct dport port;
static struct rte_mbuf *burst_bufs[MAX_BURST];
static uint32_t since_yield;

static int dpdk_tx_open(const struct opts *o, struct io *io)
{
	if (!o->have_dst_mac || !o->have_src) {
		ev_error("usage", "--api dpdk needs --dst-mac and --src (the frames are built here)");
		return -1;
	}
	if (o->size > frame_max_payload(&o->addr)) {
		ev_error("usage", "--size %u: a frame carries at most %u bytes of UDP payload at MTU 1500", o->size,
			 frame_max_payload(&o->addr));
		return -1;
	}
	if (dpdk_open(o, &port) < 0)
		return -1;
	io->dpdk = &port;
	io->buf = malloc(FRAME_HEADERS_MAX + o->size);
	if (!io->buf) {
		ev_error("alloc", "no memory for a frame");
		return -1;
	}
	union sockaddr_any dst = o->addr;
	if (!sa_port(&dst))
		sa_set_port(&dst, DPDK_DEFAULT_PORT);
	io->len = build_udp_frame(io->buf, port.mac, o->dst_mac, &o->src, &dst, o->size);
	io->frame_bytes = io->len;
	return 0;
}

static int dpdk_tx_burst(struct io *io, uint32_t burst, uint64_t *bytes, uint64_t *errors)
{
	if (rte_pktmbuf_alloc_bulk(port.pool, burst_bufs, burst) != 0) {
		(*errors)++; /* the pool is empty: the port still holds every buffer */
		return 0;
	}
	for (uint32_t i = 0; i < burst; i++) {
		struct rte_mbuf *m = burst_bufs[i];
		memcpy(rte_pktmbuf_mtod(m, uint8_t *), io->buf, io->len);
		m->data_len = (uint16_t)io->len;
		m->pkt_len = (uint32_t)io->len;
	}
	uint16_t sent = rte_eth_tx_burst(port.port, 0, burst_bufs, (uint16_t)burst);
	if (sent < burst)
		rte_pktmbuf_free_bulk(burst_bufs + sent, burst - sent);
	/* --wait yield: every quarter ring of frames (and whenever the ring is full), whoever drains the
	 * rings (a receiver or a switch sharing this CPU) gets its turn: the sender never holds a CPU that
	 * a poller downstream needs for long, and small bursts do not pay a yield each. */
	since_yield += sent;
	if (since_yield >= DPDK_YIELD_EVERY || sent < burst) {
		since_yield = 0;
		dpdk_idle(io->o);
	}
	*bytes += (uint64_t)sent * io->o->size;
	return sent;
}

static int dpdk_rx_open(const struct opts *o, struct io *io)
{
	if (dpdk_open(o, &port) < 0)
		return -1;
	io->dpdk = &port;
	io->bound = o->addr;
	if (!sa_port(&io->bound))
		sa_set_port(&io->bound, DPDK_DEFAULT_PORT);
	io->have_bound = 1;
	return 0;
}

static int dpdk_rx_batch(struct io *io, int flags, uint64_t *bytes, uint64_t *drops)
{
	(void)flags;
	(void)drops;
	const uint16_t want = io->o->burst < DPDK_BURST ? DPDK_BURST : (uint16_t)io->o->burst;
	uint16_t n = rte_eth_rx_burst(port.port, 0, burst_bufs, want);
	if (n == 0) {
		dpdk_idle(io->o);
		return IO_NOTHING;
	}
	for (uint16_t i = 0; i < n; i++) {
		uint32_t len = rte_pktmbuf_data_len(burst_bufs[i]);
		const size_t at = frame_headers(&io->bound);
		*bytes += len > at ? len - at : 0;
	}
	rte_pktmbuf_free_bulk(burst_bufs, n);
	return n;
}

static uint64_t dpdk_rx_final_drops(struct io *io)
{
	return dpdk_drops(io->dpdk);
}

static void dpdk_io_close(struct io *io)
{
	if (io->dpdk)
		dpdk_close(io->dpdk);
	io->dpdk = NULL;
}

const struct io_ops io_dpdk = {"rte_eth_rx_burst", 1, dpdk_tx_open, dpdk_tx_burst, NULL, dpdk_rx_open, dpdk_rx_batch,
			       dpdk_rx_final_drops, dpdk_io_close};
