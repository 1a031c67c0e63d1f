// Command gorilla protects an orders API on a gorilla/mux router with tollgate: the
// middleware on the protected routes, a scope per route, a scope check
// inside one handler, and the RFC 9728 metadata document. It starts an
// in-process authorization server and the API on loopback ports, sends a
// tour of requests, prints the answers and exits 0 if each was expected.
//
//	go run ./examples/routers/gorilla
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/tollgate/tollgate/examples/routers/internal/demo"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := demo.Run(ctx, os.Stdout, newRouter); err != nil {
		fmt.Fprintln(os.Stderr, "gorilla:", err)
		os.Exit(1)
	}
}
