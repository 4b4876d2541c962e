/* The stream engine's I/O methods behind one small table of operations. The measured loops
 * (stream.c) are shared by every method: they pace, count and close seconds; a method only opens
 * its sockets and moves one burst (or one receive batch). One file per family: io_udp.c (send,
 * sendmmsg, and the UDP receiver every datagram method uses), io_raw.c (AF_PACKET raw, raw-mmsg),
 * io_ring.c (AF_PACKET TPACKET_V3 rings), io_tcp.c (a TCP byte stream), io_gso.c (UDP GSO sends, GRO
 * receives), io_xdp.c (AF_XDP, xsk.h), io_dpdk.c (a DPDK virtio-user port, in cnperf-engine-dpdk only). */
#ifndef CNPERF_IO_H
#define CNPERF_IO_H
#include "args.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct xsk;
struct pring;
struct dport;

/* Returns of rx_batch besides a count of datagrams (or whole TCP messages). */
#define IO_NOTHING (-1) /* timeout or a transient error: nothing arrived */
#define IO_EOF (-2)     /* the byte stream ended: the sender is done */
#define IO_FATAL (-3)   /* an error event was emitted; stop without a result */

struct io {
	const struct opts *o;
	int fd;         /* the data socket (tcp rx: the accepted connection once there is one) */
	int listen_fd;  /* tcp rx: the listening socket; -1 otherwise */
	/* tx: the payload or frame, and its length; burst headers for sendmmsg */
	uint8_t *buf;
	size_t len;
	uint64_t frame_bytes; /* raw: bytes per frame on the wire; 0 otherwise */
	/* rx: receive slots, their control buffers (SO_RXQ_OVFL), and the drop count last seen */
	struct mmsghdr *msgs;
	struct iovec *iovs;
	char *ctrl;
	uint32_t slots;
	uint32_t ovfl;
	uint64_t stream_bytes; /* tcp rx: bytes so far, so whole messages are counted exactly */
	/* tcp tx --zerocopy: sends the kernel completed, and those it completed by copying after all */
	uint64_t zc_completed, zc_copied;
	uint32_t zc_sends; /* sends since the last reading of completions */
	struct xsk *xsk;       /* xdp: the AF_XDP socket (xsk.h) */
	uint32_t rx_headers;   /* xdp rx: the headers before a frame's UDP payload (its family's) */
	struct pring *ring;    /* raw-ring: the mapped packet ring (io_ring.c) */
	struct dport *dpdk;    /* dpdk: the DPDK port (io_dpdk.c, cnperf-engine-dpdk only) */
	/* a receiver without a socket (dpdk): the address it reports as ready */
	union sockaddr_any bound;
	int have_bound;
};

struct io_ops {
	const char *rx_call;
	int batched; /* one syscall moves a whole burst (a shorter one is a short send) */
	/* Open the sender: its socket connected (or bound to the device), the payload built. */
	int (*tx_open)(const struct opts *o, struct io *io);
	/* Sends one burst of `burst` units; returns how many went (>= 0), adding their payload bytes
	 * and the failed calls. -1: the stream cannot go on (tcp). Only syscalls and stores. */
	int (*tx_burst)(struct io *io, uint32_t burst, uint64_t *bytes, uint64_t *errors);
	/* After the loop: tcp half-closes and waits until the receiver has read everything. */
	void (*tx_finish)(struct io *io);
	/* Open the receiver bound to o->addr, before `ready` is emitted. */
	int (*rx_open)(const struct opts *o, struct io *io);
	/* One receive call: datagrams (or whole TCP messages) that arrived, adding their bytes and the
	 * socket's new drops; or IO_NOTHING / IO_EOF / IO_FATAL. Only syscalls and stores. */
	int (*rx_batch)(struct io *io, int flags, uint64_t *bytes, uint64_t *drops);
	/* After the loop: drops the socket counted that no datagram reported (UDP: SO_MEMINFO). */
	uint64_t (*rx_final_drops)(struct io *io);
	/* After everything: releases what closing the process would not (dpdk: the EAL). May be NULL. */
	void (*close)(struct io *io);
};

/* NULL for dpdk in the plain engine (only cnperf-engine-dpdk links io_dpdk.c). */
const struct io_ops *io_ops_of(enum stream_api api);

/* Packet sockets (io_raw.c, io_ring.c): frames skip the device's queueing discipline; -1 after an error event. */
int packet_qdisc_bypass(int fd);

/* Shared by the datagram methods (io_udp.c). */
int udp_tx_connect(const struct opts *o, struct io *io);
int tx_send_each(struct io *io, uint32_t burst, uint64_t *bytes, uint64_t *errors);
int tx_sendmmsg(struct io *io, uint32_t burst, uint64_t *bytes, uint64_t *errors);
int tx_burst_headers(struct io *io, uint32_t burst);
int udp_rx_open(const struct opts *o, struct io *io);
int udp_rx_batch(struct io *io, int flags, uint64_t *bytes, uint64_t *drops);
uint64_t udp_rx_final_drops(struct io *io);

extern const struct io_ops io_send, io_sendmmsg, io_raw, io_raw_mmsg, io_tcp, io_xdp, io_raw_ring, io_gso;

/* UDP GSO (io_gso.c): one send carries at most this many segments, and MAX_UDP_PAYLOAD bytes. */
#define GSO_MAX_SEGMENTS 64u
/* What --api gso cannot send with these options (the usage error's text), or NULL. */
const char *gso_refusal(const struct opts *o);

/* xdp: the XDP mode the receiver's program ran in ("native", "generic"), "copy" for a sender
 * (bound in copy mode, no program); NULL for the other methods. */
const char *io_xdp_mode(const struct io *io);
/* xdp: detaches the receiver's program and frees the socket (the others close with the process). */
void io_xdp_close(struct io *io);

#endif
