/* Throughput: stream-tx sends UDP datagrams (send, sendmmsg), raw Ethernet frames (AF_PACKET, one
 * per call or sendmmsg) or a TCP byte stream; stream-rx receives and counts. Both report per-second
 * `interval` events and a final `result`. */
#ifndef CNPERF_STREAM_H
#define CNPERF_STREAM_H
#include "args.h"
#include "io.h"

struct tx_totals {
	const char *xdp_bind; /* xdp: how the socket was bound ("copy"); NULL otherwise */
	uint64_t frame_bytes, burst, packets, bytes, errors, short_sends, missed_slots, duration_ns;
	uint64_t spin_ns; /* what pacing spun on the clock (auto, spin): its CPU cost */
	int64_t retransmits; /* TCP: segments the sender retransmitted (TCP_INFO), -1 otherwise */
	char congestion[16]; /* TCP: the congestion control the connection ran ('' otherwise) */
	uint64_t sndbuf;     /* a socket's send buffer as the kernel sized it (SO_SNDBUF); 0: not a socket */
	int64_t zerocopy_sends, zerocopy_copied; /* --zerocopy: completions, and those copied after all; -1 else */
};
struct rx_totals {
	const char *call;
	const char *xdp_mode; /* xdp: the receiver's program ran "native" or "generic"; NULL otherwise */
	uint64_t packets, bytes, duration_ns, socket_drops, rcvbuf;
	int64_t snmp_rcvbuf_errors, snmp_in_errors; /* -1: not available */
};

int stream_tx(const struct opts *o);
int stream_rx(const struct opts *o);

/* The measured loops, shared by every I/O method (exported for the C tests, which drive them over
 * loopback): they emit `interval` events and fill the totals; the callers emit the `result`. */
int tx_loop(const struct opts *o, const struct io_ops *ops, struct io *io, struct tx_totals *t);
int rx_loop(const struct opts *o, const struct io_ops *ops, struct io *io, struct rx_totals *t);

/* Pacing schedule: the send time of burst k at `rate` packets/s, `burst` packets per burst, exact
 * in integers so a long run does not drift. */
static inline uint64_t burst_time(uint64_t start, uint64_t k, uint32_t burst, uint64_t rate)
{
	return start + (uint64_t)((unsigned __int128)k * burst * 1000000000ull / rate);
}

/* The slot to send next: burst k if it is still due, or — when the sender fell more than one burst
 * period behind (a stall: preemption, a blocked send) — the first slot not yet past, so the missed
 * slots are skipped and counted in *missed instead of sent back to back as a burst the schedule never
 * asked for. Returns the slot's index; its time is burst_time(start, index, ...). */
static inline uint64_t next_slot(uint64_t start, uint64_t k, uint64_t now, uint32_t burst, uint64_t rate,
				 uint64_t *missed)
{
	if (burst_time(start, k + 1, burst, rate) > now)
		return k;
	/* the last slot whose time has come: floor((now - start) × rate / burst) */
	uint64_t due = (uint64_t)((unsigned __int128)(now - start) * rate / ((uint64_t)burst * 1000000000ull));
	*missed += due - k;
	return due;
}

/* Reads Udp RcvbufErrors and InErrors from a /proc/net/snmp text (this namespace's, since the
 * reader is in it). Returns 0, or -1 if the Udp lines are missing. Pure, for tests. */
int parse_snmp_udp(const char *text, uint64_t *rcvbuf_errors, uint64_t *in_errors);
int parse_snmp6_udp(const char *text, uint64_t *rcvbuf_errors, uint64_t *in_errors);

#endif
