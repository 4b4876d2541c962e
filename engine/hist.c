#include "hist.h"
#include <string.h>

static unsigned msb64(uint64_t v) { return 63u - (unsigned)__builtin_clzll(v); }

uint32_t hist_index(uint64_t v)
{
	if (v < HIST_SUB_COUNT)
		return (uint32_t)v;
	unsigned shift = msb64(v) - (HIST_SUB_BITS - 1);  /* >= 1 */
	uint64_t sub = v >> shift;                         /* in [HALF, SUB_COUNT) */
	return HIST_SUB_COUNT + (shift - 1) * HIST_HALF + (uint32_t)(sub - HIST_HALF);
}

uint64_t hist_lowest(uint32_t idx)
{
	if (idx < HIST_SUB_COUNT)
		return idx;
	uint32_t rel = idx - HIST_SUB_COUNT;
	unsigned shift = rel / HIST_HALF + 1;
	uint64_t sub = HIST_HALF + rel % HIST_HALF;
	return sub << shift;
}

uint64_t hist_highest(uint32_t idx)
{
	if (idx < HIST_SUB_COUNT)
		return idx;
	if (idx == HIST_BUCKETS - 1)
		return UINT64_MAX;
	return hist_lowest(idx + 1) - 1;
}

void hist_reset(struct hist *h) { memset(h, 0, sizeof *h); }

void hist_add(struct hist *h, uint64_t v)
{
	h->counts[hist_index(v)]++;
	h->total++;
}
