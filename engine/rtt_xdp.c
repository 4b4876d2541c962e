/* UDP ping-pong over AF_XDP (`rtt-client` / `rtt-server` with --api xdp): the round trip without
 * either endpoint's network stack. The client writes its header (cookie, sequence) into a pre-built
 * frame, queues it on the TX ring and kicks; its own XDP program (xsk.h) hands the reply to its RX
 * ring. The server reflects each frame in place (reflect_udp_frame) and sends the same UMEM buffer
 * back: no copy in user space. Same result event and histogram as the socket client (rtt.c). */
#define _GNU_SOURCE
#include "frame.h"
#include "hist.h"
#include "out.h"
#include "rtt.h"
#include "sock.h"
#include "xsk.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int open_xsk(const struct opts *o, struct xsk *x, uint16_t port_be)
{
	char err[256];
	if (xsk_open(x, o->dev, o->xdp_frames, o->xdp_ring, port_be, err, sizeof err) < 0) {
		ev_error("xdp", "%s", err);
		return -1;
	}
	return 0;
}

int rtt_xdp_server(const struct opts *o)
{
	if (!o->dev) {
		ev_error("usage", "--api xdp needs --dev: the device the server's AF_XDP socket is bound to");
		return 1;
	}
	if (prepare_process(o) < 0)
		return 1;
	struct sockaddr_in bound;
	int hold = hold_udp_port(&o->addr, &bound);
	struct xsk x;
	if (hold < 0 || open_xsk(o, &x, bound.sin_port) < 0)
		return 1;
	if (emit_ready(hold, o, "rtt-server") < 0)
		return 1;
	uint64_t echoed = 0, send_errors = 0;
	/* ---- reflect loop: ring operations, sendto() to transmit, poll() when blocking ---- */
	while (!stop_requested) {
		xsk_reap_to_fill(&x);
		uint32_t first, n = xsk_rx_peek(&x, &first);
		if (n == 0) {
			if (o->wait == WAIT_BLOCK) {
				struct pollfd p = {.fd = x.fd, .events = POLLIN};
				poll(&p, 1, 100);
			}
			continue;
		}
		for (uint32_t i = 0; i < n; i++) {
			const struct xdp_desc *d = xsk_rx_desc(&x, first + i);
			uint64_t base = d->addr & ~(uint64_t)(XSK_FRAME_SIZE - 1);
			if (reflect_udp_frame(x.umem + d->addr, d->len) == 0 && xsk_tx_queue_addr(&x, d->addr, d->len)) {
				echoed++;
				continue;
			}
			send_errors++; /* not ours to reflect, or no room: the buffer goes back to the fill ring */
			((uint64_t *)x.fill.descs)[*x.fill.prod & x.fill.mask] = base;
			ring_store(x.fill.prod, *x.fill.prod + 1);
		}
		xsk_rx_release(&x, n);
		if (xsk_kick(&x) < 0)
			send_errors++;
	}
	/* ---- end of reflect loop ---- */
	const char *mode = x.mode;
	xsk_close(&x);
	close(hold);
	struct jbuf *b = ev_begin("result");
	ev_str(b, "role", "rtt-server");
	ev_u64(b, "echoed", echoed);
	ev_u64(b, "send_errors", send_errors);
	ev_u64(b, "stamped", 0);
	ev_str(b, "xdp_mode", mode);
	ev_end(b);
	return 0;
}

/* Waits for the reply to `seq` until `deadline`; returns its arrival time, or 0. Replies to earlier
 * packets (given up on) are counted in *late and released. */
static uint64_t await_reply(const struct opts *o, struct xsk *x, uint32_t cookie, uint64_t seq, uint64_t deadline, uint64_t *late)
{
	for (;;) {
		uint32_t first, n = xsk_rx_peek(x, &first);
		uint64_t now = now_ns();
		uint64_t got = 0;
		for (uint32_t i = 0; i < n; i++) {
			const struct xdp_desc *d = xsk_rx_desc(x, first + i);
			uint64_t s;
			if (d->len >= FRAME_HEADERS && rtt_hdr_read(x->umem + d->addr + FRAME_HEADERS, d->len - FRAME_HEADERS, cookie, &s) == 0 && s == seq)
				got = now;
			else
				(*late)++;
		}
		if (n)
			xsk_rx_recycle(x, first, n);
		if (got)
			return got;
		if (now >= deadline || stop_requested)
			return 0;
		if (o->wait == WAIT_BLOCK) {
			uint64_t left = deadline - now;
			struct timespec ts = {.tv_sec = (time_t)(left / 1000000000ull), .tv_nsec = (long)(left % 1000000000ull)};
			struct pollfd p = {.fd = x->fd, .events = POLLIN};
			ppoll(&p, 1, &ts, NULL);
		}
	}
}

int rtt_xdp_client(const struct opts *o)
{
	if (!o->dev || !o->have_dst_mac || !o->have_src) {
		ev_error("usage", "--api xdp needs --dev, --dst-mac and --src");
		return 1;
	}
	if (o->size > 1500 - 28) {
		ev_error("usage", "--size %u: an AF_XDP frame carries at most %u bytes of UDP payload at MTU 1500", o->size, 1500 - 28);
		return 1;
	}
	if (prepare_process(o) < 0)
		return 1;
	struct sockaddr_in src;
	int hold = hold_udp_port(&o->src, &src);
	struct xsk x;
	if (hold < 0 || open_xsk(o, &x, src.sin_port) < 0)
		return 1;
	int64_t *samples = malloc(o->count * sizeof *samples);
	struct hist *h = malloc(sizeof *h);
	if (!samples || !h) {
		ev_error("alloc", "no memory for %llu samples", (unsigned long long)o->count);
		return 1;
	}
	for (uint64_t k = 0; k < o->count; k++)
		samples[k] = RAW_LOST;
	hist_reset(h);
	uint32_t len = 0;
	for (uint32_t i = 0; i < x.nfree; i++)
		len = (uint32_t)build_udp_frame(x.umem + x.free[i], x.mac, o->dst_mac, &src, &o->addr, o->size);
	const uint32_t cookie = (uint32_t)(now_ns() ^ ((uint64_t)getpid() << 16));
	if (emit_ready(hold, o, "rtt-client") < 0)
		return 1;

	const uint64_t total = o->warmup + o->count;
	uint64_t sent = 0, late = 0, send_errors = 0, misses = 0;
	struct rtt_slots slots = {0};
	const char *aborted = NULL;
	const uint64_t t_start = now_ns();
	uint64_t next = t_start;
	/* ---- measured loop: ring operations, sendto() to transmit, the vDSO clock ---- */
	for (uint64_t i = 0; i < total; i++) {
		if (stop_requested) {
			aborted = "signal";
			break;
		}
		if (o->interval_ns && i > 0) {
			misses += (uint64_t)schedule_next(&next, o->interval_ns, now_ns());
			wait_until(next, o->pace);
		}
		xsk_reap(&x);
		int64_t rtt = RAW_LOST;
		if (x.nfree == 0) {
			send_errors++; /* every frame still in flight: the kernel has not completed them */
		} else {
			rtt_hdr_write(x.umem + x.free[x.nfree - 1] + FRAME_HEADERS, cookie, i);
			const uint64_t t0 = now_ns();
			if (xsk_tx_queue(&x, 1, len) != 1 || xsk_kick(&x) < 0) {
				send_errors++;
			} else {
				sent++;
				uint64_t t1 = await_reply(o, &x, cookie, i, t0 + o->timeout_ns, &late);
				if (t1)
					rtt = (int64_t)(t1 - t0);
			}
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
	const char *mode = x.mode;
	xsk_close(&x);
	close(hold);
	struct rtt_totals t = {.timing = "send", .sent = sent, .attempted = slots.attempted, .warmup_lost = slots.warmup_lost, .late = late,
			       .send_errors = send_errors, .schedule_misses = misses, .duration_ns = t_end - t_start, .aborted = aborted};
	rtt_summarize(samples, slots.attempted, h, &t);
	int rc = o->raw_out && write_raw(o->raw_out, samples, slots.attempted) < 0 ? 1 : 0;
	struct jbuf *b = rtt_result_begin(o, &t);
	ev_str(b, "api", "xdp");
	ev_str(b, "xdp_mode", mode);
	ev_hist(b, "hist", h);
	ev_end(b);
	free(samples);
	free(h);
	return rc;
}
