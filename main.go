// Command kiln serves tasks with due dates and runs background jobs, from one binary. Every
// subcommand lives in internal/cli; this file only hands it the process.
package main

import (
	"context"
	"os"
	_ "time/tzdata" // time zones work even where the OS has no tz database (e.g. slim containers)

	"github.com/kilnhq/kiln/internal/cli"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	cli.Version = version
	cli.DefaultGC() // GOGC=200 unless set: see internal/cli/gc.go
	os.Exit(cli.Run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
