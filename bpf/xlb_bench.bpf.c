// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Benchmark harness, never loaded in production. BPF_PROG_TEST_RUN with
 * repeat > 1 runs a program again on the frame the previous run rewrote, so a
 * NAT rewrite would turn the second packet into non-VIP traffic. This wrapper
 * restores the frame from a template before every run, optionally varies the
 * client address and port to spread packets over many flows (each CPU its own
 * flows, so CPUs running it at once never meet on one), and tail-calls
 * the program under test: xlb_xdp, or a bare "return XDP_TX" as the floor, so
 * both pay the same restore cost and the ratio between them is the load
 * balancer's own price.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "xlb_bench.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct xlb_bench_cfg);
	__uint(max_entries, 1);
} bench_cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 1);
} bench_seq SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 1);
} bench_target SEC(".maps");

SEC("xdp")
int bench_wrap(struct xdp_md *ctx)
{
	__u32 zero = 0, len, n, cpus;
	struct xlb_bench_cfg *cfg = bpf_map_lookup_elem(&bench_cfg, &zero);
	__u64 *seq = bpf_map_lookup_elem(&bench_seq, &zero);
	__be16 port;
	__u8 low[2];

	if (!cfg || !seq)
		return XDP_ABORTED;
	len = cfg->len;
	if (len > XLB_BENCH_PKT_MAX || len < 14)
		return XDP_ABORTED;
	if (bpf_xdp_store_bytes(ctx, 0, cfg->pkt, len))
		return XDP_ABORTED;
	if (cfg->nflows > 1) {
		/* Flow n as xlb_bench.h numbers them. */
		n = *seq % cfg->nflows;
		(*seq)++;
		cpus = cfg->cpus;
		if (cpus > 1)
			n = n * cpus + bpf_get_smp_processor_id() % cpus;
		n += cfg->base;
		low[0] = 128 + ((n >> 8) & 0x3f);
		low[1] = n & 0xff;
		port = bpf_htons(1024 + (n >> 14));
		if (bpf_xdp_store_bytes(ctx, cfg->addr_off, low, 2) ||
		    bpf_xdp_store_bytes(ctx, cfg->port_off, &port, 2))
			return XDP_ABORTED;
	}
	bpf_tail_call(ctx, &bench_target, 0);
	return XDP_ABORTED;
}

SEC("xdp")
int bench_floor(struct xdp_md *ctx)
{
	return XDP_TX;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
