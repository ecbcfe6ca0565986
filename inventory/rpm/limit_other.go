//go:build !unix || race

package rpm

// limitMemory does nothing where setrlimit is missing, and under the race
// detector, whose shadow memory needs terabytes of address space.
func limitMemory() {}
