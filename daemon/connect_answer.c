// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "connect_answer.h"

/* RFC 9110 5.6.2: tchar. */
static bool is_tchar(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* field-vchar, SP or HTAB (RFC 9110 5.5); obs-text (0x80 and above) included, as RFC 9112
 * lets a recipient take it: it is escaped before it reaches a log. */
static bool is_text(uint8_t c)
{
	return c == ' ' || c == '\t' || (c > 0x20 && c != 0x7f);
}

static int bad(const char **why, const char *text)
{
	*why = text;
	return -EBADMSG;
}

/* The line at p[0, len) (no CRLF) as a status line: HTTP/1.x SP 3DIGIT SP reason. */
static int status_line(const uint8_t *p, size_t len, struct connect_answer *a, const char **why)
{
	if (len < 12 || memcmp(p, "HTTP/1.", 7) || (p[7] != '0' && p[7] != '1') || p[8] != ' ')
		return bad(why, "the status line is not HTTP/1.x NNN REASON");
	for (size_t i = 9; i < 12; i++)
		if (p[i] < '0' || p[i] > '9')
			return bad(why, "the status code is not three digits");
	a->status = (unsigned)(p[9] - '0') * 100 + (unsigned)(p[10] - '0') * 10 + (unsigned)(p[11] - '0');
	if (a->status < 100 || a->status > 599)
		return bad(why, "the status code is outside 100-599");
	if (a->status < 200)
		return bad(why, "an interim (1xx) answer to CONNECT");
	if (len > 12 && p[12] != ' ')
		return bad(why, "no space after the status code");
	a->reason_len = 0;
	for (size_t i = 13; i < len; i++) {
		if (!is_text(p[i]))
			return bad(why, "a control byte in the reason phrase");
		if (a->reason_len < sizeof(a->reason) - 1)
			a->reason[a->reason_len++] = (char)p[i];
	}
	a->reason[a->reason_len] = '\0';
	return 0;
}

/* The line at p[0, len) as a header field: token ":" OWS value OWS. */
static int field_line(const uint8_t *p, size_t len, const char **why)
{
	size_t i = 0;

	while (i < len && is_tchar(p[i]))
		i++;
	if (i == 0 && len && (p[0] == ' ' || p[0] == '\t'))
		return bad(why, "a folded header line (obs-fold)");
	if (i == 0 || i == len || p[i] != ':')
		return bad(why, "a header line is not NAME: VALUE");
	for (i++; i < len; i++)
		if (!is_text(p[i]))
			return bad(why, "a control byte in a header value");
	return 0;
}

/* Bytes of a line not yet ended: only text may come before its CR. */
static int partial_line(const uint8_t *p, size_t len, const char **why)
{
	for (size_t i = 0; i < len; i++) {
		if (p[i] == '\r' && i == len - 1)
			break;
		if (!is_text(p[i]))
			return bad(why, p[i] == '\n' ? "a line ends in LF without CR" :
					"a control byte in the answer head");
	}
	return 0;
}

int connect_answer_parse(const uint8_t *p, size_t len, struct connect_answer *a, const char **why)
{
	size_t start = 0, line = 0;

	if (len > CONNECT_ANSWER_MAX)
		len = CONNECT_ANSWER_MAX;
	/* Catch a peer that is no relay at its first bytes, not at the timeout. */
	if (memcmp(p, "HTTP/1.", len < 7 ? len : 7))
		return bad(why, "the answer does not begin with HTTP/1.");
	for (;;) {
		const uint8_t *cr = memchr(p + start, '\r', len - start);
		size_t n;
		int rc;

		if (!cr || (size_t)(cr - p) + 1 >= len) {
			rc = partial_line(p + start, len - start, why);
			if (rc < 0)
				return rc;
			if (len == CONNECT_ANSWER_MAX)
				return bad(why, "the answer head is longer than 4096 bytes");
			return 0;
		}
		n = (size_t)(cr - p) - start;
		if (cr[1] != '\n')
			return bad(why, "a CR not followed by LF");
		if (memchr(p + start, '\n', n))
			return bad(why, "a line ends in LF without CR");
		if (line == 0)
			rc = status_line(p, n, a, why);
		else if (n == 0) {
			a->head_len = start + 2;
			return 1;
		} else
			rc = field_line(p + start, n, why);
		if (rc < 0)
			return rc;
		start += n + 2;
		line++;
	}
}
