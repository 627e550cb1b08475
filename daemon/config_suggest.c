// SPDX-License-Identifier: GPL-2.0-only
#include <stdio.h>
#include <string.h>

#include "config.h"

/* "did you mean": an unknown option is most often a known one mistyped, and naming the one
 * meant saves a trip to the man page. Closeness is the optimal string alignment distance
 * (Levenshtein with adjacent transpositions, the commonest typo). */

#define KEY_MAX 64

static size_t distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), d[KEY_MAX + 1][KEY_MAX + 1];

	if (la > KEY_MAX || lb > KEY_MAX)
		return (size_t)-1;
	for (size_t i = 0; i <= la; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= la; i++)
		for (size_t j = 1; j <= lb; j++) {
			size_t cost = a[i - 1] != b[j - 1], best = d[i - 1][j - 1] + cost;

			if (d[i - 1][j] + 1 < best)
				best = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < best)
				best = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    d[i - 2][j - 2] + 1 < best)
				best = d[i - 2][j - 2] + 1;
			d[i][j] = best;
		}
	return d[la][lb];
}

static void consider(const char *key, const char *name, char *best, size_t *best_d)
{
	size_t d = distance(key, name);

	if (d < *best_d) {
		*best_d = d;
		snprintf(best, KEY_MAX + 1, "%s", name);
	}
}

const char *config_suggest(const char *key)
{
	static __thread char best[KEY_MAX + 1];
	/* Up to a third of the key may be wrong, at least one character: "frobnicate" is no
	 * option's typo. */
	size_t best_d = (size_t)-1, limit = strlen(key) / 3 ? strlen(key) / 3 : 1;
	const char *name;
	bool prefix;

	for (size_t i = 0; (name = config_option_at(i, &prefix)); i++) {
		if (!prefix) {
			consider(key, name, best, &best_d);
			continue;
		}
		for (int k = POLICY_ALL; k <= POLICY_SERIAL; k++) {
			char full[KEY_MAX + 1];

			if (!strcmp(name, "verify-") && k == POLICY_ALL)
				continue; /* a client always verifies: there is no verify-all */
			snprintf(full, sizeof(full), "%s%s", name, policy_kind_name((enum policy_kind)k));
			consider(key, full, best, &best_d);
		}
	}
	return best_d <= limit ? best : NULL;
}
