// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
//
// Live egress enforcement for one container: cgroup v2 sock_addr programs
// on the container's cgroup let connect() (and sendmsg() on unconnected UDP
// sockets) through only to peers in the allow maps, which user space fills
// from the learned profile. Everything else fails with EPERM and is reported
// on the ring buffer.

#include <linux/bpf.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct peer4 {
	__u32 addr; // network byte order
	__u16 port; // host byte order
	__u16 proto; // IPPROTO_TCP or IPPROTO_UDP
};

struct peer6 {
	__u32 addr[4];
	__u16 port;
	__u16 proto;
};

struct denial {
	__u32 family;
	__u32 pid;
	__u32 addr[4];
	__u16 port;
	__u16 proto;
};

const struct denial *unused_denial __attribute__((unused));

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct peer4);
	__type(value, __u8);
} allow4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct peer6);
	__type(value, __u8);
} allow6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 16);
} denials SEC(".maps");

static __always_inline void report(__u32 family, struct bpf_sock_addr *ctx, __u16 port)
{
	struct denial *d = bpf_ringbuf_reserve(&denials, sizeof(*d), 0);
	if (!d)
		return; // the denial itself still happens
	d->family = family;
	d->pid = bpf_get_current_pid_tgid() >> 32;
	if (family == 2) {
		d->addr[0] = ctx->user_ip4;
		d->addr[1] = d->addr[2] = d->addr[3] = 0;
	} else {
		d->addr[0] = ctx->user_ip6[0];
		d->addr[1] = ctx->user_ip6[1];
		d->addr[2] = ctx->user_ip6[2];
		d->addr[3] = ctx->user_ip6[3];
	}
	d->port = port;
	d->proto = ctx->protocol;
	bpf_ringbuf_submit(d, 0);
}

static __always_inline int check4(struct bpf_sock_addr *ctx)
{
	struct peer4 k = {};
	k.addr = ctx->user_ip4;
	k.port = bpf_ntohs((__u16)ctx->user_port);
	k.proto = ctx->protocol;
	if (bpf_map_lookup_elem(&allow4, &k))
		return 1;
	report(2, ctx, k.port);
	return 0;
}

static __always_inline int check6(struct bpf_sock_addr *ctx)
{
	struct peer6 k = {};
	k.addr[0] = ctx->user_ip6[0];
	k.addr[1] = ctx->user_ip6[1];
	k.addr[2] = ctx->user_ip6[2];
	k.addr[3] = ctx->user_ip6[3];
	k.port = bpf_ntohs((__u16)ctx->user_port);
	k.proto = ctx->protocol;
	if (bpf_map_lookup_elem(&allow6, &k))
		return 1;
	report(10, ctx, k.port);
	return 0;
}

SEC("cgroup/connect4")
int vigil_connect4(struct bpf_sock_addr *ctx) { return check4(ctx); }

SEC("cgroup/sendmsg4")
int vigil_sendmsg4(struct bpf_sock_addr *ctx) { return check4(ctx); }

SEC("cgroup/connect6")
int vigil_connect6(struct bpf_sock_addr *ctx) { return check6(ctx); }

SEC("cgroup/sendmsg6")
int vigil_sendmsg6(struct bpf_sock_addr *ctx) { return check6(ctx); }
