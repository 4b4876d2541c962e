/* Plain rtnetlink for cnperf-wire: building one request at a time in a fixed buffer, sending it and
 * reading its acknowledgement. No library: the messages cnperf needs are few and small. */
#ifndef CNPERF_WIRE_NL_H
#define CNPERF_WIRE_NL_H
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stddef.h>
#include <stdint.h>

#define NL_BUF 4096
#define NL_ERR 512

struct nlreq {
	union {
		struct nlmsghdr h;
		char buf[NL_BUF];
	};
	int nest_depth;
	struct nlattr *nests[8];
};

/* A route-netlink socket in the calling thread's current network namespace, with extended acks. */
int nl_open(void);

/* Starts a request of `type` with `flags` (NLM_F_REQUEST|NLM_F_ACK are added) and a zeroed family
 * header of `hdr_len` bytes, which it returns. */
void *nl_begin(struct nlreq *r, uint16_t type, uint16_t flags, size_t hdr_len);
void nla_put(struct nlreq *r, uint16_t type, const void *data, size_t len);
void nla_put_u8(struct nlreq *r, uint16_t type, uint8_t v);
void nla_put_u16(struct nlreq *r, uint16_t type, uint16_t v);
void nla_put_u32(struct nlreq *r, uint16_t type, uint32_t v);
void nla_put_str(struct nlreq *r, uint16_t type, const char *s);
/* Appends bytes that are not an attribute (the ifinfomsg that opens a veth's peer). */
void nl_put_raw(struct nlreq *r, const void *data, size_t len);
void nla_nest_begin(struct nlreq *r, uint16_t type);
void nla_nest_end(struct nlreq *r);

/* Sends the request and waits for its ack. 0 on success; otherwise -errno with `err` filled as
 * iproute2 words it ("Error: <kernel's message>" or "RTNETLINK answers: <strerror>"). */
int nl_talk(int fd, struct nlreq *r, char err[NL_ERR]);

/* Like nl_talk for a request that answers one message (RTM_GETLINK by name): the reply is copied to
 * `reply` (at most `cap` bytes). */
int nl_query(int fd, struct nlreq *r, void *reply, size_t cap, char err[NL_ERR]);

/* The ifindex of `name` in the socket's namespace, or -errno (with err filled). */
int nl_ifindex(int fd, const char *name, char err[NL_ERR]);

/* Dumps (NLM_F_DUMP) and hands each answer to fn; 0 or -errno with err filled. */
int nl_dump(int fd, struct nlreq *r, void (*fn)(const struct nlmsghdr *, void *), void *ctx, char err[NL_ERR]);

/* Walks the attributes after a family header. */
#define NLA_FOR_EACH(a, start, len)                                                      \
	for (struct nlattr *a = (struct nlattr *)(start); (len) >= (int)sizeof(*a) &&   \
	     a->nla_len >= sizeof(*a) && a->nla_len <= (unsigned)(len);                  \
	     (len) -= NLA_ALIGN(a->nla_len), a = (struct nlattr *)((char *)a + NLA_ALIGN(a->nla_len)))
#define NLA_DATA(a) ((void *)((char *)(a) + NLA_HDRLEN))
#define NLA_TYPE(a) ((a)->nla_type & NLA_TYPE_MASK)
#define NLA_PAYLOAD(a) ((int)(a)->nla_len - NLA_HDRLEN)
#endif
