/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Weighted Maglev lookup tables (Eisenbud et al., NSDI 2016), built in user
 * space and loaded into xlb_tables. The build is deterministic: a backend's
 * permutation depends only on its identity bytes (address, port, family), never
 * on local slot ids or insertion order, so every node with the same backend set
 * computes the same table and agrees on each flow without sharing state.
 */
#ifndef XLB_MAGLEV_H
#define XLB_MAGLEV_H

#include <stddef.h>
#include <linux/types.h>

struct xlb_maglev_backend {
	const void *key; /* identity bytes, the same on every node */
	size_t key_len;
	__u32 weight; /* relative share; 0 means "not in the table" */
	__u32 id; /* value written into the table slots (local backend id) */
};

/* Smallest prime above XLB_MAGLEV_SLOTS_PER_BACKEND x n, within [MIN_SIZE, MAX_SIZE]. */
__u32 xlb_maglev_size(size_t n_backends);

/* Returns 1 if n is prime. */
int xlb_maglev_is_prime(__u32 n);

/*
 * Fills table[0..size) with backend ids. size must be prime and at least the
 * number of backends with weight > 0. Returns 0, -EINVAL on bad arguments
 * (size not prime, too small, duplicate keys), -ENODATA when no backend has a
 * weight, -ENOMEM.
 */
int xlb_maglev_build(const struct xlb_maglev_backend *backends, size_t n, __u32 *table,
		     __u32 size);

/*
 * A backend's permutation in a table of size slots (size prime): the paper's
 * offset and skip, slot j of its preference list being (offset + j x skip) % size.
 * Exposed so that tests and tools can check a table against the paper's loop.
 * Returns 0 or -EINVAL.
 */
int xlb_maglev_permutation(const void *key, size_t key_len, __u32 size, __u32 *offset,
			   __u32 *skip);

#endif /* XLB_MAGLEV_H */
