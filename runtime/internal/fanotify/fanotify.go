// Package fanotify parses the event records the kernel's fanotify interface
// returns from read(2). The sensor's fallback backend and live enforcement
// both read fanotify groups; this is the one place that decodes them.
package fanotify

import (
	"encoding/binary"
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
