/* TCP transactions (tcp_rr.h). The client keeps one latency per transaction, measured from before
 * connect (crr) or before the request's write (rr) to the last byte of the response.
 *
 * Both ends set TCP_NODELAY (netperf's -D): each request and response is one write, and a latency test
 * must not depend on Nagle meeting a delayed ACK. crr closes each connection with SO_LINGER {1, 0}:
 * an RST instead of a FIN, so neither end keeps a TIME_WAIT socket and a long run cannot run out of
 * ephemeral ports (netperf instead cycles explicitly bound client ports with SO_REUSEADDR; an RST also
 * ends the connection's conntrack entry early). Level-triggered epoll with one read per readiness, so
 * the loop makes no read that only returns EAGAIN. */
#define _GNU_SOURCE
#include "tcp_rr.h"
#include "hist.h"
#include "out.h"
#include "rtt.h"
#include "sock.h"
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_EVENTS 64

static void tune(int fd, int abortive_close)
{
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (abortive_close) {
		struct linger l = {.l_onoff = 1, .l_linger = 0};
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
	}
}

static int ep_set(int ep, int op, int fd, uint32_t events, uint64_t data)
{
	struct epoll_event ev = {.events = events, .data.u64 = data};
	return epoll_ctl(ep, op, fd, &ev);
}

/* ---------------------------------------------------------------- server */

struct srv_conn {
	uint64_t got;  /* request bytes received beyond the last whole request */
	uint64_t owed; /* response bytes still to write */
};

/* Writes what is owed; 0 when all of it went, 1 when the socket is full, -1 on error. */
static int srv_flush(int fd, struct srv_conn *c, const uint8_t *resp, uint32_t rsize)
{
	while (c->owed) {
		size_t chunk = c->owed < rsize ? (size_t)c->owed : rsize;
		ssize_t n = write(fd, resp, chunk);
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? 1 : -1;
		c->owed -= (uint64_t)n;
	}
	return 0;
}

int rr_server(const struct opts *o)
{
	if (prepare_process(o) < 0)
		return 1;
	const uint32_t rsize = rr_response_size(o);
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	const size_t max_fd = rl.rlim_cur > 65536 ? 65536 : (size_t)rl.rlim_cur;
	struct srv_conn *conns = calloc(max_fd, sizeof *conns);
	uint8_t *resp = calloc(1, rsize);
	uint8_t *rx = malloc(65536);
	int lfd = socket(o->addr.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	if (!conns || !resp || !rx || lfd < 0 || ep < 0) {
		ev_error("socket", "rr-server set-up: %s", strerror(errno));
		return 1;
	}
	int one = 1;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(lfd, &o->addr.sa, sa_len(&o->addr)) < 0 || listen(lfd, 4096) < 0) {
		char host[INET6_ADDRSTRLEN];
		ev_error("bind", "bind/listen %s port %u: %s", sa_host(&o->addr, host, sizeof host), sa_port(&o->addr),
			 strerror(errno));
		return 1;
	}
	if (ep_set(ep, EPOLL_CTL_ADD, lfd, EPOLLIN, (uint64_t)lfd) < 0 || emit_ready(lfd, o, "rr-server") < 0)
		return 1;

	struct epoll_event evs[MAX_EVENTS];
	uint64_t accepted = 0, served = 0, resets = 0, closed = 0, too_many = 0, errors = 0;
	const int timeout_ms = o->wait == WAIT_SPIN ? 0 : -1;
	while (!stop_requested) {
		int n = epoll_wait(ep, evs, MAX_EVENTS, timeout_ms);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			ev_error("io", "epoll_wait: %s", strerror(errno));
			return 1;
		}
		for (int k = 0; k < n; k++) {
			const int fd = (int)evs[k].data.u64;
			if (fd == lfd) {
				int c;
				while ((c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
					if ((size_t)c >= max_fd) {
						too_many++; /* beyond the table: refuse rather than grow in the loop */
						close(c);
						continue;
					}
					tune(c, 0);
					conns[c] = (struct srv_conn){0};
					if (ep_set(ep, EPOLL_CTL_ADD, c, EPOLLIN, (uint64_t)c) < 0) {
						errors++;
						close(c);
						continue;
					}
					accepted++;
				}
				continue;
			}
			struct srv_conn *c = &conns[fd];
			int drop = 0;
			if (evs[k].events & EPOLLIN) {
				ssize_t r = read(fd, rx, 65536);
				if (r > 0) {
					c->got += (uint64_t)r;
					uint32_t whole = rr_take_requests(&c->got, o->size);
					c->owed += (uint64_t)whole * rsize;
					served += whole;
				} else if (r == 0) {
					closed++;
					drop = 1;
				} else if (errno == ECONNRESET) {
					resets++; /* a crr client's abortive close */
					drop = 1;
				} else if (errno != EAGAIN && errno != EINTR) {
					errors++;
					drop = 1;
				}
			} else if (evs[k].events & (EPOLLERR | EPOLLHUP)) {
				resets++;
				drop = 1;
			}
			if (!drop && c->owed) {
				int f = srv_flush(fd, c, resp, rsize);
				if (f < 0) {
					errors++;
					drop = 1;
				} else {
					/* A full socket (rare: a response larger than its buffer) waits for room. */
					ep_set(ep, EPOLL_CTL_MOD, fd, f ? EPOLLIN | EPOLLOUT : EPOLLIN, (uint64_t)fd);
				}
			}
			if (drop)
				close(fd); /* also leaves the epoll set */
		}
	}
	struct jbuf *b = ev_begin("result");
	ev_str(b, "role", "rr-server");
	ev_u64(b, "accepted", accepted);
	ev_u64(b, "served", served);
	ev_u64(b, "closed", closed);
	ev_u64(b, "resets", resets);
	ev_u64(b, "refused_over_limit", too_many);
	ev_u64(b, "errors", errors);
	ev_end(b);
	return 0;
}

/* ---------------------------------------------------------------- client */

struct rr_counts {
	uint64_t completed, connect_errors, resets, timeouts, io_errors, misses;
};

struct rr_run {
	const struct opts *o;
	int ep;
	uint32_t rsize;
	uint8_t *tx, *rx;
	struct rr_counts n;
};

/* A persistent connection (rr): made before the measured loop, and again after a failure. */
static int rr_open_persistent(struct rr_run *r, struct rr_flow *f, uint32_t idx)
{
	int fd = socket(r->o->addr.sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	tune(fd, 0);
	if (connect(fd, &r->o->addr.sa, sa_len(&r->o->addr)) < 0 || fcntl(fd, F_SETFL, O_NONBLOCK) < 0 ||
	    ep_set(r->ep, EPOLL_CTL_ADD, fd, EPOLLIN, idx) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	f->fd = fd;
	return 0;
}

/* Ends the flow's transaction; `ok`: the whole response arrived. A crr connection, or an rr one that
 * failed, is closed (linger 0: an RST, no TIME_WAIT); a failed rr flow reconnects at its next start. */
static void rr_finish(struct rr_run *r, struct rr_flow *f, int ok)
{
	f->state = RR_IDLE;
	if (ok && !r->o->crr)
		return;
	if (!ok && f->fd >= 0) {
		struct linger l = {.l_onoff = 1, .l_linger = 0};
		setsockopt(f->fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
	}
	if (f->fd >= 0)
		close(f->fd); /* also leaves the epoll set */
	f->fd = -1;
}

/* Writes the rest of the request; then waits for the response. 0 while in flight, -1 on error. */
static int rr_send(struct rr_run *r, struct rr_flow *f, uint32_t idx)
{
	while (f->done < r->o->size) {
		ssize_t n = write(f->fd, r->tx, r->o->size - f->done);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				/* rare: a full socket; wait for room */
				f->out_armed = 1;
				return ep_set(r->ep, EPOLL_CTL_MOD, f->fd, EPOLLOUT, idx);
			}
			if (f->state == RR_CONNECTING)
				r->n.connect_errors++; /* a failed connect surfaces as the first write's error */
			else
				r->n.io_errors++;
			return -1;
		}
		f->done += (uint32_t)n;
	}
	f->state = RR_RECEIVING;
	f->done = 0;
	/* crr waited for its connection with EPOLLOUT; rr sockets listen for EPOLLIN all along */
	if (f->out_armed) {
		f->out_armed = 0;
		if (ep_set(r->ep, EPOLL_CTL_MOD, f->fd, EPOLLIN, idx) < 0)
			return -1;
	}
	return 0;
}

/* Starts transaction `txn` on an idle flow at `now`. 0 while in flight, -1 when it failed at once. */
static int rr_start(struct rr_run *r, struct rr_flow *f, uint32_t idx, uint64_t txn, uint64_t now)
{
	f->txn = txn;
	f->t0 = now;
	f->done = 0;
	if (r->o->crr) {
		int fd = socket(r->o->addr.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			r->n.connect_errors++;
			return -1;
		}
		tune(fd, 1);
		f->fd = fd;
		f->state = RR_CONNECTING;
		if (connect(fd, &r->o->addr.sa, sa_len(&r->o->addr)) < 0 && errno != EINPROGRESS) {
			r->n.connect_errors++;
			return -1;
		}
		/* writable = connected; a failed connect shows as the write's error */
		f->out_armed = 1;
		return ep_set(r->ep, EPOLL_CTL_ADD, fd, EPOLLOUT, idx);
	}
	if (f->fd < 0 && rr_open_persistent(r, f, idx) < 0) {
		r->n.connect_errors++;
		return -1;
	}
	f->state = RR_SENDING;
	f->out_armed = 0;
	return rr_send(r, f, idx);
}

/* A readiness event for a flow in flight: 1 when its transaction completed, 0 while in flight, -1 failed. */
static int rr_advance(struct rr_run *r, struct rr_flow *f, uint32_t idx, uint32_t events)
{
	if (f->state == RR_CONNECTING || f->state == RR_SENDING) {
		if (f->state == RR_CONNECTING && (events & EPOLLERR) && !(events & EPOLLOUT)) {
			r->n.connect_errors++;
			return -1;
		}
		return rr_send(r, f, idx);
	}
	if (f->state != RR_RECEIVING)
		return 0;
	ssize_t n = read(f->fd, r->rx, r->rsize - f->done);
	if (n > 0) {
		f->done += (uint32_t)n;
		return f->done == r->rsize;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	r->n.resets++; /* the server closed or reset the connection mid-transaction */
	return -1;
}

/* The single-connection path's socket: blocking, its reads giving up after --timeout (SO_RCVTIMEO,
 * rounded up so a read never gives up early); with --wait spin it stays non-blocking. */
static int rr_blocking(struct rr_run *r, struct rr_flow *f)
{
	if (r->o->wait == WAIT_SPIN)
		return 0;
	const uint64_t us = (r->o->timeout_ns + 999) / 1000;
	struct timeval tv = {.tv_sec = (time_t)(us / 1000000), .tv_usec = (suseconds_t)(us % 1000000)};
	const int fl = fcntl(f->fd, F_GETFL);
	if (fl < 0 || fcntl(f->fd, F_SETFL, fl & ~O_NONBLOCK) < 0 ||
	    setsockopt(f->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0)
		return -1;
	return 0;
}

/* One persistent connection, TCP_RR's common case: the request's write, then reads that block for the
 * response — two system calls per transaction, as netperf's and sockperf's clients make — instead of the
 * event loop's write, epoll_wait and read (3.85 calls per transaction under strace here, and a p50 5 %
 * above sockperf's in the bench). The socket blocks with SO_RCVTIMEO = --timeout; with --wait spin it
 * stays non-blocking and the reads spin to the deadline. Returns the RTT, or RAW_LOST (counted). */
static int64_t rr_one_transaction(struct rr_run *r, struct rr_flow *f, uint64_t txn)
{
	const struct opts *o = r->o;
	if (f->fd < 0) {
		if (rr_open_persistent(r, f, 0) < 0 || rr_blocking(r, f) < 0) {
			r->n.connect_errors++;
			rr_finish(r, f, 0);
			return RAW_LOST;
		}
	}
	f->txn = txn;
	f->state = RR_SENDING;
	const uint64_t t0 = now_ns(), deadline = t0 + o->timeout_ns;
	f->t0 = t0;
	for (uint32_t done = 0; done < o->size;) {
		const ssize_t n = write(f->fd, r->tx, o->size - done);
		if (n >= 0) {
			done += (uint32_t)n;
			continue;
		}
		/* a full socket (spinning: non-blocking) waits for room until the deadline, as reads do */
		const int retry = errno == EINTR || ((errno == EAGAIN || errno == EWOULDBLOCK) && now_ns() < deadline);
		if (retry && !stop_requested)
			continue;
		if (!stop_requested) /* interrupted is not an error: the caller does not count the slot */
			r->n.io_errors++;
		rr_finish(r, f, 0);
		return RAW_LOST;
	}
	const int flags = o->wait == WAIT_SPIN ? MSG_DONTWAIT : 0;
	for (uint32_t got = 0; got < r->rsize;) {
		const ssize_t n = recv(f->fd, r->rx, r->rsize - got, flags);
		if (n > 0) {
			got += (uint32_t)n;
			continue;
		}
		const int waiting = n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR);
		if (waiting && stop_requested) {
			rr_finish(r, f, 0); /* interrupted, not lost: the caller does not count the slot */
			return RAW_LOST;
		}
		if (waiting && (errno == EINTR || (o->wait == WAIT_SPIN && now_ns() < deadline)))
			continue;
		if (waiting)
			r->n.timeouts++; /* SO_RCVTIMEO expired, or spun past the deadline */
		else
			r->n.resets++; /* the server closed or reset the connection mid-transaction */
		rr_finish(r, f, 0);
		return RAW_LOST;
	}
	const uint64_t t1 = now_ns();
	f->state = RR_IDLE;
	r->n.completed++;
	return (int64_t)(t1 - t0);
}

int rr_client(const struct opts *o)
{
	if (prepare_process(o) < 0)
		return 1;
	const uint64_t total = o->warmup + o->count;
	const uint32_t flows = o->flows;
	struct rr_run r = {.o = o, .rsize = rr_response_size(o)};
	r.ep = epoll_create1(EPOLL_CLOEXEC);
	r.tx = calloc(1, o->size);
	r.rx = malloc(r.rsize);
	struct rr_flow *fl = calloc(flows, sizeof *fl);
	int64_t *samples = malloc(o->count * sizeof *samples);
	uint64_t *began = calloc(o->count, sizeof *began);
	struct hist *h = malloc(sizeof *h);
	struct epoll_event *evs = calloc(MAX_EVENTS, sizeof *evs);
	if (r.ep < 0 || !r.tx || !r.rx || !fl || !samples || !began || !h || !evs) {
		ev_error("alloc", "no memory for %u flows and %llu samples", flows, (unsigned long long)o->count);
		return 1;
	}
	for (uint64_t k = 0; k < o->count; k++)
		samples[k] = RAW_LOST;
	hist_reset(h);
	for (uint32_t i = 0; i < flows; i++) {
		fl[i].fd = -1;
		if (!o->crr && rr_open_persistent(&r, &fl[i], i) < 0) {
			ev_error("connect", "connection %u of %u: %s", i + 1, flows, strerror(errno));
			return 1;
		}
	}
	union sockaddr_any self = {0};
	socklen_t sl = sizeof self;
	if (fl[0].fd >= 0)
		getsockname(fl[0].fd, &self.sa, &sl);
	if (emit_ready_addr(&self, o, "rr-client") < 0)
		return 1;

	struct rtt_slots slots = {.at = began};
	const char *aborted = NULL;
	uint64_t issued = 0, settled = 0;
	const uint64_t t_start = now_ns();
	for (uint32_t i = 0; i < flows; i++)
		fl[i].next = o->interval_ns ? rr_first_start(t_start, o->interval_ns, i, flows) : t_start;

	const int one_connection = flows == 1 && !o->crr;
	if (one_connection && rr_blocking(&r, &fl[0]) < 0) {
		ev_error("socket", "making the connection blocking: %s", strerror(errno));
		return 1;
	}
	/* ---- measured loop, one connection: write, read, the vDSO clock ---- */
	for (uint64_t i = 0, next = t_start; one_connection && i < total; i++) {
		if (stop_requested) {
			aborted = "signal";
			break;
		}
		if (o->interval_ns && i > 0) {
			r.n.misses += (uint64_t)schedule_next(&next, o->interval_ns, now_ns());
			wait_until(next, o->pace);
		}
		issued++;
		const int64_t rtt = rr_one_transaction(&r, &fl[0], i);
		if (rtt < 0 && stop_requested) {
			aborted = "signal";
			issued--; /* interrupted, not lost: the slot does not count */
			break;
		}
		settled++;
		if ((aborted = rtt_slot_done(o, samples, &slots, i, rtt, fl[0].t0)))
			break;
	}
	/* ---- measured loop, many connections or crr: the transactions' own calls, epoll and the vDSO clock ---- */
	while (!one_connection && settled < total && !aborted) {
		if (stop_requested) {
			aborted = "signal";
			break;
		}
		uint64_t now = now_ns();
		uint64_t wake = UINT64_MAX; /* the earliest start or deadline ahead */
		for (uint32_t i = 0; i < flows; i++) {
			struct rr_flow *f = &fl[i];
			int outcome = 0;
			if (f->state == RR_IDLE && issued < total && now >= f->next) {
				if (o->interval_ns)
					r.n.misses += (uint64_t)schedule_next(&f->next, o->interval_ns, now);
				outcome = rr_start(&r, f, i, issued++, now) < 0 ? -1 : 0;
			} else if (f->state != RR_IDLE && now - f->t0 >= o->timeout_ns) {
				r.n.timeouts++;
				outcome = -1;
			}
			if (outcome < 0) {
				rr_finish(&r, f, 0);
				settled++;
				if ((aborted = rtt_slot_done(o, samples, &slots, f->txn, RAW_LOST, f->t0)))
					break;
			}
			const uint64_t at = f->state == RR_IDLE ? (issued < total ? f->next : UINT64_MAX) : f->t0 + o->timeout_ns;
			wake = at < wake ? at : wake;
		}
		if (aborted || settled >= total)
			break;
		now = now_ns();
		struct timespec ts = {0, 0};
		if (o->wait != WAIT_SPIN && wake > now) {
			const uint64_t d = wake - now;
			ts.tv_sec = (time_t)(d / 1000000000ull);
			ts.tv_nsec = (long)(d % 1000000000ull);
		}
		int n = epoll_pwait2(r.ep, evs, MAX_EVENTS, wake == UINT64_MAX && o->wait != WAIT_SPIN ? NULL : &ts, NULL);
		if (n < 0 && errno != EINTR) {
			r.n.io_errors++;
			aborted = "io-error";
			break;
		}
		for (int k = 0; k < n; k++) {
			const uint32_t i = (uint32_t)evs[k].data.u64;
			struct rr_flow *f = &fl[i];
			const int st = rr_advance(&r, f, i, evs[k].events);
			if (st == 0)
				continue;
			const uint64_t t1 = now_ns();
			rr_finish(&r, f, st > 0);
			settled++;
			r.n.completed += st > 0;
			if ((aborted = rtt_slot_done(o, samples, &slots, f->txn, st > 0 ? (int64_t)(t1 - f->t0) : RAW_LOST,
							     f->t0)))
				break;
		}
	}
	const uint64_t t_end = now_ns();
	/* ---- end of measured loop ---- */

	struct rtt_totals t = {.timing = o->crr ? "crr" : "rr", .sent = issued, .attempted = slots.attempted,
			       .warmup_lost = slots.warmup_lost,
			       .schedule_misses = r.n.misses, .duration_ns = t_end - t_start, .aborted = aborted};
	/* Transactions settle out of order with several flows: the measured ones are the first
	 * `issued - warmup` slots, and any still in flight at an abort stay RAW_LOST, not attempted. */
	const uint64_t measured = issued > o->warmup ? issued - o->warmup : 0;
	rtt_summarize(samples, measured < o->count ? measured : o->count, h, &t);
	int rc = 0;
	if (o->raw_out && write_raw(o->raw_out, samples, measured < o->count ? measured : o->count) < 0)
		rc = 1;
	struct jbuf *b = ev_begin("result");
	ev_str(b, "role", "rr-client");
	ev_str(b, "mode", o->crr ? "crr" : "rr");
	ev_str(b, "close", o->crr ? "rst" : "fin");
	ev_str(b, "wait", wait_name(o->wait));
	ev_u64(b, "flows", flows);
	ev_u64(b, "size", o->size);
	ev_u64(b, "response_size", r.rsize);
	ev_u64(b, "count", o->count);
	ev_u64(b, "warmup", o->warmup);
	ev_u64(b, "interval_ns", o->interval_ns);
	ev_u64(b, "timeout_ns", o->timeout_ns);
	ev_u64(b, "issued", issued);
	ev_u64(b, "completed", r.n.completed);
	ev_u64(b, "attempted", t.attempted);
	ev_u64(b, "received", t.received);
	ev_u64(b, "failed", t.attempted - t.received);
	ev_u64(b, "warmup_failed", t.warmup_lost);
	ev_u64(b, "connect_errors", r.n.connect_errors);
	ev_u64(b, "resets", r.n.resets);
	ev_u64(b, "timeouts", r.n.timeouts);
	ev_u64(b, "io_errors", r.n.io_errors);
	ev_u64(b, "schedule_misses", r.n.misses);
	ev_u64(b, "duration_ns", t.duration_ns);
	ev_u64(b, "min_ns", t.min_ns);
	ev_u64(b, "max_ns", t.max_ns);
	ev_dbl(b, "mean_ns", t.mean_ns);
	ev_dbl(b, "stddev_ns", t.stddev_ns);
	ev_str(b, "aborted", aborted);
	ev_hist(b, "hist", h);
	rtt_timeline(b, samples, began, measured < o->count ? measured : o->count, t_start, RTT_TIMELINE_WINDOW_NS);
	ev_end(b);
	for (uint32_t i = 0; i < flows; i++)
		if (fl[i].fd >= 0)
			close(fl[i].fd);
	free(fl);
	free(samples);
	free(began);
	free(h);
	free(evs);
	free(r.tx);
	free(r.rx);
	return rc;
}
