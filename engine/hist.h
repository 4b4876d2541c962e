/* Log-linear (HDR-style) histogram of nanosecond values.
 *
 * Values below 2^SUB_BITS are counted exactly; above, each power-of-two range is split into
 * 2^(SUB_BITS-1) equal buckets, so a bucket's width is at most 2^-(SUB_BITS-1) of its value
 * (0.1 % with SUB_BITS = 11). The same indexing is implemented in src/stats/histogram.ts:
 * the engine ships bucket indices, the TypeScript side turns them back into values. */
#ifndef CNPERF_HIST_H
#define CNPERF_HIST_H
#include <stdint.h>
#include <stddef.h>

#define HIST_SUB_BITS 11
#define HIST_SUB_COUNT (1u << HIST_SUB_BITS)          /* 2048 exact values */
#define HIST_HALF (HIST_SUB_COUNT / 2)                 /* buckets per power of two above */
#define HIST_BUCKETS (HIST_SUB_COUNT + (64 - HIST_SUB_BITS) * HIST_HALF)

struct hist {
	uint64_t counts[HIST_BUCKETS];
	uint64_t total;
};

uint32_t hist_index(uint64_t v);
uint64_t hist_lowest(uint32_t idx);   /* smallest value that maps to idx */
uint64_t hist_highest(uint32_t idx);  /* largest value that maps to idx */
void hist_reset(struct hist *h);
void hist_add(struct hist *h, uint64_t v);

#endif
