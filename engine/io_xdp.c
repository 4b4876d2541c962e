/* AF_XDP as a stream I/O method (`--api xdp`, seed 001's kernel-bypass end of the socket ladder):
 * the sender queues pre-built frames (built like the raw APIs build theirs, once, into every UMEM
 * frame) on the TX ring and kicks the kernel; the receiver takes frames off the RX ring that its own
 * XDP program filled and hands the buffers straight back to the fill ring. See xsk.h. */
#define _GNU_SOURCE
#include "frame.h"
#include "io.h"
#include "out.h"
#include "sock.h"
#include "xsk.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static struct xsk *xsk_new(void)
{
	struct xsk *x = calloc(1, sizeof *x);
	if (!x)
		ev_error("alloc", "no memory for an AF_XDP socket");
	return x;
}

static int xdp_tx_open(const struct opts *o, struct io *io)
{
	if (!o->dev || !o->have_dst_mac || !o->have_src) {
		ev_error("usage", "--api xdp needs --dev, --dst-mac and --src");
		return -1;
	}
	if (o->size > frame_max_payload(&o->addr)) {
		ev_error("usage", "--size %u: an AF_XDP frame carries at most %u bytes of UDP payload at MTU 1500", o->size,
			 frame_max_payload(&o->addr));
		return -1;
	}
	struct xsk *x = xsk_new();
	char err[256];
	if (!x || xsk_open(x, o->dev, o->xdp_frames, o->xdp_ring, 0, err, sizeof err) < 0) {
		if (x)
			ev_error("xdp", "%s", err);
		free(x);
		return -1;
	}
	/* Every frame the sender owns holds the same datagram: the loop only writes descriptors. */
	for (uint32_t i = 0; i < x->nfree; i++)
		io->len = build_udp_frame(x->umem + x->free[i], x->mac, o->dst_mac, &o->src, &o->addr, o->size);
	io->frame_bytes = io->len;
	io->xsk = x;
	io->fd = x->fd;
	return 0;
}

static int xdp_tx_burst(struct io *io, uint32_t burst, uint64_t *bytes, uint64_t *errors)
{
	struct xsk *x = io->xsk;
	xsk_reap(x);
	uint32_t n = xsk_tx_queue(x, burst, (uint32_t)io->len);
	if (xsk_kick(x) < 0)
		(*errors)++;
	*bytes += (uint64_t)n * io->o->size;
	return (int)n;
}

/* Everything queued goes out before the result is written: what was counted was transmitted. */
static void xdp_tx_finish(struct io *io)
{
	struct xsk *x = io->xsk;
	for (int i = 0; i < 1000 && ring_load(x->tx.cons) != *x->tx.prod; i++)
		xsk_kick(x);
	xsk_reap(x);
}

static int xdp_rx_open(const struct opts *o, struct io *io)
{
	if (!o->dev) {
		ev_error("usage", "--api xdp needs --dev: the device the receiver's AF_XDP socket is bound to");
		return -1;
	}
	/* the port's holder (sock.h) says which port the kernel picked; `ready` reports it */
	union sockaddr_any a;
	if ((io->listen_fd = hold_udp_port(&o->addr, &a)) < 0)
		return -1;
	struct xsk *x = xsk_new();
	char err[256];
	if (!x || xsk_open(x, o->dev, o->xdp_frames, o->xdp_ring, htons(sa_port(&a)), err, sizeof err) < 0) {
		if (x)
			ev_error("xdp", "%s", err);
		free(x);
		return -1;
	}
	io->xsk = x;
	io->fd = x->fd;
	io->rx_headers = (uint32_t)frame_headers(&o->addr); /* the XDP program passes the family's UDP only */
	return 0;
}

/* Frames on the RX ring: counted and handed back. Blocking waits in poll() (100 ms, so the loop
 * still sees its deadline); spinning never enters the kernel. */
static int xdp_rx_batch(struct io *io, int flags, uint64_t *bytes, uint64_t *drops)
{
	(void)drops; /* the kernel counts AF_XDP drops per socket: read once, at the end */
	struct xsk *x = io->xsk;
	uint32_t first, n = xsk_rx_peek(x, &first);
	if (n == 0) {
		if (flags & MSG_DONTWAIT)
			return IO_NOTHING;
		struct pollfd p = {.fd = x->fd, .events = POLLIN};
		if (poll(&p, 1, 100) <= 0 || (n = xsk_rx_peek(x, &first)) == 0)
			return IO_NOTHING;
	}
	for (uint32_t i = 0; i < n; i++)
		*bytes += xsk_rx_desc(x, first + i)->len - io->rx_headers;
	xsk_rx_recycle(x, first, n);
	return (int)n;
}

static uint64_t xdp_rx_final_drops(struct io *io) { return xsk_drops(io->xsk); }

const struct io_ops io_xdp = {"AF_XDP", 1, xdp_tx_open, xdp_tx_burst, xdp_tx_finish, xdp_rx_open, xdp_rx_batch,
			      xdp_rx_final_drops, NULL};

const char *io_xdp_mode(const struct io *io) { return io->xsk ? ((const struct xsk *)io->xsk)->mode : NULL; }

void io_xdp_close(struct io *io)
{
	if (io->xsk) {
		xsk_close(io->xsk);
		free(io->xsk);
		io->xsk = NULL;
		io->fd = -1;
	}
}
