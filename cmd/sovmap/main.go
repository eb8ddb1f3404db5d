// Command sovmap attributes IP addresses, domains and traffic to the
// providers behind them, the companies that ultimately control those
// providers, and the jurisdictions they answer to. See "sovmap help".
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/sovmap/sovmap/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
