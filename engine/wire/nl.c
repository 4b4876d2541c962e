/* Plain rtnetlink requests: see nl.h. */
#define _GNU_SOURCE
#include "nl.h"
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif

static uint32_t seq_counter = 1;

int nl_open(void)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	int one = 1;
	/* the kernel's own words for an error (as `ip` prints them), and no echo of our request */
	setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

void *nl_begin(struct nlreq *r, uint16_t type, uint16_t flags, size_t hdr_len)
{
	memset(r->buf, 0, NLMSG_HDRLEN + NLMSG_ALIGN(hdr_len));
	r->h.nlmsg_len = NLMSG_HDRLEN + NLMSG_ALIGN(hdr_len);
	r->h.nlmsg_type = type;
	r->h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	r->h.nlmsg_seq = seq_counter++;
	r->nest_depth = 0;
	return NLMSG_DATA(&r->h);
}

/* Requests are built from validated, short fields; a request that would not fit is a bug. */
void nla_put(struct nlreq *r, uint16_t type, const void *data, size_t len)
{
	size_t at = NLMSG_ALIGN(r->h.nlmsg_len);
	if (at + NLA_HDRLEN + NLA_ALIGN(len) > sizeof(r->buf)) {
		fprintf(stderr, "cnperf-wire: internal: netlink request too long\n");
		_exit(3);
	}
	struct nlattr *a = (struct nlattr *)(r->buf + at);
	a->nla_type = type;
	a->nla_len = (uint16_t)(NLA_HDRLEN + len);
	if (len)
		memcpy((char *)a + NLA_HDRLEN, data, len);
	memset((char *)a + NLA_HDRLEN + len, 0, NLA_ALIGN(len) - len);
	r->h.nlmsg_len = (uint32_t)(at + NLA_HDRLEN + NLA_ALIGN(len));
}

void nla_put_u8(struct nlreq *r, uint16_t type, uint8_t v) { nla_put(r, type, &v, 1); }
void nla_put_u16(struct nlreq *r, uint16_t type, uint16_t v) { nla_put(r, type, &v, 2); }
void nla_put_u32(struct nlreq *r, uint16_t type, uint32_t v) { nla_put(r, type, &v, 4); }
void nla_put_str(struct nlreq *r, uint16_t type, const char *s) { nla_put(r, type, s, strlen(s) + 1); }

void nl_put_raw(struct nlreq *r, const void *data, size_t len)
{
	size_t at = NLMSG_ALIGN(r->h.nlmsg_len);
	if (at + NLMSG_ALIGN(len) > sizeof(r->buf)) {
		fprintf(stderr, "cnperf-wire: internal: netlink request too long\n");
		_exit(3);
	}
	memset(r->buf + at, 0, NLMSG_ALIGN(len));
	memcpy(r->buf + at, data, len);
	r->h.nlmsg_len = (uint32_t)(at + NLMSG_ALIGN(len));
}

void nla_nest_begin(struct nlreq *r, uint16_t type)
{
	r->nests[r->nest_depth++] = (struct nlattr *)(r->buf + NLMSG_ALIGN(r->h.nlmsg_len));
	nla_put(r, type | NLA_F_NESTED, NULL, 0);
}

void nla_nest_end(struct nlreq *r)
{
	struct nlattr *a = r->nests[--r->nest_depth];
	a->nla_len = (uint16_t)(r->buf + r->h.nlmsg_len - (char *)a);
}

/* The kernel's extended-ack message, if the error carries one. */
static const char *ext_ack_msg(const struct nlmsghdr *h)
{
	if (!(h->nlmsg_flags & NLM_F_ACK_TLVS))
		return NULL;
	const struct nlmsgerr *e = NLMSG_DATA(h);
	size_t off = NLMSG_HDRLEN + sizeof(*e);
	if (!(h->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - NLMSG_HDRLEN;
	int len = (int)h->nlmsg_len - (int)off;
	NLA_FOR_EACH(a, (const char *)h + off, len)
	{
		if (NLA_TYPE(a) == NLMSGERR_ATTR_MSG && NLA_PAYLOAD(a) > 0)
			return NLA_DATA(a);
	}
	return NULL;
}

static void word_error(const struct nlmsghdr *h, int error, char err[NL_ERR])
{
	const char *msg = h ? ext_ack_msg(h) : NULL;
	if (msg)
		snprintf(err, NL_ERR, "Error: %s", msg);
	else
		snprintf(err, NL_ERR, "RTNETLINK answers: %s", strerror(-error));
}

/* Sends the request and reads its answers until the ack (or a dump's end), handing every other answer
 * to fn. Answers to earlier requests (a dump given up on) are skipped by sequence number. */
static int exchange(int fd, struct nlreq *r, void (*fn)(const struct nlmsghdr *, void *), void *ctx, char err[NL_ERR])
{
	if (send(fd, r->buf, r->h.nlmsg_len, 0) < 0) {
		int e = -errno;
		word_error(NULL, e, err);
		return e;
	}
	char rx[32768];
	for (;;) {
		ssize_t n = recv(fd, rx, sizeof(rx), 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int e = -errno;
			word_error(NULL, e, err);
			return e;
		}
		int len = (int)n;
		for (struct nlmsghdr *h = (struct nlmsghdr *)rx; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
			if (h->nlmsg_seq != r->h.nlmsg_seq)
				continue;
			if (h->nlmsg_type == NLMSG_DONE)
				return 0;
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);
				if (e->error)
					word_error(h, e->error, err);
				return e->error;
			}
			if (fn)
				fn(h, ctx);
		}
	}
}

struct copy_to {
	void *buf;
	size_t cap;
};

static void copy_reply(const struct nlmsghdr *h, void *ctx)
{
	struct copy_to *c = ctx;
	memcpy(c->buf, h, h->nlmsg_len < c->cap ? h->nlmsg_len : c->cap);
}

int nl_query(int fd, struct nlreq *r, void *reply, size_t cap, char err[NL_ERR])
{
	struct copy_to c = {reply, cap};
	return exchange(fd, r, reply ? copy_reply : NULL, &c, err);
}

int nl_talk(int fd, struct nlreq *r, char err[NL_ERR])
{
	return nl_query(fd, r, NULL, 0, err);
}

int nl_ifindex(int fd, const char *name, char err[NL_ERR])
{
	struct nlreq r;
	nl_begin(&r, RTM_GETLINK, 0, sizeof(struct ifinfomsg));
	nla_put_str(&r, IFLA_IFNAME, name);
	nla_put_u32(&r, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	static char reply[8192];
	memset(reply, 0, sizeof(struct nlmsghdr) + sizeof(struct ifinfomsg));
	int rc = nl_query(fd, &r, reply, sizeof(reply), err);
	if (rc < 0) {
		if (rc == -ENODEV)
			snprintf(err, NL_ERR, "Cannot find device \"%s\"", name);
		return rc;
	}
	const struct ifinfomsg *ifi = NLMSG_DATA((struct nlmsghdr *)reply);
	if (ifi->ifi_index <= 0) {
		snprintf(err, NL_ERR, "Cannot find device \"%s\"", name);
		return -ENODEV;
	}
	return ifi->ifi_index;
}

int nl_dump(int fd, struct nlreq *r, void (*fn)(const struct nlmsghdr *, void *), void *ctx, char err[NL_ERR])
{
	r->h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	return exchange(fd, r, fn, ctx, err);
}
