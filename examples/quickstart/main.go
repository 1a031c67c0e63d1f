// Command quickstart is the tour of tollgate: it starts an authorization
// server (oauthtest) and an API protected by tollgate, both on loopback, then
// sends real HTTP requests and prints each one with its answer. It exits 0
// when every answer is the expected one.
//
//	go run ./examples/quickstart          # the tour
//	go run ./examples/quickstart -serve   # then keep both servers running
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	serve := flag.Bool("serve", false, "after the tour, keep the servers running and print a curl command with a valid token")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Stdout, *serve); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

// errUnexpected is returned when an answer of the tour was not the expected one.
var errUnexpected = errors.New("some answers were not the expected ones")

// run runs the tour, writing to out; with serve it then waits for ctx to end.
func run(ctx context.Context, out io.Writer, serve bool) error {
	env, err := start(ctx, out)
	if err != nil {
		return err
	}
	defer env.close()
	failed := env.tour(ctx)
	if failed > 0 {
		fmt.Fprintf(out, "\n%d step(s) did not answer as expected\n", failed)
		return errUnexpected
	}
	fmt.Fprintf(out, "\nall %d steps answered as expected\n", env.steps)
	if !serve {
		return nil
	}
	env.printServe()
	<-ctx.Done()
	return nil
}
