/* Latency under load, open loop (seed 003, measured the way MoonGen measures it): the sender sends
 * probe i at its planned time start + i × interval and never waits for a reply; a receiver thread
 * matches replies to probes by sequence number. RTT = the reply's receive stamp − the probe's actual
 * send stamp, taken just before send(): a send that blocks because the path pushes back (a full
 * socket buffer, a full qdisc) is counted in that probe's RTT, as the path's cost. The sender's own
 * lateness against its schedule (actual − planned send time) is a separate distribution, so a probe
 * that oversleeps is never charged to the network. A reply later than the timeout is late: a loss,
 * and nothing else — the probes after it are unaffected. */
#define _GNU_SOURCE
#include "hist.h"
#include "out.h"
#include "rtt.h"
#include "sock.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define PROBE_RX_BUF 2048

struct probe {
	int fd;
	uint32_t cookie;
	uint64_t total, timeout_ns;
	int spin;
	uint64_t *t_sent;  /* written by the sender (release) before each send(); 0: not sent */
	int64_t *rtt;      /* RAW_LOST until the reply is matched; only the receiver writes it */
	int done;          /* set by the sender once the last reply can no longer count */
	uint64_t late, duplicates, stray, refused, recv_errors;
};

/* The receiver thread: recv, the vDSO clock and stores only. */
static void *receive_replies(void *arg)
{
	struct probe *p = arg;
	uint8_t buf[PROBE_RX_BUF];
	const int flags = p->spin ? MSG_DONTWAIT : 0;
	while (!__atomic_load_n(&p->done, __ATOMIC_ACQUIRE)) {
		ssize_t n = recv(p->fd, buf, sizeof buf, flags);
		const uint64_t t1 = now_ns();
		if (n < 0) {
			if (errno == ECONNREFUSED)
				p->refused++;
			else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				p->recv_errors++;
			continue;
		}
		uint64_t seq;
		if (rtt_hdr_read(buf, (size_t)n, p->cookie, &seq) != 0 || seq >= p->total) {
			p->stray++;
			continue;
		}
		const uint64_t sent = __atomic_load_n(&p->t_sent[seq], __ATOMIC_ACQUIRE);
		if (!sent) {
			p->stray++;
			continue;
		}
		if (p->rtt[seq] != RAW_LOST) {
			p->duplicates++;
			continue;
		}
		if (t1 - sent > p->timeout_ns) {
			p->late++;
			continue;
		}
		p->rtt[seq] = (int64_t)(t1 - sent);
	}
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

void lateness_add(struct lateness *l, uint64_t planned, uint64_t t_send, uint64_t interval_ns)
{
	const uint64_t ns = t_send > planned ? t_send - planned : 0;
	hist_add(l->h, ns);
	if (ns > l->max_ns)
		l->max_ns = ns;
	if (ns >= interval_ns)
		l->misses++;
}

int open_loop_report(const struct opts *o, struct rtt_totals *t, int64_t *rtt, const struct open_loop_counts *c, const struct lateness *l, struct hist *h)
{
	t->timing = "open-loop";
	t->attempted = c->sent > o->warmup ? c->sent - o->warmup : 0;
	t->warmup_lost = 0;
	for (uint64_t i = 0; i < c->sent && i < o->warmup; i++)
		if (rtt[i] < 0)
			t->warmup_lost++;
	/* sends at least one period behind their schedule count as schedule misses */
	t->schedule_misses = l->misses;
	int64_t *samples = rtt + o->warmup;
	rtt_summarize(samples, t->attempted, h, t);
	int rc = o->raw_out && write_raw(o->raw_out, samples, t->attempted) < 0 ? 1 : 0;
	struct jbuf *b = rtt_result_begin(o, t);
	if (c->api)
		ev_str(b, "api", c->api);
	ev_u64(b, "duplicates", c->duplicates);
	ev_u64(b, "stray", c->stray);
	ev_u64(b, "lateness_max_ns", l->max_ns);
	ev_hist(b, "lateness_hist", l->h);
	ev_hist(b, "hist", h);
	ev_end(b);
	return rc;
}

int rtt_open_loop(const struct opts *o)
{
	if (!o->interval_ns) {
		ev_error("usage", "--open-loop needs a periodic schedule: --interval-ns > 0");
		return 1;
	}
	if (o->stamps_out) {
		ev_error("usage", "--open-loop does not take --stamps-out (the breakdown is a ping-pong measurement)");
		return 1;
	}
	if (prepare_process(o) < 0)
		return 1;
	int fd = udp_connected(o);
	if (fd < 0)
		return 1;
	/* The receiver wakes up at least this often to see that the run is over. */
	struct timeval tv = {.tv_sec = 0, .tv_usec = 50000};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);

	const uint64_t total = o->warmup + o->count;
	struct probe p = {.fd = fd, .total = total, .timeout_ns = o->timeout_ns, .spin = o->wait == WAIT_SPIN};
	p.cookie = (uint32_t)(now_ns() ^ ((uint64_t)getpid() << 16));
	p.t_sent = calloc(total, sizeof *p.t_sent);
	p.rtt = malloc(total * sizeof *p.rtt);
	uint8_t *tx = calloc(1, o->size);
	struct hist *h = malloc(sizeof *h), *lateness = malloc(sizeof *lateness);
	if (!p.t_sent || !p.rtt || !tx || !h || !lateness) {
		ev_error("alloc", "no memory for %llu probes", (unsigned long long)total);
		return 1;
	}
	for (uint64_t i = 0; i < total; i++)
		p.rtt[i] = RAW_LOST;
	hist_reset(h);
	hist_reset(lateness);
	pthread_t rx;
	if (pthread_create(&rx, NULL, receive_replies, &p) != 0) {
		ev_error("thread", "cannot start the receiver thread");
		return 1;
	}
	place_receiver(rx, o);
	if (emit_ready(fd, o, "rtt-client") < 0) {
		__atomic_store_n(&p.done, 1, __ATOMIC_RELEASE);
		pthread_join(rx, NULL);
		return 1;
	}

	uint64_t sent = 0, send_errors = 0, refused = 0;
	struct lateness late = {.h = lateness};
	const char *aborted = NULL;
	const uint64_t t_start = now_ns();
	/* ---- measured loop: the clock, send, and stores ---- */
	for (uint64_t i = 0; i < total; i++) {
		if (stop_requested) {
			aborted = "signal";
			break;
		}
		const uint64_t planned = t_start + i * o->interval_ns;
		wait_until(planned, o->pace);
		rtt_hdr_write(tx, p.cookie, i);
		const uint64_t t_send = now_ns();
		__atomic_store_n(&p.t_sent[i], t_send, __ATOMIC_RELEASE);
		if (send(fd, tx, o->size, 0) < 0) {
			__atomic_store_n(&p.t_sent[i], 0, __ATOMIC_RELEASE); /* never left: lost */
			if (errno == ECONNREFUSED)
				refused++;
			else
				send_errors++;
		}
		sent = i + 1;
		lateness_add(&late, planned, t_send, o->interval_ns);
	}
	/* ---- end of measured loop ---- */
	/* The last replies may take up to the timeout; then nothing more counts. */
	const uint64_t last = sent ? __atomic_load_n(&p.t_sent[sent - 1], __ATOMIC_ACQUIRE) : t_start;
	while (!stop_requested && now_ns() < (last ? last : t_start) + o->timeout_ns)
		wait_until(now_ns() + 1000000, PACE_SLEEP);
	__atomic_store_n(&p.done, 1, __ATOMIC_RELEASE);
	pthread_join(rx, NULL);
	const uint64_t t_end = now_ns();

	struct rtt_totals t = {.sent = sent - send_errors - refused, .late = p.late, .refused = refused + p.refused, .send_errors = send_errors,
			       .recv_errors = p.recv_errors, .duration_ns = t_end - t_start, .aborted = aborted};
	const struct open_loop_counts counts = {.sent = sent, .duplicates = p.duplicates, .stray = p.stray};
	int rc = open_loop_report(o, &t, p.rtt, &counts, &late, h);
	free(p.t_sent);
	free(p.rtt);
	free(tx);
	free(h);
	free(lateness);
	close(fd);
	return rc;
}
