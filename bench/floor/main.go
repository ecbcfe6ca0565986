// Command floor is the I/O floor a scanner is measured against: it reads a
// docker-archive once and decompresses every layer, walking its tar entries,
// and nothing else. It uses the same decompressors as Vigil's layer walk
// (klauspost/compress), so the ratio Vigil/floor measures Vigil's own work.
package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: floor IMAGE.tar")
		os.Exit(2)
	}
	start := time.Now()
	layers, entries, bytesOut, err := run(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
	fmt.Printf("floor: %d layers, %d entries, %d uncompressed bytes, %.3fs\n", layers, entries, bytesOut, time.Since(start).Seconds())
}

func run(path string) (layers, entries int, n int64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, 0, err
	}
	defer f.Close()
	outer := tar.NewReader(bufio.NewReaderSize(f, 1<<20))
	for {
		h, err := outer.Next()
		if err == io.EOF {
			return layers, entries, n, nil
		}
		if err != nil {
			return 0, 0, 0, err
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		br := bufio.NewReaderSize(outer, 1<<20)
		magic, _ := br.Peek(262)
		var r io.Reader
		switch {
		case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
			zr, err := gzip.NewReader(br)
			if err != nil {
				return 0, 0, 0, err
			}
			r = zr
		case bytes.HasPrefix(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
			zr, err := zstd.NewReader(br)
			if err != nil {
				return 0, 0, 0, err
			}
			defer zr.Close()
			r = zr
		case len(magic) >= 262 && bytes.Equal(magic[257:262], []byte("ustar")):
			r = br
		default:
			if _, err := io.Copy(io.Discard, br); err != nil {
				return 0, 0, 0, err
			}
			continue
		}
		layers++
		tr := tar.NewReader(r)
		for {
			_, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return 0, 0, 0, err
			}
			entries++
			c, err := io.Copy(io.Discard, tr)
			if err != nil {
				return 0, 0, 0, err
			}
			n += c
		}
	}
}
