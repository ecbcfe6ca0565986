// Command workload is the process that runs inside Vigil's test containers.
// It behaves like a small service so that a profile has something in every
// section, and it has modes that act like an attacker or probe a syscall.
//
//	workload serve            listen on :8080, and every 100ms write
//	                          /data/state, connect to 127.0.0.1:8080 and run
//	                          /bin/date
//	workload probe SYSCALL    make one syscall; exit 0 if it worked, 3 on EPERM
//	workload exec PATH        execve PATH; exit 3 on EPERM
//	workload connect ADDR     connect to ADDR over TCP; exit 3 on EPERM
//	workload flood N          open /data/flood for writing N times (one
//	                          path: the sensor folds the repeats); print
//	                          the loop's run and CPU time as ns=... cpu=...
//	workload append N         write 64 bytes at the start of /data/append
//	                          N times through one open file; print
//	                          ns=... cpu=...
//	workload churn N          create /data/churn, write 64 bytes to it and
//	                          remove it, N times; print ns=... cpu=...
//	workload scatter N        write a byte to each of N new files
//	                          /data/scatter/I; print ns=... cpu=...
//	workload spray N          try to open N distinct files /data/missing/I
//	                          for writing (each fails: no directory), one
//	                          new event each; print ns=... cpu=...
package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fail("usage: workload serve|probe|exec|connect|flood|append|churn|scatter|spray ...")
	}
	switch os.Args[1] {
	case "serve":
		serve()
	case "probe":
		probe(arg(2))
	case "exec":
		report(syscall.Exec(arg(2), []string{arg(2)}, nil))
	case "connect":
		c, err := net.DialTimeout("tcp", arg(2), 2*time.Second)
		if err == nil {
			c.Close()
		}
		report(err)
	case "flood":
		timed(func(n int) {
			for i := 0; i < n; i++ {
				fd, err := syscall.Open("/data/flood", syscall.O_WRONLY|syscall.O_CREAT, 0o644)
				if err == nil {
					syscall.Close(fd)
				}
			}
		})
	case "append":
		fd, err := syscall.Open("/data/append", syscall.O_WRONLY|syscall.O_CREAT, 0o644)
		if err != nil {
			fail(err.Error())
		}
		buf := make([]byte, 64)
		timed(func(n int) {
			for i := 0; i < n; i++ {
				syscall.Pwrite(fd, buf, 0)
			}
		})
	case "churn":
		buf := make([]byte, 64)
		timed(func(n int) {
			for i := 0; i < n; i++ {
				fd, err := syscall.Open("/data/churn", syscall.O_WRONLY|syscall.O_CREAT|syscall.O_TRUNC, 0o644)
				if err != nil {
					fail(err.Error())
				}
				syscall.Write(fd, buf)
				syscall.Close(fd)
				syscall.Unlink("/data/churn")
			}
		})
	case "scatter":
		if err := os.MkdirAll("/data/scatter", 0o755); err != nil {
			fail(err.Error())
		}
		timed(func(n int) {
			buf := []byte("/data/scatter/")
			for i := 0; i < n; i++ {
				p := strconv.AppendInt(buf, int64(i), 10)
				fd, err := syscall.Open(string(p), syscall.O_WRONLY|syscall.O_CREAT, 0o644)
				if err != nil {
					fail(err.Error())
				}
				syscall.Write(fd, buf[:1])
				syscall.Close(fd)
			}
		})
	case "spray":
		timed(func(n int) {
			buf := []byte("/data/missing/")
			for i := 0; i < n; i++ {
				p := strconv.AppendInt(buf, int64(i), 10)
				if fd, err := syscall.Open(string(p), syscall.O_WRONLY|syscall.O_CREAT, 0o644); err == nil {
					syscall.Close(fd)
				}
			}
		})
	default:
		fail("unknown mode " + os.Args[1])
	}
}

// timed runs loop with N from the command line and prints its run time
// and the CPU time (user and system) it used, measured here so that runc
// exec's start-up does not dilute them. On a shared machine the CPU time
// is the steadier figure: it does not count waiting for a CPU.
func timed(loop func(n int)) {
	n, err := strconv.Atoi(arg(2))
	if err != nil {
		fail(err.Error())
	}
	cpu0, t0 := cpuTime(), time.Now()
	loop(n)
	fmt.Printf("ns=%d cpu=%d\n", time.Since(t0).Nanoseconds(), (cpuTime() - cpu0).Nanoseconds())
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		fail(err.Error())
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func arg(i int) string {
	if len(os.Args) <= i {
		fail("missing argument")
	}
	return os.Args[i]
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, msg)
	os.Exit(2)
}

// report exits 0 on success, 3 when the kernel said EPERM (seccomp, fanotify
// or a cgroup program denied it), 1 otherwise.
func report(err error) {
	if err == nil {
		fmt.Println("ok")
		os.Exit(0)
	}
	fmt.Println("error:", err)
	if errors.Is(err, syscall.EPERM) {
		os.Exit(3)
	}
	os.Exit(1)
}

func probe(name string) {
	var err error
	switch name {
	case "uname":
		var u syscall.Utsname
		err = syscall.Uname(&u)
	case "sysinfo":
		var si syscall.Sysinfo_t
		err = syscall.Sysinfo(&si)
	case "getpriority":
		_, _, e := syscall.Syscall(syscall.SYS_GETPRIORITY, 0, 0, 0)
		if e != 0 {
			err = e
		}
	case "times":
		var t syscall.Tms
		_, err = syscall.Times(&t)
	default:
		fail("unknown syscall " + name)
	}
	report(err)
}

func serve() {
	ln := listen()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	if err := os.MkdirAll("/data", 0o755); err != nil {
		fail(err.Error())
	}
	for i := 0; ; i++ {
		os.WriteFile("/data/state", []byte(strconv.Itoa(i)), 0o644)
		if c, err := net.DialTimeout("tcp", "127.0.0.1:8080", time.Second); err == nil {
			c.Close()
		}
		exec.Command("/bin/date").Run()
		time.Sleep(100 * time.Millisecond)
	}
}

// listen retries because the test brings loopback up just after start.
func listen() net.Listener {
	for i := 0; ; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:8080")
		if err == nil {
			return ln
		}
		if i > 100 {
			fail(err.Error())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
