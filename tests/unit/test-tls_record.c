// SPDX-License-Identifier: GPL-2.0-only
/* Record framing at the kTLS hand-over, and the cmsg forms of non-data records. */
#include <linux/tls.h>

#include "check.h"
#include "tls_record.h"

#ifndef SOL_TLS
#define SOL_TLS 282
#endif

/* A record header of type 23 announcing len body bytes. */
static size_t put_header(uint8_t *p, size_t len)
{
	p[0] = 23;
	p[1] = 3;
	p[2] = 3;
	p[3] = (uint8_t)(len >> 8);
	p[4] = (uint8_t)len;
	return TLS_RECORD_HEADER;
}

static void empty_buffer(void)
{
	uint8_t data[16];
	struct buf b = { .data = data, .cap = sizeof(data) };
	size_t need = 99;

	CHECK(tls_record_whole(&b, &need) == 0);
	CHECK(need == 0);
}

static void partial_header(void)
{
	uint8_t data[16] = { 23, 3, 3 };
	struct buf b = { .data = data, .len = 3, .cap = sizeof(data) };
	size_t need;

	CHECK(tls_record_whole(&b, &need) == 0);
	CHECK(need == 2); /* the rest of the header first: the length is not known yet */
}

static void whole_then_partial(void)
{
	uint8_t data[128] = { 0 };
	size_t n = put_header(data, 10) + 10, need;
	struct buf b = { .data = data, .cap = sizeof(data) };

	n += put_header(data + n, 20) + 7; /* a second record with 7 of its 20 bytes */
	b.len = n;
	CHECK(tls_record_whole(&b, &need) == 15);
	CHECK(need == 13);
}

static void exact_records_at_offset(void)
{
	uint8_t data[128] = { 0 };
	size_t n = 9, need; /* 9 bytes already consumed */
	struct buf b = { .data = data, .off = 9, .cap = sizeof(data) };

	n += put_header(data + n, 0);                 /* an empty record is whole */
	n += put_header(data + n, 16) + 16;
	b.len = n;
	CHECK(tls_record_whole(&b, &need) == 5 + 21);
	CHECK(need == 0);
}

static void largest_length(void)
{
	static uint8_t data[TLS_RECORD_HEADER + 0xffff];
	struct buf b = { .data = data, .cap = sizeof(data) };
	size_t need;

	put_header(data, 0xffff);
	b.len = TLS_RECORD_HEADER + 100;
	CHECK(tls_record_whole(&b, &need) == 0);
	CHECK(need == 0xffff - 100);
	b.len = sizeof(data);
	CHECK(tls_record_whole(&b, &need) == sizeof(data));
	CHECK(need == 0);
}

static void close_notify_message(void)
{
	struct record_msg m;
	struct cmsghdr *cmsg;

	memset(&m, 0xaa, sizeof(m));
	tls_record_close_notify(&m);
	CHECK(m.msg.msg_iov == &m.iov && m.msg.msg_iovlen == 1);
	CHECK(m.iov.iov_base == m.body && m.iov.iov_len == 2);
	CHECK(m.body[0] == 1 && m.body[1] == 0); /* warning, close_notify */
	cmsg = CMSG_FIRSTHDR(&m.msg);
	CHECK(cmsg != NULL);
	if (!cmsg)
		return;
	CHECK(cmsg->cmsg_level == SOL_TLS && cmsg->cmsg_type == TLS_SET_RECORD_TYPE);
	CHECK(cmsg->cmsg_len == CMSG_LEN(1));
	CHECK(*CMSG_DATA(cmsg) == TLS_RECORD_ALERT);
}

static void record_type_from_cmsg(void)
{
	uint8_t body[32];
	struct record_msg m;
	struct cmsghdr *cmsg;

	memset(&m, 0xaa, sizeof(m));
	tls_record_prepare_recv(&m, body, sizeof(body));
	CHECK(m.iov.iov_base == body && m.iov.iov_len == sizeof(body));
	/* Nothing left from an earlier record: no type. */
	CHECK(tls_record_type(&m) == TLS_RECORD_NONE);

	cmsg = CMSG_FIRSTHDR(&m.msg);
	cmsg->cmsg_level = SOL_TLS;
	cmsg->cmsg_type = TLS_GET_RECORD_TYPE;
	cmsg->cmsg_len = CMSG_LEN(1);
	*CMSG_DATA(cmsg) = TLS_RECORD_HANDSHAKE;
	CHECK(tls_record_type(&m) == TLS_RECORD_HANDSHAKE);

	cmsg->cmsg_level = SOL_SOCKET; /* another layer's cmsg says nothing about the record */
	CHECK(tls_record_type(&m) == TLS_RECORD_NONE);
}

int main(void)
{
	RUN(empty_buffer);
	RUN(partial_header);
	RUN(whole_then_partial);
	RUN(exact_records_at_offset);
	RUN(largest_length);
	RUN(close_notify_message);
	RUN(record_type_from_cmsg);
	return check_result();
}
