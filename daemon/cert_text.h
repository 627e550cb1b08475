/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_CERT_TEXT_H
#define KTUN_CERT_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* Text a peer wrote into its certificate (names, SANs, its DN), before it is matched against
 * a rule, told to the origin or written to a log. GnuTLS hands such strings out with their
 * length and with any bytes the holder chose, NUL included: read as C strings they would end
 * early, so "edge.test\0.evil.example" would pass for edge.test. */

/* Whether LEN bytes are well-formed UTF-8 without a NUL, another C0 or C1 control character,
 * DEL, a line or paragraph separator or a bidirectional override or isolate: the only text
 * that may match a rule or reach the origin. */
bool cert_text_clean(const char *s, size_t len);
/* Copies LEN bytes into buf as one NUL-terminated line safe between the quotes of
 * key="value" log lines, conns lines and metric labels: '"', '\\', control bytes and every
 * byte of 0x80 and above are written as \xHH, so the line stays ASCII (valid UTF-8 for JSON
 * and the journal, whatever the holder wrote), unambiguous, and the holder cannot end the
 * value or write fields of its own. If buf is short, cut at a whole character and ended with "...". */
void cert_text_escape(const char *s, size_t len, char *buf, size_t buflen);

#endif
