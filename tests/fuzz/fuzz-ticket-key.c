// SPDX-License-Identifier: GPL-2.0-only
/* ticket_key_parse() on any ticket-key-file contents: a refusal always says why, and an
 * accepted key of raw bytes is those bytes. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "ticket_key.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char key[TICKET_KEY_SIZE];
	char why[256] = "";

	if (size > TICKET_KEY_FILE_MAX + 16)
		return 0;
	if (ticket_key_parse(data, size, key, why, sizeof(why)) < 0) {
		if (!why[0])
			abort();
		return 0;
	}
	if (size == TICKET_KEY_SIZE && memcmp(key, data, size))
		abort();
	return 0;
}
