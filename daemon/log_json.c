// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "log_json.h"

struct jbuf {
	char *p;
	size_t n, cap;
	bool full;
};

static void put(struct jbuf *b, const char *s, size_t len)
{
	if (b->full || len > b->cap - b->n) {
		b->full = true;
		return;
	}
	memcpy(b->p + b->n, s, len);
	b->n += len;
}

static void put_str(struct jbuf *b, const char *s)
{
	put(b, s, strlen(s));
}

/* JSON strings are Unicode; a byte >= 0x80 is not UTF-8 we vouch for (the text is bytes from
 * certificates, paths and peers), so it goes as \u00XX, the byte's value, and the object
 * stays ASCII. */
static void put_escaped(struct jbuf *b, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		char e[7];

		if (c == '"' || c == '\\') {
			e[0] = '\\';
			e[1] = (char)c;
			put(b, e, 2);
		} else if (c < 0x20 || c >= 0x7f) {
			snprintf(e, sizeof(e), "\\u%04x", c);
			put(b, e, 6);
		} else {
			put(b, (const char *)&c, 1);
		}
	}
}

struct token {
	const char *start;   /* the whole token */
	size_t len;
	const char *key;     /* NULL: a word of the message */
	size_t key_len;
	const char *value;
	size_t value_len;
};

static bool key_char(char c, bool first)
{
	return (c >= 'a' && c <= 'z') || c == '_' ||
	       (!first && ((c >= '0' && c <= '9') || c == '-' || c == '.'));
}

/* Where the quoted text starting at s[i] == '"' ends (one past its closing quote), a
 * backslash taking the byte after it along; len, and !*closed, if it is not closed. */
static size_t quote_end(const char *s, size_t len, size_t i, bool *closed)
{
	*closed = true;
	for (i++; i < len; i++) {
		if (s[i] == '\\')
			i++;
		else if (s[i] == '"')
			return i + 1;
	}
	*closed = false;
	return len;
}

/* A key=value pair: key="..." closed right before a space or the end, or key=bare. */
static bool pair_at(const char *s, size_t len, size_t i, struct token *t)
{
	size_t k = i, end;
	bool closed;

	while (k < len && key_char(s[k], k == i))
		k++;
	if (k == i || k >= len || s[k] != '=')
		return false;
	t->key = s + i;
	t->key_len = k - i;
	k++;
	if (k < len && s[k] == '"') {
		end = quote_end(s, len, k, &closed);
		if (!closed || (end < len && s[end] != ' '))
			return false;
		t->value = s + k + 1;
		t->value_len = end - k - 2;
	} else {
		for (end = k; end < len && s[end] != ' '; end++)
			;
		t->value = s + k;
		t->value_len = end - k;
	}
	t->start = s + i;
	t->len = end - i;
	return true;
}

/* The token at *pos (spaces skipped): a pair, else a word, which runs to the next space
 * outside quotes, so that a quoted name in a message ("issuer \"CN=a b=c\"") stays one. */
static bool next_token(const char *s, size_t len, size_t *pos, struct token *t)
{
	size_t i = *pos, end;
	bool closed;

	while (i < len && s[i] == ' ')
		i++;
	if (i >= len)
		return false;
	if (!pair_at(s, len, i, t)) {
		for (end = i; end < len && s[end] != ' ';)
			end = s[end] == '"' ? quote_end(s, len, end, &closed) : end + 1;
		t->start = s + i;
		t->len = end - i;
		t->key = NULL;
	}
	*pos = (size_t)(t->start + t->len - s);
	return true;
}

int log_json_line(const char *level, const char *time, const char *text, size_t len, char *out,
		  size_t cap)
{
	struct jbuf b = { .p = out, .cap = cap };
	const char *close = len && text[0] == '[' ? memchr(text, ']', len) : NULL;
	size_t start = 0, pos;
	struct token t;
	bool first = true;

	put_str(&b, "{");
	if (*time) {
		put_str(&b, "\"time\":\"");
		put_escaped(&b, time, strlen(time));
		put_str(&b, "\",");
	}
	put_str(&b, "\"level\":\"");
	put_escaped(&b, level, strlen(level));
	put_str(&b, "\"");
	/* "[name] " starts a tunnel's lines; the name never holds ']' (an INI section name). */
	if (close && ((size_t)(close - text) + 1 == len || close[1] == ' ')) {
		put_str(&b, ",\"tunnel\":\"");
		put_escaped(&b, text + 1, (size_t)(close - text) - 1);
		put_str(&b, "\"");
		start = (size_t)(close - text) + 1;
	}
	put_str(&b, ",\"msg\":\"");
	for (pos = start; next_token(text, len, &pos, &t);) {
		if (t.key)
			continue;
		if (!first)
			put_str(&b, " ");
		put_escaped(&b, t.start, t.len);
		first = false;
	}
	put_str(&b, "\"");
	for (pos = start; next_token(text, len, &pos, &t);) {
		if (!t.key)
			continue;
		put_str(&b, ",\"");
		put_escaped(&b, t.key, t.key_len);
		put_str(&b, "\":\"");
		put_escaped(&b, t.value, t.value_len);
		put_str(&b, "\"");
	}
	put_str(&b, "}");
	return b.full ? -ENOSPC : (int)b.n;
}
