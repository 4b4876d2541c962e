/* The round trip over AF_XDP (--api xdp): without either endpoint's network stack. The client writes
 * its header (cookie, sequence) into a pre-built frame, queues it on the TX ring and kicks; its own
 * XDP program (xsk.h) hands the reply to its RX ring. The server reflects each frame in place
 * (reflect_udp_frame) and sends the same UMEM buffer back: no copy in user space. */
#define _GNU_SOURCE
#include "frame.h"
#include "out.h"
#include "rtt.h"
#include "rtt_method.h"
#include "sock.h"
#include "xsk.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

struct rtt_xdp_state {
	const struct opts *o;
	struct xsk x;
	int hold;       /* the UDP socket that holds the port (hold_udp_port) */
	uint32_t len;   /* the probe frame's length */
	uint32_t at;    /* where its UDP payload starts (the family's headers) */
	uint32_t cookie;
	const char *mode;
};

static const char *xdp_refuse(const struct opts *o, enum rt_role role)
{
	if (!o->dev)
		return role == RT_SERVER ? "--api xdp needs --dev: the device the server's AF_XDP socket is bound to"
					 : "--api xdp needs --dev, --dst-mac and --src";
	if (o->stamps_out)
		return "--api xdp: --stamps-out is not built for AF_XDP (it needs the socket's kernel timestamps)";
	if (role == RT_SERVER)
		return NULL;
	if (!o->have_dst_mac || !o->have_src)
		return "--api xdp needs --dev, --dst-mac and --src";
	static char why[128];
	if (o->size > frame_max_payload(&o->addr)) {
		snprintf(why, sizeof why, "--size %u: an AF_XDP frame carries at most %u bytes of UDP payload at MTU 1500",
			 o->size, frame_max_payload(&o->addr));
		return why;
	}
	if (role == RT_OPEN_LOOP)
		return "--api xdp: --open-loop is not built for AF_XDP yet (the socket and dpdk methods have it)";
	return NULL;
}

static void xdp_close(void *state)
{
	struct rtt_xdp_state *s = state;
	xsk_close(&s->x);
	close(s->hold);
	free(s);
}

static int xdp_open(const struct opts *o, enum rt_role role, uint32_t cookie, void **state, union sockaddr_any *ready)
{
	struct rtt_xdp_state *s = calloc(1, sizeof *s);
	if (!s) {
		ev_error("alloc", "no memory for the AF_XDP state");
		return -1;
	}
	s->o = o;
	s->cookie = cookie;
	/* The server holds the port it serves; the client the one it sends from and hears replies on. */
	s->hold = hold_udp_port(role == RT_SERVER ? &o->addr : &o->src, ready);
	char err[256];
	if (s->hold < 0) {
		free(s);
		return -1;
	}
	if (xsk_open(&s->x, o->dev, o->xdp_frames, o->xdp_ring, htons(sa_port(ready)), err, sizeof err) < 0) {
		ev_error("xdp", "%s", err);
		close(s->hold);
		free(s);
		return -1;
	}
	s->mode = s->x.mode;
	s->at = (uint32_t)frame_headers(&o->addr);
	if (role != RT_SERVER)
		for (uint32_t i = 0; i < s->x.nfree; i++)
			s->len = (uint32_t)build_udp_frame(s->x.umem + s->x.free[i], s->x.mac, o->dst_mac, ready, &o->addr, o->size);
	*state = s;
	return 0;
}

static int xdp_send_probe(void *state, uint64_t seq, uint64_t *t_send)
{
	struct rtt_xdp_state *s = state;
	struct xsk *x = &s->x;
	xsk_reap(x);
	if (x->nfree == 0) {
		/* every frame still in flight: the kernel has not completed them */
		__atomic_store_n(t_send, now_ns(), __ATOMIC_RELEASE);
		return RT_ERROR;
	}
	uint8_t *f = x->umem + x->free[x->nfree - 1];
	rtt_hdr_write(f + s->at, s->cookie, seq);
	if (s->at == FRAME_HEADERS6) /* IPv6's checksum is mandatory: the payload just changed (IPv4 has none) */
		udp_frame_checksum(f, s->len);
	__atomic_store_n(t_send, now_ns(), __ATOMIC_RELEASE);
	if (xsk_tx_queue(x, 1, s->len) != 1 || xsk_kick(x) < 0)
		return RT_ERROR;
	return RT_OK;
}

static int xdp_poll_reply(void *state, uint64_t deadline, struct rt_poll *p)
{
	struct rtt_xdp_state *s = state;
	struct xsk *x = &s->x;
	uint32_t first, n = xsk_rx_peek(x, &first);
	p->now = now_ns();
	p->n = p->other = 0;
	if (n > RT_POLL_MAX)
		n = RT_POLL_MAX;
	for (uint32_t i = 0; i < n; i++) {
		const struct xdp_desc *d = xsk_rx_desc(x, first + i);
		if (d->len >= s->at && rtt_hdr_read(x->umem + d->addr + s->at, d->len - s->at, s->cookie, &p->seq[p->n]) == 0)
			p->n++;
		else
			p->other++;
	}
	if (n) {
		xsk_rx_recycle(x, first, n);
	} else if (s->o->wait == WAIT_BLOCK && p->now < deadline) {
		const uint64_t left = deadline - p->now;
		struct timespec ts = {.tv_sec = (time_t)(left / 1000000000ull), .tv_nsec = (long)(left % 1000000000ull)};
		struct pollfd pfd = {.fd = x->fd, .events = POLLIN};
		ppoll(&pfd, 1, &ts, NULL);
	}
	return RT_OK;
}

static int xdp_reflect(void *state, struct rt_echo *e)
{
	struct rtt_xdp_state *s = state;
	struct xsk *x = &s->x;
	xsk_reap_to_fill(x);
	uint32_t first, n = xsk_rx_peek(x, &first);
	if (n == 0) {
		if (s->o->wait == WAIT_BLOCK) {
			struct pollfd pfd = {.fd = x->fd, .events = POLLIN};
			poll(&pfd, 1, 100);
		}
		return 0;
	}
	for (uint32_t i = 0; i < n; i++) {
		const struct xdp_desc *d = xsk_rx_desc(x, first + i);
		const uint64_t base = d->addr & ~(uint64_t)(XSK_FRAME_SIZE - 1);
		if (reflect_udp_frame(x->umem + d->addr, d->len) == 0 && xsk_tx_queue_addr(x, d->addr, d->len)) {
			e->echoed++;
			continue;
		}
		e->send_errors++; /* not ours to reflect, or no room: the buffer goes back to the fill ring */
		((uint64_t *)x->fill.descs)[*x->fill.prod & x->fill.mask] = base;
		ring_store(x->fill.prod, *x->fill.prod + 1);
	}
	xsk_rx_release(x, n);
	if (xsk_kick(x) < 0)
		e->send_errors++;
	return 0;
}

static void xdp_describe(void *state, struct jbuf *b)
{
	const struct rtt_xdp_state *s = state;
	ev_str(b, "xdp_mode", s->mode);
}

const struct rtt_method rtt_xdp = {
	.api = "xdp",
	.rx_thread = 0,
	.refuse = xdp_refuse,
	.open = xdp_open,
	.send_probe = xdp_send_probe,
	.poll_reply = xdp_poll_reply,
	.reflect = xdp_reflect,
	.describe = xdp_describe,
	.close = xdp_close,
};
