/* Latency under load, open loop (seed 003, measured the way MoonGen measures it), over any
 * round-trip method: the sender sends probe i at its planned time start + i × interval and never
 * waits for a reply; replies are matched to probes by sequence number — by a receiver thread where
 * the method allows one (sockets), else by the sender itself, polling between sends (a DPDK port has
 * one owner). RTT = the reply's receive stamp − the probe's actual send stamp, taken just before the
 * transmit call: a send that blocks because the path pushes back (a full socket buffer, a full qdisc)
 * is counted in that probe's RTT, as the path's cost. The sender's own lateness against its schedule
 * (actual − planned send time) is a separate distribution, so a probe that oversleeps is never charged
 * to the network. A reply later than the timeout is late: a loss, and nothing else — the probes after
 * it are unaffected. */
#define _GNU_SOURCE
#include "hist.h"
#include "out.h"
#include "rtt.h"
#include "rtt_method.h"
#include "sock.h"

#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <unistd.h>

/* How long a receiver thread's poll may wait before it looks whether the run is over. */
#define RX_THREAD_WAIT_NS 50000000ull

struct open_loop {
	const struct rtt_method *m;
	void *st;
	uint64_t total, timeout_ns;
	uint64_t *t_sent; /* written by the method (release) before each transmit; 0: not sent */
	int64_t *rtt;     /* RAW_LOST until the reply is matched; only the matching side writes it */
	int done;         /* set by the sender once the last reply can no longer count */
	uint64_t late, duplicates, stray, refused, recv_errors;
};

/* One poll of the method: every reply that came is matched to its probe. Returns the frames seen. */
static inline uint32_t take_replies(struct open_loop *l, uint64_t deadline, uint64_t *now)
{
	struct rt_poll p;
	const int r = l->m->poll_reply(l->st, deadline, &p);
	*now = p.now;
	if (r == RT_REFUSED) {
		l->refused++;
		return 0;
	}
	if (r != RT_OK) {
		l->recv_errors++;
		return 0;
	}
	l->stray += p.other;
	for (uint32_t k = 0; k < p.n; k++) {
		const uint64_t seq = p.seq[k];
		const uint64_t sent = seq < l->total ? __atomic_load_n(&l->t_sent[seq], __ATOMIC_ACQUIRE) : 0;
		if (!sent)
			l->stray++;
		else if (l->rtt[seq] != RAW_LOST)
			l->duplicates++;
		else if (p.now - sent > l->timeout_ns)
			l->late++;
		else
			l->rtt[seq] = (int64_t)(p.now - sent);
	}
	return p.n + p.other;
}

/* The receiver thread: the method's receive call, the clock and stores only. */
static void *receive_replies(void *arg)
{
	struct open_loop *l = arg;
	uint64_t now = now_ns();
	while (!__atomic_load_n(&l->done, __ATOMIC_ACQUIRE))
		take_replies(l, now + RX_THREAD_WAIT_NS, &now);
	return NULL;
}

/* A spinning sender must not share its CPU with the receiver it would starve: the receiver gets
 * every other CPU of the process's set. A sleeping sender leaves its CPU idle between probes. */
static void place_receiver(pthread_t t, const struct opts *o)
{
	if (o->pace != PACE_SPIN || o->cpu < 0)
		return;
	cpu_set_t set;
	CPU_ZERO(&set);
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	for (long c = 0; c < n && c < CPU_SETSIZE; c++)
		if (c != o->cpu)
			CPU_SET((int)c, &set);
	if (CPU_COUNT(&set) > 0)
		pthread_setaffinity_np(t, sizeof set, &set);
}

/* Until `until`: sleeps while a receiver thread matches, or polls and matches itself. */
static void take_until(struct open_loop *l, int threaded, uint64_t until, enum pace_mode pace)
{
	if (threaded) {
		wait_until(until, pace);
		return;
	}
	uint64_t now = now_ns();
	while (now < until && !stop_requested)
		take_replies(l, until, &now);
}

static void free_open_loop(struct open_loop *l, struct hist *h, struct hist *lateness)
{
	free(l->t_sent);
	free(l->rtt);
	free(h);
	free(lateness);
}

int rtt_open_loop(const struct opts *o, const struct rtt_method *m)
{
	if (!o->interval_ns) {
		ev_error("usage", "--open-loop needs a periodic schedule: --interval-ns > 0");
		return 2;
	}
	union sockaddr_any ready;
	struct open_loop l = {.m = m, .total = o->warmup + o->count, .timeout_ns = o->timeout_ns};
	if (prepare_process(o) < 0 || m->open(o, RT_OPEN_LOOP, rtt_cookie(), &l.st, &ready) < 0)
		return 1;
	l.t_sent = calloc(l.total, sizeof *l.t_sent);
	l.rtt = malloc(l.total * sizeof *l.rtt);
	struct hist *h = malloc(sizeof *h), *lateness = malloc(sizeof *lateness);
	if (!l.t_sent || !l.rtt || !h || !lateness) {
		ev_error("alloc", "no memory for %llu probes", (unsigned long long)l.total);
		return 1;
	}
	for (uint64_t i = 0; i < l.total; i++)
		l.rtt[i] = RAW_LOST;
	hist_reset(h);
	hist_reset(lateness);
	const int threaded = m->rx_thread;
	pthread_t rx;
	if (threaded && pthread_create(&rx, NULL, receive_replies, &l) != 0) {
		ev_error("thread", "cannot start the receiver thread");
		return 1;
	}
	if (threaded)
		place_receiver(rx, o);
	if (emit_ready_addr(&ready, o, "rtt-client") < 0) {
		__atomic_store_n(&l.done, 1, __ATOMIC_RELEASE);
		if (threaded)
			pthread_join(rx, NULL);
		return 1;
	}

	uint64_t sent = 0, send_errors = 0, refused = 0;
	struct lateness late = {.h = lateness};
	const char *aborted = NULL;
	const uint64_t t_start = now_ns();
	/* ---- measured loop: the clock, the method's transmit call (and receive calls without a thread), stores ---- */
	for (uint64_t i = 0; i < l.total; i++) {
		const uint64_t planned = t_start + i * o->interval_ns;
		take_until(&l, threaded, planned, o->pace);
		if (stop_requested) {
			aborted = "signal";
			break;
		}
		const int r = m->send_probe(l.st, i, &l.t_sent[i]);
		const uint64_t t_send = l.t_sent[i];
		if (r != RT_OK) {
			__atomic_store_n(&l.t_sent[i], 0, __ATOMIC_RELEASE); /* never left: lost */
			if (r == RT_REFUSED)
				refused++;
			else
				send_errors++;
		}
		sent = i + 1;
		lateness_add(&late, planned, t_send, o->interval_ns);
	}
	/* The last replies may take up to the timeout; then nothing more counts. */
	const uint64_t last = sent ? __atomic_load_n(&l.t_sent[sent - 1], __ATOMIC_ACQUIRE) : 0;
	const uint64_t until = (last ? last : now_ns()) + o->timeout_ns;
	while (!stop_requested && now_ns() < until)
		take_until(&l, threaded, threaded ? now_ns() + 1000000 : until, PACE_SLEEP);
	/* ---- end of measured loop ---- */
	__atomic_store_n(&l.done, 1, __ATOMIC_RELEASE);
	if (threaded)
		pthread_join(rx, NULL);
	const uint64_t t_end = now_ns();

	struct rtt_totals t = {.sent = sent - send_errors - refused,
			       .late = l.late,
			       .refused = refused + l.refused,
			       .send_errors = send_errors,
			       .recv_errors = l.recv_errors,
			       .duration_ns = t_end - t_start,
			       .aborted = aborted};
	const struct open_loop_counts counts = {.sent = sent, .duplicates = l.duplicates, .stray = l.stray};
	int rc = 0;
	struct jbuf *b = open_loop_report(o, &t, l.rtt, &counts, &late, h, &rc);
	if (m->api)
		ev_str(b, "api", m->api);
	if (m->describe)
		m->describe(l.st, b);
	/* the measured probes' send times: 0 where a send failed (filed with the probe before it) */
	rtt_timeline(b, l.rtt + o->warmup, l.t_sent + o->warmup, t.attempted, t_start, RTT_TIMELINE_WINDOW_NS);
	ev_end(b);
	m->close(l.st);
	free_open_loop(&l, h, lateness);
	return rc;
}
