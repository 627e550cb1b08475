// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <time.h>
#include <gnutls/gnutls.h>

#include "log.h"
#include "log_json.h"

static const char *const level_names[] = {
	[LOG_ERR] = "error", [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
	[LOG_INFO] = "info", [LOG_DEBUG] = "debug",
};

/* GnuTLS's log level while ours is debug: 2 is its handshake trace; above that it dumps
 * records and buffers. */
#define GNUTLS_TRACE_LEVEL 2

static int max_level = LOG_INFO;
static enum log_format format = LOG_FORMAT_TEXT;
static bool gnutls_routed;

static pthread_once_t journal_once = PTHREAD_ONCE_INIT;
static bool to_journal;

int log_level_parse(const char *name)
{
	for (unsigned i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (level_names[i] && !strcmp(name, level_names[i]))
			return (int)i;
	return -1;
}

int log_format_parse(const char *name)
{
	if (!strcmp(name, "text"))
		return LOG_FORMAT_TEXT;
	if (!strcmp(name, "json"))
		return LOG_FORMAT_JSON;
	return -1;
}

void log_set_format(enum log_format f)
{
	format = f;
}

static void gnutls_line(int level, const char *text)
{
	size_t n = strlen(text);

	/* GnuTLS ends its lines with a newline; ours adds one. */
	while (n && text[n - 1] == '\n')
		n--;
	log_msg(LOG_DEBUG, "gnutls[%d]: %.*s", level, (int)n, text);
}

void log_set_level(int level)
{
	max_level = level;
	if (level >= LOG_DEBUG) {
		gnutls_global_set_log_function(gnutls_line);
		gnutls_global_set_log_level(GNUTLS_TRACE_LEVEL);
		gnutls_routed = true;
	} else if (gnutls_routed) {
		gnutls_global_set_log_level(0);
		gnutls_routed = false;
	}
}

bool log_enabled(int level)
{
	return level <= max_level;
}

static bool parse_u64(const char *s, const char *end, uint64_t *out)
{
	char *stop;

	if (s == end || *s < '0' || *s > '9')
		return false;
	errno = 0;
	*out = strtoull(s, &stop, 10);
	return errno == 0 && stop == end;
}

bool log_is_journal_stream(const char *journal_stream, int fd)
{
	const char *colon;
	uint64_t dev, ino;
	struct stat st;

	if (!journal_stream)
		return false;
	colon = strchr(journal_stream, ':');
	if (!colon || !parse_u64(journal_stream, colon, &dev) ||
	    !parse_u64(colon + 1, colon + 1 + strlen(colon + 1), &ino))
		return false;
	if (fstat(fd, &st) < 0)
		return false;
	return (uint64_t)st.st_dev == dev && (uint64_t)st.st_ino == ino;
}

/* systemd sets JOURNAL_STREAM for a service whose stderr it connects to journald; it is
 * inherited, so only a match with the stderr we actually have counts (sd-daemon(3)). Decided
 * once, on the first line, so that even a line logged before main() sets anything up is
 * filed right. */
static void journal_check(void)
{
	to_journal = log_is_journal_stream(getenv("JOURNAL_STREAM"), STDERR_FILENO);
}

/* RFC 3339 in UTC with milliseconds, for lines that journald does not stamp itself. Returns
 * the length written (LOG_TIME_LEN), or 0 if the clock cannot be read. */
#define LOG_TIME_LEN 24 /* 2026-12-03T04:40:00.123Z */
_Static_assert(LOG_TIME_LEN <= LOG_JSON_TIME_MAX, "a time fits a JSON line");
static int format_time(char *out, size_t cap)
{
	struct timespec now;
	struct tm tm;

	if (clock_gettime(CLOCK_REALTIME, &now) < 0 || !gmtime_r(&now.tv_sec, &tm) ||
	    strftime(out, cap, "%Y-%m-%dT%H:%M:%S", &tm) != 19)
		return 0;
	return 19 + snprintf(out + 19, cap - 19, ".%03uZ", (unsigned)(now.tv_nsec / 1000000) % 1000u);
}

void log_msg(int level, const char *fmt, ...)
{
	char text[2048], line[LOG_JSON_MAX(sizeof(text)) + 8], stamp[LOG_TIME_LEN + 1] = "";
	va_list ap;
	int n, len;

	if (!log_enabled(level) || level < 0 ||
	    level >= (int)(sizeof(level_names) / sizeof(level_names[0])) || !level_names[level])
		return;
	pthread_once(&journal_once, journal_check);
	va_start(ap, fmt);
	len = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (len < 0)
		return;
	if (len > (int)sizeof(text) - 1)
		len = (int)sizeof(text) - 1;
	if (to_journal)
		n = snprintf(line, sizeof(line), "<%d>", level);
	else
		n = 0, format_time(stamp, sizeof(stamp));
	if (format == LOG_FORMAT_JSON) {
		/* line holds LOG_JSON_MAX(sizeof(text)) after the prefix: it always fits. */
		n += log_json_line(level_names[level], stamp, text, (size_t)len, line + n,
				   sizeof(line) - 1 - (size_t)n);
	} else {
		n += snprintf(line + n, sizeof(line) - (size_t)n, "%s%sktund: %s: %.*s", stamp,
			      *stamp ? " " : "", level_names[level], len, text);
	}
	line[n++] = '\n';
	/* One write per line, so that lines from several threads never interleave; a short or
	 * failed write is not retried. stderr is blocking: a stalled reader (journald) would
	 * stall the thread that logs, which is why the data path logs only per connection. */
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		return;
}

void log_gnutls_error(const char *what, int rc)
{
	log_err("%s: %s", what, gnutls_strerror(rc));
}
