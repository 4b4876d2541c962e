/* What every round-trip client reports, in one leaf file the drivers share (ping-pong, open loop,
 * TCP request/response): statistics over the samples, the result event's common fields, the raw
 * sample file, and an open-loop sender's lateness. Never called from a measured loop except
 * lateness_add, which only stores. */
#define _GNU_SOURCE
#include "hist.h"
#include "out.h"
#include "rtt.h"
#include "sock.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

int write_raw(const char *path, const int64_t *samples, uint64_t n)
{
	FILE *f = fopen(path, "wb");
	if (!f) {
		ev_error("io", "cannot write raw samples to %s: %s", path, strerror(errno));
		return -1;
	}
	int ok = fwrite(RAW_MAGIC, 1, 8, f) == 8 && fwrite(&n, sizeof n, 1, f) == 1 &&
		 fwrite(samples, sizeof *samples, n, f) == n;
	if (fclose(f) != 0)
		ok = 0;
	if (!ok) {
		ev_error("io", "short write of raw samples to %s", path);
		return -1;
	}
	return 0;
}

/* Statistics over the measured samples, after the loop (RAW_LOST skipped): the histogram, count,
 * exact min and max, and mean and standard deviation by Welford's method (numerically stable). */
void rtt_summarize(const int64_t *samples, uint64_t n, struct hist *h, struct rtt_totals *t)
{
	uint64_t mn = UINT64_MAX, mx = 0;
	double mean = 0, m2 = 0;
	t->received = 0;
	for (uint64_t k = 0; k < n; k++) {
		if (samples[k] < 0)
			continue;
		uint64_t v = (uint64_t)samples[k];
		t->received++;
		hist_add(h, v);
		mn = v < mn ? v : mn;
		mx = v > mx ? v : mx;
		double d = (double)v - mean;
		mean += d / (double)t->received;
		m2 += d * ((double)v - mean);
	}
	t->min_ns = t->received ? mn : 0;
	t->max_ns = mx;
	t->mean_ns = t->received ? mean : NAN;
	t->stddev_ns = t->received > 1 ? sqrt(m2 / (double)(t->received - 1)) : NAN;
}

/* The rtt-client result event's fields that every client reports (ping-pong and open loop); the
 * caller adds its own, then the histogram, and ends it. One place for the event's shape. */
struct jbuf *rtt_result_begin(const struct opts *o, const struct rtt_totals *t)
{
	struct jbuf *b = ev_begin("result");
	ev_str(b, "role", "rtt-client");
	ev_str(b, "wait", wait_name(o->wait));
	ev_str(b, "pace", pace_name(o->pace));
	ev_str(b, "timing", t->timing);
	ev_u64(b, "size", o->size);
	ev_u64(b, "count", o->count);
	ev_u64(b, "warmup", o->warmup);
	ev_u64(b, "interval_ns", o->interval_ns);
	ev_u64(b, "timeout_ns", o->timeout_ns);
	ev_u64(b, "sent", t->sent);
	ev_u64(b, "attempted", t->attempted);
	ev_u64(b, "received", t->received);
	ev_u64(b, "lost", t->attempted - t->received);
	ev_u64(b, "warmup_lost", t->warmup_lost);
	ev_u64(b, "late", t->late);
	ev_u64(b, "refused", t->refused);
	ev_u64(b, "send_errors", t->send_errors);
	ev_u64(b, "recv_errors", t->recv_errors);
	ev_u64(b, "schedule_misses", t->schedule_misses);
	ev_u64(b, "duration_ns", t->duration_ns);
	ev_u64(b, "min_ns", t->min_ns);
	ev_u64(b, "max_ns", t->max_ns);
	ev_dbl(b, "mean_ns", t->mean_ns);
	ev_dbl(b, "stddev_ns", t->stddev_ns);
	ev_str(b, "aborted", t->aborted);
	return b;
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

struct jbuf *open_loop_report(const struct opts *o, struct rtt_totals *t, int64_t *rtt,
			      const struct open_loop_counts *c,
			      const struct lateness *l, struct hist *h, int *rc)
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
	*rc = o->raw_out && write_raw(o->raw_out, samples, t->attempted) < 0 ? 1 : 0;
	struct jbuf *b = rtt_result_begin(o, t);
	ev_u64(b, "duplicates", c->duplicates);
	ev_u64(b, "stray", c->stray);
	ev_u64(b, "lateness_max_ns", l->max_ns);
	ev_hist(b, "lateness_hist", l->h);
	ev_hist(b, "hist", h);
	return b;
}
