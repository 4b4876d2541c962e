#define _GNU_SOURCE
#include "calib.h"
#include "hist.h"
#include "out.h"
#include "sock.h"
#include <stdlib.h>
#include <time.h>

static uint64_t real_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int calib_clock(const struct opts *o)
{
	if (prepare_process(o) < 0)
		return 1;
	const uint64_t n = o->count;
	/* The span of n reads over n: the cost of one read, the loop included (one add, one compare). */
	uint64_t t0 = now_ns(), last = t0;
	for (uint64_t i = 0; i < n; i++)
		last = now_ns();
	const double mono = (double)(last - t0) / (double)n;
	uint64_t r0 = real_now(), rl = r0;
	for (uint64_t i = 0; i < n; i++)
		rl = real_now();
	const double real = (double)(rl - r0) / (double)n;
	struct jbuf *b = ev_begin("result");
	ev_str(b, "role", "calibrate-clock");
	ev_u64(b, "reads", n);
	ev_dbl(b, "monotonic_ns", mono);
	ev_dbl(b, "realtime_ns", real);
	ev_end(b);
	return 0;
}

/* Process set-up and an empty histogram, or NULL after an error event. */
static struct hist *prepare_with_hist(const struct opts *o)
{
	if (prepare_process(o) < 0)
		return NULL;
	struct hist *h = malloc(sizeof *h);
	if (!h) {
		ev_error("alloc", "no memory for the histogram");
		return NULL;
	}
	hist_reset(h);
	return h;
}

int calib_timer(const struct opts *o)
{
	struct hist *h = prepare_with_hist(o);
	if (!h)
		return 1;
	uint64_t next = now_ns() + o->interval_ns, max = 0, done = 0;
	for (uint64_t i = 0; i < o->count && !stop_requested; i++) {
		wait_until(next, PACE_SLEEP);
		const uint64_t now = now_ns();
		const uint64_t late = now > next ? now - next : 0;
		hist_add(h, late);
		if (late > max)
			max = late;
		done++;
		next += o->interval_ns;
		if (now > next)
			next = now + o->interval_ns; /* a wake-up later than a period: restart, do not burst */
	}
	struct jbuf *b = ev_begin("result");
	ev_str(b, "role", "calibrate-timer");
	ev_u64(b, "interval_ns", o->interval_ns);
	ev_u64(b, "wakeups", done);
	ev_u64(b, "max_ns", max);
	ev_hist(b, "hist", h);
	ev_end(b);
	free(h);
	return 0;
}

#define NOISE_THRESHOLD_NS 1000

int calib_noise(const struct opts *o)
{
	struct hist *h = prepare_with_hist(o);
	if (!h)
		return 1;
	const uint64_t start = now_ns(), end = start + o->duration_ns;
	uint64_t prev = start, gaps = 0, max = 0, stolen = 0;
	while (!stop_requested) {
		const uint64_t now = now_ns();
		if (now >= end)
			break;
		const uint64_t gap = now - prev;
		if (gap > NOISE_THRESHOLD_NS) {
			hist_add(h, gap);
			gaps++;
			stolen += gap;
			if (gap > max)
				max = gap;
		}
		prev = now;
	}
	struct jbuf *b = ev_begin("result");
	ev_str(b, "role", "calibrate-noise");
	ev_u64(b, "duration_ns", now_ns() - start);
	ev_u64(b, "threshold_ns", NOISE_THRESHOLD_NS);
	ev_u64(b, "gaps", gaps);
	ev_u64(b, "stolen_ns", stolen);
	ev_u64(b, "max_ns", max);
	ev_hist(b, "hist", h);
	ev_end(b);
	free(h);
	return 0;
}
