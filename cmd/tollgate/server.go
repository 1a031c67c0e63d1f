package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/tollgate/tollgate"
)

// startTimeout bounds the wait for the first fetch of the keys at start-up;
// past it the server answers 503 (and /readyz 503) until they arrive.
const startTimeout = 15 * time.Second

// serve runs `tollgate proxy` or `tollgate forward-auth`.
func serve(ctx context.Context, cmd string, args []string, stderr io.Writer, onReady func(listening)) error {
	fs := flag.NewFlagSet("tollgate "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "tollgate.yaml", "the configuration `file`")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "tollgate %s: unexpected argument %q\n", cmd, fs.Arg(0))
		return errUsage
	}
	need := needServer | needProxy
	listen := func(c *config) string { return c.Proxy.Listen }
	if cmd == "forward-auth" {
		need = needServer | needForwardAuth
		listen = func(c *config) string { return c.ForwardAuth.Listen }
	}
	cfg, err := loadConfig(*configPath, need, os.LookupEnv)
	if err != nil {
		return err
	}
	logger := newLogger(cfg.Log, stderr)

	// The handler is installed before anything listens, so a SIGTERM is
	// never fatal once the ready callback ran.
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, os.Interrupt)
	defer stop()

	var (
		draining atomic.Bool
		a        *app
	)
	ready := func() bool { return !draining.Load() && a != nil && a.keysReady() }
	m := newMetrics(ready)
	a, err = newApp(cfg, logger, tollgate.JoinObservers(tollgate.NewLogObserver(logger), m.observer()))
	if err != nil {
		return err
	}
	defer a.close()

	var handler http.Handler
	switch cmd {
	case "proxy":
		p, err := newProxy(a, m)
		if err != nil {
			return err
		}
		defer p.close()
		handler = p
	default:
		f, err := newForwardAuth(a, m)
		if err != nil {
			return err
		}
		handler = f
	}

	ln, err := net.Listen("tcp", listen(cfg))
	if err != nil {
		return err
	}
	defer ln.Close()
	opsLn, err := net.Listen("tcp", cfg.Ops.Listen)
	if err != nil {
		return err
	}
	defer opsLn.Close()

	errorLog := slog.NewLogLogger(logger.Handler(), slog.LevelWarn)
	sc := cfg.Server
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: sc.ReadHeaderTimeout.D(),
		ReadTimeout:       max(sc.ReadTimeout.D(), 0),
		WriteTimeout:      max(sc.WriteTimeout.D(), 0),
		IdleTimeout:       max(sc.IdleTimeout.D(), 0),
		MaxHeaderBytes:    sc.MaxHeaderBytes,
		ErrorLog:          errorLog,
	}
	opsSrv := &http.Server{
		Handler:           opsHandler(m, a, &draining),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          errorLog,
	}

	var wg sync.WaitGroup
	errc := make(chan error, 2)
	for _, s := range []struct {
		srv *http.Server
		ln  net.Listener
	}{{srv, ln}, {opsSrv, opsLn}} {
		wg.Go(func() {
			if err := s.srv.Serve(s.ln); !errors.Is(err, http.ErrServerClosed) {
				errc <- err
			}
		})
	}
	wg.Go(func() { a.start(ctx, startTimeout) })

	logger.Info("tollgate: listening", "command", cmd, "addr", ln.Addr().String(), "ops", opsLn.Addr().String(),
		"issuers", len(cfg.Issuers), "rules", len(cfg.Rules))
	if onReady != nil {
		onReady(listening{Addr: ln.Addr().String(), Ops: opsLn.Addr().String()})
	}

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	// Not ready any more, so that load balancers stop sending; then let the
	// requests in flight finish.
	draining.Store(true)
	logger.Info("tollgate: shutting down, draining requests in flight", "timeout", sc.ShutdownTimeout.D().String())
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sc.ShutdownTimeout.D())
	defer cancel()
	drainErr := srv.Shutdown(sctx)
	if drainErr != nil {
		srv.Close()
		drainErr = fmt.Errorf("drain: %w", drainErr)
	}
	if err := opsSrv.Shutdown(sctx); err != nil {
		opsSrv.Close()
	}
	wg.Wait()
	logger.Info("tollgate: stopped")
	return errors.Join(serveErr, drainErr)
}

// opsHandler serves /healthz (the process is alive), /readyz (every issuer's
// keys are loaded and the server is not draining) and /metrics.
func opsHandler(m *metrics, a *app, draining *atomic.Bool) http.Handler {
	mux := http.NewServeMux()
	text := func(w http.ResponseWriter, status int, body string) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body+"\n")
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		text(w, http.StatusOK, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		switch {
		case draining.Load():
			text(w, http.StatusServiceUnavailable, "shutting down")
		case !a.keysReady():
			text(w, http.StatusServiceUnavailable, "keys not loaded")
		default:
			text(w, http.StatusOK, "ready")
		}
	})
	mux.Handle("GET /metrics", m.handler())
	return mux
}
