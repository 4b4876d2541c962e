/* TCP transactions: request/response over persistent connections (netperf's TCP_RR) and
 * connect → request → response → close per transaction (TCP_CRR). One event loop (epoll) carries
 * --flows connections, each with one transaction in flight. */
#ifndef CNPERF_TCP_RR_H
#define CNPERF_TCP_RR_H
#include "args.h"
#include <stdint.h>

/* Where one flow is in its transaction. */
enum rr_state { RR_IDLE = 0, RR_CONNECTING, RR_SENDING, RR_RECEIVING };

struct rr_flow {
	int fd;              /* -1: no connection (crr between transactions, or after a failure) */
	enum rr_state state;
	int out_armed;       /* registered for EPOLLOUT (crr's connect, a full socket), not EPOLLIN */
	uint32_t done;       /* request bytes written (SENDING) or response bytes read (RECEIVING) */
	uint64_t txn;        /* the transaction in flight: its index in the run (warm-up first) */
	uint64_t t0;         /* when it started (before connect for crr) */
	uint64_t next;       /* periodic: when this flow may start its next transaction */
};

/* The response size a run uses: --response-size, or the request's size when not given. */
static inline uint32_t rr_response_size(const struct opts *o)
{
	return o->response_size ? o->response_size : o->size;
}

/* Periodic runs spread the flows' first transactions evenly over one interval, so N flows at
 * interval T offer N/T transactions per second without starting in lockstep. */
static inline uint64_t rr_first_start(uint64_t t_start, uint64_t interval_ns, uint32_t flow, uint32_t flows)
{
	return t_start + (interval_ns / flows) * flow;
}

/* Counts whole requests in `got` bytes received so far, keeping the remainder: the server answers
 * each complete request once, however the byte stream was split into reads. */
static inline uint32_t rr_take_requests(uint64_t *got, uint32_t size)
{
	uint32_t whole = (uint32_t)(*got / size);
	*got %= size;
	return whole;
}

int rr_server(const struct opts *o);
int rr_client(const struct opts *o);

#endif
