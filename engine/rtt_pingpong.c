/* The ping-pong client and the reflecting server, over any round-trip method (rtt_method.h). The
 * client stamps, sends probe i, waits for its own reply (or the timeout) and keeps one RTT per slot;
 * the server echoes whatever comes. Which method and which driver: rtt_client and rtt_server. */
#define _GNU_SOURCE
#include "hist.h"
#include "out.h"
#include "rtt.h"
#include "rtt_method.h"
#include "sock.h"

#include <stdlib.h>
#include <unistd.h>

uint32_t rtt_cookie(void)
{
	return (uint32_t)(now_ns() ^ ((uint64_t)getpid() << 16));
}

const struct rtt_method *rtt_method_of(const struct opts *o, enum rt_role role)
{
	const struct rtt_method *m = NULL;
	if (o->api == API_SEND)
		m = &rtt_socket;
	else if (o->api == API_XDP)
		m = &rtt_xdp;
	else if (o->api == API_DPDK && !&rtt_dpdk) {
		ev_error("usage", "--api dpdk: this engine is built without DPDK; cnperf-engine-dpdk has it");
		return NULL;
	} else if (o->api == API_DPDK)
		m = &rtt_dpdk;
	if (!m) {
		ev_error("usage", "rtt: --api %s: the round trip runs over send (a UDP socket), xdp (AF_XDP) or dpdk",
			 api_name(o->api));
		return NULL;
	}
	const char *why = m->refuse ? m->refuse(o, role) : NULL;
	if (why) {
		ev_error("usage", "%s", why);
		return NULL;
	}
	return m;
}

int rtt_server(const struct opts *o)
{
	const struct rtt_method *m = rtt_method_of(o, RT_SERVER);
	return m ? rtt_reflect(o, m) : 2;
}

int rtt_client(const struct opts *o)
{
	const struct rtt_method *m = rtt_method_of(o, o->open_loop ? RT_OPEN_LOOP : RT_PING_PONG);
	if (!m)
		return 2;
	return o->open_loop ? rtt_open_loop(o, m) : rtt_ping_pong(o, m);
}

int rtt_reflect(const struct opts *o, const struct rtt_method *m)
{
	void *st;
	union sockaddr_any ready;
	if (prepare_process(o) < 0 || m->open(o, RT_SERVER, 0, &st, &ready) < 0)
		return 1;
	if (emit_ready_addr(&ready, o, "rtt-server") < 0)
		return 1;
	struct rt_echo e = {0};
	int rc = 0;
	/* ---- reflect loop: the method's receive and echo ---- */
	while (!stop_requested)
		if (m->reflect(st, &e) < 0) {
			rc = 1;
			break;
		}
	/* ---- end of reflect loop ---- */
	if (m->write_files && m->write_files(st) < 0)
		rc = 1;
	struct jbuf *b = ev_begin("result");
	ev_str(b, "role", "rtt-server");
	ev_u64(b, "echoed", e.echoed);
	ev_u64(b, "send_errors", e.send_errors);
	ev_u64(b, "stamped", e.stamped);
	if (m->describe)
		m->describe(st, b);
	ev_end(b);
	m->close(st);
	return rc;
}

/* What a slot's wait for its reply counts besides the RTT. */
struct wait_counts {
	uint64_t late, refused, recv_errors;
};

/* Polls for the reply to `seq` (sent at t0) until `deadline`: its RTT, or RAW_LOST. Replies to earlier
 * probes (given up on) and frames of nobody's run are counted as late. */
static inline int64_t await_reply(const struct rtt_method *m, void *st, uint64_t seq, uint64_t t0, uint64_t deadline,
				  struct wait_counts *c)
{
	struct rt_poll p;
	for (;;) {
		const int r = m->poll_reply(st, deadline, &p);
		if (r == RT_REFUSED) {
			c->refused++;
			return RAW_LOST;
		}
		if (r != RT_OK) {
			c->recv_errors++;
			return RAW_LOST;
		}
		int got = 0;
		for (uint32_t k = 0; k < p.n; k++)
			if (p.seq[k] == seq)
				got = 1;
			else
				c->late++;
		c->late += p.other;
		if (got)
			return (int64_t)(p.now - t0);
		if (p.now >= deadline || stop_requested)
			return RAW_LOST;
	}
}

int rtt_ping_pong(const struct opts *o, const struct rtt_method *m)
{
	void *st;
	union sockaddr_any ready;
	const uint32_t cookie = rtt_cookie();
	if (prepare_process(o) < 0 || m->open(o, RT_PING_PONG, cookie, &st, &ready) < 0)
		return 1;
	/* Everything the loop touches is allocated and written once here. */
	int64_t *samples = malloc(o->count * sizeof *samples);
	uint64_t *at = calloc(o->count, sizeof *at);
	struct hist *h = malloc(sizeof *h);
	if (!samples || !at || !h) {
		ev_error("alloc", "no memory for %llu samples", (unsigned long long)o->count);
		return 1;
	}
	for (uint64_t k = 0; k < o->count; k++)
		samples[k] = RAW_LOST;
	hist_reset(h);
	if (emit_ready_addr(&ready, o, "rtt-client") < 0)
		return 1;

	const uint64_t total = o->warmup + o->count;
	uint64_t sent = 0, refused = 0, send_errors = 0, misses = 0;
	struct wait_counts w = {0};
	struct rtt_slots slots = {.at = at};
	const char *aborted = NULL;
	const uint64_t t_start = now_ns();
	uint64_t next = t_start;
	/* ---- measured loop: the method's send and receive calls, the vDSO clock, stores ---- */
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
		uint64_t t0 = 0;
		const int r = m->send_probe(st, i, &t0);
		if (r == RT_REFUSED) {
			refused++;
		} else if (r != RT_OK) {
			send_errors++;
		} else {
			sent++;
			rtt = await_reply(m, st, i, t0, t0 + o->timeout_ns, &w);
		}
		if (m->end_slot)
			m->end_slot(st, i);
		if (rtt < 0 && stop_requested) {
			aborted = "signal"; /* interrupted, not lost: the slot does not count */
			break;
		}
		if ((aborted = rtt_slot_done(o, samples, &slots, i, rtt, t0)))
			break;
	}
	const uint64_t t_end = now_ns();
	/* ---- end of measured loop ---- */

	struct rtt_totals t = {.timing = "send",
			       .sent = sent,
			       .attempted = slots.attempted,
			       .warmup_lost = slots.warmup_lost,
			       .late = w.late,
			       .refused = refused + w.refused,
			       .send_errors = send_errors,
			       .recv_errors = w.recv_errors,
			       .schedule_misses = misses,
			       .duration_ns = t_end - t_start,
			       .aborted = aborted};
	rtt_summarize(samples, slots.attempted, h, &t);
	int rc = 0;
	if (o->raw_out && write_raw(o->raw_out, samples, slots.attempted) < 0)
		rc = 1;
	if (m->write_files && m->write_files(st) < 0)
		rc = 1;
	struct jbuf *b = rtt_result_begin(o, &t);
	if (m->api)
		ev_str(b, "api", m->api);
	if (m->describe)
		m->describe(st, b);
	ev_hist(b, "hist", h);
	rtt_timeline(b, samples, at, slots.attempted, t_start, RTT_TIMELINE_WINDOW_NS);
	ev_end(b);
	m->close(st);
	free(samples);
	free(at);
	free(h);
	return rc;
}
