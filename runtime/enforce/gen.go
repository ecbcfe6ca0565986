package enforce

// The BPF object and its Go bindings are committed so that building Vigil
// needs no clang. Regenerate them (clang >= 14, libbpf-dev and the kernel
// UAPI headers of linux-libc-dev) with `go generate ./runtime/enforce/`.
//go:generate go run github.com/cilium/ebpf/cmd/bpf2go -cc clang -cflags "-O2 -g -Wall -Werror -I/usr/include/x86_64-linux-gnu" -target bpfel -type denial -type peer4 -type peer6 connect bpf/connect.bpf.c
