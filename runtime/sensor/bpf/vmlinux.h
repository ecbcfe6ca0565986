/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A trimmed vmlinux.h: only the kernel types and fields sensor.bpf.c reads.
 *
 * Why trimmed: the full header that `bpftool btf dump file
 * /sys/kernel/btf/vmlinux format c` writes is ~3 MB and changes with every
 * kernel. With CO-RE, a struct marked preserve_access_index only needs the
 * fields the program touches; libbpf/cilium-ebpf relocate every access against
 * the running kernel's BTF at load time, so field order and the absent fields
 * do not matter. The field names and types below were copied from that dump
 * (kernel 6.18); a kernel without one of them fails the load with a CO-RE error
 * that names the field, and the sensor falls back to fanotify.
 */
/* bpf_tracing.h picks kernel pt_regs field names when this guard is defined. */
#ifndef __VMLINUX_H__
#define __VMLINUX_H__

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef signed char s8;
typedef short s16;
typedef int s32;
typedef long long s64;

typedef u8 __u8;
typedef u16 __u16;
typedef u32 __u32;
typedef u64 __u64;
typedef s32 __s32;
typedef s64 __s64;
typedef u16 __be16;
typedef u32 __be32;
typedef u32 __wsum;
typedef int pid_t;
typedef unsigned short umode_t;
typedef _Bool bool;

enum {
	false = 0,
	true = 1,
};

/* UAPI constants the helpers header needs (from linux/bpf.h). */
enum bpf_map_type {
	BPF_MAP_TYPE_HASH = 1,
	BPF_MAP_TYPE_ARRAY = 2,
	BPF_MAP_TYPE_PERCPU_ARRAY = 6,
	BPF_MAP_TYPE_LRU_HASH = 9,
	BPF_MAP_TYPE_TASK_STORAGE = 29,
	BPF_MAP_TYPE_RINGBUF = 27,
};

enum {
	BPF_ANY = 0,
	BPF_NOEXIST = 1,
	BPF_EXIST = 2,
};

enum {
	BPF_F_NO_PREALLOC = 1,
};

enum {
	BPF_LOCAL_STORAGE_GET_F_CREATE = 1,
};

enum {
	BPF_RB_NO_WAKEUP = 1,
	BPF_RB_FORCE_WAKEUP = 2,
};

enum {
	BPF_RB_AVAIL_DATA = 0,
};

/* The context of cgroup sock_addr programs (UAPI, linux/bpf.h): the
 * verifier rewrites its accesses, so it needs no CO-RE; only the leading
 * fields the sensor reads. */
struct bpf_sock_addr {
	__u32 user_family;
	__u32 user_ip4; /* network byte order */
	__u32 user_ip6[4];
	__u32 user_port; /* network byte order */
	__u32 family;
	__u32 type;
	__u32 protocol;
};

/* Its values changed in Linux 6.12 (I_DIRTY_PAGES was 1 << 2); CO-RE reads
 * the running kernel's. */
enum inode_state_flags_t {
	I_DIRTY_PAGES = 64,
};

#pragma clang attribute push(__attribute__((preserve_access_index)), apply_to = record)

struct pt_regs {
	long unsigned int r15;
	long unsigned int r14;
	long unsigned int r13;
	long unsigned int r12;
	long unsigned int bp;
	long unsigned int bx;
	long unsigned int r11;
	long unsigned int r10;
	long unsigned int r9;
	long unsigned int r8;
	long unsigned int ax;
	long unsigned int cx;
	long unsigned int dx;
	long unsigned int si;
	long unsigned int di;
	long unsigned int orig_ax;
	long unsigned int ip;
	long unsigned int cs;
	long unsigned int flags;
	long unsigned int sp;
	long unsigned int ss;
};

struct ns_common {
	unsigned int inum;
};

struct mnt_namespace {
	struct ns_common ns;
};

struct task_struct;

struct pid_namespace {
	struct task_struct *child_reaper;
};

struct nsproxy {
	struct mnt_namespace *mnt_ns;
	struct pid_namespace *pid_ns_for_children;
};

struct dentry;

struct hlist_node {
	struct hlist_node *next;
	struct hlist_node **pprev;
};

struct hlist_head {
	struct hlist_node *first;
};

struct qstr {
	const unsigned char *name;
};

/* Fields in anonymous unions are declared flat: CO-RE finds them by name. */
struct dentry {
	struct dentry *d_parent;
	struct qstr d_name;
	union {
		struct hlist_node d_alias;
	} d_u;
};

struct super_block {
	u32 s_dev; /* dev_t: major << 20 | minor */
};

struct timespec64 {
	s64 tv_sec;
	long tv_nsec;
};

struct path {
	struct dentry *dentry;
};

struct fs_struct {
	struct path pwd;
};

struct cred;
struct user_namespace;

struct inode {
	umode_t i_mode;
	struct super_block *i_sb;
	enum inode_state_flags_t i_state;
	struct hlist_head i_dentry;
};

struct file {
	void *private_data;
	struct inode *f_inode;
	struct path f_path;
};

struct mm_struct {
	long unsigned int arg_start;
	long unsigned int arg_end;
	struct file *exe_file;
};

struct fdtable {
	unsigned int max_fds;
	struct file **fd;
};

struct files_struct {
	struct fdtable *fdt;
};

struct task_struct {
	struct mm_struct *mm;
	pid_t pid;
	pid_t tgid;
	struct task_struct *real_parent;
	struct task_struct *group_leader;
	struct files_struct *files;
	struct fs_struct *fs;
	struct nsproxy *nsproxy;
	const struct cred *real_cred;
	const struct cred *cred;
};

struct linux_binprm {
	const char *filename;
	const char *interp;
};

struct in6_addr {
	union {
		u8 u6_addr8[16];
	} in6_u;
};

struct sock_common {
	__be32 skc_daddr;
	__be32 skc_rcv_saddr;
	__be16 skc_dport;
	u16 skc_num;
	unsigned short skc_family;
	struct in6_addr skc_v6_daddr;
	struct in6_addr skc_v6_rcv_saddr;
};

struct sock {
	struct sock_common __sk_common;
	u16 sk_protocol;
	u16 sk_type;
};

struct socket {
	struct sock *sk;
};

#pragma clang attribute pop


#endif /* __VMLINUX_H__ */
