// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
//
// Vigil's runtime sensor. These programs report what container processes do:
//   - tp_btf/sched_process_exec: every successful exec (path, interpreter, argv);
//   - tp_btf/sys_enter: the set of syscalls used (a bitmap per mount namespace,
//     no event per syscall), and an event for file writes, unlinks, chmods,
//     renames, mkdirs and socket connect/bind/listen/accept;
//   - or, for the light backend, which user space loads instead of sys_enter
//     because attaching anything to sys_enter puts every syscall of every
//     task on the kernel's slow path: cgroup/connect4/6 and cgroup/bind4/6
//     on the cgroup v2 root, and tp_btf/inet_sock_set_state for listen.
//     They run only on those operations, so other syscalls cost nothing;
//     file changes then come from the timestamp tracepoints (below) or, on
//     kernels without them, from fanotify, and the syscall set from seccomp
//     (in user space);
//   - tp_btf/inode_set_ctime_to_ts and tp_btf/ctime_ns_xchg (Linux >= 6.13),
//     for the light backend: a file's ctime changes whenever its content,
//     attributes or links do, and a directory's when entries are created,
//     removed or renamed in it, so these report every change to the file
//     system, by whoever made it, and run only when something changes (a
//     file rewritten all the time changes its ctime once per clock tick).
//     tp_btf/writeback_mark_inode_dirty adds the first write to a new file,
//     whose ctime was set when it was created, before it had a name;
//   - tp_btf/cap_capable (Linux >= 6.14; user space leaves it out on older
//     kernels): the set of capabilities granted, a bitmap like the syscalls;
//     with tp_btf/sched_process_fork to tell the container's own code from
//     its runtime's (see container_code).
// All drop everything that does not run in a mount namespace user space put
// in `watched`, so hosts pay one hash lookup per syscall and nothing else.
// Containers are keyed by mount namespace because bpf_get_current_cgroup_id()
// is useless on cgroup-v1/hybrid hosts.
//
// What learning and detection need is the first time a container does
// something — runs a program, writes in a directory, talks to a peer — not
// the millionth, so file and socket events are deduplicated here, before
// they cost a ring-buffer record, a wakeup and user-space decoding: an LRU
// map remembers each (mount namespace, kind, executable, path or address)
// reported, and a repeat within dedup_window_jiffies is only counted, in the map
// entry and in the suppressed counter. The next occurrence after the
// window is reported again and carries that count (head.repeats), so
// repeats are folded, not lost. Execs are never folded: they are rare and
// user space keeps per-process state from them.
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
#define MAX_CAPS 64	 // CAP_LAST_CAP is 40 on 6.18

#define AT_FDCWD -100
#define O_WRONLY 01
#define O_RDWR 02
#define O_CREAT 0100
#define O_TRUNC 01000
#define S_IFMT 0170000
#define S_IFSOCK 0140000
#define S_IFLNK 0120000
#define S_IFREG 0100000
#define S_IFDIR 0040000
#define AF_UNIX 1
#define AF_INET 2
#define AF_INET6 10
#define TCP_LISTEN 10
#define UNIX_PATH_MAX 108

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
	KIND_MODIFY = 11,     // a file's content, attributes or links changed
	KIND_DIR_MODIFY = 12, // entries of a directory were created, removed or renamed
};

// The fields of an event before the path.
struct head {
	u64 ts_ns; // CLOCK_MONOTONIC (bpf_ktime_get_ns)
	u32 pid;   // thread group id, what user space calls a PID
	u32 tid;
	u32 ppid;
	u32 uid;
	s32 nr;	 // syscall number, -1 for exec
	s32 dfd; // directory fd a relative path is relative to
	u32 flags;    // open flags or chmod mode
	u32 args_len;
	u32 repeats;  // occurrences folded into this event since it was last reported
	u32 path_len; // bytes of path in the record, with its NUL
	char comm[16];
	u32 mntns;
	u32 kind;
	u32 dev; // KIND_MODIFY, KIND_DIR_MODIFY: the file system (kernel dev_t, major << 20 | minor)
	u32 pad;
	// The socket fields end the head, just before the path: together they
	// are what a socket event is about, hashed as one run of words.
	u16 family;
	u16 port; // host byte order
	u16 proto; // IPPROTO_* of the socket
	u16 sock_type;
	u8 addr[16]; // IPv4 in the first 4 bytes
};

// An exec record; other records end after the path's NUL.
struct event {
	struct head h;
	char path[PATH_LEN];   // exec filename, file path or AF_UNIX path
	char interp[PATH_LEN]; // exec interpreter when it differs from path
	char args[ARGS_LEN];   // NUL-separated argv, truncated
};

// A file or socket event as it is built, on the stack.
struct short_event {
	struct head h;
	char path[PATH_LEN];
};

// What makes two events the same for deduplication.
struct key {
	u32 mntns;
	u32 kind;
	u64 gen;  // the namespace's watch generation (struct ns_state)
	u64 exe;  // the process's executable (its inode's address)
	u64 base; // the directory a relative path starts from (its dentry's address)
	u64 what; // keyed hash of the path or socket address
};

// Keeps struct event in the BTF so bpf2go emits its Go twin (-type event).
const struct event *unused_event __attribute__((unused));

// A repeat of an event reported less than this many jiffies ago is only
// counted; 0 reports every event. Set by user space before load. Jiffies,
// because reading them costs one load, and reading a clock is the most
// expensive step of recognising a repeat (on a VM's kvm-clock).
const volatile u64 dedup_window_jiffies = 250;

// Records waiting in the ring beyond this many bytes wake the reader up at
// once; below it, file and socket events do not wake it (it polls), so a
// burst costs one wakeup instead of one per event. Set by user space.
const volatile u64 wakeup_bytes = 1 << 20;

// The SipHash key for paths and addresses, random, set by user space before
// load. A hash that is not keyed could be steered: a path chosen to collide
// with one the container writes all the time would be folded into it and
// never reported.
const volatile u64 hash_key[2];

// What is known of a watched mount namespace.
struct ns_state {
	u64 syscalls[MAX_SYSCALLS / 64]; // bit N: syscall N was entered
	u64 caps;			 // bit N: capability N was granted
	// Set by user space at each Watch: part of every deduplication key,
	// so a namespace watched again (or an inode number reused by a new
	// namespace) starts with nothing seen.
	u64 gen;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, u32); // mount namespace inode
	__type(value, struct ns_state);
} watched SEC(".maps");

// Tasks that run the container's code: they executed a program inside a
// watched mount namespace, or were forked by such a task. The value is
// unused; having one is the mark.
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, u8);
} code SEC(".maps");

// The mount namespace of each process that executed or was forked in a
// watched one, by PID: user space attributes the kernel's seccomp audit
// records (light backend) with it when the process has exited by the time
// the record is read.
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1 << 16);
	__type(key, u32);   // thread group id
	__type(value, u32); // mount namespace inode
} pids SEC(".maps");

struct seen {
	u64 last; // when last reported, in jiffies
	u64 repeats; // occurrences since, not reported
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1 << 15);
	__type(key, struct key);
	__type(value, struct seen);
} seen SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22); // user space may resize before load
} events SEC(".maps");

enum counter {
	COUNTER_DROPS,	    // events lost: the ring buffer was full
	COUNTER_SUPPRESSED, // repeats folded by deduplication
	COUNTER_MAX,
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, COUNTER_MAX);
	__type(key, u32);
	__type(value, u64);
} counters SEC(".maps");

static __always_inline void count_n(u32 c, u64 d)
{
	u64 *n = bpf_map_lookup_elem(&counters, &c);
	if (n)
		__sync_fetch_and_add(n, d); // per CPU, but programs can be preempted
}

static __always_inline void count(u32 c)
{
	count_n(c, 1);
}

static __always_inline u32 task_mntns(struct task_struct *t)
{
	return t->nsproxy->mnt_ns->ns.inum;
}

// fill_head sets the fields of a reported event that deduplication does not
// need.
static __always_inline void fill_head(struct head *h, struct task_struct *t, s32 nr, u64 now)
{
	u64 id = bpf_get_current_pid_tgid();
	h->ts_ns = now;
	h->pid = id >> 32;
	h->tid = (u32)id;
	h->ppid = t->real_parent->tgid;
	h->uid = (u32)bpf_get_current_uid_gid();
	h->nr = nr;
	bpf_get_current_comm(h->comm, sizeof(h->comm));
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(vigil_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	struct task_struct *t = bpf_get_current_task_btf();
	u32 ns = task_mntns(t);
	if (!bpf_map_lookup_elem(&watched, &ns))
		return 0;
	bpf_task_storage_get(&code, t, 0, BPF_LOCAL_STORAGE_GET_F_CREATE); // see container_code
	u32 tgid = t->tgid;
	bpf_map_update_elem(&pids, &tgid, &ns, BPF_ANY);
	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count(COUNTER_DROPS);
		return 0;
	}
	__builtin_memset(&e->h, 0, sizeof(e->h));
	fill_head(&e->h, t, -1, bpf_ktime_get_ns());
	e->h.mntns = ns;
	e->h.kind = KIND_EXEC;
	e->h.dfd = AT_FDCWD;
	const char *filename = bprm->filename;
	const char *interp = bprm->interp;
	e->path[0] = 0;
	long n = bpf_probe_read_kernel_str(e->path, sizeof(e->path), filename);
	e->h.path_len = n > 0 ? n : 0;
	e->interp[0] = 0;
	if (interp != filename)
		bpf_probe_read_kernel_str(e->interp, sizeof(e->interp), interp);
	u64 start = t->mm->arg_start;
	u64 end = t->mm->arg_end;
	u64 len = end - start;
	if (end <= start)
		len = 0;
	if (len > ARGS_LEN)
		len = ARGS_LEN;
	if (len && bpf_probe_read_user(e->args, len, (void *)start) == 0)
		e->h.args_len = len;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

static __always_inline struct file *fd_file(struct task_struct *t, long fd)
{
	struct fdtable *fdt = BPF_CORE_READ(t, files, fdt);
	if (!fdt || fd < 0 || fd >= BPF_CORE_READ(fdt, max_fds))
		return 0;
	struct file **fds = BPF_CORE_READ(fdt, fd);
	struct file *f = 0;
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
	return f;
}

static __always_inline struct sock *fd_sock(struct task_struct *t, long fd)
{
	struct file *f = fd_file(t, fd);
	if (!f || (BPF_CORE_READ(f, f_inode, i_mode) & S_IFMT) != S_IFSOCK)
		return 0;
	struct socket *s = BPF_CORE_READ(f, private_data);
	return BPF_CORE_READ(s, sk);
}

// sock_info fills protocol and, when local is set, the bound address.
static __always_inline void sock_info(struct head *h, struct sock *sk, bool local)
{
	if (!sk)
		return;
	h->proto = BPF_CORE_READ(sk, sk_protocol);
	h->sock_type = BPF_CORE_READ(sk, sk_type);
	if (!local)
		return;
	h->family = BPF_CORE_READ(sk, __sk_common.skc_family);
	h->port = BPF_CORE_READ(sk, __sk_common.skc_num);
	if (h->family == AF_INET) {
		u32 a = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
		__builtin_memcpy(h->addr, &a, 4);
	} else if (h->family == AF_INET6) {
		BPF_CORE_READ_INTO(&h->addr, sk, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8);
	}
}

// sockaddr reads a user sockaddr (connect/bind argument) into the event.
static __always_inline void sockaddr(struct short_event *e, const void *uaddr, long len)
{
	u16 family = 0;
	if (bpf_probe_read_user(&family, sizeof(family), uaddr))
		return;
	e->h.family = family;
	if (family == AF_INET && len >= 8) {
		u16 port = 0;
		bpf_probe_read_user(&port, 2, uaddr + 2);
		e->h.port = bpf_ntohs(port);
		bpf_probe_read_user(e->h.addr, 4, uaddr + 4);
	} else if (family == AF_INET6 && len >= 24) {
		u16 port = 0;
		bpf_probe_read_user(&port, 2, uaddr + 2);
		e->h.port = bpf_ntohs(port);
		bpf_probe_read_user(e->h.addr, 16, uaddr + 8);
	} else if (family == AF_UNIX && len > 2) {
		// Abstract sockets start with a NUL and read as "": user space
		// reports them as "@".
		long n = bpf_probe_read_user_str(e->path, UNIX_PATH_MAX, uaddr + 2);
		e->h.path_len = n > 0 ? n : 0;
	}
}

static __always_inline void mark_syscall(struct ns_state *st, long id)
{
	if (id < 0 || id >= MAX_SYSCALLS)
		return;
	u64 bit = 1ULL << (id & 63);
	u32 word = (id >> 6) & (MAX_SYSCALLS / 64 - 1);
	if (!(st->syscalls[word] & bit)) // read first: the bit is almost always set
		__sync_fetch_and_or(&st->syscalls[word], bit);
}

// SipHash-1-3 (Aumasson and Bernstein), over whole words: the message is
// zero-padded to a multiple of 8 bytes and its length is the last word.
// Hand-written because BPF programs cannot call the kernel's siphash.
#define ROTL(x, b) (((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                                 \
	do {                                                                     \
		v0 += v1;                                                        \
		v1 = ROTL(v1, 13);                                               \
		v1 ^= v0;                                                        \
		v0 = ROTL(v0, 32);                                               \
		v2 += v3;                                                        \
		v3 = ROTL(v3, 16);                                               \
		v3 ^= v2;                                                        \
		v0 += v3;                                                        \
		v3 = ROTL(v3, 21);                                               \
		v3 ^= v0;                                                        \
		v2 += v1;                                                        \
		v1 = ROTL(v1, 17);                                               \
		v1 ^= v2;                                                        \
		v2 = ROTL(v2, 32);                                               \
	} while (0)
#define SIPWORD(m)                                                               \
	do {                                                                     \
		u64 m_ = (m);                                                    \
		v3 ^= m_;                                                        \
		SIPROUND;                                                        \
		v0 ^= m_;                                                        \
	} while (0)

// hash returns the keyed hash of the socket fields when sock is set, and
// of the first len bytes of the path (what follows them in the buffer is
// masked off).
static __always_inline u64 hash(struct short_event *e, bool sock, u64 len)
{
	u64 v0 = hash_key[0] ^ 0x736f6d6570736575ULL;
	u64 v1 = hash_key[1] ^ 0x646f72616e646f6dULL;
	u64 v2 = hash_key[0] ^ 0x6c7967656e657261ULL;
	u64 v3 = hash_key[1] ^ 0x7465646279746573ULL;
	if (sock) {
		u64 *w = (u64 *)&e->h.family;
		SIPWORD(w[0]);
		SIPWORD(w[1]);
		SIPWORD(w[2]);
	}
	u64 *p = (u64 *)e->path;
	for (u64 i = 0; i < PATH_LEN / 8 && i * 8 < len; i++) {
		u64 w = p[i];
		if (len - i * 8 < 8) // little endian: the first bytes are the low ones
			w &= (1ULL << ((len - i * 8) * 8)) - 1;
		SIPWORD(w);
	}
	SIPWORD((u64)len << 56 | sock);
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

// suppress reports whether the event keyed k repeats one reported less
// than dedup_window_jiffies ago, counting it if so; otherwise it records it as
// reported now and sets *repeats to the repeats folded since the last report.
// *last is set to when it was last reported.
static __always_inline bool suppress(struct key *k, u32 *repeats, u64 *last)
{
	u64 now = bpf_jiffies64();
	*last = now;
	struct seen *s = bpf_map_lookup_elem(&seen, k);
	if (s) {
		if (now - s->last < dedup_window_jiffies) {
			__sync_fetch_and_add(&s->repeats, 1);
			count(COUNTER_SUPPRESSED);
			*last = s->last;
			return true;
		}
		// Subtract what was read rather than store 0: other CPUs may
		// be adding at the same time.
		u64 r = s->repeats;
		__sync_fetch_and_add(&s->repeats, -r);
		s->last = now;
		*repeats = r > 0xffffffff ? 0xffffffff : r;
		return false;
	}
	struct seen fresh = {.last = now};
	bpf_map_update_elem(&seen, k, &fresh, BPF_ANY);
	return false;
}

// report deduplicates a built event and, unless it is a repeat, writes it
// to the ring buffer: the head and the path up to its NUL. base identifies
// the directory a relative path starts from. Events with a relative path
// wake the reader as soon as it is idle: user space resolves the path
// through /proc/PID/cwd, which works only while the process lives.
static __always_inline int report(struct short_event *e, struct task_struct *t, struct ns_state *st,
				  long nr, bool sock, u64 base)
{
	u64 n = e->h.path_len;
	if (n > PATH_LEN)
		n = PATH_LEN;
	struct key k;
	if (dedup_window_jiffies) {
		k.mntns = e->h.mntns;
		k.kind = e->h.kind;
		k.gen = st->gen;
		k.exe = (u64)t->mm->exe_file->f_inode;
		k.base = base;
		k.what = hash(e, sock, n);
		u64 last;
		if (suppress(&k, &e->h.repeats, &last))
			return 0;
	}
	fill_head(&e->h, t, nr, bpf_ktime_get_ns());
	barrier_var(n); // keep the bound check next to its use for the verifier
	if (n > PATH_LEN)
		n = PATH_LEN;
	u64 flags = BPF_RB_NO_WAKEUP;
	if (!sock && e->path[0] != '/')
		flags = 0;
	if (bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) > wakeup_bytes)
		flags = BPF_RB_FORCE_WAKEUP;
	if (bpf_ringbuf_output(&events, e, sizeof(e->h) + n, flags)) {
		count(COUNTER_DROPS);
		// Forget it, so that the next occurrence is reported.
		if (dedup_window_jiffies)
			bpf_map_delete_elem(&seen, &k);
	}
	return 0;
}

// start clears the event's head and fills what every file or socket event
// has. The path needs no clearing: only the bytes read into it are hashed
// and reported.
static __always_inline void start(struct short_event *e, u32 ns, u32 kind)
{
	__builtin_memset(&e->h, 0, sizeof(e->h));
	e->h.mntns = ns;
	e->h.kind = kind;
	e->h.dfd = AT_FDCWD;
}

static __always_inline int path_event(struct short_event *e, struct task_struct *t, struct ns_state *st,
				      u32 ns, u32 kind, long nr, long dfd, const char *path, u32 flags)
{
	start(e, ns, kind);
	e->h.dfd = dfd;
	e->h.flags = flags;
	long n = bpf_probe_read_user_str(e->path, sizeof(e->path), path);
	e->h.path_len = n > 0 ? n : 0;
	// A relative path names a different file in each directory.
	u64 base = 0;
	if (e->path[0] != '/') {
		if (dfd == AT_FDCWD)
			base = (u64)t->fs->pwd.dentry;
		else
			base = (u64)BPF_CORE_READ(fd_file(t, dfd), f_path.dentry);
	}
	return report(e, t, st, nr, false, base);
}

static __always_inline bool writes(u64 flags)
{
	return flags & (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC);
}

SEC("tp_btf/sys_enter")
int BPF_PROG(vigil_sys_enter, struct pt_regs *regs, long id)
{
	struct task_struct *t = bpf_get_current_task_btf();
	u32 ns = task_mntns(t);
	struct ns_state *st = bpf_map_lookup_elem(&watched, &ns);
	if (!st)
		return 0;
	mark_syscall(st, id);

	// x86-64 syscall arguments: di, si, dx, r10. Each is read only by the
	// syscalls that use it. An int argument (a dfd) is only the low half
	// of its register: AT_FDCWD often arrives as 0xffffff9c.
	u32 kind;
	long dfd = AT_FDCWD;
	const char *path;
	u64 flags = 0;
	struct short_event e;
	switch (id) {
	case NR_open:
		flags = regs->si;
		if (!writes(flags))
			return 0;
		kind = KIND_OPEN;
		path = (const char *)regs->di;
		break;
	case NR_creat:
		kind = KIND_OPEN;
		path = (const char *)regs->di;
		flags = O_CREAT | O_WRONLY | O_TRUNC;
		break;
	case NR_truncate:
		kind = KIND_OPEN;
		path = (const char *)regs->di;
		flags = O_TRUNC;
		break;
	case NR_openat:
	case NR_openat2:
		flags = regs->dx;
		if (id == NR_openat2) { // a struct open_how, which starts with u64 flags
			flags = 0;
			bpf_probe_read_user(&flags, sizeof(flags), (void *)regs->dx);
		}
		if (!writes(flags))
			return 0;
		kind = KIND_OPEN;
		dfd = (int)regs->di;
		path = (const char *)regs->si;
		break;
	case NR_unlink:
	case NR_rmdir:
		kind = KIND_UNLINK;
		path = (const char *)regs->di;
		break;
	case NR_unlinkat:
		kind = KIND_UNLINK;
		dfd = (int)regs->di;
		path = (const char *)regs->si;
		break;
	case NR_chmod:
		kind = KIND_CHMOD;
		path = (const char *)regs->di;
		flags = regs->si;
		break;
	case NR_fchmodat:
	case NR_fchmodat2:
		kind = KIND_CHMOD;
		dfd = (int)regs->di;
		path = (const char *)regs->si;
		flags = regs->dx;
		break;
	case NR_mkdir:
		kind = KIND_MKDIR;
		path = (const char *)regs->di;
		flags = regs->si;
		break;
	case NR_mkdirat:
		kind = KIND_MKDIR;
		dfd = (int)regs->di;
		path = (const char *)regs->si;
		flags = regs->dx;
		break;
	case NR_rename: // the destination is what gets written
		kind = KIND_RENAME;
		path = (const char *)regs->si;
		break;
	case NR_renameat:
	case NR_renameat2:
		kind = KIND_RENAME;
		dfd = (int)regs->dx;
		path = (const char *)regs->r10;
		break;
	case NR_connect:
	case NR_bind:
		start(&e, ns, id == NR_connect ? KIND_CONNECT : KIND_BIND);
		sock_info(&e.h, fd_sock(t, regs->di), false);
		sockaddr(&e, (const void *)regs->si, regs->dx);
		return report(&e, t, st, id, true, 0);
	case NR_listen:
	case NR_accept:
	case NR_accept4:
		start(&e, ns, id == NR_listen ? KIND_LISTEN : KIND_ACCEPT);
		sock_info(&e.h, fd_sock(t, regs->di), true);
		return report(&e, t, st, id, true, 0);
	default:
		return 0;
	}
	return path_event(&e, t, st, ns, kind, id, dfd, path, flags);
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(vigil_fork, struct task_struct *parent, struct task_struct *child)
{
	if (!bpf_task_storage_get(&code, parent, 0, 0))
		return 0;
	bpf_task_storage_get(&code, child, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	u32 ns = task_mntns(parent);
	u32 tgid = child->tgid;
	bpf_map_update_elem(&pids, &tgid, &ns, BPF_ANY);
	return 0;
}

// container_code reports whether t runs the container's code rather than
// its runtime's. A runtime entering a container (runc exec, and runc's init
// at create) joins the namespaces and then, as root and before it executes
// the container's program, sets groups, user and capabilities and joins the
// cgroup namespace: CAP_SETGID, CAP_SETUID, CAP_SETPCAP, CAP_SYS_ADMIN that
// the container never uses, and that a learned profile must not allow. Its
// code is a task whose parent runs outside the container (runc clones with
// CLONE_PARENT) and which has not executed anything inside yet. Tasks the
// sensor saw neither execute nor fork (they ran before it attached) count
// when their parent is in the container, or when they are the container's
// init.
static __always_inline bool container_code(struct task_struct *t, u32 ns)
{
	if (bpf_task_storage_get(&code, t, 0, 0))
		return true;
	if (task_mntns(t->real_parent) == ns)
		return true;
	return t->nsproxy->pid_ns_for_children->child_reaper == t->group_leader;
}

SEC("tp_btf/cap_capable")
int BPF_PROG(vigil_capable, const struct cred *cred, struct user_namespace *target_ns,
	     const struct user_namespace *capable_ns, int cap, int ret)
{
	if (ret != 0 || cap < 0 || cap >= MAX_CAPS)
		return 0; // denied: not used
	struct task_struct *t = bpf_get_current_task_btf();
	// Checks of another task's or an opener's credentials (OOM killer,
	// file_ns_capable) are not this process using the capability.
	if (cred != t->cred && cred != t->real_cred)
		return 0;
	u32 ns = task_mntns(t);
	struct ns_state *st = bpf_map_lookup_elem(&watched, &ns);
	if (!st || !container_code(t, ns))
		return 0;
	u64 bit = 1ULL << cap;
	if (!(st->caps & bit))
		__sync_fetch_and_or(&st->caps, bit);
	return 0;
}

// The light backend's socket programs. Each lets the operation through:
// the sensor observes, it never decides (enforcement is runtime/enforce).

static __always_inline int sock_addr_event(struct bpf_sock_addr *ctx, u32 kind, long nr, bool v6)
{
	struct task_struct *t = bpf_get_current_task_btf();
	u32 ns = task_mntns(t);
	struct ns_state *st = bpf_map_lookup_elem(&watched, &ns);
	if (!st)
		return 1;
	struct short_event e;
	start(&e, ns, kind);
	e.h.family = v6 ? AF_INET6 : AF_INET;
	e.h.proto = ctx->protocol;
	e.h.sock_type = ctx->type;
	e.h.port = bpf_ntohs((u16)ctx->user_port);
	if (v6) {
		u32 a[4] = {ctx->user_ip6[0], ctx->user_ip6[1], ctx->user_ip6[2], ctx->user_ip6[3]};
		__builtin_memcpy(e.h.addr, a, 16);
	} else {
		u32 a = ctx->user_ip4;
		__builtin_memcpy(e.h.addr, &a, 4);
	}
	report(&e, t, st, nr, true, 0);
	return 1;
}

SEC("cgroup/connect4")
int vigil_connect4(struct bpf_sock_addr *ctx) { return sock_addr_event(ctx, KIND_CONNECT, NR_connect, false); }

SEC("cgroup/connect6")
int vigil_connect6(struct bpf_sock_addr *ctx) { return sock_addr_event(ctx, KIND_CONNECT, NR_connect, true); }

SEC("cgroup/bind4")
int vigil_bind4(struct bpf_sock_addr *ctx) { return sock_addr_event(ctx, KIND_BIND, NR_bind, false); }

SEC("cgroup/bind6")
int vigil_bind6(struct bpf_sock_addr *ctx) { return sock_addr_event(ctx, KIND_BIND, NR_bind, true); }

// listen(2) moves a TCP socket to TCP_LISTEN in the listening task's
// context; other transitions (an accepted connection) happen in softirq,
// where the current task is not the container's.
SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(vigil_sock_state, const struct sock *sk, int oldstate, int newstate)
{
	if (newstate != TCP_LISTEN)
		return 0;
	struct task_struct *t = bpf_get_current_task_btf();
	u32 ns = task_mntns(t);
	struct ns_state *st = bpf_map_lookup_elem(&watched, &ns);
	if (!st)
		return 0;
	struct short_event e;
	start(&e, ns, KIND_LISTEN);
	sock_info(&e.h, (struct sock *)sk, true);
	return report(&e, t, st, NR_listen, true, 0);
}

// The light backend's file programs.

// A KIND_MODIFY record's path is the file's name and those of the
// directories above it up to the root of its file system, leaf first, each
// ending in a NUL: user space turns that into a path in the container
// through the container's mounts. flags holds the file's mode, and
// PATH_COMPLETE when the names reached the root.
#define PATH_COMPLETE 0x80000000
#define MAX_DEPTH 64
// As long as the rest of an exec record (path, interpreter and arguments),
// which user space reads the names from.
#define NAMES_LEN 1024

// A record as it is built: too big for the stack, and the names are read
// with a bounded offset into twice the room they may use, for the verifier.
struct modify_event {
	struct head h;
	char path[2 * NAMES_LEN];
};
_Static_assert(NAMES_LEN == sizeof(struct event) - sizeof(struct head), "names fill an exec record's tail");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	// Bytes, not the struct, so bpf2go does not emit a Go twin of a
	// record user space reads as a struct event.
	__type(value, char[sizeof(struct modify_event)]);
} scratch SEC(".maps");

// recent is a small per-CPU cache in front of `seen` for the file
// programs. A workload that creates, writes and removes files in a loop
// brings them here several times an iteration, nearly always for a change
// already reported; a lookup in the shared LRU map (hashing a 40-byte key,
// an atomic add on a shared line) was most of what that cost. A slot holds
// a key, when its `seen` entry was last reported, and the repeats counted
// here since, which it adds to the entry before the slot is reused or the
// window ends, so that the next report carries them.
#define RECENT 8

struct recent_slot {
	struct key k;
	u64 last;
	u64 repeats;
};

struct recent_slots {
	struct recent_slot s[RECENT];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct recent_slots);
} recent SEC(".maps");

static __always_inline bool same_key(struct key *a, struct key *b)
{
	u64 *x = (u64 *)a, *y = (u64 *)b;
	return x[0] == y[0] && x[1] == y[1] && x[2] == y[2] && x[3] == y[3] && x[4] == y[4];
}

// suppress_recent is suppress with the recent cache in front.
static __always_inline bool suppress_recent(struct key *k, u32 *repeats)
{
	u32 zero = 0;
	u64 last;
	struct recent_slots *rs = bpf_map_lookup_elem(&recent, &zero);
	if (!rs)
		return suppress(k, repeats, &last);
	struct recent_slot *r = &rs->s[(k->base >> 6) & (RECENT - 1)];
	if (bpf_jiffies64() - r->last < dedup_window_jiffies && same_key(&r->k, k)) {
		r->repeats++;
		return true;
	}
	if (r->repeats) {
		struct seen *s = bpf_map_lookup_elem(&seen, &r->k);
		if (s)
			__sync_fetch_and_add(&s->repeats, r->repeats);
		count_n(COUNTER_SUPPRESSED, r->repeats);
		r->repeats = 0;
	}
	bool sup = suppress(k, repeats, &last);
	r->k = *k;
	r->last = last;
	return sup;
}

// Realtime minus TAI, in nanoseconds, set by user space before load: BPF
// can read CLOCK_TAI but not CLOCK_REALTIME, which timestamps are in.
const volatile s64 tai_to_realtime_ns = 0;

// names writes the names from d up to its file system's root into e->path
// and returns how many bytes they took.
static __always_inline u32 names(struct modify_event *e, struct dentry *d)
{
	u32 off = 0;
	for (int i = 0; i < MAX_DEPTH; i++) {
		struct dentry *parent = BPF_CORE_READ(d, d_parent);
		if (!parent || parent == d) {
			if (off <= NAMES_LEN)
				e->h.flags |= PATH_COMPLETE;
			break;
		}
		if (off >= NAMES_LEN)
			break;
		const unsigned char *name = BPF_CORE_READ(d, d_name.name);
		long n = bpf_probe_read_kernel_str(&e->path[off & (NAMES_LEN - 1)], NAMES_LEN, name);
		if (n <= 0)
			break;
		off += n;
		d = parent;
	}
	return off > NAMES_LEN ? NAMES_LEN : off;
}

static __always_inline int modified(struct inode *inode)
{
	struct task_struct *t = bpf_get_current_task_btf();
	u32 ns = task_mntns(t);
	struct ns_state *st = bpf_map_lookup_elem(&watched, &ns);
	if (!st)
		return 0;
	// Pipes, sockets, devices and anonymous inodes change times too;
	// they are not the container's files.
	// inode is a tracepoint argument the verifier trusts: read directly,
	// not through bpf_probe_read_kernel calls, on this hot path.
	u32 mode = inode->i_mode;
	u32 type = mode & S_IFMT;
	if (type != S_IFREG && type != S_IFDIR && type != S_IFLNK)
		return 0;
	// A file being created has no name yet; its directory's change is
	// reported instead.
	// Read as a number (bpf_probe_read_kernel), not a pointer: it becomes
	// part of the deduplication key, hashed and shifted.
	struct hlist_node *alias = BPF_CORE_READ(inode, i_dentry.first);
	if (!alias)
		return 0;
	struct dentry *d = (struct dentry *)((void *)alias - bpf_core_field_offset(struct dentry, d_u.d_alias));
	u32 kind = type == S_IFDIR ? KIND_DIR_MODIFY : KIND_MODIFY;
	// Deduplicated first: a file written page by page comes here for each
	// new page, and a repeat should cost no more than this lookup. The key
	// is the dentry, the file's name in its directory, rather than the
	// inode: a file written to a temporary name and renamed, or created
	// and removed, over and over, is a new inode each time under the same
	// dentry (unlink leaves it in the cache, negative, for the next
	// create to reuse).
	struct key k = {
		.mntns = ns,
		.kind = kind,
		.gen = st->gen,
		.exe = (u64)t->mm->exe_file->f_inode,
		.base = (u64)d,
	};
	u32 repeats = 0;
	if (dedup_window_jiffies && suppress_recent(&k, &repeats))
		return 0;
	u32 zero = 0;
	struct modify_event *e = bpf_map_lookup_elem(&scratch, &zero);
	if (!e)
		return 0;
	start((struct short_event *)e, ns, kind);
	e->h.repeats = repeats;
	fill_head(&e->h, t, -1, bpf_ktime_get_ns());
	e->h.flags = mode;
	e->h.dev = inode->i_sb->s_dev;
	u64 n = names(e, d);
	e->h.path_len = n;
	barrier_var(n);
	if (n > NAMES_LEN)
		n = NAMES_LEN;
	u64 flags = BPF_RB_NO_WAKEUP;
	if (bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) > wakeup_bytes)
		flags = BPF_RB_FORCE_WAKEUP;
	if (bpf_ringbuf_output(&events, e, sizeof(e->h) + n, flags)) {
		count(COUNTER_DROPS);
		if (dedup_window_jiffies) // so that the next change is reported
			bpf_map_delete_elem(&seen, &k);
	}
	return 0;
}

// inode_set_ctime_to_ts also runs when a file system loads an inode from
// disk, with the ctime it had: only a ctime of about now is a change.
SEC("tp_btf/inode_set_ctime_to_ts")
int BPF_PROG(vigil_ctime_set, struct inode *inode, struct timespec64 *ts)
{
	s64 now = (s64)bpf_ktime_get_tai_ns() + tai_to_realtime_ns;
	s64 at = ts->tv_sec * 1000000000LL + ts->tv_nsec;
	s64 d = now - at;
	if (d > 2000000000LL || d < -2000000000LL)
		return 0;
	return modified(inode);
}

// The multigrain file systems (ext4, xfs, btrfs, tmpfs) set a changed
// ctime by exchanging its nanoseconds, which this tracepoint reports.
SEC("tp_btf/ctime_ns_xchg")
int BPF_PROG(vigil_ctime_xchg, struct inode *inode, u32 old, u32 new, u32 cur)
{
	return modified(inode);
}

// A file's pages are dirtied one by one as it is written, and each calls
// this; only the first since the file was last written back, when the
// inode is not dirty yet, can be news.
SEC("tp_btf/writeback_mark_inode_dirty")
int BPF_PROG(vigil_dirty, struct inode *inode, int flags)
{
	if (!bpf_core_enum_value_exists(enum inode_state_flags_t, I_DIRTY_PAGES))
		return 0;
	u32 pages = bpf_core_enum_value(enum inode_state_flags_t, I_DIRTY_PAGES);
	if (!(flags & pages))
		return 0;
	if (bpf_core_field_exists(inode->i_state) && (inode->i_state & pages))
		return 0;
	return modified(inode);
}
