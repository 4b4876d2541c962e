/* Raw Ethernet frames on an AF_PACKET socket bound to the container's device (seed 001, Table 1):
 * `raw` sends one frame per call, `raw-mmsg` a burst per sendmmsg. The receiver is the UDP one. */
#define _GNU_SOURCE
#include "frame.h"
#include "io.h"
#include "out.h"
#include "sock.h"

#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

int packet_qdisc_bypass(int fd)
{
	int one = 1;
	if (setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one) == 0)
		return 0;
	ev_error("socket", "PACKET_QDISC_BYPASS: %s", strerror(errno));
	return -1;
}

static int raw_tx_open(const struct opts *o, struct io *io)
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
	io->buf = calloc(1, FRAME_HEADERS_MAX + MAX_UDP_PAYLOAD);
	if (!io->buf) {
		ev_error("alloc", "no memory for a frame");
		return -1;
	}
	/* Protocol 0: this socket only sends; it never gets a copy of every received frame. */
	io->fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (io->fd < 0) {
		ev_error("socket", "socket(AF_PACKET, SOCK_RAW): %s", strerror(errno));
		return -1;
	}
	uint8_t src_mac[6];
	if (dev_mac(o->dev, src_mac) < 0) {
		ev_error("socket", "cannot read the MAC address of %s: %s", o->dev, strerror(errno));
		return -1;
	}
	struct sockaddr_ll sll;
	memset(&sll, 0, sizeof sll);
	sll.sll_family = AF_PACKET;
	sll.sll_ifindex = (int)if_nametoindex(o->dev);
	if (sll.sll_ifindex == 0 || bind(io->fd, (struct sockaddr *)&sll, sizeof sll) < 0) {
		ev_error("bind", "binding the packet socket to %s: %s", o->dev, strerror(errno));
		return -1;
	}
	if (o->qdisc_bypass && packet_qdisc_bypass(io->fd) < 0)
		return -1;
	io->len = build_udp_frame(io->buf, src_mac, o->dst_mac, &o->src, &o->addr, o->size);
	io->frame_bytes = io->len;
	return tx_burst_headers(io, o->burst);
}

const struct io_ops io_raw = {"recvmsg", 0, raw_tx_open, tx_send_each, NULL, udp_rx_open, udp_rx_batch,
			      udp_rx_final_drops, NULL};
const struct io_ops io_raw_mmsg = {"recvmmsg", 1, raw_tx_open, tx_sendmmsg, NULL, udp_rx_open, udp_rx_batch,
				   udp_rx_final_drops, NULL};
