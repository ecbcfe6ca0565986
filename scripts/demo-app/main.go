// Command demo-app is the application layer of Vigil's demo image: a real Go
// program built against real, old module versions, so the demo has language
// packages and known vulnerabilities to show beside the Debian ones.
package main

import (
	"fmt"

	"golang.org/x/text/language"
)

func main() {
	tag, err := language.Parse("en-US")
	if err != nil {
		panic(err)
	}
	fmt.Println("hello from", tag)
}
