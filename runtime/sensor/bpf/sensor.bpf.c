// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
//
// Vigil's runtime sensor. Two programs report what container processes do:
//   - tp_btf/sched_process_exec: every successful exec (path, interpreter, argv);
//   - tp_btf/sys_enter: the set of syscalls used (a bitmap per mount namespace,
//     no event per syscall), and an event for file writes, unlinks, chmods,
//     renames, mkdirs and socket connect/bind/listen/accept.
// Both drop everything that does not run in a mount namespace user space put
// in `watched`, so hosts pay one hash lookup per syscall and nothing else.
// Containers are keyed by mount namespace because bpf_get_current_cgroup_id()
// is useless on cgroup-v1/hybrid hosts.
//
// Arguments are read at sys_enter, before the kernel acts: a failed open or
// connect is reported too, which is what a detector wants (an attempt is a
// signal) and what a learner tolerates (it only adds a path that was tried).

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define PATH_LEN 256
#define ARGS_LEN 512
#define MAX_SYSCALLS 512 // amd64 numbers are < 470; a bitmap of 8 words

#define AT_FDCWD -100
#define O_WRONLY 01
#define O_RDWR 02
#define O_CREAT 0100
#define O_TRUNC 01000
#define S_IFMT 0170000
#define S_IFSOCK 0140000
#define AF_UNIX 1
#define AF_INET 2
#define AF_INET6 10

// Syscall numbers, x86_64 (arch/x86/entry/syscalls/syscall_64.tbl).
#define NR_open 2
#define NR_connect 42
#define NR_accept 43
#define NR_bind 49
#define NR_listen 50
#define NR_truncate 76
#define NR_rename 82
#define NR_mkdir 83
#define NR_rmdir 84
#define NR_creat 85
#define NR_unlink 87
#define NR_chmod 90
#define NR_openat 257
#define NR_mkdirat 258
#define NR_unlinkat 263
#define NR_renameat 264
#define NR_fchmodat 268
#define NR_accept4 288
#define NR_renameat2 316
#define NR_openat2 437
#define NR_fchmodat2 452

enum kind {
	KIND_EXEC = 1,
	KIND_OPEN = 2, // opened for writing or creating
	KIND_UNLINK = 3,
	KIND_CHMOD = 4,
	KIND_RENAME = 5,
	KIND_MKDIR = 6,
	KIND_CONNECT = 7,
	KIND_BIND = 8,
	KIND_LISTEN = 9,
	KIND_ACCEPT = 10,
};

struct event {
	u64 ts_ns; // CLOCK_MONOTONIC (bpf_ktime_get_ns)
	u32 kind;
	u32 pid; // thread group id, what user space calls a PID
	u32 tid;
	u32 ppid;
	u32 uid;
	u32 mntns;
	s32 nr;	 // syscall number, -1 for exec
	s32 dfd; // directory fd a relative path is relative to
	u32 flags; // open flags or chmod mode
	u32 args_len;
	u16 family;
	u16 port; // host byte order
	u16 proto; // IPPROTO_* of the socket
	u16 sock_type;
	u8 addr[16]; // IPv4 in the first 4 bytes
	char comm[16];
	char path[PATH_LEN];   // exec filename, file path or AF_UNIX path
	char interp[PATH_LEN]; // exec interpreter when it differs from path
	char args[ARGS_LEN];   // NUL-separated argv, truncated
};


// Keeps struct event in the BTF so bpf2go emits its Go twin (-type event).
const struct event *unused_event __attribute__((unused));

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, u32);   // mount namespace inode
	__type(value, u32); // unused
} watched SEC(".maps");

struct syscall_set {
	u64 bits[MAX_SYSCALLS / 64];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, u32); // mount namespace inode
	__type(value, struct syscall_set);
} syscalls SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22); // user space may resize before load
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u64);
} drops SEC(".maps");

static __always_inline u32 task_mntns(struct task_struct *t)
{
	return BPF_CORE_READ(t, nsproxy, mnt_ns, ns.inum);
}

static __always_inline struct event *reserve(struct task_struct *t, u32 ns, u32 kind, s32 nr)
{
	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		u32 zero = 0;
		u64 *n = bpf_map_lookup_elem(&drops, &zero);
		if (n)
			*n += 1; // per-CPU slot: no atomics needed
		return 0;
	}
	u64 id = bpf_get_current_pid_tgid();
	e->ts_ns = bpf_ktime_get_ns();
	e->kind = kind;
	e->pid = id >> 32;
	e->tid = (u32)id;
	e->ppid = BPF_CORE_READ(t, real_parent, tgid);
	e->uid = (u32)bpf_get_current_uid_gid();
	e->mntns = ns;
	e->nr = nr;
	e->dfd = AT_FDCWD;
	e->flags = 0;
	e->args_len = 0;
	e->family = 0;
	e->port = 0;
	e->proto = 0;
	e->sock_type = 0;
	__builtin_memset(e->addr, 0, sizeof(e->addr));
	e->path[0] = 0;
	e->interp[0] = 0;
	e->args[0] = 0;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	return e;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(vigil_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	u32 ns = task_mntns(t);
	if (!bpf_map_lookup_elem(&watched, &ns))
		return 0;
	struct event *e = reserve(t, ns, KIND_EXEC, -1);
	if (!e)
		return 0;
	const char *filename = BPF_CORE_READ(bprm, filename);
	const char *interp = BPF_CORE_READ(bprm, interp);
	bpf_probe_read_kernel_str(e->path, sizeof(e->path), filename);
	if (interp != filename)
		bpf_probe_read_kernel_str(e->interp, sizeof(e->interp), interp);
	u64 start = BPF_CORE_READ(t, mm, arg_start);
	u64 end = BPF_CORE_READ(t, mm, arg_end);
	u64 n = end - start;
	if (end <= start)
		n = 0;
	if (n > ARGS_LEN)
		n = ARGS_LEN;
	if (n && bpf_probe_read_user(e->args, n, (void *)start) == 0)
		e->args_len = n;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

static __always_inline struct sock *fd_sock(struct task_struct *t, long fd)
{
	struct fdtable *fdt = BPF_CORE_READ(t, files, fdt);
	if (!fdt || fd < 0 || fd >= BPF_CORE_READ(fdt, max_fds))
		return 0;
	struct file **fds = BPF_CORE_READ(fdt, fd);
	struct file *f = 0;
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
	if (!f || (BPF_CORE_READ(f, f_inode, i_mode) & S_IFMT) != S_IFSOCK)
		return 0;
	struct socket *s = BPF_CORE_READ(f, private_data);
	return BPF_CORE_READ(s, sk);
}

// sock_info fills protocol and, when local is set, the bound address.
static __always_inline void sock_info(struct event *e, struct sock *sk, bool local)
{
	if (!sk)
		return;
	e->proto = BPF_CORE_READ(sk, sk_protocol);
	e->sock_type = BPF_CORE_READ(sk, sk_type);
	if (!local)
		return;
	e->family = BPF_CORE_READ(sk, __sk_common.skc_family);
	e->port = BPF_CORE_READ(sk, __sk_common.skc_num);
	if (e->family == AF_INET) {
		u32 a = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
		__builtin_memcpy(e->addr, &a, 4);
	} else if (e->family == AF_INET6) {
		BPF_CORE_READ_INTO(&e->addr, sk, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8);
	}
}

// sockaddr reads a user sockaddr (connect/bind argument) into the event.
static __always_inline void sockaddr(struct event *e, const void *uaddr, long len)
{
	u16 family = 0;
	if (bpf_probe_read_user(&family, sizeof(family), uaddr))
		return;
	e->family = family;
	if (family == AF_INET && len >= 8) {
		u16 port = 0;
		bpf_probe_read_user(&port, 2, uaddr + 2);
		e->port = bpf_ntohs(port);
		bpf_probe_read_user(e->addr, 4, uaddr + 4);
	} else if (family == AF_INET6 && len >= 24) {
		u16 port = 0;
		bpf_probe_read_user(&port, 2, uaddr + 2);
		e->port = bpf_ntohs(port);
		bpf_probe_read_user(e->addr, 16, uaddr + 8);
	} else if (family == AF_UNIX && len > 2) {
		// Abstract sockets start with a NUL and read as "": user space
		// reports them as "@".
		bpf_probe_read_user_str(e->path, 108, uaddr + 2);
	}
}

static __always_inline void mark_syscall(u32 ns, long id)
{
	if (id < 0 || id >= MAX_SYSCALLS)
		return;
	struct syscall_set *set = bpf_map_lookup_elem(&syscalls, &ns);
	if (!set) {
		struct syscall_set zero = {};
		bpf_map_update_elem(&syscalls, &ns, &zero, BPF_NOEXIST);
		set = bpf_map_lookup_elem(&syscalls, &ns);
		if (!set)
			return;
	}
	u64 bit = 1ULL << (id & 63);
	u32 word = (id >> 6) & (MAX_SYSCALLS / 64 - 1);
	if (!(set->bits[word] & bit)) // read first: the bit is almost always set
		__sync_fetch_and_or(&set->bits[word], bit);
}

static __always_inline int path_event(struct task_struct *t, u32 ns, u32 kind, long nr, long dfd,
				      const char *path, u32 flags)
{
	struct event *e = reserve(t, ns, kind, nr);
	if (!e)
		return 0;
	e->dfd = dfd;
	e->flags = flags;
	bpf_probe_read_user_str(e->path, sizeof(e->path), path);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

static __always_inline bool writes(u64 flags)
{
	return flags & (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC);
}

SEC("tp_btf/sys_enter")
int BPF_PROG(vigil_sys_enter, struct pt_regs *regs, long id)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	u32 ns = task_mntns(t);
	if (!bpf_map_lookup_elem(&watched, &ns))
		return 0;
	mark_syscall(ns, id);

	long a1 = PT_REGS_PARM1_CORE_SYSCALL(regs);
	long a2 = PT_REGS_PARM2_CORE_SYSCALL(regs);
	long a3 = PT_REGS_PARM3_CORE_SYSCALL(regs);
	struct event *e;

	switch (id) {
	case NR_open:
		if (writes(a2))
			return path_event(t, ns, KIND_OPEN, id, AT_FDCWD, (const char *)a1, a2);
		return 0;
	case NR_creat:
		return path_event(t, ns, KIND_OPEN, id, AT_FDCWD, (const char *)a1,
				  O_CREAT | O_WRONLY | O_TRUNC);
	case NR_truncate:
		return path_event(t, ns, KIND_OPEN, id, AT_FDCWD, (const char *)a1, O_TRUNC);
	case NR_openat:
		if (writes(a3))
			return path_event(t, ns, KIND_OPEN, id, a1, (const char *)a2, a3);
		return 0;
	case NR_openat2: {
		u64 flags = 0; // struct open_how starts with u64 flags
		bpf_probe_read_user(&flags, sizeof(flags), (void *)a3);
		if (writes(flags))
			return path_event(t, ns, KIND_OPEN, id, a1, (const char *)a2, flags);
		return 0;
	}
	case NR_unlink:
	case NR_rmdir:
		return path_event(t, ns, KIND_UNLINK, id, AT_FDCWD, (const char *)a1, 0);
	case NR_unlinkat:
		return path_event(t, ns, KIND_UNLINK, id, a1, (const char *)a2, 0);
	case NR_chmod:
		return path_event(t, ns, KIND_CHMOD, id, AT_FDCWD, (const char *)a1, a2);
	case NR_fchmodat:
	case NR_fchmodat2:
		return path_event(t, ns, KIND_CHMOD, id, a1, (const char *)a2, a3);
	case NR_mkdir:
		return path_event(t, ns, KIND_MKDIR, id, AT_FDCWD, (const char *)a1, a2);
	case NR_mkdirat:
		return path_event(t, ns, KIND_MKDIR, id, a1, (const char *)a2, a3);
	case NR_rename: // the destination is what gets written
		return path_event(t, ns, KIND_RENAME, id, AT_FDCWD, (const char *)a2, 0);
	case NR_renameat:
	case NR_renameat2:
		return path_event(t, ns, KIND_RENAME, id, a3,
				  (const char *)PT_REGS_PARM4_CORE_SYSCALL(regs), 0);
	case NR_connect:
	case NR_bind:
		e = reserve(t, ns, id == NR_connect ? KIND_CONNECT : KIND_BIND, id);
		if (!e)
			return 0;
		sock_info(e, fd_sock(t, a1), false);
		sockaddr(e, (const void *)a2, a3);
		bpf_ringbuf_submit(e, 0);
		return 0;
	case NR_listen:
	case NR_accept:
	case NR_accept4:
		e = reserve(t, ns, id == NR_listen ? KIND_LISTEN : KIND_ACCEPT, id);
		if (!e)
			return 0;
		sock_info(e, fd_sock(t, a1), true);
		bpf_ringbuf_submit(e, 0);
		return 0;
	}
	return 0;
}
