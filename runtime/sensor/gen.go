package sensor

// The BPF objects and their Go bindings are committed so that building Vigil
// needs no clang. Regenerate them (clang >= 14 and libbpf-dev's headers) with
// `go generate ./runtime/sensor/`.
//go:generate go run github.com/cilium/ebpf/cmd/bpf2go -cc clang -cflags "-O2 -g -Wall -Werror -D__TARGET_ARCH_x86" -target amd64 -type event -type ns_state sensor bpf/sensor.bpf.c
