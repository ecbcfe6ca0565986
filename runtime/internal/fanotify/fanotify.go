// Package fanotify parses the event records the kernel's fanotify interface
// returns from read(2). The sensor's fallback backend and live enforcement
// both read fanotify groups; this is the one place that decodes them.
package fanotify

import (
	"encoding/binary"
	"errors"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// MetadataLen is the size of one event record's fixed header.
const MetadataLen = int(unsafe.Sizeof(unix.FanotifyEventMetadata{}))

// Events calls fn for each event record in buf, what one read returned. It
// stops at a record claiming to be shorter than its header, which the kernel
// never writes, so a short or corrupt buffer cannot make it loop. fn owns
// m.Fd when it is not negative.
func Events(buf []byte, fn func(m unix.FanotifyEventMetadata)) {
	for off := 0; off+MetadataLen <= len(buf); {
		m := unix.FanotifyEventMetadata{
			Event_len: binary.NativeEndian.Uint32(buf[off:]),
			Mask:      binary.NativeEndian.Uint64(buf[off+8:]),
			Fd:        int32(binary.NativeEndian.Uint32(buf[off+16:])),
			Pid:       int32(binary.NativeEndian.Uint32(buf[off+20:])),
		}
		if m.Event_len < uint32(MetadataLen) {
			return
		}
		off += int(m.Event_len)
		fn(m)
	}
}

// Read reads the group f (opened with FAN_NONBLOCK and wrapped by
// os.NewFile, so that closing it ends a read) until it is closed, calling fn
// for each event record as Events does. When fn returns false, Read closes
// the descriptors of the records left in that read and returns.
func Read(f *os.File, bufSize int, fn func(m unix.FanotifyEventMetadata) bool) {
	buf := make([]byte, bufSize)
	for {
		n, err := f.Read(buf)
		if err != nil {
			if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
				continue
			}
			return // closed
		}
		more := true
		Events(buf[:n], func(m unix.FanotifyEventMetadata) {
			if more {
				more = fn(m)
			} else if m.Fd >= 0 {
				unix.Close(int(m.Fd))
			}
		})
		if !more {
			return
		}
	}
}
