// Package demo runs a router example for real: an in-process authorization
// server, JWT validation against its JWK Set, the router on a loopback port,
// and a tour of requests whose answers it prints and checks.
package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/tollgate/tollgate/middleware"
	"github.com/tollgate/tollgate/oauthtest"
	"github.com/tollgate/tollgate/validator"
)

// NewRouter is the constructor each example provides.
type NewRouter func(*middleware.Middleware, *middleware.MetadataHandler) http.Handler

// Run starts everything, walks the tour and stops everything. It returns an
// error if any answer differs from the expected one.
func Run(ctx context.Context, out io.Writer, newRouter NewRouter) (err error) {
	as := oauthtest.NewServer()
	defer as.Close()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer ln.Close()
	base := "http://" + ln.Addr().String()
	resource := base // the API's resource identifier: the audience of its tokens

	v, err := validator.New(validator.Config{Issuers: []validator.Issuer{{
		Issuer: as.Issuer(), Audiences: []string{resource},
	}}})
	if err != nil {
		return err
	}
	defer v.Close()
	if err := v.Start(ctx); err != nil {
		return err
	}

	prm, err := middleware.NewMetadataHandler(middleware.ResourceMetadata{
		Resource:             resource,
		AuthorizationServers: []string{as.Issuer()},
		ScopesSupported:      []string{"orders:read", "orders:write", "orders:admin"},
	})
	if err != nil {
		return err
	}
	mw, err := middleware.New(v, middleware.Config{Realm: "orders", ResourceMetadataURL: prm.URL()})
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: newRouter(mw, prm), ReadHeaderTimeout: 5 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err = errors.Join(err, srv.Shutdown(sctx))
		if serr := <-served; !errors.Is(serr, http.ErrServerClosed) {
			err = errors.Join(err, serr)
		}
	}()

	token := func(scopes ...string) string {
		return as.JWT(oauthtest.TokenOptions{Audience: []string{resource}, Scopes: scopes})
	}
	client := &http.Client{Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()
	steps := []struct {
		method, path, who, token string
		status                   int
	}{
		{"GET", "/orders", "no token", "", 401},
		{"GET", "/orders", "orders:read", token("orders:read"), 200},
		{"GET", "/orders", "token for another API", as.JWT(oauthtest.TokenOptions{Scopes: []string{"orders:read"}}), 401},
		{"POST", "/orders", "orders:read", token("orders:read"), 403},
		{"POST", "/orders", "orders:read orders:write", token("orders:read", "orders:write"), 201},
		{"GET", "/orders/42", "orders:admin", token("orders:admin"), 200},
		{"DELETE", "/orders/42", "orders:write", token("orders:write"), 403},
		{"DELETE", "/orders/42", "orders:admin", token("orders:admin"), 204},
		{"GET", strings.TrimPrefix(prm.URL(), base), "no token", "", 200},
	}
	var failed []string
	for _, s := range steps {
		req, err := http.NewRequestWithContext(ctx, s.method, base+s.path, nil)
		if err != nil {
			return err
		}
		if s.token != "" {
			req.Header.Set("Authorization", "Bearer "+s.token)
		}
		res, err := client.Do(req)
		if err != nil {
			return err
		}
		body, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
		res.Body.Close()
		if err != nil {
			return err
		}
		answer := strings.TrimSpace(string(body))
		if ch := res.Header.Get("WWW-Authenticate"); ch != "" {
			answer = "WWW-Authenticate: " + ch
		}
		mark := "ok"
		if res.StatusCode != s.status {
			mark = fmt.Sprintf("FAIL (want %d)", s.status)
			failed = append(failed, s.method+" "+s.path+" with "+s.who)
		}
		fmt.Fprintf(out, "%-6s %-38s %-26s -> %d %s  [%s]\n", s.method, s.path, "("+s.who+")", res.StatusCode, answer, mark)
	}
	if len(failed) > 0 {
		return fmt.Errorf("unexpected answers: %s", strings.Join(failed, "; "))
	}
	return nil
}
