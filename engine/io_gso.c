/* UDP segmentation offload (--api gso), the way QUIC stacks move UDP fast: the sender hands the
 * kernel one buffer of `burst` datagrams in one send() and UDP_SEGMENT cuts it into datagrams of
 * --size — on the device where it can, else just before it; a veth passes the unsegmented packet
 * through. The receiver asks for UDP_GRO: the kernel hands it coalesced datagrams (or that unsegmented
 * packet whole) with their segment size in a control message, so one receive call counts many. One
 * rung of seed 001's ladder, beside sendmmsg (many datagrams per call, each its own packet). */
#define _GNU_SOURCE
#include "io.h"
#include "out.h"
#include "sock.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/socket.h>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

/* Room for both control messages a datagram may carry: SO_RXQ_OVFL's drop count, UDP_GRO's size. */
#define GSO_CTRL_BYTES (CMSG_SPACE(sizeof(uint32_t)) + CMSG_SPACE(sizeof(int)))

static int gso_tx_open(const struct opts *o, struct io *io)
{
	const char *why = gso_refusal(o);
	if (why) {
		ev_error("usage", "%s", why);
		return -1;
	}
	io->len = (size_t)o->size * o->burst;
	io->buf = calloc(1, io->len);
	if (!io->buf) {
		ev_error("alloc", "no memory for a burst of %u datagrams", o->burst);
		return -1;
	}
	io->fd = udp_connected(o);
	if (io->fd < 0 || force_buffer(io->fd, SO_SNDBUFFORCE, o->sndbuf) < 0)
		return -1;
	int seg = (int)o->size;
	if (setsockopt(io->fd, SOL_UDP, UDP_SEGMENT, &seg, sizeof seg) < 0) {
		ev_error("socket", "UDP_SEGMENT %d: %s (UDP GSO needs Linux 4.18)", seg, strerror(errno));
		return -1;
	}
	return 0;
}

/* One send() of the whole burst: all of it went, or none did. */
static int gso_tx_burst(struct io *io, uint32_t burst, uint64_t *bytes, uint64_t *errors)
{
	if (send(io->fd, io->buf, io->len, 0) < 0) {
		(*errors)++;
		return 0;
	}
	*bytes += (uint64_t)burst * io->o->size;
	return (int)burst;
}

static int gso_rx_open(const struct opts *o, struct io *io)
{
	if (udp_rx_open(o, io) < 0) /* one 64 KiB slot: a coalesced receive is up to 64 KiB */
		return -1;
	int one = 1;
	if (setsockopt(io->fd, SOL_UDP, UDP_GRO, &one, sizeof one) < 0) {
		ev_error("socket", "UDP_GRO: %s (UDP GRO on a socket needs Linux 5.0)", strerror(errno));
		return -1;
	}
	free(io->ctrl);
	io->ctrl = calloc(1, GSO_CTRL_BYTES);
	if (!io->ctrl) {
		ev_error("alloc", "no memory for a control buffer");
		return -1;
	}
	io->msgs[0].msg_hdr.msg_control = io->ctrl;
	return 0;
}

/* One recvmsg: the datagrams it carries are its length over the segment size UDP_GRO reports (one
 * datagram when the kernel coalesced nothing). */
static int gso_rx_batch(struct io *io, int flags, uint64_t *bytes, uint64_t *drops)
{
	struct msghdr *m = &io->msgs[0].msg_hdr;
	m->msg_controllen = GSO_CTRL_BYTES;
	const ssize_t r = recvmsg(io->fd, m, flags & MSG_DONTWAIT);
	if (r < 0)
		return IO_NOTHING;
	*bytes += (uint64_t)r;
	int seg = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c)) {
		if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
			memcpy(&seg, CMSG_DATA(c), sizeof seg);
		} else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
			uint32_t d;
			memcpy(&d, CMSG_DATA(c), sizeof d);
			if (d != io->ovfl) {
				*drops += d - io->ovfl;
				io->ovfl = d;
			}
		}
	}
	return seg > 0 ? (int)(((size_t)r + (size_t)seg - 1) / (size_t)seg) : 1;
}

const char *gso_refusal(const struct opts *o)
{
	static char why[160];
	if (o->burst > GSO_MAX_SEGMENTS) {
		snprintf(why, sizeof why,
			 "--api gso: --burst %u: one send carries at most %u segments (the kernel's UDP_MAX_SEGMENTS)", o->burst,
			 GSO_MAX_SEGMENTS);
		return why;
	}
	if ((uint64_t)o->size * o->burst > MAX_UDP_PAYLOAD) {
		snprintf(why, sizeof why, "--api gso: --size %u × --burst %u = %llu bytes: one send carries at most %u",
			 o->size, o->burst, (unsigned long long)o->size * o->burst, MAX_UDP_PAYLOAD);
		return why;
	}
	return NULL;
}

const struct io_ops io_gso = {"recvmsg+UDP_GRO", 1, gso_tx_open, gso_tx_burst, NULL, gso_rx_open, gso_rx_batch,
			      udp_rx_final_drops, NULL};
