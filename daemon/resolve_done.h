/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_RESOLVE_DONE_H
#define KTUN_RESOLVE_DONE_H

struct worker;

/* Hands worker w's answered name lookups (resolver.h) to their connections' phase, as the
 * completion of OP_RESOLVE, and frees them. The worker's loop, on its eventfd. */
void resolve_done(struct worker *w);

#endif
