#define _GNU_SOURCE
#include "stamps.h"
#include "out.h"
#include <errno.h>
#include <linux/errqueue.h>
#include <linux/net_tstamp.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#ifndef SCM_TIMESTAMPING
#define SCM_TIMESTAMPING SO_TIMESTAMPING
#endif

int stamps_enable(int fd)
{
	/* TX_SCHED as well as TX_SOFTWARE: some devices (macvlan, tunnels) never call
	 * skb_tx_timestamp(), but every packet passes the qdisc layer. TSONLY: the error queue
	 * carries the stamp, not a copy of the packet. OPT_ID: each stamp names its send. */
	unsigned flags = SOF_TIMESTAMPING_SOFTWARE | SOF_TIMESTAMPING_RX_SOFTWARE | SOF_TIMESTAMPING_TX_SOFTWARE |
			 SOF_TIMESTAMPING_TX_SCHED | SOF_TIMESTAMPING_OPT_TSONLY | SOF_TIMESTAMPING_OPT_ID;
	if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPING, &flags, sizeof flags) < 0) {
		ev_error("socket", "SO_TIMESTAMPING: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static int64_t ts_ns(const struct timespec *t) { return (int64_t)t->tv_sec * 1000000000ll + t->tv_nsec; }

/* Large enough for SCM_TIMESTAMPING (3 timespecs) plus an extended error. */
union cbuf {
	char buf[CMSG_SPACE(3 * sizeof(struct timespec)) + CMSG_SPACE(sizeof(struct sock_extended_err)) + 64];
	struct cmsghdr align;
};

ssize_t recv_stamped(int fd, void *buf, size_t len, int flags, struct sockaddr *from, socklen_t *fromlen,
		     int64_t *rx_ns)
{
	union cbuf c;
	struct iovec iov = {.iov_base = buf, .iov_len = len};
	struct msghdr m = {.msg_name = from, .msg_namelen = from ? *fromlen : 0, .msg_iov = &iov, .msg_iovlen = 1,
			   .msg_control = c.buf, .msg_controllen = sizeof c.buf};
	ssize_t n = recvmsg(fd, &m, flags);
	*rx_ns = 0;
	if (n < 0)
		return n;
	if (from)
		*fromlen = m.msg_namelen;
	for (struct cmsghdr *h = CMSG_FIRSTHDR(&m); h; h = CMSG_NXTHDR(&m, h))
		if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_TIMESTAMPING)
			*rx_ns = ts_ns((const struct timespec *)CMSG_DATA(h)); /* [0] is the software stamp */
	return n;
}

int drain_tx_stamps(int fd, uint32_t key, int64_t *driver_ns, int64_t *sched_ns)
{
	int got = 0;
	for (;;) {
		union cbuf c;
		char dummy[1];
		struct iovec iov = {.iov_base = dummy, .iov_len = sizeof dummy};
		struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = c.buf, .msg_controllen = sizeof c.buf};
		if (recvmsg(fd, &m, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
			return got; /* EAGAIN: the queue is empty */
		int64_t stamp = 0;
		const struct sock_extended_err *serr = NULL;
		for (struct cmsghdr *h = CMSG_FIRSTHDR(&m); h; h = CMSG_NXTHDR(&m, h)) {
			if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_TIMESTAMPING)
				stamp = ts_ns((const struct timespec *)CMSG_DATA(h));
			else if ((h->cmsg_level == SOL_IP && h->cmsg_type == IP_RECVERR) ||
				 (h->cmsg_level == SOL_IPV6 && h->cmsg_type == IPV6_RECVERR))
				serr = (const struct sock_extended_err *)CMSG_DATA(h);
		}
		if (!serr || serr->ee_origin != SO_EE_ORIGIN_TIMESTAMPING)
			continue;
		got++;
		if (serr->ee_data != key)
			continue; /* a late stamp of an earlier send: not this packet's */
		if (serr->ee_info == SCM_TSTAMP_SND)
			*driver_ns = stamp;
		else if (serr->ee_info == SCM_TSTAMP_SCHED)
			*sched_ns = stamp;
	}
}

int stamps_write(const char *path, const int64_t *rows, uint64_t n)
{
	FILE *f = fopen(path, "wb");
	if (!f) {
		ev_error("io", "cannot write timestamps to %s: %s", path, strerror(errno));
		return -1;
	}
	const uint64_t fields = STAMP_FIELDS;
	int ok = fwrite(STAMPS_MAGIC, 1, 8, f) == 8 && fwrite(&n, sizeof n, 1, f) == 1 &&
		 fwrite(&fields, sizeof fields, 1, f) == 1 && fwrite(rows, sizeof *rows * STAMP_FIELDS, n, f) == n;
	if (fclose(f) != 0)
		ok = 0;
	if (!ok) {
		ev_error("io", "short write of timestamps to %s", path);
		return -1;
	}
	return 0;
}
