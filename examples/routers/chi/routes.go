package main

import (
	"fmt"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/middleware"
)

// newRouter returns the example orders API on a chi router. The metadata
// document and /health are public; everything under the group needs a valid
// token, and each route asks for its own scope.
func newRouter(mw *middleware.Middleware, prm *middleware.MetadataHandler) http.Handler {
	r := chi.NewRouter()
	for _, p := range prm.Paths() {
		r.Method(http.MethodGet, p, prm)
	}
	r.Get("/health", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })

	r.Group(func(r chi.Router) {
		r.Use(mw.Handler)
		r.With(middleware.RequireScopes("orders:read")).Get("/orders", listOrders)
		r.With(middleware.RequireScopes("orders:write")).Post("/orders", createOrder)
		r.With(middleware.RequireAnyScope("orders:read", "orders:admin")).Get("/orders/{id}", getOrder)
		r.Delete("/orders/{id}", deleteOrder)
	})
	return r
}

func listOrders(w http.ResponseWriter, r *http.Request) {
	p, _ := tollgate.FromContext(r.Context())
	fmt.Fprintf(w, "orders of %s\n", p.Subject())
}

func createOrder(w http.ResponseWriter, r *http.Request) {
	p, _ := tollgate.FromContext(r.Context())
	w.WriteHeader(http.StatusCreated)
	fmt.Fprintf(w, "order created by %s\n", p.Subject())
}

func getOrder(w http.ResponseWriter, r *http.Request) {
	fmt.Fprintf(w, "order %s\n", chi.URLParam(r, "id"))
}

// deleteOrder checks its scope inside the handler, the one-line way.
func deleteOrder(w http.ResponseWriter, r *http.Request) {
	if err := tollgate.RequireScope(r.Context(), "orders:admin"); err != nil {
		middleware.WriteError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
