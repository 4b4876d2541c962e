#define _GNU_SOURCE
#include "rtt.h"
#include "hist.h"
#include "out.h"
#include "sock.h"
#include "stamps.h"
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RX_BUF_BYTES 65536

int rtt_server(const struct opts *o)
{
	if (prepare_process(o) < 0)
		return 1;
	int fd = udp_socket(o);
	if (fd < 0)
		return 1;
	if (bind(fd, (const struct sockaddr *)&o->addr, sizeof o->addr) < 0) {
		char host[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &o->addr.sin_addr, host, sizeof host);
		ev_error("bind", "bind %s:%u: %s", host, ntohs(o->addr.sin_port), strerror(errno));
		return 1;
	}
	uint8_t *buf = calloc(1, RX_BUF_BYTES);
	if (!buf) {
		ev_error("alloc", "no memory for the receive buffer");
		return 1;
	}

	/* Breakdown mode: one row of stamps per sequence number, allocated before the loop. */
	int64_t *stamps = NULL;
	const uint64_t rows = o->stamps_out ? o->count + o->warmup : 0;
	if (o->stamps_out) {
		stamps = calloc(rows, sizeof *stamps * STAMP_FIELDS);
		if (!stamps) {
			ev_error("alloc", "no memory for %llu timestamp rows", (unsigned long long)rows);
			return 1;
		}
		if (stamps_enable(fd) < 0)
			return 1;
	}
	if (emit_ready(fd, o, "rtt-server") < 0)
		return 1;

	const int flags = o->wait == WAIT_SPIN ? MSG_DONTWAIT : 0;
	uint64_t echoed = 0, send_errors = 0, stamped = 0;
	uint32_t txkey = 0; /* SOF_TIMESTAMPING_OPT_ID numbers this socket's sends from 0 */
	int fatal = 0;
	while (!stop_requested) {
		struct sockaddr_in peer;
		socklen_t pl = sizeof peer;
		int64_t rx_kernel = 0, rx_user = 0;
		ssize_t n = stamps ? recv_stamped(fd, buf, RX_BUF_BYTES, flags, (struct sockaddr *)&peer, &pl, &rx_kernel)
				   : recvfrom(fd, buf, RX_BUF_BYTES, flags, (struct sockaddr *)&peer, &pl);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				continue;
			fatal = errno;
			break;
		}
		if (stamps)
			rx_user = real_ns();
		const int64_t tx_user = stamps ? real_ns() : 0;
		if (sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&peer, pl) < 0) {
			send_errors++;
			continue;
		}
		echoed++;
		if (stamps) {
			/* After the echo left: the client's clock is already running, not waiting on us. */
			int64_t driver = 0, sched = 0;
			drain_tx_stamps(fd, txkey++, &driver, &sched);
			uint64_t seq;
			if ((size_t)n >= RTT_HEADER_BYTES && (memcpy(&seq, buf + 8, 8), seq < rows)) {
				int64_t *row = stamps + seq * STAMP_FIELDS;
				row[SS_KERNEL_RX] = rx_kernel;
				row[SS_USER_RECV] = rx_user;
				row[SS_USER_SEND] = tx_user;
				row[SS_KERNEL_TX] = driver ? driver : sched;
				stamped++;
			}
		}
	}
	if (fatal)
		ev_error("io", "recvfrom: %s", strerror(fatal));
	int rc = fatal ? 1 : 0;
	if (stamps && stamps_write(o->stamps_out, stamps, rows) < 0)
		rc = 1;
	struct jbuf *b = ev_begin("result");
	ev_str(b, "role", "rtt-server");
	ev_u64(b, "echoed", echoed);
	ev_u64(b, "send_errors", send_errors);
	ev_u64(b, "stamped", stamped);
	ev_end(b);
	free(stamps);
	return rc;
}

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

int rtt_client(const struct opts *o)
{
	if (o->open_loop)
		return rtt_open_loop(o);
	if (prepare_process(o) < 0)
		return 1;
	int fd = udp_connected(o);
	if (fd < 0)
		return 1;
	if (o->wait == WAIT_BLOCK) {
		struct timeval tv = {.tv_sec = (time_t)(o->timeout_ns / 1000000000ull),
				     .tv_usec = (suseconds_t)(o->timeout_ns % 1000000000ull / 1000)};
		if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0) {
			ev_error("socket", "SO_RCVTIMEO: %s", strerror(errno));
			return 1;
		}
	}

	/* Everything the loop touches is allocated and written once here. */
	int64_t *samples = malloc(o->count * sizeof *samples);
	uint8_t *tx = calloc(1, o->size);
	uint8_t *rx = calloc(1, RX_BUF_BYTES);
	struct hist *h = malloc(sizeof *h);
	const uint64_t total = o->warmup + o->count;
	int64_t *stamps = o->stamps_out ? calloc(total, sizeof *stamps * STAMP_FIELDS) : NULL;
	if (!samples || !tx || !rx || !h || (o->stamps_out && !stamps)) {
		ev_error("alloc", "no memory for %llu samples", (unsigned long long)o->count);
		return 1;
	}
	for (uint64_t k = 0; k < o->count; k++)
		samples[k] = RAW_LOST;
	hist_reset(h);
	if (stamps && stamps_enable(fd) < 0)
		return 1;
	const uint32_t cookie = (uint32_t)(now_ns() ^ ((uint64_t)getpid() << 16));
	if (emit_ready(fd, o, "rtt-client") < 0)
		return 1;

	const int flags = o->wait == WAIT_SPIN ? MSG_DONTWAIT : 0;
	uint32_t txkey = 0; /* SOF_TIMESTAMPING_OPT_ID numbers this socket's sends from 0 */
	uint64_t sent = 0, late = 0, refused = 0, send_errors = 0, recv_errors = 0;
	uint64_t misses = 0;
	struct rtt_slots slots = {0};
	const char *aborted = NULL;
	const uint64_t t_start = now_ns();
	uint64_t next = t_start;

	/* ---- measured loop: send, recv and the vDSO clock only ---- */
	for (uint64_t i = 0; i < total; i++) {
		if (stop_requested) {
			aborted = "signal";
			break;
		}
		if (o->interval_ns && i > 0) {
			misses += (uint64_t)schedule_next(&next, o->interval_ns, now_ns());
			wait_until(next, o->pace);
		}
		rtt_hdr_write(tx, cookie, i);
		int64_t rtt = RAW_LOST;
		/* Breakdown mode: CLOCK_REALTIME stamps bracket the CLOCK_MONOTONIC ones (see stamps.h). */
		int64_t *const row = stamps ? stamps + i * STAMP_FIELDS : NULL;
		const uint64_t t_send = row ? paired_now(&row[CS_USER_SEND]) : now_ns();
		const uint64_t t0 = t_send;
		if (send(fd, tx, o->size, 0) < 0) {
			if (errno == ECONNREFUSED)
				refused++;
			else
				send_errors++;
		} else {
			sent++;
			const uint64_t deadline = t_send + o->timeout_ns;
			for (;;) {
				int64_t rx_kernel = 0;
				ssize_t n = row ? recv_stamped(fd, rx, RX_BUF_BYTES, flags, NULL, NULL, &rx_kernel)
						: recv(fd, rx, RX_BUF_BYTES, flags);
				int64_t t1_real = 0;
				const uint64_t t1 = row ? paired_now(&t1_real) : now_ns();
				if (n >= 0) {
					uint64_t seq;
					if (rtt_hdr_read(rx, (size_t)n, cookie, &seq) == 0 && seq == i) {
						rtt = (int64_t)(t1 - t0);
						if (row) {
							row[CS_USER_RECV] = t1_real;
							row[CS_KERNEL_RX] = rx_kernel;
						}
						break;
					}
					late++; /* a reply to an earlier packet that we gave up on */
					if (t1 >= deadline)
						break;
				} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
					if (o->wait == WAIT_BLOCK || t1 >= deadline)
						break; /* SO_RCVTIMEO expired, or spun past the deadline */
				} else if (errno == EINTR) {
					if (stop_requested)
						break;
				} else if (errno == ECONNREFUSED) {
					refused++;
					break;
				} else {
					recv_errors++;
					break;
				}
			}
		}
		if (row && sent > txkey) {
			/* The send's TX stamp, read after the reply so the RTT does not include it. */
			int64_t driver = 0, sched = 0;
			drain_tx_stamps(fd, txkey++, &driver, &sched);
			row[CS_KERNEL_TX] = driver ? driver : sched;
		}
		if (rtt < 0 && stop_requested) {
			aborted = "signal"; /* interrupted, not lost: the slot does not count */
			break;
		}
		if ((aborted = rtt_slot_done(o, samples, &slots, i, rtt)))
			break;
	}
	const uint64_t t_end = now_ns();
	/* ---- end of measured loop ---- */

	struct rtt_totals t = {.timing = "send", .sent = sent, .attempted = slots.attempted, .warmup_lost = slots.warmup_lost, .late = late,
			       .refused = refused, .send_errors = send_errors, .recv_errors = recv_errors, .schedule_misses = misses,
			       .duration_ns = t_end - t_start, .aborted = aborted};
	rtt_summarize(samples, slots.attempted, h, &t);
	int rc = 0;
	if (o->raw_out && write_raw(o->raw_out, samples, slots.attempted) < 0)
		rc = 1;
	if (stamps && stamps_write(o->stamps_out, stamps, total) < 0)
		rc = 1;

	struct jbuf *b = rtt_result_begin(o, &t);
	ev_hist(b, "hist", h);
	ev_end(b);
	free(samples);
	free(stamps);
	free(tx);
	free(rx);
	free(h);
	return rc;
}
