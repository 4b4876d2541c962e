#include "check.h"
#include "rtt.h"

int main(void)
{
	uint8_t buf[64] = {0};
	uint64_t seq = 0;
	rtt_hdr_write(buf, 0xdeadbeef, 42);
	CHECK(rtt_hdr_read(buf, sizeof buf, 0xdeadbeef, &seq) == 0 && seq == 42);
	CHECK(rtt_hdr_read(buf, sizeof buf, 0xdeadbeee, &seq) < 0); /* another run's cookie */
	CHECK(rtt_hdr_read(buf, 15, 0xdeadbeef, &seq) < 0);         /* too short */
	buf[0] ^= 1;
	CHECK(rtt_hdr_read(buf, sizeof buf, 0xdeadbeef, &seq) < 0); /* not ours */

	/* Periodic schedule: on time -> next slot; slightly late -> still next slot;
	 * more than one period late -> restart at now, never a burst of missed slots. */
	uint64_t next = 1000;
	CHECK(schedule_next(&next, 100, 1000) == 0 && next == 1100);
	CHECK(schedule_next(&next, 100, 1150) == 0 && next == 1200);
	CHECK(schedule_next(&next, 100, 1900) == 1 && next == 1900);
	CHECK(schedule_next(&next, 100, 1900) == 0 && next == 2000);
	return check_done("rtt");
}
