/* Per-packet timestamps for the round-trip breakdown (--stamps-out).
 *
 * The kernel's software timestamps (SO_TIMESTAMPING) are CLOCK_REALTIME, so in breakdown mode both
 * ends also take their user-space stamps with CLOCK_REALTIME: one host, one clock, and every
 * component is a difference of two stamps on it. The RTT itself stays on CLOCK_MONOTONIC.
 *
 * File: "CNPSTMP1", uint64 rows, uint64 fields (= STAMP_FIELDS), then rows x fields int64 ns, row i
 * for sequence number i (warm-up included); 0 where a stamp is missing. Host byte order. */
#ifndef CNPERF_STAMPS_H
#define CNPERF_STAMPS_H
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>

#define STAMPS_MAGIC "CNPSTMP1"
#define STAMP_FIELDS 4

/* Client row: user send, kernel TX (driver, else qdisc), kernel RX of the reply, user receive.
 * Server row: kernel RX, user receive, user send of the echo, kernel TX of the echo. */
enum { CS_USER_SEND = 0, CS_KERNEL_TX, CS_KERNEL_RX, CS_USER_RECV };
enum { SS_KERNEL_RX = 0, SS_USER_RECV, SS_USER_SEND, SS_KERNEL_TX };

static inline int64_t real_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts); /* vDSO: no syscall */
	return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

/* CLOCK_REALTIME and CLOCK_MONOTONIC as one instant: the monotonic read is bracketed by two
 * realtime reads and retried (up to three times) when something ran in between, so the realtime
 * stamp stands for the monotonic one within ~150 ns and the parts of a round trip add up to the
 * RTT measured on the monotonic clock. Returns the monotonic time. */
static inline uint64_t paired_now(int64_t *real)
{
	int64_t a, b;
	struct timespec m;
	for (int tries = 0;; tries++) {
		a = real_ns();
		clock_gettime(CLOCK_MONOTONIC, &m);
		b = real_ns();
		if (b - a <= 300 || tries == 3)
			break;
	}
	*real = a + (b - a) / 2;
	return (uint64_t)m.tv_sec * 1000000000ull + (uint64_t)m.tv_nsec;
}

/* Asks the kernel for software RX and TX (driver and qdisc) stamps on fd; -1 with an error event. */
int stamps_enable(int fd);

/* recvfrom() that also returns the kernel's software RX stamp of the datagram (0 if none). Uses a
 * control buffer on the stack: no allocation. from may be NULL. */
ssize_t recv_stamped(int fd, void *buf, size_t len, int flags, struct sockaddr *from, socklen_t *fromlen,
		     int64_t *rx_ns);

/* Reads every queued TX stamp without blocking; the stamps of send number `key` (counted from 0 on
 * this socket) go to *driver_ns and *sched_ns. Returns the number of stamps read. */
int drain_tx_stamps(int fd, uint32_t key, int64_t *driver_ns, int64_t *sched_ns);

/* Writes rows x STAMP_FIELDS stamps to path; -1 with an error event. */
int stamps_write(const char *path, const int64_t *rows, uint64_t n);

#endif
