// Command mcp runs an MCP-style server protected by tollgate and walks the
// authorization flow of the MCP specification against it, as a client that
// knows only the server's URL would: 401 with resource_metadata, the
// protected resource metadata (RFC 9728), the authorization server's
// metadata (RFC 8414), a token for the resource, 200; then 403
// insufficient_scope with the scope to ask for, a new token, 200.
//
//	go run ./examples/mcp
//
// It starts an in-process authorization server (oauthtest) and the MCP
// server on loopback ports, prints each step, and exits 0 when every step
// answered as expected.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/tollgate/tollgate/oauthtest"
)

// The client the example registers with the authorization server.
const (
	clientID     = "mcp-host"
	clientSecret = "mcp-host-secret"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := run(ctx, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "mcp:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out io.Writer) (err error) {
	as := oauthtest.New(oauthtest.Config{Clients: []oauthtest.Client{
		{ID: clientID, Secret: clientSecret, Scopes: []string{scopeRead, scopeCall}},
	}})
	defer as.Close()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	resource := "http://" + ln.Addr().String() + "/mcp"

	v, closeValidator, err := newValidator(ctx, as, resource)
	if err != nil {
		ln.Close()
		return err
	}
	defer closeValidator()

	h, err := newHandler(v, resource, as.Issuer())
	if err != nil {
		ln.Close()
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	defer func() {
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err = errors.Join(err, srv.Shutdown(shutdownCtx))
		if serr := <-served; !errors.Is(serr, http.ErrServerClosed) {
			err = errors.Join(err, serr)
		}
	}()

	c := &client{http: &http.Client{Timeout: 10 * time.Second}, out: out, clientID: clientID, secret: clientSecret}
	defer c.http.CloseIdleConnections()
	return c.walk(ctx, resource)
}
