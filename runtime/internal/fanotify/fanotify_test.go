package fanotify

import (
	"encoding/binary"
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

// record encodes one event as the kernel lays it out.
func record(evLen uint32, mask uint64, fd, pid int32) []byte {
	b := make([]byte, MetadataLen)
	binary.NativeEndian.PutUint32(b[0:], evLen)
	b[4] = unix.FANOTIFY_METADATA_VERSION
	binary.NativeEndian.PutUint16(b[6:], uint16(MetadataLen))
	binary.NativeEndian.PutUint64(b[8:], mask)
	binary.NativeEndian.PutUint32(b[16:], uint32(fd))
	binary.NativeEndian.PutUint32(b[20:], uint32(pid))
	return b
}

func TestEvents(t *testing.T) {
	n := uint32(MetadataLen)
	withInfo := append(record(n+8, unix.FAN_OPEN_EXEC, 7, 42), make([]byte, 8)...)
	tests := []struct {
		name string
		buf  []byte
		want []int32 // fds seen, in order
	}{
		{"empty", nil, nil},
		{"two records", slices.Concat(record(n, unix.FAN_MODIFY, 3, 1), record(n, unix.FAN_CLOSE_WRITE, 4, 2)), []int32{3, 4}},
		{"record with trailing info is skipped whole", slices.Concat(withInfo, record(n, unix.FAN_MODIFY, 5, 1)), []int32{7, 5}},
		{"overflow without fd", record(n, unix.FAN_Q_OVERFLOW, unix.FAN_NOFD, 0), []int32{unix.FAN_NOFD}},
		{"truncated header", record(n, unix.FAN_MODIFY, 3, 1)[:MetadataLen-1], nil},
		{"length shorter than the header stops", slices.Concat(record(4, unix.FAN_MODIFY, 3, 1), record(n, unix.FAN_MODIFY, 4, 1)), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []int32
			Events(tc.buf, func(m unix.FanotifyEventMetadata) { got = append(got, m.Fd) })
			if !slices.Equal(got, tc.want) {
				t.Errorf("fds %v, want %v", got, tc.want)
			}
		})
	}
}

func FuzzEvents(f *testing.F) {
	f.Add(record(uint32(MetadataLen), unix.FAN_MODIFY, 3, 1))
	f.Add(record(0, 0, 0, 0))
	f.Fuzz(func(t *testing.T, b []byte) {
		calls := 0
		Events(b, func(unix.FanotifyEventMetadata) { calls++ })
		if calls > len(b)/MetadataLen {
			t.Fatalf("%d events from %d bytes", calls, len(b))
		}
	})
}
