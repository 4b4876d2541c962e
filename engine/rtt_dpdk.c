/* The round trip over DPDK (--api dpdk, cnperf-engine-dpdk only): through a userspace switch over
 * vhost-user, without any kernel on the path. The client copies a pre-built frame into an mbuf,
 * writes its header (cookie, sequence) and polls its port for the reply; the server reflects each
 * frame in place and sends the same mbuf back. Polling, not blocking: --wait yield gives the CPU away
 * between empty polls (three pollers on two CPUs), spin keeps it. */
#define _GNU_SOURCE
#include "dpdk.h"
#include "frame.h"
#include "out.h"
#include "rtt.h"
#include "rtt_method.h"
#include "sock.h"

#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Without a kernel there is no port to bind: a fixed one stands in where the plan says 0. */
#define DPDK_DEFAULT_PORT 9000

struct rtt_dpdk_state {
	const struct opts *o;
	struct dport d;
	uint8_t frame[1600]; /* the probe, built once */
	uint16_t len;
	uint16_t at; /* where its UDP payload starts (the family's headers) */
	uint32_t cookie;
};

static const char *dpdk_refuse(const struct opts *o, enum rt_role role)
{
	static char why[128];
	if (o->stamps_out)
		return "--api dpdk: --stamps-out needs the sockets' kernel timestamps";
	if (role == RT_SERVER)
		return NULL;
	if (!o->have_dst_mac || !o->have_src)
		return "--api dpdk needs --dst-mac and --src (the frames are built here)";
	if (o->size > frame_max_payload(&o->addr)) {
		snprintf(why, sizeof why, "--size %u: a frame carries at most %u bytes of UDP payload at MTU 1500", o->size,
			 frame_max_payload(&o->addr));
		return why;
	}
	return NULL;
}

static void dpdk_close_state(void *state)
{
	struct rtt_dpdk_state *s = state;
	dpdk_close(&s->d);
	free(s);
}

static int dpdk_open_state(const struct opts *o, enum rt_role role, uint32_t cookie, void **state,
			   union sockaddr_any *ready)
{
	struct rtt_dpdk_state *s = calloc(1, sizeof *s);
	if (!s) {
		ev_error("alloc", "no memory for the DPDK state");
		return -1;
	}
	s->o = o;
	s->cookie = cookie;
	if (dpdk_open(o, &s->d) < 0) {
		free(s);
		return -1;
	}
	*ready = role == RT_SERVER ? o->addr : o->src;
	if (!sa_port(ready))
		sa_set_port(ready, role == RT_SERVER ? DPDK_DEFAULT_PORT : DPDK_DEFAULT_PORT + 1);
	s->at = (uint16_t)frame_headers(&o->addr);
	if (role != RT_SERVER)
		s->len = (uint16_t)build_udp_frame(s->frame, s->d.mac, o->dst_mac, ready, &o->addr, o->size);
	*state = s;
	return 0;
}

static int dpdk_send_probe(void *state, uint64_t seq, uint64_t *t_send)
{
	struct rtt_dpdk_state *s = state;
	/* An mbuf of the pool (no syscall): the pre-built frame with this probe's header. */
	struct rte_mbuf *m = rte_pktmbuf_alloc(s->d.pool);
	if (m) {
		uint8_t *p = rte_pktmbuf_mtod(m, uint8_t *);
		memcpy(p, s->frame, s->len);
		rtt_hdr_write(p + s->at, s->cookie, seq);
		if (s->at == FRAME_HEADERS6) /* IPv6's checksum is mandatory: the payload just changed */
			udp_frame_checksum(p, s->len);
		m->data_len = s->len;
		m->pkt_len = s->len;
	}
	__atomic_store_n(t_send, now_ns(), __ATOMIC_RELEASE);
	if (!m)
		return RT_ERROR; /* every buffer in the rings */
	if (rte_eth_tx_burst(s->d.port, 0, &m, 1) == 1)
		return RT_OK;
	rte_pktmbuf_free(m);
	return RT_ERROR;
}

static int dpdk_poll_reply(void *state, uint64_t deadline, struct rt_poll *p)
{
	(void)deadline; /* a poll never blocks */
	struct rtt_dpdk_state *s = state;
	struct rte_mbuf *rx[RT_POLL_MAX];
	const uint16_t n = rte_eth_rx_burst(s->d.port, 0, rx, RT_POLL_MAX);
	p->now = now_ns();
	p->n = p->other = 0;
	for (uint16_t i = 0; i < n; i++) {
		const uint8_t *f = rte_pktmbuf_mtod(rx[i], const uint8_t *);
		const uint32_t len = rte_pktmbuf_data_len(rx[i]);
		if (len >= s->at && rtt_hdr_read(f + s->at, len - s->at, s->cookie, &p->seq[p->n]) == 0)
			p->n++;
		else
			p->other++;
	}
	if (n)
		rte_pktmbuf_free_bulk(rx, n);
	else
		dpdk_idle(s->o);
	return RT_OK;
}

static int dpdk_reflect(void *state, struct rt_echo *e)
{
	struct rtt_dpdk_state *s = state;
	struct rte_mbuf *rx[DPDK_BURST], *tx[DPDK_BURST];
	const uint16_t n = rte_eth_rx_burst(s->d.port, 0, rx, DPDK_BURST);
	if (n == 0) {
		dpdk_idle(s->o);
		return 0;
	}
	uint16_t k = 0;
	for (uint16_t i = 0; i < n; i++) {
		if (reflect_udp_frame(rte_pktmbuf_mtod(rx[i], uint8_t *), rte_pktmbuf_data_len(rx[i])) == 0)
			tx[k++] = rx[i];
		else
			rte_pktmbuf_free(rx[i]); /* not a UDP frame of ours */
	}
	const uint16_t sent = rte_eth_tx_burst(s->d.port, 0, tx, k);
	e->echoed += sent;
	if (sent < k) {
		e->send_errors += k - sent;
		rte_pktmbuf_free_bulk(tx + sent, k - sent);
	}
	return 0;
}

const struct rtt_method rtt_dpdk = {
	.api = "dpdk",
	.rx_thread = 0,
	.refuse = dpdk_refuse,
	.open = dpdk_open_state,
	.send_probe = dpdk_send_probe,
	.poll_reply = dpdk_poll_reply,
	.reflect = dpdk_reflect,
	.close = dpdk_close_state,
};
