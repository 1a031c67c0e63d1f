package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
)

func main() {
	err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr)
	switch {
	case err == nil:
	case errors.Is(err, errUsage):
		os.Exit(2)
	case errors.Is(err, errRejected):
		os.Exit(1) // check has said why
	default:
		fmt.Fprintln(os.Stderr, "tollgate:", err)
		os.Exit(1)
	}
}

// errUsage marks a command-line mistake (exit status 2); the flag package
// or the command has already said what it is.
var errUsage = errors.New("usage")

const usage = `tollgate protects HTTP APIs with OAuth 2.0 bearer tokens.

Usage:
  tollgate proxy        -config FILE    reverse proxy in front of the configured upstream
  tollgate forward-auth -config FILE    authorization service for nginx, Traefik or Envoy
  tollgate check        -config FILE [-token-file FILE] [-method M] [-path P]
                                        explain what tollgate decides about a token (read from stdin)

The configuration is YAML; ${VAR} in a string value is replaced by the
environment variable VAR (${VAR:-default} for a default). See README.md.
`

// run is main without the process: it runs the subcommand in args, writing
// to stdout and stderr, until ctx ends or SIGTERM or SIGINT arrives (servers
// then drain the requests in flight).
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return runWith(ctx, args, stdout, stderr, nil)
}

// listening is where a server listens, given to the ready callback of
// runWith.
type listening struct {
	Addr string // the proxy or forward-auth listener
	Ops  string // /healthz, /readyz, /metrics
}

// runWith is run with a callback, called once a server's listeners are bound
// and its signal handler installed, for tests that start the server
// in-process.
func runWith(ctx context.Context, args []string, stdout, stderr io.Writer, ready func(listening)) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	switch args[0] {
	case "proxy", "forward-auth":
		return serve(ctx, args[0], args[1:], stderr, ready)
	case "check":
		return check(ctx, args[1:], os.Stdin, stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprintf(stderr, "tollgate: unknown command %q\n\n%s", args[0], usage)
	return errUsage
}
