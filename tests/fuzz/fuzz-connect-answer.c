// SPDX-License-Identifier: GPL-2.0-only
/* The CONNECT relay's answer head (connect_answer_parse), as records may cut it: the input is
 * fed whole and as its prefixes, and the verdicts must agree. A complete head's prefixes are
 * "not yet"; once the bytes are refused no longer input is accepted; a head never claims more
 * bytes than it was given or than CONNECT_ANSWER_MAX; the reason phrase is NUL-terminated
 * text (no control byte but HTAB) within its buffer. An input starting with 'A' instead goes
 * to connect_authority_parse: what it accepts must read back as itself and fit a request that
 * a ktund server's parser (connect_request_parse) takes whole, naming the same port. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "connect_answer.h"
#include "connect_request.h"
#include "fuzz.h"

static void check_answer(const struct connect_answer *a, size_t len)
{
	if (a->head_len < 16 || a->head_len > len || a->head_len > CONNECT_ANSWER_MAX)
		abort();
	if (a->status < 200 || a->status > 599)
		abort();
	if (a->reason_len >= sizeof(a->reason) || a->reason[a->reason_len] ||
	    strlen(a->reason) != a->reason_len)
		abort();
	for (size_t i = 0; i < a->reason_len; i++)
		if ((unsigned char)a->reason[i] < 0x20 && a->reason[i] != '\t')
			abort();
}

static int parse(const uint8_t *data, size_t len, struct connect_answer *a)
{
	/* Exactly len bytes of the heap: ASan sees any read past them. */
	uint8_t *copy = malloc(len ? len : 1);
	const char *why = NULL;
	int rc;

	memcpy(copy, data, len);
	rc = connect_answer_parse(copy, len, a, &why);
	free(copy);
	if (rc != 0 && rc != 1 && rc != -EBADMSG)
		abort();
	if (rc == -EBADMSG && (!why || !*why))
		abort();
	if (rc == 0 && len >= CONNECT_ANSWER_MAX)
		abort(); /* bounded: 4096 bytes decide */
	if (rc == 1)
		check_answer(a, len);
	return rc;
}

static void fuzz_answer(const uint8_t *data, size_t size)
{
	struct connect_answer whole, part;
	int rc = parse(data, size, &whole);
	size_t step = size > 600 ? size / 97 + 1 : 1;

	for (size_t n = 0; n < size; n += step) {
		int prc = parse(data, n, &part);

		if (rc == 1 && n < whole.head_len && prc != 0)
			abort();
		if (rc == 1 && n >= whole.head_len && (prc != 1 || part.head_len != whole.head_len ||
						       part.status != whole.status))
			abort();
		if (prc == -EBADMSG && rc != -EBADMSG)
			abort();
		if (prc == 1 && rc != 1)
			abort();
	}
}

static void fuzz_authority(const uint8_t *data, size_t size)
{
	char *text = fuzz_strndup(data + 1, size - 1);
	char out[CONNECT_AUTHORITY_MAX], again[CONNECT_AUTHORITY_MAX], err[128];
	char request[CONNECT_REQUEST_OUT_MAX];
	struct connect_request r;
	int n;

	if (connect_authority_parse(text, out, err, sizeof(err)) == 0) {
		if (connect_authority_parse(out, again, err, sizeof(err)) != 0 || strcmp(out, again))
			abort();
		if (strpbrk(out, " \r\n\"\t"))
			abort();
		n = connect_request_format(request, sizeof(request), out, NULL, 0);
		if (n <= 0)
			abort();
		/* One check of host and port on both sides: what a client sends, a server reads. */
		if (connect_request_parse((const uint8_t *)request, (size_t)n, &r, err, sizeof(err)) != n ||
		    r.port != strtoul(strrchr(out, ':') + 1, NULL, 10))
			abort();
	} else if (!err[0]) {
		abort();
	}
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 2 * CONNECT_ANSWER_MAX)
		return 0;
	if (size && data[0] == 'A')
		fuzz_authority(data, size);
	else
		fuzz_answer(data, size);
	return 0;
}
