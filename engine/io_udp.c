/* UDP datagrams: `send` (one datagram per call) and `sendmmsg` (a burst per call); the UDP receiver
 * (recvmsg, or recvmmsg for the batched methods) that every datagram method sends to. */
#define _GNU_SOURCE
#include "dpdk.h"
#include "io.h"
#include "out.h"
#include "sock.h"

#include <errno.h>
#include <linux/sock_diag.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define RX_SLOT 2048u /* bytes per recvmmsg slot: enough for one MTU-sized datagram */

/* sendmmsg headers for a burst of the same payload. */
int tx_burst_headers(struct io *io, uint32_t burst)
{
	io->msgs = calloc(burst, sizeof *io->msgs);
	io->iovs = calloc(1, sizeof *io->iovs);
	if (!io->msgs || !io->iovs) {
		ev_error("alloc", "no memory for a burst of %u", burst);
		return -1;
	}
	io->iovs[0].iov_base = io->buf;
	io->iovs[0].iov_len = io->len;
	for (uint32_t i = 0; i < burst; i++) {
		io->msgs[i].msg_hdr.msg_iov = io->iovs;
		io->msgs[i].msg_hdr.msg_iovlen = 1;
	}
	return 0;
}

int udp_tx_connect(const struct opts *o, struct io *io)
{
	io->buf = calloc(1, MAX_UDP_PAYLOAD);
	if (!io->buf) {
		ev_error("alloc", "no memory for a datagram");
		return -1;
	}
	io->len = o->size;
	io->fd = udp_connected(o);
	if (io->fd < 0 || force_buffer(io->fd, SO_SNDBUFFORCE, o->sndbuf) < 0)
		return -1;
	return tx_burst_headers(io, o->burst);
}

int tx_send_each(struct io *io, uint32_t burst, uint64_t *bytes, uint64_t *errors)
{
	int sent = 0;
	for (uint32_t i = 0; i < burst; i++) {
		if (send(io->fd, io->buf, io->len, 0) < 0)
			(*errors)++;
		else
			sent++;
	}
	*bytes += (uint64_t)sent * io->o->size;
	return sent;
}

int tx_sendmmsg(struct io *io, uint32_t burst, uint64_t *bytes, uint64_t *errors)
{
	int n = sendmmsg(io->fd, io->msgs, burst, 0);
	if (n < 0) {
		(*errors)++;
		return 0;
	}
	*bytes += (uint64_t)n * io->o->size;
	return n;
}

int udp_rx_open(const struct opts *o, struct io *io)
{
	const int mmsg = o->api == API_SENDMMSG || o->api == API_RAW_MMSG;
	io->slots = mmsg ? o->burst : 1;
	io->fd = udp_socket(o);
	if (io->fd < 0)
		return -1;
	int one = 1;
	/* SO_RXQ_OVFL: every datagram carries the socket's cumulative drop count (receive buffer full). */
	if (setsockopt(io->fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof one) < 0) {
		ev_error("socket", "SO_RXQ_OVFL: %s", strerror(errno));
		return -1;
	}
	struct timeval tv = {.tv_sec = 0, .tv_usec = 100000}; /* wake up to report even when idle */
	setsockopt(io->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	if (bind(io->fd, &o->addr.sa, sa_len(&o->addr)) < 0) {
		ev_error("bind", "bind: %s", strerror(errno));
		return -1;
	}
	const size_t slot = mmsg ? RX_SLOT : 65536;
	io->buf = calloc(io->slots, slot);
	io->msgs = calloc(io->slots, sizeof *io->msgs);
	io->iovs = calloc(io->slots, sizeof *io->iovs);
	io->ctrl = calloc(io->slots, CMSG_SPACE(sizeof(uint32_t)));
	if (!io->buf || !io->msgs || !io->iovs || !io->ctrl) {
		ev_error("alloc", "no memory for %u receive slots", io->slots);
		return -1;
	}
	for (uint32_t i = 0; i < io->slots; i++) {
		io->iovs[i].iov_base = io->buf + (size_t)i * slot;
		io->iovs[i].iov_len = slot;
		io->msgs[i].msg_hdr.msg_iov = &io->iovs[i];
		io->msgs[i].msg_hdr.msg_iovlen = 1;
		io->msgs[i].msg_hdr.msg_control = io->ctrl + (size_t)i * CMSG_SPACE(sizeof(uint32_t));
	}
	if (force_buffer(io->fd, SO_RCVBUFFORCE, o->rcvbuf) < 0)
		return -1;
	return 0;
}

static uint32_t ovfl_of(struct msghdr *m)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
			uint32_t v;
			memcpy(&v, CMSG_DATA(c), sizeof v);
			return v;
		}
	return UINT32_MAX; /* not reported: no drop since the last report */
}

int udp_rx_batch(struct io *io, int flags, uint64_t *bytes, uint64_t *drops)
{
	for (uint32_t i = 0; i < io->slots; i++)
		io->msgs[i].msg_hdr.msg_controllen = CMSG_SPACE(sizeof(uint32_t));
	int n;
	if (io->slots > 1) {
		n = recvmmsg(io->fd, io->msgs, io->slots, flags, NULL);
		if (n < 0)
			return IO_NOTHING;
		for (int i = 0; i < n; i++)
			*bytes += io->msgs[i].msg_len;
	} else {
		ssize_t r = recvmsg(io->fd, &io->msgs[0].msg_hdr, flags & MSG_DONTWAIT);
		if (r < 0)
			return IO_NOTHING;
		*bytes += (uint64_t)r;
		n = 1;
	}
	for (int i = 0; i < n; i++) {
		uint32_t d = ovfl_of(&io->msgs[i].msg_hdr);
		if (d != UINT32_MAX && d != io->ovfl) {
			*drops += d - io->ovfl;
			io->ovfl = d;
		}
	}
	return n;
}

/* SO_RXQ_OVFL travels with the next datagram, so drops after the last one are never reported that
 * way: the socket's own drop counter (SO_MEMINFO) has them all. */
uint64_t udp_rx_final_drops(struct io *io)
{
	uint32_t meminfo[SK_MEMINFO_VARS];
	socklen_t ml = sizeof meminfo;
	if (getsockopt(io->fd, SOL_SOCKET, SO_MEMINFO, meminfo, &ml) == 0 && ml >= sizeof(uint32_t) * (SK_MEMINFO_DROPS + 1) &&
	    meminfo[SK_MEMINFO_DROPS] > io->ovfl) {
		uint64_t more = meminfo[SK_MEMINFO_DROPS] - io->ovfl;
		io->ovfl = meminfo[SK_MEMINFO_DROPS];
		return more;
	}
	return 0;
}

const struct io_ops io_send = {"recvmsg", 0, udp_tx_connect, tx_send_each, NULL, udp_rx_open, udp_rx_batch,
			       udp_rx_final_drops, NULL};
const struct io_ops io_sendmmsg = {"recvmmsg", 1, udp_tx_connect, tx_sendmmsg, NULL, udp_rx_open, udp_rx_batch,
				   udp_rx_final_drops, NULL};

const struct io_ops *io_ops_of(enum stream_api api)
{
	switch (api) {
	case API_SEND:
		return &io_send;
	case API_SENDMMSG:
		return &io_sendmmsg;
	case API_RAW:
		return &io_raw;
	case API_RAW_MMSG:
		return &io_raw_mmsg;
	case API_TCP:
		return &io_tcp;
	case API_XDP:
		return &io_xdp;
	case API_RAW_RING:
		return &io_raw_ring;
	case API_GSO:
		return &io_gso;
	case API_DPDK:
		return &io_dpdk ? &io_dpdk : NULL; /* a weak symbol: only cnperf-engine-dpdk defines it */
	}
	return NULL;
}
