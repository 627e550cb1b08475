/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_LOG_H
#define KTUN_LOG_H

/* One line per event on stderr; safe from any thread (one write(2) per line). Levels are
 * syslog's priorities (LOG_ERR ... LOG_DEBUG), so that a line's level is what journald files
 * it under when stderr is the journal (each line then starts with "<N>", sd-daemon(3)). */

#include <stdbool.h>
#include <syslog.h>

/* The syslog priority named error, warning, notice, info or debug; -1 for any other name. */
int log_level_parse(const char *name);
enum log_format { LOG_FORMAT_TEXT, LOG_FORMAT_JSON };
/* LOG_FORMAT_TEXT for "text", LOG_FORMAT_JSON for "json"; -1 for any other name. */
int log_format_parse(const char *name);
/* json: each line one JSON object (log_json.h) instead of "ktund: LEVEL: text". */
void log_set_format(enum log_format f);
/* At LOG_DEBUG, GnuTLS's own log joins ours (as debug lines); below, it stays off. */
void log_set_level(int level);
bool log_enabled(int level);
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_gnutls_error(const char *what, int rc);
/* Whether journal_stream (JOURNAL_STREAM's value, "DEV:INODE", or NULL) names the file open
 * on fd: systemd's test for "stderr is the journal". */
bool log_is_journal_stream(const char *journal_stream, int fd);

#define log_err(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) \
	do { if (log_enabled(LOG_DEBUG)) log_msg(LOG_DEBUG, __VA_ARGS__); } while (0)

#endif
