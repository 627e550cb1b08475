/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_CONN_REPORT_H
#define KTUN_CONN_REPORT_H

#include <stdint.h>
#include <stdio.h>

struct ktun;

/* Writes one line per live connection (any thread but the workers'); -ENOMEM if a worker's
 * lines could not be formatted. */
int conn_report(struct ktun *k, FILE *out, int64_t now_ms);

#endif
