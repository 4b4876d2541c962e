/* AF_XDP socket set-up and tear-down (see xsk.h). Everything here runs before or after the
 * measured loops; the loops use only the inline ring operations of xsk.h and xsk_kick(). */
#define _GNU_SOURCE
#include "xsk.h"
#include "sock.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef SOL_XDP
#define SOL_XDP 283
#endif
#ifndef AF_XDP
#define AF_XDP 44
#endif

static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level, (void)fmt, (void)ap;
	return 0; /* the engine speaks NDJSON on stdout: libbpf's chatter would break it */
}

static int map_ring(struct xsk *x, struct xsk_ring *r, uint64_t pgoff, const struct xdp_ring_offset *off,
		    size_t desc_size, uint32_t n)
{
	r->map_len = off->desc + n * desc_size;
	r->map = mmap(NULL, r->map_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, x->fd, (off_t)pgoff);
	if (r->map == MAP_FAILED) {
		r->map = NULL;
		return -1;
	}
	r->prod = (uint32_t *)((char *)r->map + off->producer);
	r->cons = (uint32_t *)((char *)r->map + off->consumer);
	r->flags = (uint32_t *)((char *)r->map + off->flags);
	r->descs = (char *)r->map + off->desc;
	r->size = n;
	r->mask = n - 1;
	return 0;
}

/* The program and its object live beside the engine: <dir of this binary>/bpf/xsk_redirect.bpf.o
 * (CNPERF_XSK_PROG overrides it: the C tests run from elsewhere). */
static int object_path(char *out, size_t cap)
{
	const char *env = getenv("CNPERF_XSK_PROG");
	if (env && *env)
		return snprintf(out, cap, "%s", env) < (int)cap ? 0 : -1;
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n <= 0)
		return -1;
	exe[n] = 0;
	char *slash = strrchr(exe, '/');
	if (!slash)
		return -1;
	*slash = 0;
	return snprintf(out, cap, "%s/bpf/xsk_redirect.bpf.o", exe) < (int)cap ? 0 : -1;
}

/* Loads the redirect program, points it at this socket and port, attaches it: native, else generic. */
static int attach_program(struct xsk *x, uint16_t port_be, char *err, size_t cap)
{
	char path[4200];
	if (object_path(path, sizeof path) < 0) {
		snprintf(err, cap, "cannot find the engine's own directory");
		return -1;
	}
	libbpf_set_print(quiet);
	struct bpf_object *obj = bpf_object__open_file(path, NULL);
	if (!obj) {
		snprintf(err, cap, "cannot open %s: %s (build it with 'npm run build')", path, strerror(errno));
		return -1;
	}
	if (bpf_object__load(obj) < 0) {
		snprintf(err, cap, "the kernel refused the AF_XDP redirect program (%s): %s", path, strerror(errno));
		bpf_object__close(obj);
		return -1;
	}
	struct bpf_program *prog = bpf_object__find_program_by_name(obj, "xsk_redirect");
	struct bpf_map *xsks = bpf_object__find_map_by_name(obj, "xsks"),
		*port = bpf_object__find_map_by_name(obj, "xsk_port");
	uint32_t zero = 0, fd = (uint32_t)x->fd, p = port_be;
	if (!prog || !xsks || !port || bpf_map_update_elem(bpf_map__fd(xsks), &zero, &fd, BPF_ANY) < 0 ||
	    bpf_map_update_elem(bpf_map__fd(port), &zero, &p, BPF_ANY) < 0) {
		snprintf(err, cap, "setting up the AF_XDP redirect program: %s", strerror(errno));
		bpf_object__close(obj);
		return -1;
	}
	x->prog_fd = dup(bpf_program__fd(prog)); /* the program outlives its object: we hold it */
	bpf_object__close(obj);
	/* never replace a program someone else attached (the xdp datapath's own, say) */
	const uint32_t modes[] = {XDP_FLAGS_DRV_MODE, XDP_FLAGS_SKB_MODE};
	int e = 0;
	for (int i = 0; i < 2; i++) {
		if (bpf_xdp_attach(x->ifindex, x->prog_fd, modes[i] | XDP_FLAGS_UPDATE_IF_NOEXIST, NULL) == 0) {
			x->xdp_flags = modes[i];
			x->mode = i == 0 ? "native" : "generic";
			return 0;
		}
		e = errno;
		if (e == EBUSY || e == EEXIST)
			break;
	}
	snprintf(err, cap, "attaching the AF_XDP redirect program to the device: %s%s", strerror(e),
		 e == EBUSY || e == EEXIST
			 ? " (the device already runs an XDP program, e.g. the xdp datapath's own: AF_XDP needs its own)"
			 : "");
	close(x->prog_fd);
	x->prog_fd = -1;
	return -1;
}

int xsk_open(struct xsk *x, const char *dev, uint32_t nframes, uint32_t ring, uint16_t port_be, char *err, size_t cap)
{
	memset(x, 0, sizeof *x);
	x->fd = -1;
	x->prog_fd = -1;
	x->mode = "copy";
	x->ifindex = (int)if_nametoindex(dev);
	if (!x->ifindex) {
		snprintf(err, cap, "no device %s here", dev);
		return -1;
	}
	x->fd = socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (x->fd < 0) {
		snprintf(err, cap, "socket(AF_XDP): %s", strerror(errno));
		return -1;
	}
	if (dev_mac(dev, x->mac) < 0) {
		snprintf(err, cap, "cannot read the MAC address of %s: %s", dev, strerror(errno));
		goto fail;
	}

	x->nframes = nframes;
	x->umem_len = (size_t)nframes * XSK_FRAME_SIZE;
	x->umem = mmap(NULL, x->umem_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	x->free = calloc(nframes, sizeof *x->free);
	if (x->umem == MAP_FAILED || !x->free) {
		x->umem = NULL;
		snprintf(err, cap, "no memory for %u frames of UMEM", nframes);
		goto fail;
	}
	struct xdp_umem_reg reg = {.addr = (uint64_t)(uintptr_t)x->umem, .len = x->umem_len, .chunk_size = XSK_FRAME_SIZE,
				   .headroom = 0};
	if (setsockopt(x->fd, SOL_XDP, XDP_UMEM_REG, &reg, sizeof reg) < 0) {
		snprintf(err, cap, "XDP_UMEM_REG (%u frames): %s", nframes, strerror(errno));
		goto fail;
	}
	const int opts[] = {XDP_UMEM_FILL_RING, XDP_UMEM_COMPLETION_RING, XDP_RX_RING, XDP_TX_RING};
	for (int i = 0; i < 4; i++) {
		if (setsockopt(x->fd, SOL_XDP, opts[i], &ring, sizeof ring) < 0) {
			snprintf(err, cap, "sizing the AF_XDP rings to %u: %s", ring, strerror(errno));
			goto fail;
		}
	}
	struct xdp_mmap_offsets off;
	socklen_t ol = sizeof off;
	if (getsockopt(x->fd, SOL_XDP, XDP_MMAP_OFFSETS, &off, &ol) < 0 ||
	    map_ring(x, &x->fill, XDP_UMEM_PGOFF_FILL_RING, &off.fr, sizeof(uint64_t), ring) < 0 ||
	    map_ring(x, &x->comp, XDP_UMEM_PGOFF_COMPLETION_RING, &off.cr, sizeof(uint64_t), ring) < 0 ||
	    map_ring(x, &x->rx, XDP_PGOFF_RX_RING, &off.rx, sizeof(struct xdp_desc), ring) < 0 ||
	    map_ring(x, &x->tx, XDP_PGOFF_TX_RING, &off.tx, sizeof(struct xdp_desc), ring) < 0) {
		snprintf(err, cap, "mapping the AF_XDP rings: %s", strerror(errno));
		goto fail;
	}
	/* The first `ring` frames stock the fill ring when receiving; the rest are user space's. */
	uint32_t stocked = port_be ? ring : 0;
	for (uint32_t i = 0; i < stocked; i++)
		((uint64_t *)x->fill.descs)[i] = (uint64_t)i * XSK_FRAME_SIZE;
	ring_store(x->fill.prod, stocked);
	for (uint32_t i = nframes; i-- > stocked;)
		x->free[x->nfree++] = (uint64_t)i * XSK_FRAME_SIZE;

	struct sockaddr_xdp sxdp = {.sxdp_family = AF_XDP, .sxdp_ifindex = (uint32_t)x->ifindex, .sxdp_queue_id = 0,
				    .sxdp_flags = XDP_COPY};
	if (bind(x->fd, (struct sockaddr *)&sxdp, sizeof sxdp) < 0) {
		snprintf(err, cap, "binding the AF_XDP socket to %s queue 0 (copy mode): %s", dev, strerror(errno));
		goto fail;
	}
	if (port_be && attach_program(x, port_be, err, cap) < 0)
		goto fail;
	return 0;
fail:
	xsk_close(x);
	return -1;
}

int xsk_kick(struct xsk *x)
{
	for (int tries = 0; tries < 64 && ring_load(x->tx.cons) != *x->tx.prod; tries++) {
		if (sendto(x->fd, NULL, 0, MSG_DONTWAIT, NULL, 0) >= 0)
			continue;
		if (errno == EAGAIN || errno == EBUSY || errno == ENOBUFS)
			continue; /* the batch limit, or the device's queue is full: go on kicking */
		return -1;
	}
	return 0;
}

uint64_t xsk_drops(const struct xsk *x)
{
	struct xdp_statistics st;
	socklen_t l = sizeof st;
	memset(&st, 0, sizeof st);
	if (getsockopt(x->fd, SOL_XDP, XDP_STATISTICS, &st, &l) < 0)
		return 0;
	/* rx_dropped already counts an empty fill ring (also in rx_fill_ring_empty_descs): not twice */
	return st.rx_dropped + st.rx_ring_full;
}

void xsk_close(struct xsk *x)
{
	if (x->prog_fd >= 0) {
		/* only ours: detach if the attached program is still the one we attached */
		DECLARE_LIBBPF_OPTS(bpf_xdp_attach_opts, o, .old_prog_fd = x->prog_fd);
		bpf_xdp_detach(x->ifindex, x->xdp_flags | XDP_FLAGS_REPLACE, &o);
		close(x->prog_fd);
		x->prog_fd = -1;
	}
	struct xsk_ring *rings[] = {&x->fill, &x->comp, &x->rx, &x->tx};
	for (int i = 0; i < 4; i++)
		if (rings[i]->map)
			munmap(rings[i]->map, rings[i]->map_len);
	if (x->fd >= 0)
		close(x->fd);
	if (x->umem)
		munmap(x->umem, x->umem_len);
	free(x->free);
	memset(x, 0, sizeof *x);
	x->fd = x->prog_fd = -1;
}
