#include "check.h"
#include "hist.h"
#include <stdint.h>

int main(void)
{
	/* Exact below 2^SUB_BITS. */
	for (uint64_t v = 0; v < HIST_SUB_COUNT; v++)
		CHECK(hist_index(v) == v && hist_lowest((uint32_t)v) == v);
	/* Known boundaries (the TypeScript side checks the same vectors). */
	CHECK(hist_index(2048) == 2048);
	CHECK(hist_index(2049) == 2048);   /* width 2 in the first range above */
	CHECK(hist_index(4095) == 3071);
	CHECK(hist_index(4096) == 3072);
	CHECK(hist_index(1000000) == 11169);
	CHECK(hist_index(UINT64_MAX) == HIST_BUCKETS - 1);
	/* Every value lies inside its bucket, and buckets are contiguous and monotonic. */
	uint64_t v = 1;
	for (int i = 0; i < 2000000; i++) {
		uint32_t idx = hist_index(v);
		CHECK(hist_lowest(idx) <= v && v <= hist_highest(idx));
		/* relative width bound: (hi - lo) / lo <= 2^-(SUB_BITS-1) */
		uint64_t lo = hist_lowest(idx), hi = hist_highest(idx);
		CHECK(lo < HIST_SUB_COUNT || (double)(hi - lo) / (double)lo <= 1.0 / HIST_HALF);
		v += 1 + v / 997;
		if (v > (1ull << 62))
			break;
	}
	for (uint32_t idx = 0; idx + 1 < HIST_BUCKETS; idx++)
		CHECK(hist_highest(idx) + 1 == hist_lowest(idx + 1));
	static struct hist h;
	hist_reset(&h);
	hist_add(&h, 5);
	hist_add(&h, 5);
	hist_add(&h, 1000000);
	CHECK(h.total == 3 && h.counts[5] == 2 && h.counts[11169] == 1);
	return check_done("hist");
}
