package main

import (
	"fmt"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/middleware"
)

// newRouter returns the example orders API on a gorilla/mux router. The
// metadata document and /health are public; everything on the api
// subrouter needs a valid token, and each route asks for its own scope.
func newRouter(mw *middleware.Middleware, prm *middleware.MetadataHandler) http.Handler {
	r := mux.NewRouter()
	for _, p := range prm.Paths() {
		r.Handle(p, prm).Methods(http.MethodGet)
	}
	r.HandleFunc("/health", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })

	api := r.PathPrefix("/orders").Subrouter()
	api.Use(mw.Handler)
	api.Handle("", middleware.RequireScopes("orders:read")(http.HandlerFunc(listOrders))).Methods(http.MethodGet)
	api.Handle("", middleware.RequireScopes("orders:write")(http.HandlerFunc(createOrder))).Methods(http.MethodPost)
	api.Handle("/{id}", middleware.RequireAnyScope("orders:read", "orders:admin")(http.HandlerFunc(getOrder))).Methods(http.MethodGet)
	api.HandleFunc("/{id}", deleteOrder).Methods(http.MethodDelete)
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
	fmt.Fprintf(w, "order %s\n", mux.Vars(r)["id"])
}

// deleteOrder checks its scope inside the handler, the one-line way.
func deleteOrder(w http.ResponseWriter, r *http.Request) {
	if err := tollgate.RequireScope(r.Context(), "orders:admin"); err != nil {
		middleware.WriteError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
