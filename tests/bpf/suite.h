/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What the BPF_PROG_TEST_RUN suite's files share: the fixture (a private
 * network namespace with two veths, routes and permanent neighbours, and the
 * data plane loaded under a private pin path with a fixed set of services),
 * running one packet through one program, counter snapshots and the checks
 * that compare them. The case-table rows that most tests are made of, and the
 * frame each describes, are in cases.h, which the benchmark and lbstat-testgen
 * use as well.
 */
#ifndef XLB_TEST_SUITE_H
#define XLB_TEST_SUITE_H

#include <stdbool.h>
#include <linux/types.h>
#include <xlb/abi.h>

#include "dp.h"
#include "harness.h"
#include "cases.h"

/* Sizes of the suite's data plane instance: small, so it loads fast. */
#define T_MAX_VIPS 64
#define T_MAX_BACKENDS 64
#define T_CT_SIZE 65536

struct t_svc_state {
	struct xlb_vip_key key;
	__u32 vip_id;
	int has_backend;
	union xlb_addr be_addr; /* be */
	__u16 be_port; /* host order */
	__u32 be_id;
	__u8 be_mac[6];
	__u8 out_mac[6]; /* the LB's MAC on the link towards the backend */
};

struct t_env {
	struct xlb_dp *dp;
	char pin_path[64];
	int if_c; /* the LB's client-side veth: 198.18.1.1/24, 2001:db8:1::1/64 */
	int if_b; /* the LB's backend-side veth: 198.18.2.1/24, 2001:db8:2::1/64 */
	__u8 mac_c[6];
	__u8 mac_b[6];
	struct t_svc_state svc[T_SVC_MAX];
};

extern struct t_env t_env;

/* Fixed addresses of the topology (documentation ranges only). */
extern const __u8 t_client_mac[6];
extern const __u8 t_router_mac[6];
#define T_CLIENT4 "198.18.1.10"
#define T_CLIENT6 "2001:db8:1::10"
#define T_ROUTER_C4 "198.18.1.254" /* a router on the client side (no neighbour needed) */
#define T_ROUTER_C6 "2001:db8:1::fe"
#define T_ROUTER_B4 "198.18.2.254" /* a router on the backend side */
#define T_ROUTER_B6 "2001:db8:2::fe"
#define T_OTHER4 "198.18.2.200" /* routed, not a VIP, not a backend */
#define T_OTHER6 "2001:db8:2::200"
#define T_CLIENT_PORT_BASE 20000

/* The neighbour MAC the fixture gives a backend address: 02:00:00:00:02:<last byte>. */
void t_backend_mac(int family, const union xlb_addr *addr, __u8 mac[6]);

/* Group setup/teardown: netns, links, data plane, services. */
int t_setup(void **state);
int t_teardown(void **state);
/* Pin paths of extra instances: removed by t_pin_release, or at exit at the latest. */
void t_pin_register(const char *path);
void t_pin_release(const char *path);

/* A fresh client port, so every test's flows are new to conntrack. */
__u16 t_port(void);

/*
 * Runs one packet through one program of an instance (repeat 1); out must hold
 * XLB_PKT_BUF bytes. Returns 0 or -errno; *ret is the program's return value.
 */
int t_prog_run(struct xlb_dp *dp, enum t_hook hook, int ifindex, const void *in, size_t len,
	       void *out, __u32 *out_len, __u32 *ret);
/* The program's return value that a verdict counter (XLB_CNT_V_*) stands for under a hook. */
__u32 t_verdict_ret(enum t_hook hook, int verdict);
/* The verdict counter a reason counter implies (XLB_REASONS). */
int t_reason_verdict(int reason);
const char *t_hook_name(enum t_hook hook);

/* Counters of every VIP and backend id of an instance, summed over CPUs. */
struct t_counters {
	struct xlb_stats g;
	struct xlb_vip_stats vip[T_MAX_VIPS];
	struct xlb_backend_stats be[T_MAX_BACKENDS];
};

void t_counters_read(struct xlb_dp *dp, struct t_counters *c);

/*
 * What one packet must have moved: exactly one reason (and its verdict), the
 * events in the mask by one each, one VIP's and up to two backends' counters
 * by the given amounts; every other counter of the instance stays put.
 */
struct t_delta {
	int reason;
	__u64 events;
	__u32 vip_id; /* 0: no VIP counter moves */
	struct xlb_vip_stats vip;
	__u32 be_id[2]; /* 0: unused */
	struct xlb_backend_stats be[2];
};

/* Error collection: checks report every mismatch by name, then the test fails once. */
extern int t_errors;
void t_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void t_eq(const char *what, unsigned long long got, unsigned long long want);
/* Fails the test (cmocka fail) when errors were reported, after printing where. */
void t_done(const char *where);

void t_check_delta(const struct t_counters *before, const struct t_counters *after,
		   const struct t_delta *d);

/*
 * Compares a frame with the one expected: every field by name (addresses, ports,
 * MACs, TTL, flags, seq/ack, ICMP type/code and the quoted packet), each
 * checksum must verify (or be "none" where expected), then every byte.
 */
void t_check_frame(const void *got, size_t got_len, const void *want, size_t want_len);
/* The frame must be byte-identical to the input. */
void t_check_same(const void *got, size_t got_len, const void *want, size_t want_len);

/* Which backend a translated client->VIP frame was sent to (by its destination). */
int t_frame_dst(const void *frame, size_t len, union xlb_addr *addr, __u16 *port);

/* Flow hash of the data plane (xlb_hash_flow), to predict Maglev picks. */
__u32 t_hash_flow(int family, const union xlb_addr *saddr, const union xlb_addr *daddr,
		  __u16 sport, __u16 dport, __u8 proto);

/* Runs one row under one hook (the cmocka test body behind every row). */
void t_case_run(const struct xlb_case *c, enum t_hook hook);

/* Multi-step scenarios (scenarios.c). */
void t_sticky_table_change(void **state);
void t_draining(void **state);
void t_slot_reuse(void **state);
void t_flood_budget(void **state);
void t_shared_endpoint(void **state);
void t_ct_lifetimes(void **state);
void t_clock(void **state);
void t_endpoint_cache(void **state);
void t_fullnat(void **state);
void t_handoff(void **state);
void t_dsr(void **state);
void t_weights(void **state);
void t_no_table(void **state);
void t_batch_first_tables(void **state);

#endif /* XLB_TEST_SUITE_H */
