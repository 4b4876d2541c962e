/* A TCP byte stream: the sender writes --size bytes per call, the receiver reads what arrives.
 * TCP has no message boundaries: the receiver counts whole messages from the bytes it has read
 * so far (exact, whatever sizes read() returns), and bytes are the measure of record. */
#define _GNU_SOURCE
#include "io.h"
#include "out.h"
#include "sock.h"

#include <errno.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define TCP_BUF (256u * 1024u)

static int tcp_tx_open(const struct opts *o, struct io *io)
{
	io->fd = socket(o->addr.sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	io->buf = calloc(1, o->size);
	io->len = o->size;
	if (io->fd < 0 || !io->buf) {
		ev_error("socket", "socket(SOCK_STREAM): %s", strerror(errno));
		return -1;
	}
	/* before connect: the handshake already runs under the algorithm asked for */
	if (o->congestion &&
	    setsockopt(io->fd, IPPROTO_TCP, TCP_CONGESTION, o->congestion, (socklen_t)strlen(o->congestion)) < 0) {
		char have[256] = "";
		FILE *f = fopen("/proc/sys/net/ipv4/tcp_available_congestion_control", "r");
		if (f) {
			if (!fgets(have, sizeof have, f))
				have[0] = 0;
			fclose(f);
			have[strcspn(have, "\n")] = 0;
		}
		ev_error("congestion", "TCP congestion control '%s': %s (this kernel has: %s)", o->congestion,
			 strerror(errno), have[0] ? have : "unreadable");
		return -1;
	}
	if (force_buffer(io->fd, SO_SNDBUFFORCE, o->sndbuf) < 0)
		return -1;
	int one = 1;
	if (o->zerocopy && setsockopt(io->fd, SOL_SOCKET, SO_ZEROCOPY, &one, sizeof one) < 0) {
		ev_error("socket", "SO_ZEROCOPY: %s (MSG_ZEROCOPY needs Linux 4.14)", strerror(errno));
		return -1;
	}
	if (connect(io->fd, &o->addr.sa, sa_len(&o->addr)) < 0) {
		ev_error("connect", "connect: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* --zerocopy: reads the completions queued on the socket's error queue without blocking. Each names a
 * range of sends the kernel is done with; SO_EE_CODE_ZEROCOPY_COPIED says it copied them after all (a
 * local receiver — veth, loopback — always makes it copy). The payload is never rewritten, so a send
 * still in flight needs no wait. */
static void tcp_reap_zerocopy(struct io *io)
{
	char ctrl[CMSG_SPACE(sizeof(struct sock_extended_err)) + 64];
	for (;;) {
		struct msghdr m = {.msg_control = ctrl, .msg_controllen = sizeof ctrl};
		if (recvmsg(io->fd, &m, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
			return;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
			if (!(c->cmsg_level == SOL_IP && c->cmsg_type == IP_RECVERR) &&
			    !(c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_RECVERR))
				continue;
			struct sock_extended_err e;
			memcpy(&e, CMSG_DATA(c), sizeof e);
			if (e.ee_errno != 0 || e.ee_origin != SO_EE_ORIGIN_ZEROCOPY)
				continue;
			const uint64_t sends = (uint64_t)(e.ee_data - e.ee_info) + 1;
			io->zc_completed += sends;
			if (e.ee_code & SO_EE_CODE_ZEROCOPY_COPIED)
				io->zc_copied += sends;
		}
	}
}

/* One write per burst (a byte stream has no bursts): 1 message, or 0 when a signal interrupted it.
 * --zerocopy: send(MSG_ZEROCOPY), its completions read every ZC_REAP_EVERY sends and whenever the
 * kernel is out of the memory that pins them (ENOBUFS). */
#define ZC_REAP_EVERY 64
static int tcp_tx_write(struct io *io, uint32_t burst, uint64_t *bytes, uint64_t *errors)
{
	(void)burst;
	const int zc = io->o->zerocopy;
	ssize_t n = zc ? send(io->fd, io->buf, io->len, MSG_ZEROCOPY) : write(io->fd, io->buf, io->len);
	if (n < 0 && zc && errno == ENOBUFS) {
		tcp_reap_zerocopy(io);
		return 0;
	}
	if (n < 0) {
		if (errno == EINTR)
			return 0;
		(*errors)++;
		return -1;
	}
	*bytes += (uint64_t)n;
	if (zc && ++io->zc_sends % ZC_REAP_EVERY == 0)
		tcp_reap_zerocopy(io);
	return 1;
}

/* Half-close and wait for the receiver to close: afterwards every byte written was read (and every
 * zero-copy send completed: its completion is read last). */
static void tcp_tx_finish(struct io *io)
{
	shutdown(io->fd, SHUT_WR);
	char tmp[64];
	while (read(io->fd, tmp, sizeof tmp) > 0)
		;
	if (io->o->zerocopy)
		tcp_reap_zerocopy(io);
}

static int tcp_rx_open(const struct opts *o, struct io *io)
{
	io->listen_fd = socket(o->addr.sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	io->buf = malloc(TCP_BUF);
	int one = 1;
	if (io->listen_fd < 0 || !io->buf) {
		ev_error("socket", "socket(SOCK_STREAM): %s", strerror(errno));
		return -1;
	}
	setsockopt(io->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	/* on the listening socket, before listen(): the accepted connection inherits it, and its window
	 * scale is chosen from it in the handshake */
	if (force_buffer(io->listen_fd, SO_RCVBUFFORCE, o->rcvbuf) < 0)
		return -1;
	if (bind(io->listen_fd, &o->addr.sa, sa_len(&o->addr)) < 0 || listen(io->listen_fd, 1) < 0) {
		ev_error("bind", "bind/listen: %s", strerror(errno));
		return -1;
	}
	/* `ready` reports the listening socket's port. */
	io->fd = io->listen_fd;
	return 0;
}

static int tcp_rx_read(struct io *io, int flags, uint64_t *bytes, uint64_t *drops)
{
	(void)flags;
	(void)drops;
	if (io->fd == io->listen_fd) {
		int c = accept(io->listen_fd, NULL, NULL);
		if (c < 0) {
			ev_error("io", errno == EINTR ? "stopped before the sender connected" : "accept: %s", strerror(errno));
			return IO_FATAL;
		}
		io->fd = c;
	}
	ssize_t n = read(io->fd, io->buf, TCP_BUF);
	if (n == 0)
		return IO_EOF;
	if (n < 0)
		return errno == EINTR ? IO_NOTHING : IO_EOF;
	const uint64_t size = io->o->size;
	const uint64_t before = io->stream_bytes / size;
	io->stream_bytes += (uint64_t)n;
	*bytes += (uint64_t)n;
	return (int)(io->stream_bytes / size - before);
}

const struct io_ops io_tcp = {"read", 0, tcp_tx_open, tcp_tx_write, tcp_tx_finish, tcp_rx_open, tcp_rx_read, NULL,
			      NULL};
