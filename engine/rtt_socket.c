/* The round trip over a UDP socket (--api send), the default: the client's socket is connected to
 * the server, so an ICMP port-unreachable from a dead server comes back as ECONNREFUSED. With
 * --stamps-out both ends also keep the kernel's software timestamps of every probe (stamps.h): the
 * breakdown of one round trip into its parts. */
#define _GNU_SOURCE
#include "out.h"
#include "rtt.h"
#include "rtt_method.h"
#include "sock.h"
#include "stamps.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define RX_BUF_BYTES 65536

struct rtt_socket_state {
	const struct opts *o;
	int fd;
	int flags; /* MSG_DONTWAIT when spinning */
	uint32_t cookie;
	uint8_t *tx, *rx;
	/* --stamps-out: one row per sequence number (warm-up included), allocated before the loop */
	int64_t *stamps;
	uint64_t rows;
	uint64_t sends;        /* sends that left: SOF_TIMESTAMPING_OPT_ID numbers them from 0 */
	uint32_t txkey;        /* the next send whose TX stamp is still to be read */
	uint64_t reply_seq;    /* the last reply matched, and its stamps, for end_slot */
	int64_t reply_kernel, reply_user;
};

static const char *socket_refuse(const struct opts *o, enum rt_role role)
{
	if (role == RT_OPEN_LOOP && o->stamps_out)
		return "--open-loop does not take --stamps-out (the breakdown is a ping-pong measurement)";
	return NULL;
}

static void socket_close(void *state)
{
	struct rtt_socket_state *s = state;
	if (s->fd >= 0)
		close(s->fd);
	free(s->stamps);
	free(s->tx);
	free(s->rx);
	free(s);
}

static int socket_fail(struct rtt_socket_state *s)
{
	socket_close(s);
	return -1;
}

/* The client waits in recv() for at most this long before it looks at the clock again: the probe's
 * timeout (ping-pong), rounded up so it never wakes before the deadline, or 50 ms (the open loop's
 * receiver thread, which only has to notice the end of the run). */
static int set_receive_timeout(int fd, uint64_t ns)
{
	const uint64_t us = (ns + 999) / 1000;
	struct timeval tv = {.tv_sec = (time_t)(us / 1000000), .tv_usec = (suseconds_t)(us % 1000000)};
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0) {
		ev_error("socket", "SO_RCVTIMEO: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static int bind_server(int fd, const struct opts *o)
{
	if (bind(fd, &o->addr.sa, sa_len(&o->addr)) == 0)
		return 0;
	char host[INET6_ADDRSTRLEN];
	ev_error("bind", "bind %s port %u: %s", sa_host(&o->addr, host, sizeof host), sa_port(&o->addr), strerror(errno));
	return -1;
}

static int socket_open(const struct opts *o, enum rt_role role, uint32_t cookie, void **state,
		       union sockaddr_any *ready)
{
	struct rtt_socket_state *s = calloc(1, sizeof *s);
	if (!s) {
		ev_error("alloc", "no memory for the socket's state");
		return -1;
	}
	s->o = o;
	s->cookie = cookie;
	s->flags = o->wait == WAIT_SPIN ? MSG_DONTWAIT : 0;
	s->reply_seq = UINT64_MAX;
	s->fd = role == RT_SERVER ? udp_socket(o) : udp_connected(o);
	if (s->fd < 0 || (role == RT_SERVER && bind_server(s->fd, o) < 0))
		return socket_fail(s);
	if (role == RT_PING_PONG && o->wait == WAIT_BLOCK && set_receive_timeout(s->fd, o->timeout_ns) < 0)
		return socket_fail(s);
	if (role == RT_OPEN_LOOP && set_receive_timeout(s->fd, 50000000ull) < 0)
		return socket_fail(s);
	s->tx = calloc(1, o->size ? o->size : 1);
	s->rx = calloc(1, RX_BUF_BYTES);
	if (!s->tx || !s->rx) {
		ev_error("alloc", "no memory for the socket's buffers");
		return socket_fail(s);
	}
	if (o->stamps_out) {
		s->rows = o->count + o->warmup;
		s->stamps = calloc(s->rows, sizeof *s->stamps * STAMP_FIELDS);
		if (!s->stamps) {
			ev_error("alloc", "no memory for %llu timestamp rows", (unsigned long long)s->rows);
			return socket_fail(s);
		}
		if (stamps_enable(s->fd) < 0)
			return socket_fail(s);
	}
	if (local_addr(s->fd, ready) < 0)
		return socket_fail(s);
	*state = s;
	return 0;
}

static int socket_send_probe(void *state, uint64_t seq, uint64_t *t_send)
{
	struct rtt_socket_state *s = state;
	rtt_hdr_write(s->tx, s->cookie, seq);
	/* Breakdown mode: CLOCK_REALTIME stamps bracket the CLOCK_MONOTONIC ones (see stamps.h). */
	int64_t *const row = s->stamps ? s->stamps + seq * STAMP_FIELDS : NULL;
	__atomic_store_n(t_send, row ? paired_now(&row[CS_USER_SEND]) : now_ns(), __ATOMIC_RELEASE);
	if (send(s->fd, s->tx, s->o->size, 0) < 0)
		return errno == ECONNREFUSED ? RT_REFUSED : RT_ERROR;
	s->sends++;
	return RT_OK;
}

static int socket_poll_reply(void *state, uint64_t deadline, struct rt_poll *p)
{
	(void)deadline; /* recv() waits its SO_RCVTIMEO */
	struct rtt_socket_state *s = state;
	int64_t rx_kernel = 0, rx_user = 0;
	const ssize_t n = s->stamps ? recv_stamped(s->fd, s->rx, RX_BUF_BYTES, s->flags, NULL, NULL, &rx_kernel)
				    : recv(s->fd, s->rx, RX_BUF_BYTES, s->flags);
	p->now = s->stamps ? paired_now(&rx_user) : now_ns();
	p->n = p->other = 0;
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return RT_OK;
		return errno == ECONNREFUSED ? RT_REFUSED : RT_ERROR;
	}
	if (rtt_hdr_read(s->rx, (size_t)n, s->cookie, &p->seq[0]) != 0) {
		p->other = 1;
		return RT_OK;
	}
	p->n = 1;
	if (s->stamps) {
		s->reply_seq = p->seq[0];
		s->reply_kernel = rx_kernel;
		s->reply_user = rx_user;
	}
	return RT_OK;
}

/* Breakdown mode: the slot's reply stamps go to its row, and its send's kernel TX stamp is read now,
 * after the reply, so that no RTT includes reading it. */
static void socket_end_slot(void *state, uint64_t seq)
{
	struct rtt_socket_state *s = state;
	if (!s->stamps)
		return;
	int64_t *row = s->stamps + seq * STAMP_FIELDS;
	if (s->reply_seq == seq) {
		row[CS_USER_RECV] = s->reply_user;
		row[CS_KERNEL_RX] = s->reply_kernel;
	}
	if (s->sends > s->txkey) {
		int64_t driver = 0, sched = 0;
		drain_tx_stamps(s->fd, s->txkey++, &driver, &sched);
		row[CS_KERNEL_TX] = driver ? driver : sched;
	}
}

static int socket_reflect(void *state, struct rt_echo *e)
{
	struct rtt_socket_state *s = state;
	union sockaddr_any peer;
	socklen_t pl = sizeof peer;
	int64_t rx_kernel = 0;
	const ssize_t n = s->stamps ? recv_stamped(s->fd, s->rx, RX_BUF_BYTES, s->flags, &peer.sa, &pl,
						   &rx_kernel)
				    : recvfrom(s->fd, s->rx, RX_BUF_BYTES, s->flags, &peer.sa, &pl);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return 0;
		ev_error("io", "recvfrom: %s", strerror(errno));
		return -1;
	}
	const int64_t rx_user = s->stamps ? real_ns() : 0;
	const int64_t tx_user = s->stamps ? real_ns() : 0;
	if (sendto(s->fd, s->rx, (size_t)n, 0, (struct sockaddr *)&peer, pl) < 0) {
		e->send_errors++;
		return 0;
	}
	e->echoed++;
	if (s->stamps) {
		/* After the echo left: the client's clock is already running, not waiting on us. */
		int64_t driver = 0, sched = 0;
		drain_tx_stamps(s->fd, s->txkey++, &driver, &sched);
		uint64_t seq;
		if ((size_t)n >= RTT_HEADER_BYTES && (memcpy(&seq, s->rx + 8, 8), seq < s->rows)) {
			int64_t *row = s->stamps + seq * STAMP_FIELDS;
			row[SS_KERNEL_RX] = rx_kernel;
			row[SS_USER_RECV] = rx_user;
			row[SS_USER_SEND] = tx_user;
			row[SS_KERNEL_TX] = driver ? driver : sched;
			e->stamped++;
		}
	}
	return 0;
}

static int socket_write_files(void *state)
{
	struct rtt_socket_state *s = state;
	return s->stamps ? stamps_write(s->o->stamps_out, s->stamps, s->rows) : 0;
}

const struct rtt_method rtt_socket = {
	.api = NULL,
	.rx_thread = 1,
	.refuse = socket_refuse,
	.open = socket_open,
	.send_probe = socket_send_probe,
	.poll_reply = socket_poll_reply,
	.end_slot = socket_end_slot,
	.reflect = socket_reflect,
	.write_files = socket_write_files,
	.close = socket_close,
};
