/* UDP ping-pong over DPDK (`rtt-client` / `rtt-server` with --api dpdk, cnperf-engine-dpdk): the
 * round trip through a userspace switch over vhost-user, without any kernel on the path. The client
 * copies a pre-built frame into an mbuf, writes its header (cookie, sequence) and polls its port for
 * the reply; the server reflects each frame in place and sends the same mbuf back. Same result event
 * and histogram as the socket client (rtt.c). Polling, not blocking: --wait yield gives the CPU away
 * between empty polls (three pollers on two CPUs), spin keeps it. */
#define _GNU_SOURCE
#include "dpdk.h"
#include "frame.h"
#include "hist.h"
#include "out.h"
#include "rtt.h"
#include "sock.h"

#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Without a kernel there is no port to bind: a fixed one stands in where the plan says 0. */
#define DPDK_DEFAULT_PORT 9000

int rtt_dpdk_server(const struct opts *o)
{
	if (prepare_process(o) < 0)
		return 1;
	struct dport d;
	if (dpdk_open(o, &d) < 0)
		return 1;
	struct sockaddr_in self = o->addr;
	if (!self.sin_port)
		self.sin_port = htons(DPDK_DEFAULT_PORT);
	if (emit_ready_addr(&self, o, "rtt-server") < 0)
		return 1;
	uint64_t echoed = 0, send_errors = 0;
	struct rte_mbuf *rx[DPDK_BURST], *tx[DPDK_BURST];
	/* ---- reflect loop: rx burst, reflect in place, tx burst ---- */
	while (!stop_requested) {
		uint16_t n = rte_eth_rx_burst(d.port, 0, rx, DPDK_BURST);
		if (n == 0) {
			dpdk_idle(o);
			continue;
		}
		uint16_t k = 0;
		for (uint16_t i = 0; i < n; i++) {
			if (reflect_udp_frame(rte_pktmbuf_mtod(rx[i], uint8_t *), rte_pktmbuf_data_len(rx[i])) == 0)
				tx[k++] = rx[i];
			else
				rte_pktmbuf_free(rx[i]); /* not a UDP frame of ours */
		}
		uint16_t sent = rte_eth_tx_burst(d.port, 0, tx, k);
		echoed += sent;
		if (sent < k) {
			send_errors += k - sent;
			rte_pktmbuf_free_bulk(tx + sent, k - sent);
		}
	}
	/* ---- end of reflect loop ---- */
	dpdk_close(&d);
	struct jbuf *b = ev_begin("result");
	ev_str(b, "role", "rtt-server");
	ev_u64(b, "echoed", echoed);
	ev_u64(b, "send_errors", send_errors);
	ev_u64(b, "stamped", 0);
	ev_end(b);
	return 0;
}

/* Polls for the reply to `seq` until `deadline`; returns its arrival time, or 0. Anything else that
 * arrives (replies given up on) is counted in *late and freed. */
static uint64_t await_reply(const struct opts *o, const struct dport *d, uint32_t cookie, uint64_t seq, uint64_t deadline, uint64_t *late)
{
	struct rte_mbuf *rx[DPDK_BURST];
	for (;;) {
		uint16_t n = rte_eth_rx_burst(d->port, 0, rx, DPDK_BURST);
		uint64_t now = now_ns();
		uint64_t got = 0;
		for (uint16_t i = 0; i < n; i++) {
			const uint8_t *f = rte_pktmbuf_mtod(rx[i], const uint8_t *);
			uint32_t len = rte_pktmbuf_data_len(rx[i]);
			uint64_t s;
			if (len >= FRAME_HEADERS && rtt_hdr_read(f + FRAME_HEADERS, len - FRAME_HEADERS, cookie, &s) == 0 && s == seq)
				got = now;
			else
				(*late)++;
		}
		if (n)
			rte_pktmbuf_free_bulk(rx, n);
		if (got)
			return got;
		if (now >= deadline || stop_requested)
			return 0;
		if (n == 0)
			dpdk_idle(o);
	}
}

/* Probe `seq` in an mbuf of the pool (no syscall): the pre-built frame with its header; NULL when the
 * pool is empty (every buffer in the rings). */
static inline struct rte_mbuf *probe_frame(const struct dport *d, const uint8_t *frame, uint16_t len, uint32_t cookie, uint64_t seq)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(d->pool);
	if (!m)
		return NULL;
	uint8_t *p = rte_pktmbuf_mtod(m, uint8_t *);
	memcpy(p, frame, len);
	rtt_hdr_write(p + FRAME_HEADERS, cookie, seq);
	m->data_len = len;
	m->pkt_len = len;
	return m;
}

/* Hands one frame to the port: 0, or -1 (the frame freed) when the TX ring took none. */
static inline int send_one(const struct dport *d, struct rte_mbuf *m)
{
	struct rte_mbuf *one = m;
	if (rte_eth_tx_burst(d->port, 0, &one, 1) == 1)
		return 0;
	rte_pktmbuf_free(m);
	return -1;
}

/* What the open-loop client keeps per probe, and what it counts while matching replies. */
struct open_loop {
	uint64_t *t_sent; /* 0: not sent */
	int64_t *rtt;     /* RAW_LOST until matched */
	uint64_t total, timeout_ns;
	uint32_t cookie;
	uint64_t late, duplicates, stray;
};

/* One poll of the port: every reply that arrived is matched by its sequence number. Returns how many came. */
static uint16_t poll_replies(const struct dport *d, struct open_loop *c)
{
	struct rte_mbuf *rx[DPDK_BURST];
	const uint16_t n = rte_eth_rx_burst(d->port, 0, rx, DPDK_BURST);
	const uint64_t t1 = now_ns();
	for (uint16_t k = 0; k < n; k++) {
		const uint8_t *f = rte_pktmbuf_mtod(rx[k], const uint8_t *);
		const uint32_t len = rte_pktmbuf_data_len(rx[k]);
		uint64_t seq;
		if (len < FRAME_HEADERS || rtt_hdr_read(f + FRAME_HEADERS, len - FRAME_HEADERS, c->cookie, &seq) != 0 || seq >= c->total || !c->t_sent[seq])
			c->stray++;
		else if (c->rtt[seq] != RAW_LOST)
			c->duplicates++;
		else if (t1 - c->t_sent[seq] > c->timeout_ns)
			c->late++;
		else
			c->rtt[seq] = (int64_t)(t1 - c->t_sent[seq]);
	}
	if (n)
		rte_pktmbuf_free_bulk(rx, n);
	return n;
}

/* Open loop over DPDK (the load probe, as probe.c is for sockets): probe i leaves at its planned time
 * whatever happened to the others; between sends the one thread polls its port and matches replies
 * (a DPDK port has one owner: no receiver thread). RTT = receive poll time − the probe's actual send
 * stamp; the sender's lateness against its schedule is its own distribution. */
static int open_loop(const struct opts *o, struct dport *d, const uint8_t *frame, uint16_t len, uint32_t cookie, const struct sockaddr_in *src)
{
	struct open_loop c = {.total = o->warmup + o->count, .timeout_ns = o->timeout_ns, .cookie = cookie};
	c.t_sent = calloc(c.total, sizeof *c.t_sent);
	c.rtt = malloc(c.total * sizeof *c.rtt);
	struct hist *h = malloc(sizeof *h), *lateness = malloc(sizeof *lateness);
	if (!c.t_sent || !c.rtt || !h || !lateness) {
		ev_error("alloc", "no memory for %llu probes", (unsigned long long)c.total);
		return 1;
	}
	for (uint64_t i = 0; i < c.total; i++)
		c.rtt[i] = RAW_LOST;
	hist_reset(h);
	hist_reset(lateness);
	if (emit_ready_addr(src, o, "rtt-client") < 0)
		return 1;
	uint64_t sent = 0, send_errors = 0;
	struct lateness late = {.h = lateness};
	const char *aborted = NULL;
	const uint64_t t_start = now_ns();
	/* ---- measured loop: poll until the planned time, then send; the clock and stores ---- */
	for (uint64_t i = 0; i < c.total; i++) {
		const uint64_t planned = t_start + i * o->interval_ns;
		while (now_ns() < planned && !stop_requested)
			if (poll_replies(d, &c) == 0)
				dpdk_idle(o);
		if (stop_requested) {
			aborted = "signal";
			break;
		}
		struct rte_mbuf *m = probe_frame(d, frame, len, cookie, i);
		const uint64_t t_send = now_ns();
		c.t_sent[i] = t_send;
		if (!m || send_one(d, m) < 0) {
			c.t_sent[i] = 0; /* never left: lost */
			send_errors++;
		}
		sent = i + 1;
		lateness_add(&late, planned, t_send, o->interval_ns);
	}
	/* The last replies may take up to the timeout. */
	const uint64_t until = now_ns() + o->timeout_ns;
	while (!stop_requested && now_ns() < until)
		if (poll_replies(d, &c) == 0)
			dpdk_idle(o);
	/* ---- end of measured loop ---- */
	const uint64_t t_end = now_ns();
	dpdk_close(d);
	struct rtt_totals t = {.sent = sent - send_errors, .late = c.late, .send_errors = send_errors, .duration_ns = t_end - t_start, .aborted = aborted};
	const struct open_loop_counts counts = {.sent = sent, .duplicates = c.duplicates, .stray = c.stray, .api = "dpdk"};
	int rc = open_loop_report(o, &t, c.rtt, &counts, &late, h);
	free(c.t_sent);
	free(c.rtt);
	free(h);
	free(lateness);
	return rc;
}

int rtt_dpdk_client(const struct opts *o)
{
	if (!o->have_dst_mac || !o->have_src) {
		ev_error("usage", "--api dpdk needs --dst-mac and --src (the frames are built here)");
		return 1;
	}
	if (o->size > 1500 - 28) {
		ev_error("usage", "--size %u: a frame carries at most %u bytes of UDP payload at MTU 1500", o->size, 1500 - 28);
		return 1;
	}
	if (prepare_process(o) < 0)
		return 1;
	struct dport d;
	if (dpdk_open(o, &d) < 0)
		return 1;
	int64_t *samples = malloc(o->count * sizeof *samples);
	struct hist *h = malloc(sizeof *h);
	uint8_t frame[1600];
	if (!samples || !h) {
		ev_error("alloc", "no memory for %llu samples", (unsigned long long)o->count);
		return 1;
	}
	for (uint64_t k = 0; k < o->count; k++)
		samples[k] = RAW_LOST;
	hist_reset(h);
	struct sockaddr_in src = o->src;
	if (!src.sin_port)
		src.sin_port = htons(DPDK_DEFAULT_PORT + 1);
	const uint16_t len = (uint16_t)build_udp_frame(frame, d.mac, o->dst_mac, &src, &o->addr, o->size);
	const uint32_t cookie = (uint32_t)(now_ns() ^ ((uint64_t)getpid() << 16));
	if (o->open_loop) {
		free(samples);
		free(h);
		return open_loop(o, &d, frame, len, cookie, &src);
	}
	if (emit_ready_addr(&src, o, "rtt-client") < 0)
		return 1;

	const uint64_t total = o->warmup + o->count;
	uint64_t sent = 0, late = 0, send_errors = 0, misses = 0;
	struct rtt_slots slots = {0};
	const char *aborted = NULL;
	const uint64_t t_start = now_ns();
	uint64_t next = t_start;
	/* ---- measured loop: an mbuf from the pool (no syscall), copy, tx burst of one, poll ---- */
	for (uint64_t i = 0; i < total; i++) {
		if (stop_requested) {
			aborted = "signal";
			break;
		}
		if (o->interval_ns && i > 0) {
			misses += (uint64_t)schedule_next(&next, o->interval_ns, now_ns());
			wait_until(next, o->pace);
		}
		int64_t rtt = RAW_LOST;
		struct rte_mbuf *m = probe_frame(&d, frame, len, cookie, i);
		const uint64_t t0 = now_ns();
		if (!m || send_one(&d, m) < 0) {
			send_errors++;
		} else {
			sent++;
			uint64_t t1 = await_reply(o, &d, cookie, i, t0 + o->timeout_ns, &late);
			if (t1)
				rtt = (int64_t)(t1 - t0);
		}
		if (rtt < 0 && stop_requested) {
			aborted = "signal";
			break;
		}
		if ((aborted = rtt_slot_done(o, samples, &slots, i, rtt)))
			break;
	}
	const uint64_t t_end = now_ns();
	/* ---- end of measured loop ---- */
	dpdk_close(&d);
	struct rtt_totals t = {.timing = "send", .sent = sent, .attempted = slots.attempted, .warmup_lost = slots.warmup_lost, .late = late,
			       .send_errors = send_errors, .schedule_misses = misses, .duration_ns = t_end - t_start, .aborted = aborted};
	rtt_summarize(samples, slots.attempted, h, &t);
	int rc = o->raw_out && write_raw(o->raw_out, samples, slots.attempted) < 0 ? 1 : 0;
	struct jbuf *b = rtt_result_begin(o, &t);
	ev_str(b, "api", "dpdk");
	ev_hist(b, "hist", h);
	ev_end(b);
	free(samples);
	free(h);
	return rc;
}
