// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The weighted Maglev table builder. Each backend's permutation comes from two
 * SipHash-2-4 values of its key bytes under fixed keys, so it is the same on every
 * node and every architecture. Backends are sorted by key bytes and take turns as
 * in the paper's population loop; weights decide how often a backend gets a turn
 * (a credit scheme, see xlb_maglev_build()). The build allocates once and never
 * divides inside the probe loop, because xlbd rebuilds tables of up to 65537
 * slots whenever a backend set changes.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <xlb/abi.h>

#include "maglev.h"

/*
 * Two fixed 128-bit SipHash keys, one per hash, so offset and skip are
 * independent. Changing them reshuffles every table on every node: the golden
 * test in tests/unit/test_maglev.c exists to catch that.
 */
static const __u64 xlb_maglev_seed_offset[2] = {0x786c622d6d61676cULL, 0x65762d6f66667365ULL};
static const __u64 xlb_maglev_seed_skip[2] = {0x786c622d6d61676cULL, 0x65762d736b697031ULL};

static inline __u64 xlb_rotl64(__u64 x, unsigned int r)
{
	return (x << r) | (x >> (64 - r));
}

/* Bytes are assembled explicitly so the hash does not depend on the host's byte order. */
static inline __u64 xlb_load_le64(const __u8 *p)
{
	return (__u64)p[0] | (__u64)p[1] << 8 | (__u64)p[2] << 16 | (__u64)p[3] << 24 |
	       (__u64)p[4] << 32 | (__u64)p[5] << 40 | (__u64)p[6] << 48 | (__u64)p[7] << 56;
}

#define XLB_SIPROUND(v0, v1, v2, v3)     \
	do {                             \
		v0 += v1;                \
		v1 = xlb_rotl64(v1, 13); \
		v1 ^= v0;                \
		v0 = xlb_rotl64(v0, 32); \
		v2 += v3;                \
		v3 = xlb_rotl64(v3, 16); \
		v3 ^= v2;                \
		v0 += v3;                \
		v3 = xlb_rotl64(v3, 21); \
		v3 ^= v0;                \
		v2 += v1;                \
		v1 = xlb_rotl64(v1, 17); \
		v1 ^= v2;                \
		v2 = xlb_rotl64(v2, 32); \
	} while (0)

/* SipHash-2-4 (Aumasson and Bernstein, 2012), 64-bit output. */
static __u64 xlb_siphash24(const __u64 key[2], const void *data, size_t len)
{
	const __u8 *p = data;
	__u64 v0 = key[0] ^ 0x736f6d6570736575ULL;
	__u64 v1 = key[1] ^ 0x646f72616e646f6dULL;
	__u64 v2 = key[0] ^ 0x6c7967656e657261ULL;
	__u64 v3 = key[1] ^ 0x7465646279746573ULL;
	__u64 m, last = (__u64)(len & 0xff) << 56;
	size_t i, tail = len & 7;

	for (i = 0; i + 8 <= len; i += 8) {
		m = xlb_load_le64(p + i);
		v3 ^= m;
		XLB_SIPROUND(v0, v1, v2, v3);
		XLB_SIPROUND(v0, v1, v2, v3);
		v0 ^= m;
	}
	p += len - tail;
	while (tail--)
		last |= (__u64)p[tail] << (8 * tail);
	v3 ^= last;
	XLB_SIPROUND(v0, v1, v2, v3);
	XLB_SIPROUND(v0, v1, v2, v3);
	v0 ^= last;
	v2 ^= 0xff;
	for (i = 0; i < 4; i++)
		XLB_SIPROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}

__u32 xlb_maglev_size(size_t n_backends)
{
	__u32 m;

	/* Above this, 100 x n is past the cap (and may not fit in 32 bits). */
	if (n_backends > (XLB_MAGLEV_MAX_SIZE - 1) / XLB_MAGLEV_SLOTS_PER_BACKEND)
		return XLB_MAGLEV_MAX_SIZE;
	m = (__u32)n_backends * XLB_MAGLEV_SLOTS_PER_BACKEND + 1;
	if (m < XLB_MAGLEV_MIN_SIZE)
		m = XLB_MAGLEV_MIN_SIZE;
	while (!xlb_maglev_is_prime(m))
		m++;
	return m < XLB_MAGLEV_MAX_SIZE ? m : XLB_MAGLEV_MAX_SIZE;
}

int xlb_maglev_is_prime(__u32 n)
{
	__u64 d;

	if (n < 4)
		return n >= 2;
	if (n % 2 == 0 || n % 3 == 0)
		return 0;
	for (d = 5; d * d <= n; d += 6) {
		if (n % d == 0 || n % (d + 2) == 0)
			return 0;
	}
	return 1;
}

static void xlb_maglev_perm(const void *key, size_t key_len, __u32 size, __u32 *offset, __u32 *skip)
{
	*offset = (__u32)(xlb_siphash24(xlb_maglev_seed_offset, key, key_len) % size);
	*skip = size > 1
		    ? (__u32)(xlb_siphash24(xlb_maglev_seed_skip, key, key_len) % (size - 1)) + 1
		    : 1;
}

int xlb_maglev_permutation(const void *key, size_t key_len, __u32 size, __u32 *offset, __u32 *skip)
{
	if ((!key && key_len) || !offset || !skip || !xlb_maglev_is_prime(size))
		return -EINVAL;
	xlb_maglev_perm(key, key_len, size, offset, skip);
	return 0;
}

/* Key order: bytes as memcmp() sees them, then the shorter key first. */
static int xlb_maglev_key_cmp(const struct xlb_maglev_backend *a,
			      const struct xlb_maglev_backend *b)
{
	size_t len = a->key_len < b->key_len ? a->key_len : b->key_len;
	int r = len ? memcmp(a->key, b->key, len) : 0;

	if (r)
		return r;
	return (a->key_len > b->key_len) - (a->key_len < b->key_len);
}

/*
 * Stable bottom-up merge sort of indexes into backends; ours rather than qsort()
 * because glibc's qsort() may allocate, and the build allocates exactly once.
 * Returns whichever of idx/tmp holds the result.
 */
static __u32 *xlb_maglev_sort(const struct xlb_maglev_backend *be, __u32 *idx, __u32 *tmp, size_t n)
{
	size_t width, lo, mid, hi, i, j, k;
	__u32 *t;

	for (width = 1; width < n; width *= 2) {
		for (lo = 0; lo < n; lo += 2 * width) {
			mid = lo + width < n ? lo + width : n;
			hi = lo + 2 * width < n ? lo + 2 * width : n;
			i = lo;
			j = mid;
			k = lo;
			while (i < mid && j < hi)
				tmp[k++] = xlb_maglev_key_cmp(&be[idx[j]], &be[idx[i]]) < 0
					       ? idx[j++]
					       : idx[i++];
			while (i < mid)
				tmp[k++] = idx[i++];
			while (j < hi)
				tmp[k++] = idx[j++];
		}
		t = idx;
		idx = tmp;
		tmp = t;
	}
	return idx;
}

/*
 * Once a backend's next slot is taken, it probes this many slots of its
 * permutation per branch: late in the fill most probes fail, and testing a group
 * together costs less than a mispredicted branch per probe (about 20% faster
 * builds at 65537 slots; wider groups measured slower).
 */
#define XLB_MAGLEV_LANES 6

/* Per weighted backend, in key order: everything the population loop touches. */
struct xlb_maglev_state {
	__u32 pos; /* next slot of its permutation to try */
	__u32 id;
	__u32 weight;
	__u32 placed;		     /* slots taken so far */
	__u32 hop[XLB_MAGLEV_LANES]; /* k x skip % size for k >= 1; hop[0]: LANES x skip % size */
};

static inline __u32 xlb_maglev_step(__u32 pos, __u32 hop, __u32 size)
{
	/* pos + hop may not fit in 32 bits for sizes above 2^31. */
	return pos < size - hop ? pos + hop : pos - (size - hop);
}

static inline int xlb_maglev_taken(const __u64 *filled, __u32 pos)
{
	return (filled[pos / 64] >> (pos % 64)) & 1;
}

/* Gives the backend its next free slot in permutation order (the table is not full). */
static inline void xlb_maglev_place(struct xlb_maglev_state *s, __u64 *filled, __u32 *table,
				    __u32 size)
{
	__u32 pos = s->pos, free_mask, k;

	while (xlb_maglev_taken(filled, pos)) {
		free_mask = 0;
		/* -O2 leaves this loop rolled, which costs about a tenth of the build. */
#pragma GCC unroll 8
		for (k = 1; k < XLB_MAGLEV_LANES; k++)
			free_mask |=
			    (__u32)!xlb_maglev_taken(filled, xlb_maglev_step(pos, s->hop[k], size))
			    << k;
		if (free_mask) {
			pos = xlb_maglev_step(pos, s->hop[__builtin_ctz(free_mask)], size);
			break;
		}
		pos = xlb_maglev_step(pos, s->hop[0], size);
	}
	filled[pos / 64] |= 1ULL << (pos % 64);
	table[pos] = s->id;
	s->pos = xlb_maglev_step(pos, s->hop[1], size);
	s->placed++;
}

/* Min-heap of (round << 32 | backend index): lower round first, then key order. */
static void xlb_maglev_sift_down(__u64 *heap, size_t n, size_t i)
{
	__u64 v = heap[i];
	size_t c;

	while ((c = 2 * i + 1) < n) {
		if (c + 1 < n && heap[c + 1] < heap[c])
			c++;
		if (heap[c] >= v)
			break;
		heap[i] = heap[c];
		i = c;
	}
	heap[i] = v;
}

/*
 * Weights, as a credit scheme: every backend starts one turn in credit, each
 * round gains its weight, and takes a turn (one slot, as in the paper) whenever
 * its credit reaches the largest weight, paying that back. So the k-th turn of a
 * backend of weight w comes in round 1 + ceil((k - 1) x wmax / w), within a round
 * backends go in key order, and with equal weights every backend takes one turn
 * per round: the paper's loop exactly. Starting in credit means that round one
 * gives every weighted backend a slot, which size >= backends makes possible.
 *
 * Rather than visiting every backend every round (rounds x backends, which a
 * 65535:1 weight mix turns into billions of steps), backends holding the largest
 * weight, which take a turn each round, are walked as a list, and the others wait
 * in a heap keyed by their next round; each round merges the two in key order.
 */
int xlb_maglev_build(const struct xlb_maglev_backend *backends, size_t n, __u32 *table, __u32 size)
{
	struct xlb_maglev_state *st;
	size_t i, nw = 0, nfast = 0, nheap = 0, fi;
	__u32 *idx, *tmp, *sorted, *fast, wmax = 0, cand, cf, cs;
	__u64 *heap, *filled, round, next, left;
	size_t nwords = ((size_t)size + 63) / 64;
	void *mem;

	if ((!backends && n) || !table || !xlb_maglev_is_prime(size))
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if (!backends[i].weight)
			continue;
		if (!backends[i].key && backends[i].key_len)
			return -EINVAL;
		nw++;
		if (backends[i].weight > wmax)
			wmax = backends[i].weight;
	}
	if (!nw)
		return -ENODATA;
	if (nw > size)
		return -EINVAL;

	mem = malloc(nw * (sizeof(*st) + 3 * sizeof(__u32) + sizeof(*heap)) +
		     nwords * sizeof(*filled));
	if (!mem)
		return -ENOMEM;
	heap = mem;
	filled = heap + nw;
	st = (struct xlb_maglev_state *)(filled + nwords);
	idx = (__u32 *)(st + nw);
	tmp = idx + nw;
	fast = tmp + nw;

	for (i = 0, nw = 0; i < n; i++) {
		if (backends[i].weight)
			idx[nw++] = (__u32)i;
	}
	sorted = xlb_maglev_sort(backends, idx, tmp, nw);
	for (i = 1; i < nw; i++) {
		if (!xlb_maglev_key_cmp(&backends[sorted[i - 1]], &backends[sorted[i]])) {
			free(mem);
			return -EINVAL;
		}
	}

	for (i = 0; i < nw; i++) {
		const struct xlb_maglev_backend *be = &backends[sorted[i]];
		struct xlb_maglev_state *s = &st[i];
		__u32 skip, k;

		xlb_maglev_perm(be->key, be->key_len, size, &s->pos, &skip);
		for (k = 0; k < XLB_MAGLEV_LANES; k++)
			s->hop[k] = (__u32)((__u64)(k ? k : XLB_MAGLEV_LANES) * skip % size);
		s->id = be->id;
		s->weight = be->weight;
		s->placed = 0;
		if (be->weight == wmax)
			fast[nfast++] = (__u32)i;
		else
			heap[nheap++] = 1ULL << 32 | i; /* round 1, already in heap order */
	}
	memset(filled, 0, nwords * sizeof(*filled));

	/* Each round merges the fast list with the heap entries due in it, both in key order. */
	left = size;
	for (round = 1; left; round++) {
		fi = 0;
		for (;;) {
			cf = fi < nfast ? fast[fi] : UINT32_MAX;
			cs = nheap && heap[0] >> 32 == round ? (__u32)heap[0] : UINT32_MAX;
			if (cf == UINT32_MAX && cs == UINT32_MAX)
				break;
			cand = cf < cs ? cf : cs;
			xlb_maglev_place(&st[cand], filled, table, size);
			if (!--left)
				break;
			if (cand == cf) {
				fi++;
				continue;
			}
			/* 1 + ceil(placed x wmax / w); rounds past size never come. */
			next = 1 + ((__u64)st[cand].placed * wmax + st[cand].weight - 1) /
				       st[cand].weight;
			if (next <= size)
				heap[0] = next << 32 | cand;
			else if (--nheap)
				heap[0] = heap[nheap];
			if (nheap)
				xlb_maglev_sift_down(heap, nheap, 0);
		}
	}
	free(mem);
	return 0;
}
