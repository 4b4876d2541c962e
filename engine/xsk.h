/* An AF_XDP socket of the engine's own: UMEM, its four rings, and (for receiving) the XDP program
 * that sends the measured port's UDP to it (engine/bpf/xsk_redirect.bpf.c). Written on the kernel's
 * uapi (linux/if_xdp.h) directly; libbpf only loads and attaches the program. Veth has no zero-copy:
 * the socket is bound in copy mode; the program runs in native XDP mode where the driver allows,
 * else in generic mode, and `mode` says which ran.
 *
 * Ring indices are free-running u32s; producer and consumer words are shared with the kernel and
 * read/written with acquire/release ordering, as the kernel's own xsk helpers do. */
#ifndef CNPERF_XSK_H
#define CNPERF_XSK_H
#include <linux/if_xdp.h>
#include <stddef.h>
#include <stdint.h>

#define XSK_FRAME_SIZE 2048u

struct xsk_ring {
	uint32_t *prod, *cons, *flags;
	void *descs;
	uint32_t mask, size;
	void *map;
	size_t map_len;
};

struct xsk {
	int fd;
	int ifindex;
	uint8_t mac[6];           /* the device's own address (frames are sent from it) */
	uint8_t *umem;
	size_t umem_len;
	uint32_t nframes;
	struct xsk_ring fill, comp, rx, tx;
	uint64_t *free;           /* frames user space owns and may fill and send */
	uint32_t nfree;
	int prog_fd;              /* receiving: the program attached to ifindex, else -1 */
	uint32_t xdp_flags;
	const char *mode;         /* "native" or "generic" (receiving); "copy" bind either way */
};

/* Opens a socket on `dev` queue 0 with `nframes` UMEM frames and rings of `ring` entries (powers
 * of two). With port_be != 0 it also receives: the fill ring is stocked and the redirect program
 * attached for that UDP destination port. On failure fills err and returns -1 (undoing itself). */
int xsk_open(struct xsk *x, const char *dev, uint32_t nframes, uint32_t ring, uint16_t port_be, char *err, size_t cap);
void xsk_close(struct xsk *x);
/* XDP statistics: frames the kernel dropped for this socket (no fill buffer, RX ring full). */
uint64_t xsk_drops(const struct xsk *x);

static inline uint32_t ring_load(const uint32_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static inline void ring_store(uint32_t *p, uint32_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }

/* Completed transmissions: their frames return to the free list. */
static inline void xsk_reap(struct xsk *x)
{
	uint32_t cons = *x->comp.cons, n = ring_load(x->comp.prod) - cons;
	const uint64_t *a = x->comp.descs;
	for (uint32_t i = 0; i < n; i++)
		x->free[x->nfree++] = a[(cons + i) & x->comp.mask];
	if (n)
		ring_store(x->comp.cons, cons + n);
}

/* Queues up to n frames of `len` bytes from the free list for transmission; returns how many. */
static inline uint32_t xsk_tx_queue(struct xsk *x, uint32_t n, uint32_t len)
{
	uint32_t prod = *x->tx.prod, room = x->tx.size - (prod - ring_load(x->tx.cons));
	if (n > room)
		n = room;
	if (n > x->nfree)
		n = x->nfree;
	struct xdp_desc *d = x->tx.descs;
	for (uint32_t i = 0; i < n; i++)
		d[(prod + i) & x->tx.mask] = (struct xdp_desc){.addr = x->free[--x->nfree], .len = len};
	if (n)
		ring_store(x->tx.prod, prod + n);
	return n;
}

/* Queues one frame the caller owns (a received buffer sent back, say): 1, or 0 when the ring is full. */
static inline uint32_t xsk_tx_queue_addr(struct xsk *x, uint64_t addr, uint32_t len)
{
	uint32_t prod = *x->tx.prod;
	if (prod - ring_load(x->tx.cons) >= x->tx.size)
		return 0;
	((struct xdp_desc *)x->tx.descs)[prod & x->tx.mask] = (struct xdp_desc){.addr = addr, .len = len};
	ring_store(x->tx.prod, prod + 1);
	return 1;
}

/* Completed transmissions of frames that belong to the fill ring (a reflector's): straight back to it. */
static inline void xsk_reap_to_fill(struct xsk *x)
{
	uint32_t cons = *x->comp.cons, n = ring_load(x->comp.prod) - cons, prod = *x->fill.prod;
	const uint64_t *a = x->comp.descs;
	uint64_t *f = x->fill.descs;
	for (uint32_t i = 0; i < n; i++)
		f[(prod + i) & x->fill.mask] = a[(cons + i) & x->comp.mask];
	if (n) {
		ring_store(x->fill.prod, prod + n);
		ring_store(x->comp.cons, cons + n);
	}
}

/* Copy mode transmits inside sendto(): at most 32 frames per call (the kernel's TX batch), so a
 * larger burst takes several. Returns -1 with errno on a real error. */
int xsk_kick(struct xsk *x);

/* Frames received: how many are waiting, from index *first on. */
static inline uint32_t xsk_rx_peek(const struct xsk *x, uint32_t *first)
{
	*first = *x->rx.cons;
	return ring_load(x->rx.prod) - *first;
}

static inline const struct xdp_desc *xsk_rx_desc(const struct xsk *x, uint32_t i)
{
	return &((const struct xdp_desc *)x->rx.descs)[i & x->rx.mask];
}

/* Releases n received frames whose buffers the caller keeps (a reflector sends them back). */
static inline void xsk_rx_release(struct xsk *x, uint32_t n) { ring_store(x->rx.cons, *x->rx.cons + n); }

/* Releases n received frames from index first on, handing their buffers straight back to the fill
 * ring for the next receptions (the fill ring is as large as the RX ring: there is always room). */
static inline void xsk_rx_recycle(struct xsk *x, uint32_t first, uint32_t n)
{
	uint32_t prod = *x->fill.prod;
	uint64_t *f = x->fill.descs;
	for (uint32_t i = 0; i < n; i++)
		f[(prod + i) & x->fill.mask] = xsk_rx_desc(x, first + i)->addr & ~(uint64_t)(XSK_FRAME_SIZE - 1);
	ring_store(x->fill.prod, prod + n);
	ring_store(x->rx.cons, first + n);
}

#endif
