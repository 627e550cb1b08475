// SPDX-License-Identifier: GPL-2.0-only
/* io_uring user_data: every op survives the round trip with its object, for every object
 * kind the loop gives the ring. */
#include <stdalign.h>

#include "check.h"
#include "conn.h"
#include "listener.h"
#include "worker.h"

static void objects_are_aligned(void)
{
	CHECK(alignof(struct conn) >= USER_DATA_ALIGN);
	CHECK(alignof(struct listener) >= USER_DATA_ALIGN);
	CHECK(alignof(struct worker) >= USER_DATA_ALIGN);
	/* Arrays of them (a worker's listeners, the workers) keep every element aligned. */
	CHECK(sizeof(struct listener) % USER_DATA_ALIGN == 0);
	CHECK(sizeof(struct worker) % USER_DATA_ALIGN == 0);
}

static void round_trip(void)
{
	static struct conn objs[3];

	for (size_t i = 0; i < 3; i++)
		for (enum op op = 0; op < OP_MAX; op++) {
			uint64_t ud = user_data_pack(&objs[i], op);

			CHECK(user_data_object(ud) == &objs[i]);
			CHECK(user_data_op(ud) == op);
		}
}

static void ops_are_distinct(void)
{
	static struct conn c;

	/* Cancelling by user_data hits one operation: no two ops may pack alike. */
	for (enum op a = 0; a < OP_MAX; a++)
		for (enum op b = a + 1; b < OP_MAX; b++)
			CHECK(user_data_pack(&c, a) != user_data_pack(&c, b));
}

static void slots_partition_the_connection_ops(void)
{
	const uint64_t slots[] = { OPS_TLS_RX, OPS_TLS_TX, OPS_PLAIN_RX, OPS_PLAIN_TX };
	uint64_t seen = 0;

	/* An op in two slots would let two of one kind be in flight, or block the wrong one. */
	for (size_t i = 0; i < sizeof(slots) / sizeof(slots[0]); i++) {
		CHECK(!(seen & slots[i]));
		seen |= slots[i];
	}
	/* Every data operation has a slot; the connect and the bookkeeping ops have none. */
	for (enum op op = OP_TLS_RECV; op < OP_MAX; op++)
		CHECK(seen & OP_BIT(op));
	CHECK(!(seen & (OP_BIT(OP_CONNECT) | OP_BIT(OP_CONNECT_TIMEOUT) | OP_BIT(OP_CANCEL) |
			OP_BIT(OP_RESOLVE))));
}

int main(void)
{
	RUN(objects_are_aligned);
	RUN(round_trip);
	RUN(ops_are_distinct);
	RUN(slots_partition_the_connection_ops);
	return check_result();
}
