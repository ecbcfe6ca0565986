//go:build linux

package sensor

import (
	"strconv"
	"strings"
	"testing"
)

const tcp4 = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0
   1: 0100007F:C350 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 2 1 0 20 4 30 10 -1
`

const tcp6 = `  sl  local_address                         remote_address                        st
   0: 00000000000000000000000001000000:1F91 00000000000000000000000000000000:0000 0A 0
   1: 0000000000000000FFFF00000100007F:D000 0000000000000000FFFF00000500000A:01BB 01 0
`

func TestParseProcNet(t *testing.T) {
	for _, tc := range []struct {
		name, in, proto string
		want            []string // local remote state
		err             bool
	}{
		{"tcp", tcp4, "tcp", []string{"127.0.0.1:8080 0.0.0.0:0 10", "127.0.0.1:50000 127.0.0.1:8080 1"}, false},
		{"tcp6 with v4-mapped", tcp6, "tcp", []string{"[::1]:8081 [::]:0 10", "127.0.0.1:53248 10.0.0.5:443 1"}, false},
		{"garbage address", "hdr\n 0: zz:1 00:0 0A\n", "tcp", nil, true},
		{"short line skipped", "hdr\n 0: 0100007F\n", "tcp", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			socks, err := parseProcNet(strings.NewReader(tc.in), tc.proto)
			if (err != nil) != tc.err {
				t.Fatalf("err = %v, want error %v", err, tc.err)
			}
			var got []string
			for _, s := range socks {
				got = append(got, s.local.String()+" "+s.remote.String()+" "+itoa(int(s.state)))
			}
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func FuzzParseProcNet(f *testing.F) {
	f.Add(tcp4)
	f.Add(tcp6)
	f.Fuzz(func(t *testing.T, s string) { parseProcNet(strings.NewReader(s), "tcp") })
}
