// SPDX-License-Identifier: GPL-2.0-only
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "connect_request.h"

/*
 * The CONNECT request head, parsed strictly (RFC 9110 §9.3.6, RFC 9112 §3 and §5, RFC 7239).
 * Every line ends in CRLF; a bare CR or LF, a NUL or other control character, obs-fold,
 * whitespace before a field's colon, another method, another request-target form than
 * host:port, a second Host or Forwarded and a body (Content-Length, Transfer-Encoding) are
 * refused. Unknown fields (curl's User-Agent, Proxy-Connection) are checked and ignored.
 * Thread-safe: no state outside the arguments.
 */

struct text {
	const char *p;
	size_t n;
};

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return rc;
}

static bool is_tchar(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

static bool is_digit(unsigned char ch)
{
	return ch >= '0' && ch <= '9';
}

static bool text_is(struct text t, const char *s)
{
	return t.n == strlen(s) && !memcmp(t.p, s, t.n);
}

static bool text_is_nocase(struct text t, const char *s)
{
	return t.n == strlen(s) && !strncasecmp(t.p, s, t.n);
}

bool connect_port_parse(const char *p, size_t n, uint16_t *port)
{
	unsigned v = 0;

	if (!n || n > 5 || (p[0] == '0' && n > 1))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!is_digit((unsigned char)p[i]))
			return false;
		v = v * 10 + (unsigned)(p[i] - '0');
	}
	if (v > 65535)
		return false;
	*port = (uint16_t)v;
	return true;
}

/* An IP literal that reads back exactly as written: inet_pton alone would accept forms
 * (IPv4 in IPv6's tail aside) that another parser reads differently. */
static bool parse_ip(struct text t, int family, uint16_t port, struct sockaddr_storage *ss,
		     socklen_t *len)
{
	char buf[INET6_ADDRSTRLEN + 1], back[INET6_ADDRSTRLEN];
	void *addr;

	if (!t.n || t.n >= sizeof(buf))
		return false;
	memcpy(buf, t.p, t.n);
	buf[t.n] = '\0';
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		addr = &sin->sin_addr;
		*len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		addr = &sin6->sin6_addr;
		*len = sizeof(*sin6);
	}
	if (inet_pton(family, buf, addr) != 1)
		return false;
	if (family == AF_INET)
		return inet_ntop(family, addr, back, sizeof(back)) && !strcmp(back, buf);
	return true;
}

/* A DNS name: labels of [A-Za-z0-9-], 1-63 long, not starting or ending with '-', at most
 * 253 in all, the last not all digits (which would read as a number). */
static bool valid_name(struct text t)
{
	size_t label = 0;
	bool digits = true;

	if (!t.n || t.n > 253)
		return false;
	for (size_t i = 0; i <= t.n; i++) {
		unsigned char ch = i < t.n ? (unsigned char)t.p[i] : '.';

		if (ch == '.') {
			if (!label || label > 63 || t.p[i - 1] == '-')
				return false;
			if (i == t.n && digits)
				return false;
			label = 0;
			digits = true;
			continue;
		}
		if (!(is_digit(ch) || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch == '-' && label)))
			return false;
		digits = digits && is_digit(ch);
		label++;
	}
	return true;
}

int connect_host_parse(const char *p, size_t n, uint16_t port, struct sockaddr_storage *dst,
		       socklen_t *dstlen, char *err, size_t errlen)
{
	struct text host = { p, n };
	char text[CONNECT_HOST_MAX];

	if (n >= sizeof(text))
		return fail(err, errlen, -EINVAL, "host longer than 253 characters");
	if (parse_ip(host, AF_INET, port, dst, dstlen))
		return 1;
	memcpy(text, p, n);
	text[n] = '\0';
	/* glibc's resolver would read it as an address (hex, octal, short forms): one address,
	 * one spelling, the one rules and logs use. */
	if (inet_aton(text, &(struct in_addr){ 0 }))
		return fail(err, errlen, -EINVAL, "host reads as an IPv4 address in a form other "
			    "than dotted decimal (write it as a.b.c.d)");
	if (!valid_name(host))
		return fail(err, errlen, -EINVAL, "host is neither an IP address nor a DNS name");
	return 0;
}

/* authority-form: host ":" port, host a name, an IPv4 address or "[" IPv6 "]". */
static int parse_authority(struct text t, struct connect_request *out, char *err, size_t errlen)
{
	struct text host, port;
	const char *colon;
	bool v6 = t.n && t.p[0] == '[';

	if (v6) {
		const char *close = memchr(t.p, ']', t.n);

		if (!close || (size_t)(close - t.p) + 1 >= t.n || close[1] != ':')
			return fail(err, errlen, -EINVAL, "bad IPv6 authority (want [ADDR]:PORT)");
		host = (struct text){ t.p + 1, (size_t)(close - t.p) - 1 };
		colon = close + 1;
	} else {
		colon = memrchr(t.p, ':', t.n);
		if (!colon)
			return fail(err, errlen, -EINVAL, "authority without a port (want HOST:PORT)");
		host = (struct text){ t.p, (size_t)(colon - t.p) };
	}
	port = (struct text){ colon + 1, t.n - (size_t)(colon + 1 - t.p) };
	if (!connect_port_parse(port.p, port.n, &out->port) || !out->port)
		return fail(err, errlen, -EINVAL, "bad port in the authority");
	if (host.n >= sizeof(out->host))
		return fail(err, errlen, -EINVAL, "host longer than 253 characters");
	memcpy(out->host, host.p, host.n);
	out->host[host.n] = '\0';
	if (v6) {
		if (!parse_ip(host, AF_INET6, out->port, &out->dst, &out->dstlen))
			return fail(err, errlen, -EINVAL, "bad IPv6 address in the authority");
		out->host_is_literal = true;
	} else {
		int rc = connect_host_parse(host.p, host.n, out->port, &out->dst, &out->dstlen, err,
					    errlen);

		if (rc < 0)
			return rc;
		out->host_is_literal = rc == 1;
	}
	return 0;
}

/* The node of a for= parameter: an IPv4 address or "[" IPv6 "]", each with an optional
 * ":" port; "unknown" and obfuscated "_..." identifiers name no address. */
static int parse_node(struct text v, struct connect_request *out, char *err, size_t errlen)
{
	struct text host = v, port = { NULL, 0 };
	uint16_t portnum = 0;
	int family = AF_INET;

	if (text_is_nocase(v, "unknown") || (v.n && v.p[0] == '_'))
		return 0;
	if (v.n && v.p[0] == '[') {
		const char *close = memchr(v.p, ']', v.n);

		if (!close)
			return fail(err, errlen, -EINVAL, "Forwarded: bad IPv6 node");
		host = (struct text){ v.p + 1, (size_t)(close - v.p) - 1 };
		family = AF_INET6;
		if (close + 1 < v.p + v.n) {
			if (close[1] != ':')
				return fail(err, errlen, -EINVAL, "Forwarded: bad IPv6 node");
			port = (struct text){ close + 2, v.n - (size_t)(close + 2 - v.p) };
		}
	} else {
		const char *colon = memchr(v.p, ':', v.n);

		if (colon) {
			host = (struct text){ v.p, (size_t)(colon - v.p) };
			port = (struct text){ colon + 1, v.n - host.n - 1 };
		}
	}
	if (port.p && !(port.n && port.p[0] == '_') && !connect_port_parse(port.p, port.n, &portnum))
		return fail(err, errlen, -EINVAL, "Forwarded: bad port in for=");
	if (!parse_ip(host, family, portnum, &out->src, &out->srclen))
		return fail(err, errlen, -EINVAL, "Forwarded: for= is not an IP address");
	return 0;
}

/* A parameter value: a token or a quoted-string without escapes. Advances *s. */
static bool take_value(struct text *s, struct text *value)
{
	size_t i = 0;

	if (s->n && s->p[0] == '"') {
		for (i = 1; i < s->n && s->p[i] != '"'; i++)
			if (s->p[i] == '\\' || (unsigned char)s->p[i] < 0x20 ||
			    (unsigned char)s->p[i] >= 0x7f)
				return false;
		if (i == s->n)
			return false;
		*value = (struct text){ s->p + 1, i - 1 };
		i++;
	} else {
		while (i < s->n && is_tchar((unsigned char)s->p[i]))
			i++;
		if (!i)
			return false;
		*value = (struct text){ s->p, i };
	}
	s->p += i;
	s->n -= i;
	return true;
}

static void skip_ows(struct text *s)
{
	while (s->n && (s->p[0] == ' ' || s->p[0] == '\t')) {
		s->p++;
		s->n--;
	}
}

/* One forwarded-element: pairs separated by ";" (RFC 7239 §4). Several elements (a chain of
 * proxies) are refused: ktund takes one claim from one authenticated peer. */
static int parse_forwarded(struct text s, struct connect_request *out, char *err, size_t errlen)
{
	bool seen_for = false;

	for (;;) {
		struct text name, value;
		size_t i = 0;

		while (i < s.n && is_tchar((unsigned char)s.p[i]))
			i++;
		name = (struct text){ s.p, i };
		if (!i || i == s.n || s.p[i] != '=')
			return fail(err, errlen, -EINVAL, "Forwarded: want name=value pairs");
		s.p += i + 1;
		s.n -= i + 1;
		if (!take_value(&s, &value))
			return fail(err, errlen, -EINVAL, "Forwarded: bad value");
		if (text_is_nocase(name, "for")) {
			int rc;

			if (seen_for)
				return fail(err, errlen, -EINVAL, "Forwarded: for= twice");
			seen_for = true;
			rc = parse_node(value, out, err, errlen);
			if (rc < 0)
				return rc;
		}
		skip_ows(&s);
		if (!s.n)
			return 0;
		if (s.p[0] == ',')
			return fail(err, errlen, -EINVAL, "Forwarded: several elements");
		if (s.p[0] != ';')
			return fail(err, errlen, -EINVAL, "Forwarded: want ';' between pairs");
		s.p++;
		s.n--;
		skip_ows(&s);
	}
}

/* "CONNECT " authority " HTTP/1.1" (or HTTP/1.0, which has no Host to require). */
static int parse_request_line(struct text line, struct connect_request *out, bool *http11,
			      struct text *authority, char *err, size_t errlen)
{
	const char *sp1 = memchr(line.p, ' ', line.n), *sp2;
	struct text method, target, version;

	if (!sp1)
		return fail(err, errlen, -EINVAL, "bad request line");
	method = (struct text){ line.p, (size_t)(sp1 - line.p) };
	if (!text_is(method, "CONNECT"))
		return fail(err, errlen, -EINVAL, "method is not CONNECT");
	sp2 = memchr(sp1 + 1, ' ', line.n - method.n - 1);
	if (!sp2)
		return fail(err, errlen, -EINVAL, "bad request line");
	target = (struct text){ sp1 + 1, (size_t)(sp2 - sp1) - 1 };
	version = (struct text){ sp2 + 1, line.n - (size_t)(sp2 + 1 - line.p) };
	if (text_is(version, "HTTP/1.1"))
		*http11 = true;
	else if (!text_is(version, "HTTP/1.0"))
		return fail(err, errlen, -EINVAL, "not HTTP/1.1 or HTTP/1.0");
	if (memchr(target.p, '/', target.n) || memchr(target.p, '@', target.n))
		return fail(err, errlen, -EINVAL, "request target is not HOST:PORT");
	*authority = target;
	return parse_authority(target, out, err, errlen);
}

struct fields {
	struct text authority;
	bool host, forwarded;
};

static int parse_field(struct text line, struct fields *f, struct connect_request *out, char *err,
		       size_t errlen)
{
	struct text name, value;
	size_t i = 0;

	if (line.p[0] == ' ' || line.p[0] == '\t')
		return fail(err, errlen, -EINVAL, "obsolete line folding");
	while (i < line.n && is_tchar((unsigned char)line.p[i]))
		i++;
	if (!i || i == line.n || line.p[i] != ':')
		return fail(err, errlen, -EINVAL, "bad header field");
	name = (struct text){ line.p, i };
	value = (struct text){ line.p + i + 1, line.n - i - 1 };
	skip_ows(&value);
	while (value.n && (value.p[value.n - 1] == ' ' || value.p[value.n - 1] == '\t'))
		value.n--;
	if (text_is_nocase(name, "Host")) {
		if (f->host)
			return fail(err, errlen, -EINVAL, "Host twice");
		f->host = true;
		if (value.n != f->authority.n || strncasecmp(value.p, f->authority.p, value.n))
			return fail(err, errlen, -EINVAL, "Host differs from the request target");
	} else if (text_is_nocase(name, "Forwarded")) {
		if (f->forwarded)
			return fail(err, errlen, -EINVAL, "Forwarded twice");
		f->forwarded = true;
		return parse_forwarded(value, out, err, errlen);
	} else if (text_is_nocase(name, "Content-Length") ||
		   text_is_nocase(name, "Transfer-Encoding")) {
		return fail(err, errlen, -EINVAL, "a CONNECT request has no body");
	}
	return 0;
}

/* Finds the head's end (CRLF CRLF), checking every byte before it: 0 while incomplete. */
static int find_end(const uint8_t *data, size_t len, size_t *end, char *err, size_t errlen)
{
	static const char method[] = "CONNECT ";
	size_t n = len < CONNECT_REQUEST_MAX ? len : CONNECT_REQUEST_MAX;

	if (memcmp(data, method, n < 8 ? n : 8))
		return fail(err, errlen, -EINVAL, "method is not CONNECT");
	for (size_t i = 0; i < n; i++) {
		uint8_t ch = data[i];

		if (ch == '\r') {
			if (i + 1 < n && data[i + 1] != '\n')
				return fail(err, errlen, -EINVAL, "CR without LF");
			continue;
		}
		if (ch == '\n') {
			if (!i || data[i - 1] != '\r')
				return fail(err, errlen, -EINVAL, "LF without CR");
			if (i >= 3 && data[i - 2] == '\n') {
				*end = i + 1;
				return 1;
			}
			continue;
		}
		if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
			return fail(err, errlen, -EINVAL, "control character 0x%02x", ch);
	}
	if (len >= CONNECT_REQUEST_MAX)
		return fail(err, errlen, -EMSGSIZE, "request head longer than %d bytes",
			    CONNECT_REQUEST_MAX);
	return 0;
}

int connect_request_parse(const uint8_t *data, size_t len, struct connect_request *out, char *err,
			  size_t errlen)
{
	struct fields f = { 0 };
	struct text head, line;
	bool http11 = false;
	size_t end = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	err[0] = '\0';
	rc = find_end(data, len, &end, err, errlen);
	if (rc <= 0)
		return rc;
	head = (struct text){ (const char *)data, end - 2 }; /* each line keeps its CRLF */
	for (bool first = true; head.n; first = false) {
		const char *lf = memchr(head.p, '\n', head.n);

		line = (struct text){ head.p, (size_t)(lf - head.p) - 1 };
		head.n -= (size_t)(lf + 1 - head.p);
		head.p = lf + 1;
		if (first) {
			rc = parse_request_line(line, out, &http11, &f.authority, err, errlen);
		} else if (!line.n) {
			rc = fail(err, errlen, -EINVAL, "empty header line");
		} else {
			rc = parse_field(line, &f, out, err, errlen);
		}
		if (rc < 0)
			return rc;
	}
	if (http11 && !f.host)
		return fail(err, errlen, -EINVAL, "HTTP/1.1 request without Host");
	out->head_len = end;
	return (int)end;
}

size_t connect_answer_head(int status, char buf[static 128])
{
	const char *phrase;
	int n;

	switch (status) {
	case 200: phrase = "Connection established"; break;
	case 400: phrase = "Bad Request"; break;
	case 403: phrase = "Forbidden"; break;
	case 502: phrase = "Bad Gateway"; break;
	case 503: phrase = "Service Unavailable"; break;
	case 504: phrase = "Gateway Timeout"; break;
	default: status = 500; phrase = "Internal Server Error"; break;
	}
	if (status == 200)
		n = snprintf(buf, 128, "HTTP/1.1 200 %s\r\n\r\n", phrase);
	else
		n = snprintf(buf, 128, "HTTP/1.1 %d %s\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
			     status, phrase);
	return (size_t)n;
}
