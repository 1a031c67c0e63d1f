package main

import (
	"context"
	"io"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/tollgate/tollgate/examples/routers/internal/demo"
	"github.com/tollgate/tollgate/examples/routers/internal/routertest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestRoutes checks every route's answers with a validator stand-in.
func TestRoutes(t *testing.T) { routertest.Run(t, newRouter) }

// TestDemo runs the program's tour with real tokens, key set and validator.
func TestDemo(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := demo.Run(ctx, io.Discard, newRouter); err != nil {
		t.Fatal(err)
	}
}
