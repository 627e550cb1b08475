// SPDX-License-Identifier: GPL-2.0-only
/* ticket_key_parse: a ticket-key-file holds 64 raw bytes or their base64 text; anything else
 * is refused with the reason. ticket_key_carry: a reload keeps a generated key only. */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "ticket_key.h"

static char why[256];

static int parse(const char *data, size_t len, unsigned char out[TICKET_KEY_SIZE])
{
	why[0] = '\0';
	return ticket_key_parse((const unsigned char *)data, len, out, why, sizeof(why));
}

static void test_raw(void)
{
	unsigned char raw[TICKET_KEY_SIZE], out[TICKET_KEY_SIZE];

	for (size_t i = 0; i < sizeof(raw); i++)
		raw[i] = (unsigned char)(i * 7 + 3);
	CHECK(parse((const char *)raw, sizeof(raw), out) == 0);
	CHECK(!memcmp(raw, out, sizeof(raw)));
}

/* base64 of bytes 0..63, whole, with a line break and a trailing newline. */
static const char b64[] =
	"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+Pw==";

static void test_base64(void)
{
	unsigned char out[TICKET_KEY_SIZE];
	char text[256];

	CHECK(parse(b64, strlen(b64), out) == 0);
	for (unsigned i = 0; i < TICKET_KEY_SIZE; i++)
		CHECK(out[i] == i);
	snprintf(text, sizeof(text), "%.40s\n%s\n", b64, b64 + 40);
	memset(out, 0, sizeof(out));
	CHECK(parse(text, strlen(text), out) == 0 && out[63] == 63);
}

static void test_refused(void)
{
	unsigned char out[TICKET_KEY_SIZE];
	char big[TICKET_KEY_FILE_MAX + 2];

	CHECK(parse("0123456789", 10, out) == -EINVAL);
	CHECK_CONTAINS(why, "10 bytes that are neither 64 raw bytes nor base64");
	/* base64 of 48 bytes (64 characters is raw: a 64-byte file is taken as the key). */
	CHECK(parse("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4v\n", 65, out) ==
	      -EINVAL);
	CHECK_CONTAINS(why, "base64 of 48 bytes: a key is 64");
	CHECK(parse("\n \n", 3, out) == -EINVAL);
	CHECK_CONTAINS(why, "not a key");
	CHECK(parse("", 0, out) == -EINVAL);
	memset(big, 'A', sizeof(big));
	CHECK(parse(big, sizeof(big), out) == -EINVAL);
	CHECK_CONTAINS(why, "not a key");
	CHECK(parse("!!!!AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+Pw==",
		    92, out) == -EINVAL);
}

static void test_carry(void)
{
	struct ticket_key running = { .set = true }, built = { .set = true }, file = { .set = true,
										   .from_file = true };

	memset(running.key, 1, TICKET_KEY_SIZE);
	memset(built.key, 2, TICKET_KEY_SIZE);
	ticket_key_carry(&built, &running);
	CHECK(built.key[0] == 1 && built.key[63] == 1);
	/* A key file's key is the file's: neither kept over it nor carried from it. */
	memset(file.key, 3, TICKET_KEY_SIZE);
	ticket_key_carry(&file, &running);
	CHECK(file.key[0] == 3);
	memset(built.key, 2, TICKET_KEY_SIZE);
	ticket_key_carry(&built, &file);
	CHECK(built.key[0] == 2);
	ticket_key_wipe(&running);
	CHECK(!running.set && running.key[0] == 0);
}

int main(void)
{
	RUN(test_raw);
	RUN(test_base64);
	RUN(test_refused);
	RUN(test_carry);
	return 0;
}
