// SPDX-License-Identifier: GPL-2.0-only
/* log_json.c: a finished log line as one JSON object: level, the tunnel in "[name] ", the
 * words of the message, each key=value and key="quoted value" pair as a field; every byte
 * JSON cannot carry as itself escaped. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "log_json.h"

static void check_line(const char *level, const char *text, const char *want)
{
	char out[LOG_JSON_MAX(512)];
	int n = log_json_line(level, "", text, strlen(text), out, sizeof(out));

	CHECK(n >= 0);
	if (n < 0)
		return;
	if (strlen(want) != (size_t)n || memcmp(out, want, (size_t)n)) {
		fprintf(stderr, "line:  %s\nwant:  %s\ngot:   %.*s\n", text, want, n, out);
		CHECK(!"the JSON of a line");
	}
}

static void test_fields(void)
{
	check_line("info", "[edge] close peer=10.0.0.1:5 id=\"CN=a b,O=c\" up=12 reason=eof",
		   "{\"level\":\"info\",\"tunnel\":\"edge\",\"msg\":\"close\",\"peer\":\"10.0.0.1:5\","
		   "\"id\":\"CN=a b,O=c\",\"up\":\"12\",\"reason\":\"eof\"}");
	/* No tunnel, no pairs: the whole text is the message. */
	check_line("notice", "ready", "{\"level\":\"notice\",\"msg\":\"ready\"}");
	check_line("error", "[t] cannot listen on 127.0.0.1:1: Address in use",
		   "{\"level\":\"error\",\"tunnel\":\"t\",\"msg\":\"cannot listen on 127.0.0.1:1: "
		   "Address in use\"}");
	/* A quoted name in the words of a message stays words, even holding "k=v". */
	check_line("error", "[t] crl x (issuer \"CN=a b=c\"): bad",
		   "{\"level\":\"error\",\"tunnel\":\"t\",\"msg\":\"crl x (issuer \\\"CN=a b=c\\\"): "
		   "bad\"}");
	/* An empty value, a quoted value with spaces, words after the pairs. */
	check_line("warning", "[t] reject peer= detail=\"no cert given\" then more",
		   "{\"level\":\"warning\",\"tunnel\":\"t\",\"msg\":\"reject then more\",\"peer\":\"\","
		   "\"detail\":\"no cert given\"}");
	/* Uppercase is not a key: a DN in the words stays a word. */
	check_line("info", "subject CN=x", "{\"level\":\"info\",\"msg\":\"subject CN=x\"}");
	/* "[" without "] " is no tunnel. */
	check_line("info", "[x]y", "{\"level\":\"info\",\"msg\":\"[x]y\"}");
	check_line("info", "[x]", "{\"level\":\"info\",\"tunnel\":\"x\",\"msg\":\"\"}");
}

static void test_escaping(void)
{
	/* cert_text's \xHH stays as the text line shows it; its backslash is escaped. */
	check_line("info", "[t] handshake id=\"CN=a\\x22b\\x5c\"",
		   "{\"level\":\"info\",\"tunnel\":\"t\",\"msg\":\"handshake\","
		   "\"id\":\"CN=a\\\\x22b\\\\x5c\"}");
	/* Raw bytes: control, DEL, >= 0x80, a quote and a backslash in a bare value. */
	check_line("info", "m k=\x01\x1f\x7f\x80\xff\"\\ t\tx",
		   "{\"level\":\"info\",\"msg\":\"m t\\u0009x\",\"k\":\"\\u0001\\u001f\\u007f"
		   "\\u0080\\u00ff\\\"\\\\\"}");
	/* A quoted value not closed, or closed inside a word: no pair, a word. */
	check_line("info", "k=\"open v",
		   "{\"level\":\"info\",\"msg\":\"k=\\\"open v\"}");
	check_line("info", "k=\"a\"b",
		   "{\"level\":\"info\",\"msg\":\"k=\\\"a\\\"b\"}");
	/* A backslash-escaped quote does not close the value. */
	check_line("info", "k=\"a\\\" b\"",
		   "{\"level\":\"info\",\"msg\":\"\",\"k\":\"a\\\\\\\" b\"}");
}

static void test_room(void)
{
	char text[512], out[LOG_JSON_MAX(sizeof(text))], time[LOG_JSON_TIME_MAX + 1];

	/* The worst line: every byte escaped to six. */
	memset(text, 0x01, sizeof(text));
	memcpy(text, "k=", 2);
	CHECK(log_json_line("warning", "", text, sizeof(text), out, sizeof(out)) > 0);
	memset(text, '"', sizeof(text));
	CHECK(log_json_line("warning", "", text, sizeof(text), out, sizeof(out)) > 0);
	for (size_t i = 0; i + 3 <= sizeof(text); i += 3)
		memcpy(text + i, "a= ", 3);
	CHECK(log_json_line("warning", "", text, sizeof(text), out, sizeof(out)) > 0);
	/* Too little room: refused, not cut into invalid JSON. */
	CHECK(log_json_line("info", "", "ready", 5, out, 10) == -ENOSPC);
	CHECK(log_json_line("info", "", "ready", 5, out, 29) == -ENOSPC);
	CHECK(log_json_line("info", "", "ready", 5, out, 30) == 30);
	/* The worst line with the longest time still fits. */
	memset(text, '"', sizeof(text));
	memset(time, '"', LOG_JSON_TIME_MAX);
	time[LOG_JSON_TIME_MAX] = '\0';
	CHECK(log_json_line("warning", time, text, sizeof(text), out, sizeof(out)) > 0);
}

static void test_time(void)
{
	char out[128];
	const char *want = "{\"time\":\"2026-12-03T04:40:00.123Z\",\"level\":\"notice\",\"msg\":\"ready\"}";
	int n = log_json_line("notice", "2026-12-03T04:40:00.123Z", "ready", 5, out, sizeof(out));

	CHECK(n == (int)strlen(want) && !memcmp(out, want, strlen(want)));
}

int main(void)
{
	test_fields();
	test_escaping();
	test_room();
	test_time();
	return check_result();
}
