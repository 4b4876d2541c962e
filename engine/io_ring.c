/* `raw-ring`: AF_PACKET with memory-mapped TPACKET_V3 rings (seed 001, Table 1's rung between raw
 * sendmmsg and AF_XDP). The sender fills slots of a TX ring that hold pre-built frames, marks them
 * for sending and flushes them with one sendto(); the receiver reads whole blocks of an RX ring on
 * the server's device, counting the frames of the measured UDP port. A packet socket sees frames
 * beside the stack, not instead of it: the stack still receives each one (into a UDP socket that
 * holds the port and is never read, so no "port unreachable" goes back). */
#define _GNU_SOURCE
#include "frame.h"
#include "io.h"
#include "out.h"
#include "sock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#define SLOT 2048u               /* TX: one frame per slot */
#define TX_SLOTS 1024u
#define RX_BLOCK (1u << 18)      /* RX: 256 KiB blocks, retired after RX_RETIRE_MS when not full */
#define RX_BLOCKS 64u
#define RX_RETIRE_MS 10u
/* where a TX slot's frame starts: right after the (aligned) V3 header (net/packet/af_packet.c) */
#define TX_DATA (TPACKET_ALIGN(sizeof(struct tpacket3_hdr)))

struct pring {
	uint8_t *map;
	size_t map_len;
	uint32_t slots, next;   /* TX: slot count, next slot to fill; RX: block count, next block */
	uint16_t port_be;       /* RX: the measured UDP destination port */
};

static int packet_socket(const char *dev, int protocol, int *ifindex)
{
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, protocol);
	if (fd < 0) {
		ev_error("socket", "socket(AF_PACKET, SOCK_RAW): %s", strerror(errno));
		return -1;
	}
	int v = TPACKET_V3;
	if (setsockopt(fd, SOL_PACKET, PACKET_VERSION, &v, sizeof v) < 0) {
		ev_error("socket", "PACKET_VERSION TPACKET_V3: %s", strerror(errno));
		close(fd);
		return -1;
	}
	*ifindex = (int)if_nametoindex(dev);
	if (!*ifindex) {
		ev_error("socket", "no device %s here", dev);
		close(fd);
		return -1;
	}
	return fd;
}

static int map_ring(struct io *io, struct pring *r, int which, struct tpacket_req3 *req)
{
	if (setsockopt(io->fd, SOL_PACKET, which, req, sizeof *req) < 0) {
		ev_error("socket", "%s: %s", which == PACKET_TX_RING ? "PACKET_TX_RING" : "PACKET_RX_RING", strerror(errno));
		return -1;
	}
	r->map_len = (size_t)req->tp_block_size * req->tp_block_nr;
	r->map = mmap(NULL, r->map_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, io->fd, 0);
	if (r->map == MAP_FAILED) {
		r->map = NULL;
		ev_error("socket", "mapping the packet ring: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static int ring_tx_open(const struct opts *o, struct io *io)
{
	if (!o->dev || !o->have_dst_mac || !o->have_src) {
		ev_error("usage", "raw APIs need --dev, --dst-mac and --src");
		return -1;
	}
	if (o->size > frame_max_payload(&o->addr)) {
		ev_error("usage", "--size %u: a raw frame carries at most %u bytes of UDP payload at MTU 1500", o->size,
			 frame_max_payload(&o->addr));
		return -1;
	}
	struct pring *r = calloc(1, sizeof *r);
	int ifindex;
	if (!r || (io->fd = packet_socket(o->dev, 0, &ifindex)) < 0)
		return -1; /* protocol 0: this socket only sends */
	io->ring = r;
	uint8_t src_mac[6];
	if (dev_mac(o->dev, src_mac) < 0) {
		ev_error("socket", "cannot read the MAC address of %s: %s", o->dev, strerror(errno));
		return -1;
	}
	if (o->qdisc_bypass && packet_qdisc_bypass(io->fd) < 0)
		return -1;
	/* a TX ring's V3 slots are fixed-size frames (no variable slots, no block retirement) */
	struct tpacket_req3 req = {.tp_block_size = 4096 * 16, .tp_frame_size = SLOT,
				   .tp_block_nr = TX_SLOTS * SLOT / (4096 * 16), .tp_frame_nr = TX_SLOTS};
	if (map_ring(io, r, PACKET_TX_RING, &req) < 0)
		return -1;
	r->slots = TX_SLOTS;
	struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_ifindex = ifindex};
	if (bind(io->fd, (struct sockaddr *)&sll, sizeof sll) < 0) {
		ev_error("bind", "binding the packet socket to %s: %s", o->dev, strerror(errno));
		return -1;
	}
	/* every slot holds the same frame: the loop only hands slots to the kernel */
	for (uint32_t i = 0; i < r->slots; i++)
		io->len = build_udp_frame(r->map + (size_t)i * SLOT + TX_DATA, src_mac, o->dst_mac, &o->src, &o->addr, o->size);
	io->frame_bytes = io->len;
	return 0;
}

/* Marks up to `burst` free slots for sending, then one sendto() sends them all. */
static int ring_tx_burst(struct io *io, uint32_t burst, uint64_t *bytes, uint64_t *errors)
{
	struct pring *r = io->ring;
	uint32_t n = 0;
	for (; n < burst; n++) {
		struct tpacket3_hdr *h = (struct tpacket3_hdr *)(r->map + (size_t)r->next * SLOT);
		if (__atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE) != TP_STATUS_AVAILABLE)
			break; /* the kernel still owns it: the ring is full */
		h->tp_len = (uint32_t)io->len;
		h->tp_next_offset = 0;
		__atomic_store_n(&h->tp_status, TP_STATUS_SEND_REQUEST, __ATOMIC_RELEASE);
		r->next = (r->next + 1) % r->slots;
	}
	if (sendto(io->fd, NULL, 0, MSG_DONTWAIT, NULL, 0) < 0 && errno != EAGAIN && errno != ENOBUFS)
		(*errors)++;
	*bytes += (uint64_t)n * io->o->size;
	return (int)n;
}

/* What was marked goes out before the result: wait (briefly) until the kernel has every slot back. */
static void ring_tx_finish(struct io *io)
{
	struct pring *r = io->ring;
	for (int tries = 0; tries < 1000; tries++) {
		uint32_t busy = 0;
		for (uint32_t i = 0; i < r->slots; i++)
			busy += ((struct tpacket3_hdr *)(r->map + (size_t)i * SLOT))->tp_status != TP_STATUS_AVAILABLE;
		if (!busy || sendto(io->fd, NULL, 0, 0, NULL, 0) < 0)
			return;
	}
}

static int ring_rx_open(const struct opts *o, struct io *io)
{
	if (!o->dev) {
		ev_error("usage", "--api raw-ring needs --dev: the device the receiver's packet ring reads");
		return -1;
	}
	union sockaddr_any a;
	if ((io->listen_fd = hold_udp_port(&o->addr, &a)) < 0)
		return -1;
	/* the ring takes the measured family's frames only */
	const uint16_t proto = htons(o->addr.sa.sa_family == AF_INET6 ? ETH_P_IPV6 : ETH_P_IP);
	struct pring *r = calloc(1, sizeof *r);
	int ifindex;
	if (!r || (io->fd = packet_socket(o->dev, proto, &ifindex)) < 0)
		return -1;
	io->ring = r;
	r->port_be = htons(sa_port(&a));
	r->slots = RX_BLOCKS;
	struct tpacket_req3 req = {.tp_block_size = RX_BLOCK, .tp_frame_size = SLOT, .tp_block_nr = RX_BLOCKS,
				   .tp_frame_nr = RX_BLOCK / SLOT * RX_BLOCKS, .tp_retire_blk_tov = RX_RETIRE_MS};
	if (map_ring(io, r, PACKET_RX_RING, &req) < 0)
		return -1;
	struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = proto, .sll_ifindex = ifindex};
	if (bind(io->fd, (struct sockaddr *)&sll, sizeof sll) < 0) {
		ev_error("bind", "binding the packet ring to %s: %s", o->dev, strerror(errno));
		return -1;
	}
	return 0;
}

/* One retired block: its frames of the measured port counted, the block handed back. */
static int ring_rx_batch(struct io *io, int flags, uint64_t *bytes, uint64_t *drops)
{
	(void)drops; /* the socket's drops are read once, at the end (PACKET_STATISTICS resets them) */
	struct pring *r = io->ring;
	struct tpacket_block_desc *b = (struct tpacket_block_desc *)(r->map + (size_t)r->next * RX_BLOCK);
	if (!(__atomic_load_n(&b->hdr.bh1.block_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER)) {
		if (flags & MSG_DONTWAIT)
			return IO_NOTHING;
		struct pollfd p = {.fd = io->fd, .events = POLLIN};
		if (poll(&p, 1, 100) <= 0 || !(__atomic_load_n(&b->hdr.bh1.block_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER))
			return IO_NOTHING;
	}
	int n = 0;
	const struct tpacket3_hdr *h = (const struct tpacket3_hdr *)((uint8_t *)b + b->hdr.bh1.offset_to_first_pkt);
	for (uint32_t i = 0; i < b->hdr.bh1.num_pkts; i++) {
		const uint8_t *f = (const uint8_t *)h + h->tp_mac;
		/* UDP to the measured port (the ring sees all of the family's frames on the device) */
		const size_t at = udp_frame_payload(f, h->tp_snaplen);
		if (at && memcmp(f + at - 6, &r->port_be, 2) == 0) {
			n++;
			*bytes += h->tp_len - at;
		}
		h = (const struct tpacket3_hdr *)((const uint8_t *)h + h->tp_next_offset);
	}
	__atomic_store_n(&b->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
	r->next = (r->next + 1) % r->slots;
	return n > 0 ? n : IO_NOTHING;
}

static uint64_t ring_rx_final_drops(struct io *io)
{
	struct tpacket_stats_v3 st;
	socklen_t l = sizeof st;
	memset(&st, 0, sizeof st);
	return getsockopt(io->fd, SOL_PACKET, PACKET_STATISTICS, &st, &l) == 0 ? st.tp_drops : 0;
}

const struct io_ops io_raw_ring = {"TPACKET_V3", 1, ring_tx_open, ring_tx_burst, ring_tx_finish, ring_rx_open,
				   ring_rx_batch, ring_rx_final_drops, NULL};
