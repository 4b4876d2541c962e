#define _GNU_SOURCE
#include "stream.h"
#include "frame.h"
#include "out.h"
#include "sock.h"
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <linux/sock_diag.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define SECOND 1000000000ull
#define RX_SLOT 2048u            /* bytes per recvmmsg slot: enough for one MTU-sized datagram */
#define TCP_BUF (256u * 1024u)

struct period {
	uint64_t start, packets, bytes, errors, drops, index;
};

/* One line per second, from a stack buffer with one write(): no allocation in the loops.
 * The interval is [p->start, end); the next one starts at end. */
static void emit_interval(const char *role, struct period *p, uint64_t now)
{
	char buf[320];
	int n = snprintf(buf, sizeof buf,
			 "{\"event\":\"interval\",\"role\":\"%s\",\"t\":%llu,\"ns\":%llu,\"packets\":%llu,"
			 "\"bytes\":%llu,\"errors\":%llu,\"drops\":%llu}\n",
			 role, (unsigned long long)p->index, (unsigned long long)(now - p->start),
			 (unsigned long long)p->packets, (unsigned long long)p->bytes,
			 (unsigned long long)p->errors, (unsigned long long)p->drops);
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

static int read_snmp_udp(uint64_t *rcvbuf_errors, uint64_t *in_errors)
{
	char text[4096];
	int fd = open("/proc/net/snmp", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, text, sizeof text - 1);
	close(fd);
	if (n <= 0)
		return -1;
	text[n] = 0;
	return parse_snmp_udp(text, rcvbuf_errors, in_errors);
}

/* Closes every whole second that has passed by `now`, on exact boundaries from the period's start,
 * so a second's rate never includes time the loop spent idle after it. Call it before counting what
 * arrived or was sent at `now`: that belongs to the interval `now` falls in. */
static void close_seconds(const char *role, struct period *p, uint64_t now)
{
	while (now - p->start >= SECOND)
		emit_interval(role, p, p->start + SECOND);
}

struct tx_totals {
	uint64_t frame_bytes, burst, packets, bytes, errors, short_sends, duration_ns;
};

static void emit_tx_result(const struct opts *o, const struct tx_totals *t)
{
	struct jbuf *b = ev_begin("result");
	ev_str(b, "role", "stream-tx");
	ev_str(b, "api", api_name(o->api));
	ev_u64(b, "size", o->size);
	ev_u64(b, "frame_bytes", t->frame_bytes);
	ev_u64(b, "burst", t->burst);
	ev_u64(b, "rate_pps", o->rate_pps);
	ev_str(b, "pace", o->pace == PACE_SPIN ? "spin" : "sleep");
	ev_u64(b, "qdisc_bypass", (uint64_t)o->qdisc_bypass);
	ev_u64(b, "packets", t->packets);
	ev_u64(b, "bytes", t->bytes);
	ev_u64(b, "errors", t->errors);
	ev_u64(b, "short_sends", t->short_sends);
	ev_u64(b, "duration_ns", t->duration_ns);
	ev_str(b, "stopped", stop_requested ? "signal" : NULL);
	ev_end(b);
}

struct rx_totals {
	const char *call;
	uint64_t packets, bytes, duration_ns, socket_drops, rcvbuf;
	int64_t snmp_rcvbuf_errors, snmp_in_errors; /* -1: not available */
};

static void emit_rx_result(const struct rx_totals *t)
{
	struct jbuf *b = ev_begin("result");
	ev_str(b, "role", "stream-rx");
	ev_str(b, "call", t->call);
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

static int open_raw(const struct opts *o, uint8_t *frame, size_t *frame_len)
{
	if (!o->dev || !o->have_dst_mac || !o->have_src) {
		ev_error("usage", "raw APIs need --dev, --dst-mac and --src");
		return -1;
	}
	size_t max_payload = 1500 - 28;
	if (o->size > max_payload) {
		ev_error("usage", "--size %u: a raw frame carries at most %zu bytes of UDP payload at MTU 1500", o->size, max_payload);
		return -1;
	}
	/* Protocol 0: this socket only sends; it never gets a copy of every received frame. */
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		ev_error("socket", "socket(AF_PACKET, SOCK_RAW): %s", strerror(errno));
		return -1;
	}
	struct ifreq ifr;
	memset(&ifr, 0, sizeof ifr);
	snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", o->dev);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) {
		ev_error("socket", "cannot read the MAC address of %s: %s", o->dev, strerror(errno));
		close(fd);
		return -1;
	}
	struct sockaddr_ll sll;
	memset(&sll, 0, sizeof sll);
	sll.sll_family = AF_PACKET;
	sll.sll_ifindex = (int)if_nametoindex(o->dev);
	if (sll.sll_ifindex == 0 || bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0) {
		ev_error("bind", "binding the packet socket to %s: %s", o->dev, strerror(errno));
		close(fd);
		return -1;
	}
	if (o->qdisc_bypass) {
		int one = 1;
		if (setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one) < 0) {
			ev_error("socket", "PACKET_QDISC_BYPASS: %s", strerror(errno));
			close(fd);
			return -1;
		}
	}
	*frame_len = build_udp_frame(frame, (const uint8_t *)ifr.ifr_hwaddr.sa_data, o->dst_mac, &o->src, &o->addr, o->size);
	return fd;
}

static int tcp_tx(const struct opts *o);

int stream_tx(const struct opts *o)
{
	if (prepare_process(o) < 0)
		return 1;
	if (o->api == API_TCP)
		return tcp_tx(o);

	const int raw = o->api == API_RAW || o->api == API_RAW_MMSG;
	const int mmsg = o->api == API_SENDMMSG || o->api == API_RAW_MMSG;
	uint8_t *buf = calloc(1, FRAME_HEADERS + MAX_UDP_PAYLOAD);
	struct mmsghdr *msgs = calloc(o->burst, sizeof *msgs);
	struct iovec iov;
	if (!buf || !msgs) {
		ev_error("alloc", "no memory for a burst of %u", o->burst);
		return 1;
	}
	size_t len = o->size;
	int fd;
	if (raw) {
		fd = open_raw(o, buf, &len);
	} else {
		fd = udp_socket(o);
		if (fd >= 0 && connect(fd, (const struct sockaddr *)&o->addr, sizeof o->addr) < 0) {
			ev_error("connect", "connect: %s", strerror(errno));
			return 1;
		}
	}
	if (fd < 0)
		return 1;
	iov.iov_base = buf;
	iov.iov_len = len;
	for (uint32_t i = 0; i < o->burst; i++) {
		msgs[i].msg_hdr.msg_iov = &iov;
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	/* A packet socket has no IP address of its own: report the one written into the frames. */
	if ((raw ? emit_ready_addr(&o->src, o, "stream-tx") : emit_ready(fd, o, "stream-tx")) < 0)
		return 1;

	uint64_t packets = 0, bytes = 0, errors = 0, short_sends = 0, k = 0;
	const uint64_t start = now_ns(), end = start + o->duration_ns;
	struct period p = {.start = start};
	/* ---- send loop: send/sendmmsg and the vDSO clock; one write() per second ---- */
	for (;;) {
		uint64_t now = now_ns();
		if (now >= end || stop_requested)
			break;
		if (o->rate_pps) {
			uint64_t t = burst_time(start, k++, o->burst, o->rate_pps);
			if (t > now) {
				wait_until(t, o->pace);
				now = t;
			}
		}
		close_seconds("stream-tx", &p, now);
		if (mmsg) {
			int n = sendmmsg(fd, msgs, o->burst, 0);
			if (n < 0) {
				errors++;
				p.errors++;
			} else {
				packets += (uint64_t)n;
				p.packets += (uint64_t)n;
				if ((uint32_t)n < o->burst)
					short_sends++;
			}
		} else {
			for (uint32_t i = 0; i < o->burst; i++) {
				if (send(fd, buf, len, 0) < 0) {
					errors++;
					p.errors++;
				} else {
					packets++;
					p.packets++;
				}
			}
		}
		p.bytes = p.packets * o->size;
	}
	const uint64_t t_end = now_ns();
	/* ---- end of send loop ---- */
	if (p.packets || p.errors)
		emit_interval("stream-tx", &p, t_end);
	bytes = packets * o->size;
	const struct tx_totals t = {.frame_bytes = raw ? len : 0, .burst = o->burst, .packets = packets, .bytes = bytes,
				    .errors = errors, .short_sends = short_sends, .duration_ns = t_end - start};
	emit_tx_result(o, &t);
	return 0;
}

static int tcp_tx(const struct opts *o)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	uint8_t *buf = calloc(1, o->size);
	if (fd < 0 || !buf) {
		ev_error("socket", "socket(AF_INET, SOCK_STREAM): %s", strerror(errno));
		return 1;
	}
	if (connect(fd, (const struct sockaddr *)&o->addr, sizeof o->addr) < 0) {
		ev_error("connect", "connect: %s", strerror(errno));
		return 1;
	}
	if (emit_ready(fd, o, "stream-tx") < 0)
		return 1;
	uint64_t messages = 0, bytes = 0, errors = 0, k = 0;
	const uint64_t start = now_ns(), end = start + o->duration_ns;
	struct period p = {.start = start};
	for (;;) {
		uint64_t now = now_ns();
		if (now >= end || stop_requested)
			break;
		if (o->rate_pps) {
			uint64_t t = burst_time(start, k++, 1, o->rate_pps);
			if (t > now) {
				wait_until(t, o->pace);
				now = t;
			}
		}
		close_seconds("stream-tx", &p, now);
		ssize_t n = write(fd, buf, o->size);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			errors++;
			break;
		}
		messages++;
		bytes += (uint64_t)n;
		p.packets++;
		p.bytes += (uint64_t)n;
	}
	uint64_t t_end = now_ns();
	if (p.bytes)
		emit_interval("stream-tx", &p, t_end);
	/* Half-close and wait for the receiver to close: afterwards every byte written was read. */
	shutdown(fd, SHUT_WR);
	char tmp[64];
	while (read(fd, tmp, sizeof tmp) > 0)
		;
	t_end = now_ns();
	const struct tx_totals t = {.burst = 1, .packets = messages, .bytes = bytes, .errors = errors, .duration_ns = t_end - start};
	emit_tx_result(o, &t);
	close(fd);
	return 0;
}

/* ---------------------------------------------------------------- receiver */

static int tcp_rx(const struct opts *o);

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

/* One receive call: up to `slots` datagrams with recvmmsg, or one with recvmsg. Returns how many
 * arrived (-1 on error/timeout) and adds their bytes to *got. Only stores and syscalls: it runs in the
 * measured loop. */
static int receive_batch(int fd, struct mmsghdr *msgs, uint32_t slots, int mmsg, int flags, uint64_t *got)
{
	for (uint32_t i = 0; i < slots; i++)
		msgs[i].msg_hdr.msg_controllen = CMSG_SPACE(sizeof(uint32_t));
	if (mmsg) {
		int n = recvmmsg(fd, msgs, slots, flags, NULL);
		for (int i = 0; i < n; i++)
			*got += msgs[i].msg_len;
		return n;
	}
	ssize_t r = recvmsg(fd, &msgs[0].msg_hdr, flags & MSG_DONTWAIT);
	if (r < 0)
		return -1;
	*got += (uint64_t)r;
	return 1;
}

int stream_rx(const struct opts *o)
{
	if (prepare_process(o) < 0)
		return 1;
	if (o->api == API_TCP)
		return tcp_rx(o);
	const int mmsg = o->api == API_SENDMMSG || o->api == API_RAW_MMSG;
	const uint32_t slots = mmsg ? o->burst : 1;
	int fd = udp_socket(o);
	if (fd < 0)
		return 1;
	int one = 1;
	/* SO_RXQ_OVFL: every datagram carries the socket's cumulative drop count (receive buffer full). */
	if (setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof one) < 0) {
		ev_error("socket", "SO_RXQ_OVFL: %s", strerror(errno));
		return 1;
	}
	struct timeval tv = {.tv_sec = 0, .tv_usec = 100000}; /* wake up to report even when idle */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	if (bind(fd, (const struct sockaddr *)&o->addr, sizeof o->addr) < 0) {
		ev_error("bind", "bind: %s", strerror(errno));
		return 1;
	}
	const size_t slot = mmsg ? RX_SLOT : 65536;
	uint8_t *bufs = calloc(slots, slot);
	struct mmsghdr *msgs = calloc(slots, sizeof *msgs);
	struct iovec *iovs = calloc(slots, sizeof *iovs);
	char *ctrl = calloc(slots, CMSG_SPACE(sizeof(uint32_t)));
	if (!bufs || !msgs || !iovs || !ctrl) {
		ev_error("alloc", "no memory for %u receive slots", slots);
		return 1;
	}
	for (uint32_t i = 0; i < slots; i++) {
		iovs[i].iov_base = bufs + (size_t)i * slot;
		iovs[i].iov_len = slot;
		msgs[i].msg_hdr.msg_iov = &iovs[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
		msgs[i].msg_hdr.msg_control = ctrl + (size_t)i * CMSG_SPACE(sizeof(uint32_t));
	}
	if (o->rcvbuf) {
		/* FORCE: past net.core.rmem_max (we are root). The kernel doubles it for its bookkeeping. */
		int want = (int)o->rcvbuf;
		if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &want, sizeof want) < 0) {
			ev_error("socket", "SO_RCVBUFFORCE %d: %s", want, strerror(errno));
			return 1;
		}
	}
	int rcvbuf = 0;
	socklen_t rl = sizeof rcvbuf;
	getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, &rl);
	uint64_t snmp_rcvbuf0 = 0, snmp_in0 = 0, snmp_rcvbuf1 = 0, snmp_in1 = 0;
	int have_snmp = read_snmp_udp(&snmp_rcvbuf0, &snmp_in0) == 0;
	if (emit_ready(fd, o, "stream-rx") < 0)
		return 1;

	const int flags = o->wait == WAIT_SPIN ? MSG_DONTWAIT : MSG_WAITFORONE;
	const uint64_t started = now_ns(), give_up = started + o->duration_ns;
	uint64_t packets = 0, bytes = 0, first = 0, last = 0;
	uint32_t ovfl = 0;
	struct period p = {0};
	/* ---- receive loop: recvmsg/recvmmsg and the vDSO clock; one write() per second ---- */
	while (!stop_requested) {
		uint64_t got = 0;
		int n = receive_batch(fd, msgs, slots, mmsg, flags, &got);
		uint64_t now = now_ns();
		if (first)
			close_seconds("stream-rx", &p, now);
		if (n > 0) {
			if (!first)
				first = p.start = now;
			for (int i = 0; i < n; i++) {
				uint32_t d = ovfl_of(&msgs[i].msg_hdr);
				if (d != UINT32_MAX && d != ovfl) {
					p.drops += d - ovfl;
					ovfl = d;
				}
			}
			packets += (uint64_t)n;
			p.packets += (uint64_t)n;
			bytes += got;
			p.bytes += got;
			last = now;
		}
		if (now >= give_up)
			break;
	}
	/* ---- end of receive loop ---- */
	/* Stopped: read what is still queued, so that it counts as received rather than vanishing. */
	for (;;) {
		uint64_t got = 0;
		int n = receive_batch(fd, msgs, slots, mmsg, MSG_DONTWAIT, &got);
		if (n <= 0)
			break;
		if (!first)
			first = p.start = now_ns();
		last = now_ns();
		packets += (uint64_t)n;
		bytes += got;
		p.packets += (uint64_t)n;
		p.bytes += got;
	}
	/* SO_RXQ_OVFL travels with the next datagram, so drops after the last one are never reported
	 * that way: the socket's own drop counter (SO_MEMINFO) has them all. */
	uint32_t meminfo[SK_MEMINFO_VARS];
	socklen_t ml = sizeof meminfo;
	if (getsockopt(fd, SOL_SOCKET, SO_MEMINFO, meminfo, &ml) == 0 && ml >= sizeof(uint32_t) * (SK_MEMINFO_DROPS + 1) &&
	    meminfo[SK_MEMINFO_DROPS] > ovfl) {
		p.drops += meminfo[SK_MEMINFO_DROPS] - ovfl;
		ovfl = meminfo[SK_MEMINFO_DROPS];
	}
	if (first && (p.packets || p.drops) && last > p.start)
		emit_interval("stream-rx", &p, last);
	if (have_snmp)
		have_snmp = read_snmp_udp(&snmp_rcvbuf1, &snmp_in1) == 0;

	const struct rx_totals t = {
		.call = mmsg ? "recvmmsg" : "recvmsg",
		.packets = packets,
		.bytes = bytes,
		.duration_ns = first ? last - first : 0,
		.socket_drops = ovfl,
		.rcvbuf = (uint64_t)rcvbuf,
		.snmp_rcvbuf_errors = have_snmp ? (int64_t)(snmp_rcvbuf1 - snmp_rcvbuf0) : -1,
		.snmp_in_errors = have_snmp ? (int64_t)(snmp_in1 - snmp_in0) : -1,
	};
	emit_rx_result(&t);
	return 0;
}

static int tcp_rx(const struct opts *o)
{
	int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	uint8_t *buf = malloc(TCP_BUF);
	if (ls < 0 || !buf) {
		ev_error("socket", "socket(AF_INET, SOCK_STREAM): %s", strerror(errno));
		return 1;
	}
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(ls, (const struct sockaddr *)&o->addr, sizeof o->addr) < 0 || listen(ls, 1) < 0) {
		ev_error("bind", "bind/listen: %s", strerror(errno));
		return 1;
	}
	if (emit_ready(ls, o, "stream-rx") < 0)
		return 1;
	int fd = accept(ls, NULL, NULL);
	if (fd < 0) {
		if (errno == EINTR && stop_requested) {
			ev_error("io", "stopped before the sender connected");
			return 1;
		}
		ev_error("io", "accept: %s", strerror(errno));
		return 1;
	}
	uint64_t bytes = 0, first = 0, last = 0;
	struct period p = {0};
	for (;;) {
		ssize_t n = read(fd, buf, TCP_BUF);
		uint64_t now = now_ns();
		if (n > 0) {
			if (!first)
				first = p.start = now;
			close_seconds("stream-rx", &p, now);
			bytes += (uint64_t)n;
			p.bytes += (uint64_t)n;
			p.packets += (uint64_t)n / o->size; /* messages, approximately: TCP has no boundaries */
			last = now;
			continue;
		}
		if (n < 0 && errno == EINTR && !stop_requested)
			continue;
		break; /* EOF: the sender is done; or stopped */
	}
	if (first && p.bytes && last > p.start)
		emit_interval("stream-rx", &p, last);
	close(fd); /* lets the sender's final read() see EOF */
	const struct rx_totals t = {.call = "read", .packets = bytes / o->size, .bytes = bytes,
				    .duration_ns = first ? last - first : 0, .snmp_rcvbuf_errors = -1, .snmp_in_errors = -1};
	emit_rx_result(&t);
	return 0;
}
