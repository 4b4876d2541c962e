/* A round-trip run's timeline: its measured slots cut into fixed windows by the time each slot began,
 * and per window the count, the losses and exact percentiles (nearest rank over the window's own
 * samples). Computed after the loop from the arrays the drivers already keep, so the measured loop
 * pays one store per slot for it (the slot's start time), nothing else. */
#include "out.h"
#include "rtt.h"

#include <stdlib.h>

static int cmp_i64(const void *a, const void *b)
{
	const int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* Nearest rank: the smallest sample with at least q of the window at or below it. */
static uint64_t rank(const int64_t *sorted, uint64_t n, double q)
{
	uint64_t k = (uint64_t)(q * (double)n + 0.999999);
	k = k ? k - 1 : 0;
	return (uint64_t)sorted[k < n ? k : n - 1];
}

struct columns {
	uint64_t *t, *n, *lost, *p50, *p90, *p99, *max;
};

/* Slot i began at at[i] (0: never sent, filed in the window of the slot before it). */
void rtt_timeline(struct jbuf *b, const int64_t *samples, const uint64_t *at, uint64_t n, uint64_t t_start,
		  uint64_t window_ns)
{
	uint64_t t_first = 0;
	for (uint64_t i = 0; i < n && !t_first; i++)
		t_first = at[i];
	if (!n || !t_first || !window_ns || t_first < t_start)
		return;
	uint64_t t_last = t_first;
	for (uint64_t i = 0; i < n; i++)
		t_last = at[i] > t_last ? at[i] : t_last;
	const uint64_t windows = (t_last - t_first) / window_ns + 1;
	struct columns c;
	uint64_t **cols[] = {&c.t, &c.n, &c.lost, &c.p50, &c.p90, &c.p99, &c.max};
	int ok = 1;
	for (size_t k = 0; k < sizeof cols / sizeof *cols; k++)
		ok &= (*cols[k] = calloc(windows, sizeof(uint64_t))) != NULL;
	int64_t *scratch = malloc(n * sizeof *scratch);
	if (ok && scratch) {
		uint64_t w = 0, used = 0, from = 0, prev = t_first;
		/* slots are in sending order, so a window's slots are contiguous */
		for (uint64_t i = 0; i <= n; i++) {
			const uint64_t ti = i < n ? (at[i] ? at[i] : prev) : UINT64_MAX;
			prev = i < n ? ti : prev;
			while (w < windows && (ti == UINT64_MAX || ti >= t_first + (w + 1) * window_ns)) {
				c.t[w] = t_first - t_start + w * window_ns;
				c.n[w] = i - from;
				qsort(scratch, used, sizeof *scratch, cmp_i64);
				c.lost[w] = c.n[w] - used;
				c.p50[w] = used ? rank(scratch, used, 0.50) : 0;
				c.p90[w] = used ? rank(scratch, used, 0.90) : 0;
				c.p99[w] = used ? rank(scratch, used, 0.99) : 0;
				c.max[w] = used ? (uint64_t)scratch[used - 1] : 0;
				w++, used = 0, from = i;
			}
			if (i < n && samples[i] >= 0)
				scratch[used++] = samples[i];
		}
		/* {"window_ns", "warmup_ns", then one array per column}; a window without replies has 0 in its
		 * percentiles and n == lost, which the reader turns into "no sample" */
		ev_u64(b, "timeline_window_ns", window_ns);
		ev_u64(b, "timeline_warmup_ns", t_first - t_start);
		ev_u64(b, "timeline_start_ns", t_start); /* CLOCK_MONOTONIC: the host probes' timeline aligns on it */
		ev_u64_array(b, "timeline_t_ns", c.t, windows);
		ev_u64_array(b, "timeline_n", c.n, windows);
		ev_u64_array(b, "timeline_lost", c.lost, windows);
		ev_u64_array(b, "timeline_p50_ns", c.p50, windows);
		ev_u64_array(b, "timeline_p90_ns", c.p90, windows);
		ev_u64_array(b, "timeline_p99_ns", c.p99, windows);
		ev_u64_array(b, "timeline_max_ns", c.max, windows);
	}
	for (size_t k = 0; k < sizeof cols / sizeof *cols; k++)
		free(*cols[k]);
	free(scratch);
}
