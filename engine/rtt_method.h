/* The round trip's I/O methods behind one table of operations, as io.h is for streams. Two drivers
 * measure over any of them: the ping-pong client and the reflecting server (rtt_pingpong.c), and the
 * open-loop client (rtt_openloop.c). A method only opens its path, sends one probe, polls once for
 * replies, reflects what came and closes; the drivers keep the schedule, the samples and the counts.
 * One file per method: rtt_socket.c (a UDP socket), rtt_xdp.c (AF_XDP), rtt_dpdk.c (a DPDK
 * virtio-user port, in cnperf-engine-dpdk only). Each keeps its state private, behind the `void *`
 * its open returns. TCP request/response is its own driver (tcp_rr.c): many connections, epoll. */
#ifndef CNPERF_RTT_METHOD_H
#define CNPERF_RTT_METHOD_H
#include "args.h"

#include <netinet/in.h>
#include <stdint.h>

struct jbuf;

/* Returns of send_probe and poll_reply. */
#define RT_OK 0
#define RT_REFUSED (-1) /* the path answered "port unreachable" (sockets: ECONNREFUSED) */
#define RT_ERROR (-2)   /* the call failed: counted, and the slot's probe is lost */

/* The most replies one poll returns (a receive batch). */
#define RT_POLL_MAX 32u

/* What one poll saw. */
struct rt_poll {
	uint64_t now;   /* the clock right after the receive call: when what it returned arrived */
	uint32_t n;     /* replies of this run, their sequence numbers in seq[0..n) */
	uint32_t other; /* frames that were not a reply of this run (another run's cookie, not cnperf's) */
	uint64_t seq[RT_POLL_MAX];
};

/* A reflecting server's counts. */
struct rt_echo {
	uint64_t echoed, send_errors, stamped;
};

enum rt_role { RT_PING_PONG, RT_OPEN_LOOP, RT_SERVER };

struct rtt_method {
	const char *api; /* the client result's "api" field; NULL for the socket (the default) */
	/* Open loop: a thread of its own may receive replies while the sender sleeps (sockets). Otherwise
	 * the sender polls between sends (a DPDK port has one owner). */
	int rx_thread;
	/* What this method cannot do with these options, checked before anything is opened: NULL, or the
	 * usage error's text. */
	const char *(*refuse)(const struct opts *o, enum rt_role role);
	/* Opens the path for `role` and builds the probe frame with the run's cookie: 0 with *state and
	 * the address to report ready in *ready, or -1 after an error event. */
	int (*open)(const struct opts *o, enum rt_role role, uint32_t cookie, void **state, union sockaddr_any *ready);
	/* Sends probe `seq`. Stores the clock into *t_send (release) just before the transmit call — also
	 * when the send fails — so a receiver thread can match a reply that is back before the call
	 * returns. RT_OK, RT_REFUSED or RT_ERROR. Only the transmit call and stores. */
	int (*send_probe)(void *state, uint64_t seq, uint64_t *t_send);
	/* One receive call (a blocking method waits at most until `deadline`, or its own timeout): fills
	 * *p. RT_OK (p->n may be 0), RT_REFUSED or RT_ERROR. Only the receive call, the clock and stores. */
	int (*poll_reply)(void *state, uint64_t deadline, struct rt_poll *p);
	/* Ping-pong, after slot `seq`'s RTT is taken: what the method keeps per slot outside the measured
	 * time (the socket's kernel TX stamp). May be NULL. */
	void (*end_slot)(void *state, uint64_t seq);
	/* Server: one receive call and the echo of what came. 0, or -1 after an error event (stop). */
	int (*reflect)(void *state, struct rt_echo *e);
	/* After the loop: writes the method's files (the socket's --stamps-out): 0, or -1 after an error
	 * event. May be NULL. */
	int (*write_files)(void *state);
	/* Adds the method's own fields to a result event (xdp_mode). May be NULL. */
	void (*describe)(void *state, struct jbuf *b);
	void (*close)(void *state);
};

extern const struct rtt_method rtt_socket, rtt_xdp;
/* Only cnperf-engine-dpdk links rtt_dpdk.c: in the plain engine &rtt_dpdk is NULL. */
extern const struct rtt_method rtt_dpdk __attribute__((weak));

/* The method of --api: NULL after a usage error event (not a round-trip API, or not built in). */
const struct rtt_method *rtt_method_of(const struct opts *o, enum rt_role role);

/* The drivers. */
int rtt_ping_pong(const struct opts *o, const struct rtt_method *m);
int rtt_open_loop(const struct opts *o, const struct rtt_method *m);
int rtt_reflect(const struct opts *o, const struct rtt_method *m);

/* A run's cookie: replies of another run (or stray datagrams) never count as this one's. */
uint32_t rtt_cookie(void);

#endif
