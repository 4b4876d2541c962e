/* Round trips: the probe header, the send schedule, the slot bookkeeping and the result every
 * round-trip client reports (rtt_result.c). The methods and drivers: rtt_method.h. */
#ifndef CNPERF_RTT_H
#define CNPERF_RTT_H
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "args.h"

#define RTT_MAGIC 0x31504e43u /* "CNP1" little-endian */

/* Payload header: magic, a per-run cookie (so stray datagrams are never taken for replies),
 * and the sequence number. The rest of the payload is padding up to --size. */
static inline void rtt_hdr_write(uint8_t *buf, uint32_t cookie, uint64_t seq)
{
	uint32_t magic = RTT_MAGIC;
	memcpy(buf, &magic, 4);
	memcpy(buf + 4, &cookie, 4);
	memcpy(buf + 8, &seq, 8);
}

/* 0 and *seq set when buf holds a reply of this run; -1 otherwise. */
static inline int rtt_hdr_read(const uint8_t *buf, size_t len, uint32_t cookie, uint64_t *seq)
{
	uint32_t magic, c;
	if (len < RTT_HEADER_BYTES)
		return -1;
	memcpy(&magic, buf, 4);
	memcpy(&c, buf + 4, 4);
	if (magic != RTT_MAGIC || c != cookie)
		return -1;
	memcpy(seq, buf + 8, 8);
	return 0;
}

/* Raw sample file: "CNPRAW01", uint64 n, then n int64 RTTs in ns in sequence order
 * (RAW_LOST for a packet without reply). Host byte order: it is read on the same host. */
#define RAW_MAGIC "CNPRAW01"
#define RAW_LOST (-1)

/* Advances an absolute send schedule by one period. When the caller is more than one period
 * late (a lost packet waited for its timeout), the schedule restarts at `now` instead of
 * firing the missed slots back to back, which would measure a burst, not a periodic flow.
 * Returns 1 when slots were skipped. */
static inline int schedule_next(uint64_t *next, uint64_t interval, uint64_t now)
{
	*next += interval;
	if (now > *next && now - *next >= interval) {
		*next = now;
		return 1;
	}
	return 0;
}

/* The ping-pong drivers' per-slot bookkeeping (rtt_pingpong.c, tcp_rr.c): measured slots, warm-up losses,
 * the current run of losses. */
struct rtt_slots {
	uint64_t attempted, warmup_lost, consecutive_lost;
	uint64_t *at; /* where measured slots' start times go (the timeline), or NULL */
};

/* Files slot i's RTT (RAW_LOST: no reply) after the warm-up into samples[]. Returns
 * "peer-unresponsive" when --max-consecutive-lost losses in a row say to give up, else NULL. */
static inline const char *rtt_slot_done(const struct opts *o, int64_t *samples, struct rtt_slots *s, uint64_t i,
					int64_t rtt, uint64_t t_began)
{
	if (i >= o->warmup) {
		samples[i - o->warmup] = rtt;
		if (s->at)
			s->at[i - o->warmup] = t_began;
		s->attempted++;
	} else if (rtt < 0) {
		s->warmup_lost++;
	}
	if (rtt >= 0)
		s->consecutive_lost = 0;
	else if (o->max_consecutive_lost && ++s->consecutive_lost >= o->max_consecutive_lost)
		return "peer-unresponsive";
	return NULL;
}

struct hist;
struct jbuf;

/* What an RTT client measured, for its result event. */
struct rtt_totals {
	const char *timing; /* "send" (ping-pong), "open-loop", "rr" or "crr" */
	uint64_t sent, attempted, received, warmup_lost, late, refused, send_errors, recv_errors, schedule_misses;
	uint64_t duration_ns, min_ns, max_ns;
	double mean_ns, stddev_ns;
	const char *aborted; /* NULL, "signal" or "peer-unresponsive" */
};

/* rtt_result.c, the leaf every round-trip driver uses: */
void rtt_summarize(const int64_t *samples, uint64_t n, struct hist *h, struct rtt_totals *t);
struct jbuf *rtt_result_begin(const struct opts *o, const struct rtt_totals *t);
/* Writes the raw sample file (RAW_MAGIC, n, n samples); 0, or -1 after an error event. */
int write_raw(const char *path, const int64_t *samples, uint64_t n);

/* The timeline's window: the host probes' sampling period, so both share one time axis. */
#define RTT_TIMELINE_WINDOW_NS 100000000ull
/* rtt_timeline.c: per window of the slots' start times (at[i], CLOCK_MONOTONIC; 0 = never sent), the
 * count, losses and exact p50/p90/p99/max, added to the open result event as timeline_* arrays. */
void rtt_timeline(struct jbuf *b, const int64_t *samples, const uint64_t *at, uint64_t n, uint64_t t_start,
		  uint64_t window_ns);

/* An open-loop sender's lateness against its schedule (actual − planned send time): its distribution,
 * its worst, and the sends at least one period behind (schedule misses). */
struct lateness {
	struct hist *h;
	uint64_t max_ns, misses;
};
void lateness_add(struct lateness *l, uint64_t planned, uint64_t t_send, uint64_t interval_ns);

/* What an open-loop client saw besides its samples; `rtt` holds every probe's (warm-up first). */
struct open_loop_counts {
	uint64_t sent, duplicates, stray;
};
/* Its result event from probes 0..sent of `rtt`, and its raw file; `t` carries what only the driver
 * knows (errors, late, duration, aborted). The event is left open for the method's fields; *rc is 1
 * if the raw file could not be written. */
struct jbuf *open_loop_report(const struct opts *o, struct rtt_totals *t, int64_t *rtt,
			      const struct open_loop_counts *c,
			      const struct lateness *l, struct hist *h, int *rc);

/* `rtt-server` and `rtt-client`: the method of --api under the driver the options ask for. */
int rtt_server(const struct opts *o);
int rtt_client(const struct opts *o);

#endif
