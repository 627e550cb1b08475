// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "file_read.h"
#include "log.h"
#include "ticket_key.h"

/* Main thread (context builds) and --check; ticket_key_enable from workers, reading only. */

static bool is_space(unsigned char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

int ticket_key_parse(const unsigned char *data, size_t len, unsigned char out[TICKET_KEY_SIZE],
		     char *why, size_t whylen)
{
	char text[TICKET_KEY_FILE_MAX];
	gnutls_datum_t b64, raw = { NULL, 0 };
	size_t n = 0;
	int rc;

	if (len == TICKET_KEY_SIZE) {
		memcpy(out, data, TICKET_KEY_SIZE);
		return 0;
	}
	for (size_t i = 0; i < len && n < sizeof(text); i++)
		if (!is_space(data[i]))
			text[n++] = (char)data[i];
	if (len > sizeof(text) || !n) {
		snprintf(why, whylen, "%zu bytes: not a key (64 raw bytes, or their base64 text)", len);
		return -EINVAL;
	}
	b64 = (gnutls_datum_t){ .data = (unsigned char *)text, .size = (unsigned)n };
	rc = gnutls_base64_decode2(&b64, &raw);
	if (rc < 0 || raw.size != TICKET_KEY_SIZE) {
		if (rc < 0)
			snprintf(why, whylen, "%zu bytes that are neither 64 raw bytes nor base64 "
				 "(%s)", len, gnutls_strerror(rc));
		else
			snprintf(why, whylen, "base64 of %u bytes: a key is 64", raw.size);
		rc = -EINVAL;
	} else
		memcpy(out, raw.data, TICKET_KEY_SIZE);
	if (raw.data) {
		explicit_bzero(raw.data, raw.size);
		gnutls_free(raw.data);
	}
	explicit_bzero(text, sizeof(text));
	return rc < 0 ? -EINVAL : 0;
}

static int generate(struct ticket_key *k, const char *tunnel)
{
	gnutls_datum_t key = { NULL, 0 };
	int rc = gnutls_session_ticket_key_generate(&key);

	if (rc < 0 || key.size != TICKET_KEY_SIZE) {
		log_err("[%s] generating a session ticket key: %s", tunnel,
			rc < 0 ? gnutls_strerror(rc) : "unexpected size");
		rc = -EIO;
	} else {
		memcpy(k->key, key.data, TICKET_KEY_SIZE);
		k->set = true;
	}
	if (key.data) {
		explicit_bzero(key.data, key.size);
		gnutls_free(key.data);
	}
	return rc < 0 ? rc : 0;
}

int ticket_key_load(struct ticket_key *k, const char *tunnel, const char *path)
{
	struct file_data f = { 0 };
	char why[160];
	int rc;

	ticket_key_wipe(k);
	if (!path)
		return generate(k, tunnel);
	rc = file_read_private(path, TICKET_KEY_FILE_MAX, &f, why, sizeof(why));
	if (rc == 0)
		rc = ticket_key_parse(f.data, f.len, k->key, why, sizeof(why));
	file_data_free(&f);
	if (rc < 0) {
		/* The file's name and what is wrong with it; never its bytes. */
		log_err("[%s] ticket-key-file %s: %s", tunnel, path, why);
		return rc;
	}
	k->set = true;
	k->from_file = true;
	return 0;
}

void ticket_key_carry(struct ticket_key *to, const struct ticket_key *from)
{
	if (to->from_file || from->from_file || !from->set)
		return;
	memcpy(to->key, from->key, TICKET_KEY_SIZE);
}

int ticket_key_enable(const struct ticket_key *k, gnutls_session_t session, unsigned lifetime)
{
	/* GnuTLS copies the key into the session. */
	gnutls_datum_t key = { .data = (unsigned char *)k->key, .size = TICKET_KEY_SIZE };
	int rc;

	/* Every session of a tunnel (and every host sharing a key file) must use the same
	 * lifetime: GnuTLS derives the period's key from it, and one with another lifetime
	 * could not read the tickets. */
	gnutls_db_set_cache_expiration(session, (int)lifetime);
	rc = gnutls_session_ticket_enable_server(session, &key);
	return rc < 0 ? rc : 0;
}

void ticket_key_wipe(struct ticket_key *k)
{
	explicit_bzero(k, sizeof(*k));
}
