/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_LOG_JSON_H
#define KTUN_LOG_JSON_H

#include <stddef.h>

/* The most a line of len bytes can take as JSON: every byte escaped (\u00XX, 6 bytes), the
 * quotes, colons and commas a key=value pair gains, the fixed "level"/"tunnel"/"msg" keys and
 * a "time" of up to LOG_JSON_TIME_MAX bytes, escaped. */
#define LOG_JSON_TIME_MAX 32
#define LOG_JSON_MAX(len) (8 * (len) + 64 + 12 + 6 * LOG_JSON_TIME_MAX)

/* One log line as one JSON object, for log shippers: {"time": time if not empty (a plain
 * timestamp of at most LOG_JSON_TIME_MAX bytes), "level":..., "tunnel": the name in a
 * leading "[name] ", "msg": the words that are not key=value pairs, then every key=value or
 * key="quoted value" pair as a string field, in order}. Values are the text line's bytes
 * as they are (cert_text's \xHH stays \xHH); every byte JSON cannot carry as itself (a quote,
 * a backslash, a control byte, any byte >= 0x80) is escaped, so the object is valid JSON and
 * plain ASCII whatever the line holds. Writes out (not NUL-terminated); returns its length,
 * or -ENOSPC if it does not fit in cap (LOG_JSON_MAX(len) always does). */
int log_json_line(const char *level, const char *time, const char *text, size_t len, char *out,
		  size_t cap);

#endif
