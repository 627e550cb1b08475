/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_BUF_H
#define KTUN_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* A byte window [off, len) over fixed storage. The owner guarantees no I/O is in flight
 * on the window when it calls buf_reset or buf_compact. */
struct buf {
	uint8_t *data;
	size_t off, len, cap;
};

static inline size_t buf_used(const struct buf *b)
{
	return b->len - b->off;
}

static inline size_t buf_room(const struct buf *b)
{
	return b->cap - b->len;
}

static inline void buf_reset_if_empty(struct buf *b)
{
	if (b->off == b->len)
		b->off = b->len = 0;
}

static inline void buf_compact(struct buf *b)
{
	if (b->off) {
		memmove(b->data, b->data + b->off, buf_used(b));
		b->len -= b->off;
		b->off = 0;
	}
}

#endif
