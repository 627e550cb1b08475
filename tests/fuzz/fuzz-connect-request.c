// SPDX-License-Identifier: GPL-2.0-only
/* connect_request_parse() on any bytes, whole and cut at every length a record boundary could
 * leave: a prefix of an accepted head waits (0) or is refused, never accepted with another
 * length; an accepted head ends in CRLF CRLF within CONNECT_REQUEST_MAX; every refusal says
 * why; the answer heads stay within their buffer. Sanitizers catch reads past the input. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "connect_request.h"
#include "fuzz.h"

static int parse_copy(const uint8_t *data, size_t size, struct connect_request *r, char *err,
		      size_t errlen)
{
	/* An exact-size copy, so ASan sees any read past the end. */
	uint8_t *copy = malloc(size ? size : 1);
	int rc;

	if (!copy)
		abort();
	memcpy(copy, data, size);
	rc = connect_request_parse(copy, size, r, err, errlen);
	free(copy);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct connect_request r, part;
	char err[160], buf[128];
	int rc;

	if (size > 2 * CONNECT_REQUEST_MAX)
		return 0;
	rc = parse_copy(data, size, &r, err, sizeof(err));
	if (rc < 0 && (!err[0] || (rc != -EINVAL && rc != -EMSGSIZE)))
		abort();
	if (rc > 0) {
		if ((size_t)rc > size || rc > CONNECT_REQUEST_MAX || r.head_len != (size_t)rc ||
		    memcmp(data + rc - 4, "\r\n\r\n", 4) || !r.port || !r.host[0])
			abort();
		for (size_t n = 0; n < (size_t)rc; n++) {
			int p = parse_copy(data, n, &part, err, sizeof(err));
			if (p > 0)
				abort();
		}
	}
	connect_answer_head(data && size ? data[0] * 2 + 200 : 200, buf);
	if (strlen(buf) >= sizeof(buf))
		abort();
	return 0;
}
