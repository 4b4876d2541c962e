#define _GNU_SOURCE
#include "stream.h"
#include "io.h"
#include "out.h"
#include "sock.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#define SECOND 1000000000ull

struct period {
	uint64_t start, packets, bytes, errors, drops, index;
	/* a TCP sender's socket, whose TCP_INFO each second adds: retransmits in it, cwnd and srtt at its end */
	const struct io *tcp;
	uint32_t retrans_seen;
};

/* ,"retransmits":N,"cwnd":N,"srtt_us":N for a TCP sender's second (one getsockopt per second, as the
 * write() of the event itself); "" otherwise. */
static void tcp_second(struct period *p, char *out, size_t cap)
{
	out[0] = 0;
	struct tcp_info ti;
	socklen_t tl = sizeof ti;
	if (!p->tcp || getsockopt(p->tcp->fd, IPPROTO_TCP, TCP_INFO, &ti, &tl) < 0)
		return;
	snprintf(out, cap, ",\"retransmits\":%u,\"cwnd\":%u,\"srtt_us\":%u", ti.tcpi_total_retrans - p->retrans_seen,
		 ti.tcpi_snd_cwnd, ti.tcpi_rtt);
	p->retrans_seen = ti.tcpi_total_retrans;
}

/* One line per second, from a stack buffer with one write(): no allocation in the loops.
 * The interval is [p->start, end); the next one starts at end. */
static void emit_interval(const char *role, struct period *p, uint64_t now)
{
	char buf[400], tcp[96];
	tcp_second(p, tcp, sizeof tcp);
	int n = snprintf(buf, sizeof buf,
			 "{\"event\":\"interval\",\"role\":\"%s\",\"t\":%llu,\"start\":%llu,\"ns\":%llu,\"packets\":%llu,"
			 "\"bytes\":%llu,\"errors\":%llu,\"drops\":%llu%s}\n",
			 role, (unsigned long long)p->index, (unsigned long long)p->start, (unsigned long long)(now - p->start),
			 (unsigned long long)p->packets, (unsigned long long)p->bytes,
			 (unsigned long long)p->errors, (unsigned long long)p->drops, tcp);
	if (n > 0 && write(STDOUT_FILENO, buf, (size_t)n) < 0) {
		/* reader gone; the supervisor will stop us */
	}
	p->index++;
	p->start = now;
	p->packets = p->bytes = p->errors = p->drops = 0;
}

int parse_snmp_udp(const char *text, uint64_t *rcvbuf_errors, uint64_t *in_errors)
{
	const char *names = strstr(text, "\nUdp: ");
	if (!names && strncmp(text, "Udp: ", 5) == 0)
		names = text - 1;
	if (!names)
		return -1;
	const char *values = strstr(names + 1, "\nUdp: ");
	if (!values)
		return -1;
	/* Walk the header and value lines in step. */
	const char *h = names + 6, *v = values + 6;
	int found = 0;
	while (*h && *h != '\n' && *v && *v != '\n') {
		size_t hl = strcspn(h, " \n");
		char *end;
		unsigned long long val = strtoull(v, &end, 10);
		if (hl == 12 && strncmp(h, "RcvbufErrors", 12) == 0) {
			*rcvbuf_errors = val;
			found |= 1;
		} else if (hl == 8 && strncmp(h, "InErrors", 8) == 0) {
			*in_errors = val;
			found |= 2;
		}
		h += hl;
		v = end;
		while (*h == ' ')
			h++;
		while (*v == ' ')
			v++;
	}
	return found == 3 ? 0 : -1;
}

/* /proc/net/snmp6: one "Name value" per line; the UDP counters of IPv6 sockets are Udp6*. */
int parse_snmp6_udp(const char *text, uint64_t *rcvbuf_errors, uint64_t *in_errors)
{
	const char *r = strstr(text, "Udp6RcvbufErrors "), *e = strstr(text, "Udp6InErrors ");
	if (!r || !e)
		return -1;
	*rcvbuf_errors = strtoull(r + 17, NULL, 10);
	*in_errors = strtoull(e + 13, NULL, 10);
	return 0;
}

static int read_snmp_udp(int family, uint64_t *rcvbuf_errors, uint64_t *in_errors)
{
	char text[16384];
	int fd = open(family == AF_INET6 ? "/proc/net/snmp6" : "/proc/net/snmp", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, text, sizeof text - 1);
	close(fd);
	if (n <= 0)
		return -1;
	text[n] = 0;
	return family == AF_INET6 ? parse_snmp6_udp(text, rcvbuf_errors, in_errors)
				  : parse_snmp_udp(text, rcvbuf_errors, in_errors);
}

/* Closes every whole second that has passed by `now`, on exact boundaries from the period's start,
 * so a second's rate never includes time the loop spent idle after it. Call it before counting what
 * arrived or was sent at `now`: that belongs to the interval `now` falls in. */
static void close_seconds(const char *role, struct period *p, uint64_t now)
{
	while (now - p->start >= SECOND)
		emit_interval(role, p, p->start + SECOND);
}

static void emit_tx_result(const struct opts *o, const struct tx_totals *t)
{
	struct jbuf *b = ev_begin("result");
	ev_str(b, "role", "stream-tx");
	ev_str(b, "api", api_name(o->api));
	ev_u64(b, "size", o->size);
	ev_u64(b, "frame_bytes", t->frame_bytes);
	ev_u64(b, "burst", t->burst);
	ev_u64(b, "rate_pps", o->rate_pps);
	ev_str(b, "pace", pace_name(o->pace));
	ev_u64(b, "qdisc_bypass", (uint64_t)o->qdisc_bypass);
	if (t->xdp_bind)
		ev_str(b, "xdp_bind", t->xdp_bind);
	ev_u64(b, "packets", t->packets);
	ev_u64(b, "bytes", t->bytes);
	ev_u64(b, "errors", t->errors);
	ev_u64(b, "short_sends", t->short_sends);
	ev_u64(b, "missed_slots", t->missed_slots);
	ev_u64(b, "spin_ns", t->spin_ns);
	if (t->retransmits >= 0)
		ev_i64(b, "retransmits", t->retransmits);
	if (t->congestion[0])
		ev_str(b, "congestion", t->congestion);
	if (t->sndbuf)
		ev_u64(b, "sndbuf", t->sndbuf);
	if (t->zerocopy_sends >= 0) {
		ev_i64(b, "zerocopy_sends", t->zerocopy_sends);
		ev_i64(b, "zerocopy_copied", t->zerocopy_copied);
	}
	ev_u64(b, "duration_ns", t->duration_ns);
	ev_str(b, "stopped", stop_requested ? "signal" : NULL);
	ev_end(b);
}

static void emit_rx_result(const struct rx_totals *t)
{
	struct jbuf *b = ev_begin("result");
	ev_str(b, "role", "stream-rx");
	ev_str(b, "call", t->call);
	if (t->xdp_mode)
		ev_str(b, "xdp_mode", t->xdp_mode);
	ev_u64(b, "packets", t->packets);
	ev_u64(b, "bytes", t->bytes);
	ev_u64(b, "duration_ns", t->duration_ns);
	ev_u64(b, "socket_drops", t->socket_drops);
	ev_i64(b, "snmp_rcvbuf_errors", t->snmp_rcvbuf_errors);
	ev_i64(b, "snmp_in_errors", t->snmp_in_errors);
	ev_u64(b, "rcvbuf", t->rcvbuf);
	ev_end(b);
}

/* ---------------------------------------------------------------- sender */

/* The measured send loop, the same for every I/O method: the vDSO clock, the pacing schedule, one
 * burst per turn through the method's table entry, one write() per second. No allocation. */
int tx_loop(const struct opts *o, const struct io_ops *ops, struct io *io, struct tx_totals *t)
{
	uint64_t packets = 0, bytes = 0, errors = 0, short_sends = 0, missed = 0, k = 0;
	const uint64_t start = now_ns(), end = start + o->duration_ns, spun_before = pace_spun_ns();
	struct period p = {.start = start, .tcp = o->api == API_TCP ? io : NULL};
	/* ---- send loop ---- */
	for (;;) {
		uint64_t now = now_ns();
		if (now >= end || stop_requested)
			break;
		if (o->rate_pps) {
			k = next_slot(start, k, now, o->burst, o->rate_pps, &missed);
			uint64_t at = burst_time(start, k++, o->burst, o->rate_pps);
			if (at > now) {
				wait_until(at, o->pace);
				now = at;
			}
		}
		close_seconds("stream-tx", &p, now);
		uint64_t b = 0, e = 0;
		int n = ops->tx_burst(io, o->burst, &b, &e);
		errors += e;
		p.errors += e;
		if (n < 0)
			break;
		packets += (uint64_t)n;
		p.packets += (uint64_t)n;
		bytes += b;
		p.bytes += b;
		if (ops->batched && e == 0 && (uint32_t)n < o->burst)
			short_sends++;
	}
	uint64_t t_end = now_ns();
	/* ---- end of send loop ---- */
	if (p.packets || p.errors)
		emit_interval("stream-tx", &p, t_end);
	if (ops->tx_finish) {
		ops->tx_finish(io);
		t_end = now_ns();
	}
	*t = (struct tx_totals){.xdp_bind = io->xsk ? "copy" : NULL,
				.frame_bytes = io->frame_bytes,
				.burst = o->burst,
				.packets = packets,
				.bytes = bytes,
				.errors = errors,
				.short_sends = short_sends,
				.missed_slots = missed,
				.spin_ns = pace_spun_ns() - spun_before,
				.duration_ns = t_end - start};
	return 0;
}

static const struct io_ops *ops_or_error(const struct opts *o)
{
	const struct io_ops *ops = io_ops_of(o->api);
	if (!ops)
		ev_error("usage", "--api %s: this engine is built without DPDK; cnperf-engine-dpdk has it", api_name(o->api));
	return ops;
}

int stream_tx(const struct opts *o)
{
	const struct io_ops *ops = ops_or_error(o);
	if (!ops || prepare_process(o) < 0)
		return 1;
	struct io io = {.o = o, .fd = -1, .listen_fd = -1};
	if (ops->tx_open(o, &io) < 0)
		return 1;
	/* A packet socket has no IP address of its own: report the one written into the frames. */
	if ((io.frame_bytes ? emit_ready_addr(&o->src, o, "stream-tx") : emit_ready(io.fd, o, "stream-tx")) < 0)
		return 1;
	struct tx_totals t;
	tx_loop(o, ops, &io, &t);
	/* after the loop (and its half-close): the sender's retransmissions, as iperf3 reports them */
	struct tcp_info ti;
	socklen_t tl = sizeof ti;
	t.retransmits = o->api == API_TCP && getsockopt(io.fd, IPPROTO_TCP, TCP_INFO, &ti, &tl) == 0
				? (int64_t)ti.tcpi_total_retrans
				: -1;
	socklen_t cl = sizeof t.congestion - 1;
	memset(t.congestion, 0, sizeof t.congestion);
	if (o->api == API_TCP && getsockopt(io.fd, IPPROTO_TCP, TCP_CONGESTION, t.congestion, &cl) < 0)
		t.congestion[0] = 0;
	int sndbuf = 0;
	socklen_t sl = sizeof sndbuf;
	const int socket_api = o->api == API_SEND || o->api == API_SENDMMSG || o->api == API_GSO || o->api == API_TCP;
	t.sndbuf = socket_api && getsockopt(io.fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, &sl) == 0 ? (uint64_t)sndbuf : 0;
	t.zerocopy_sends = o->zerocopy ? (int64_t)io.zc_completed : -1;
	t.zerocopy_copied = o->zerocopy ? (int64_t)io.zc_copied : -1;
	io_xdp_close(&io);
	if (ops->close)
		ops->close(&io);
	emit_tx_result(o, &t);
	return 0;
}

/* ---------------------------------------------------------------- receiver */

/* The measured receive loop, the same for every I/O method: one receive call through the method's
 * table entry, the vDSO clock, one write() per second; then, once stopped, what is still queued is
 * read so it counts as received rather than vanishing. Returns -1 if the method failed fatally. */
int rx_loop(const struct opts *o, const struct io_ops *ops, struct io *io, struct rx_totals *t)
{
	const int flags = o->wait == WAIT_SPIN ? MSG_DONTWAIT : MSG_WAITFORONE;
	const uint64_t started = now_ns(), give_up = started + o->duration_ns;
	uint64_t packets = 0, bytes = 0, drops = 0, first = 0, last = 0;
	int ended = 0;
	struct period p = {0};
	/* ---- receive loop ---- */
	while (!stop_requested) {
		uint64_t got = 0, dropped = 0;
		int n = ops->rx_batch(io, flags, &got, &dropped);
		uint64_t now = now_ns();
		if (n == IO_FATAL)
			return -1;
		if (first)
			close_seconds("stream-rx", &p, now);
		if (n > 0 || got) {
			if (!first)
				first = p.start = now;
			packets += n > 0 ? (uint64_t)n : 0;
			p.packets += n > 0 ? (uint64_t)n : 0;
			bytes += got;
			p.bytes += got;
			drops += dropped;
			p.drops += dropped;
			last = now;
		}
		if (n == IO_EOF) {
			ended = 1;
			break;
		}
		if (now >= give_up)
			break;
	}
	/* ---- end of receive loop ---- */
	while (!ended) {
		uint64_t got = 0, dropped = 0;
		int n = ops->rx_batch(io, MSG_DONTWAIT, &got, &dropped);
		if (n <= 0)
			break;
		if (!first)
			first = p.start = now_ns();
		last = now_ns();
		packets += (uint64_t)n;
		bytes += got;
		drops += dropped;
		p.packets += (uint64_t)n;
		p.bytes += got;
		p.drops += dropped;
	}
	if (ops->rx_final_drops) {
		uint64_t more = ops->rx_final_drops(io);
		drops += more;
		p.drops += more;
	}
	if (first && (p.packets || p.bytes || p.drops) && last > p.start)
		emit_interval("stream-rx", &p, last);
	*t = (struct rx_totals){.call = ops->rx_call, .xdp_mode = io_xdp_mode(io), .packets = packets, .bytes = bytes,
				.duration_ns = first ? last - first : 0, .socket_drops = drops};
	return 0;
}

int stream_rx(const struct opts *o)
{
	const struct io_ops *ops = ops_or_error(o);
	if (!ops || prepare_process(o) < 0)
		return 1;
	struct io io = {.o = o, .fd = -1, .listen_fd = -1};
	if (ops->rx_open(o, &io) < 0)
		return 1;
	int rcvbuf = 0;
	socklen_t rl = sizeof rcvbuf;
	getsockopt(io.fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, &rl);
	/* AF_XDP and the packet ring read frames beside a UDP socket that only holds the port: its figures
	 * (buffer, drops) say nothing about them; TCP has none */
	const int frames = o->api == API_XDP || o->api == API_RAW_RING || o->api == API_DPDK;
	const int udp = o->api != API_TCP && !frames;
	uint64_t snmp_rcvbuf0 = 0, snmp_in0 = 0, snmp_rcvbuf1 = 0, snmp_in1 = 0;
	int have_snmp = udp && read_snmp_udp(o->addr.sa.sa_family, &snmp_rcvbuf0, &snmp_in0) == 0;
	/* AF_XDP, packet ring: the UDP socket that holds the port says which one it is */
	const int ready = io.have_bound ? emit_ready_addr(&io.bound, o, "stream-rx")
					: emit_ready(frames ? io.listen_fd : io.fd, o, "stream-rx");
	if (ready < 0)
		return 1;
	struct rx_totals t;
	int failed = rx_loop(o, ops, &io, &t) < 0;
	io_xdp_close(&io);
	if (ops->close)
		ops->close(&io);
	if (failed)
		return 1;
	if (o->api == API_TCP && io.listen_fd >= 0 && io.fd != io.listen_fd) {
		/* the connection's receive buffer as it ended (autotuned unless --rcvbuf fixed it) */
		getsockopt(io.fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, &rl);
		close(io.fd); /* lets the TCP sender's final read() see EOF */
	}
	if (have_snmp)
		have_snmp = read_snmp_udp(o->addr.sa.sa_family, &snmp_rcvbuf1, &snmp_in1) == 0;
	t.rcvbuf = udp || o->api == API_TCP ? (uint64_t)rcvbuf : 0;
	t.snmp_rcvbuf_errors = have_snmp ? (int64_t)(snmp_rcvbuf1 - snmp_rcvbuf0) : -1;
	t.snmp_in_errors = have_snmp ? (int64_t)(snmp_in1 - snmp_in0) : -1;
	emit_rx_result(&t);
	return 0;
}
