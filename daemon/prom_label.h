/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_PROM_LABEL_H
#define KTUN_PROM_LABEL_H

#include <stdio.h>

/* Writes text as the inside of a Prometheus label value (text exposition format). */
void prom_label_put(FILE *out, const char *text);

#endif
