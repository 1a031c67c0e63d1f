package middleware

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tollgate/tollgate"
)

// Rejection describes the answer to a refused request, for a
// [Config.ErrorHandler] that renders its own body. Every field is safe to
// show to the client: nothing comes from the token.
type Rejection struct {
	// Status is the HTTP status: 400, 401, 403 or 503 (500 only when
	// [WriteError] is given a nil error).
	Status int
	// Code is the RFC 6750 error code of the challenge: "invalid_request",
	// "invalid_token" or "insufficient_scope"; empty for a request without
	// credentials and for 503.
	Code string
	// Description is the error_description of the challenge, one of a fixed
	// set of strings; empty when the challenge has none.
	Description string
	// Scopes are the scopes the challenge names, for insufficient_scope.
	Scopes []string
	// Err is the classified error. Its Detail is safe to log, but it is
	// meant for logs more than for clients.
	Err *tollgate.Error
}

// WriteError answers r with the status, WWW-Authenticate challenge and
// Retry-After that the [Middleware] in front of the handler would have
// written for err, rendered by that middleware's ErrorHandler and reported to
// its Observer. It is how a handler refuses a request after its own scope
// check:
//
//	if err := tollgate.RequireScope(r.Context(), "orders:write"); err != nil {
//		middleware.WriteError(w, r, err)
//		return
//	}
//
// err is classified by [tollgate.AsError]: an error matching
// [tollgate.ErrInsufficientScope] answers 403 with the scope attribute, one
// matching [tollgate.ErrNoToken] 401, and so on (see the package
// documentation). Outside a Middleware, WriteError answers as a Middleware
// with the zero [Config] would. A nil err is a bug in the caller; it is
// answered 500.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	rs := responderFrom(r.Context())
	e := tollgate.AsError(err)
	if e != nil && rs.obs.OnReject != nil {
		rs.obs.OnReject(r.Context(), tollgate.RejectEvent{Err: e})
	}
	rs.write(w, r, e)
}

// responder writes rejections; a Middleware shares its own with the handlers
// behind it through the request context, for WriteError.
type responder struct {
	realm        string // checked by checkQuotable
	metadataURL  string // checked by checkURL
	retryAfter   string
	errorHandler func(http.ResponseWriter, *http.Request, Rejection)
	obs          tollgate.Observer
	noToken      string // the challenge without an error code, built once
}

type responderKey struct{}

func newResponder(realm, metadataURL string, retryAfter time.Duration, eh func(http.ResponseWriter, *http.Request, Rejection), obs tollgate.Observer) *responder {
	if retryAfter == 0 {
		retryAfter = defaultRetryAfter
	}
	secs := int64((retryAfter + time.Second - 1) / time.Second)
	rs := &responder{
		realm:        realm,
		metadataURL:  metadataURL,
		retryAfter:   strconv.FormatInt(secs, 10),
		errorHandler: eh,
		obs:          obs,
	}
	rs.noToken = rs.challenge(Rejection{Status: http.StatusUnauthorized})
	return rs
}

func responderFrom(ctx context.Context) *responder {
	if rs, ok := ctx.Value(responderKey{}).(*responder); ok {
		return rs
	}
	return newResponder("", "", 0, nil, tollgate.Observer{})
}

// classify maps an error to the row of the response table (DESIGN.md, "HTTP
// responses") that answers it. Anything not recognised is an invalid token:
// fail closed.
func classify(e *tollgate.Error) Rejection {
	switch {
	case e == nil:
		return Rejection{Status: http.StatusInternalServerError}
	case errors.Is(e.Kind, tollgate.ErrUnavailable):
		return Rejection{Status: http.StatusServiceUnavailable, Err: e}
	case errors.Is(e.Kind, tollgate.ErrInsufficientScope):
		rej := Rejection{Status: http.StatusForbidden, Code: "insufficient_scope", Err: e}
		if len(e.Scopes) > 0 && checkScopes(e.Scopes) == nil {
			rej.Scopes = append([]string(nil), e.Scopes...)
		}
		return rej
	case errors.Is(e.Kind, tollgate.ErrInvalidRequest):
		return Rejection{Status: http.StatusBadRequest, Code: "invalid_request", Description: requestDescription(e), Err: e}
	case errors.Is(e.Kind, tollgate.ErrNoToken):
		return Rejection{Status: http.StatusUnauthorized, Err: e}
	}
	return Rejection{Status: http.StatusUnauthorized, Code: "invalid_token", Description: tokenDescription(e), Err: e}
}

// The details of the invalid_request errors the middleware makes itself.
const (
	detailMultipleHeaders = "more than one Authorization header"
	detailMultiplePlaces  = "bearer token sent in more than one way"
	detailMultipleParams  = "more than one access_token parameter"
	detailFormTooLarge    = "form body too large"
	detailFormUnreadable  = "form body could not be read"
)

// requestDescription returns the error_description of an invalid_request:
// the error's Detail when it is one of the fixed texts of tollgate's
// extraction, a generic text otherwise, so nothing else reaches the header.
func requestDescription(e *tollgate.Error) string {
	switch e.Detail {
	case "empty bearer token", "malformed bearer token", // tollgate.ParseAuthorization, tollgate.CheckToken
		detailMultipleHeaders, detailMultiplePlaces, detailMultipleParams, detailFormTooLarge, detailFormUnreadable:
		return e.Detail
	}
	return "malformed request"
}

// tokenDescription returns the error_description of an invalid_token. It
// says no more than whether the token expired, which tells the client to get
// a new one; which other check failed is for the logs, not for a caller who
// may be probing.
func tokenDescription(e *tollgate.Error) string {
	if errors.Is(e.Kind, tollgate.ErrExpired) {
		if e.Check == "nbf" || e.Check == "iat" {
			return "the access token is not yet valid"
		}
		return "the access token expired"
	}
	return "the access token is invalid"
}

// challenge builds the WWW-Authenticate value of rej, attributes in the order
// realm, error, error_description, scope, resource_metadata. Every value was
// checked to need no escaping: the realm and URL at construction, the scopes
// in classify, the rest are constants.
func (rs *responder) challenge(rej Rejection) string {
	var b strings.Builder
	b.Grow(64 + len(rs.realm) + len(rs.metadataURL))
	b.WriteString("Bearer")
	sep := " "
	attr := func(name, value string) {
		b.WriteString(sep)
		b.WriteString(name)
		b.WriteString(`="`)
		b.WriteString(value)
		b.WriteByte('"')
		sep = ", "
	}
	if rs.realm != "" {
		attr("realm", rs.realm)
	}
	if rej.Code != "" {
		attr("error", rej.Code)
	}
	if rej.Description != "" {
		attr("error_description", rej.Description)
	}
	if len(rej.Scopes) > 0 {
		attr("scope", strings.Join(rej.Scopes, " "))
	}
	if rs.metadataURL != "" && (rej.Status == http.StatusUnauthorized || rej.Status == http.StatusForbidden) {
		attr("resource_metadata", rs.metadataURL)
	}
	return b.String()
}

// write answers the request with the rejection for e.
func (rs *responder) write(w http.ResponseWriter, r *http.Request, e *tollgate.Error) {
	rej := classify(e)
	var challenge string
	switch {
	case rej.Status == http.StatusServiceUnavailable || rej.Status == http.StatusInternalServerError:
		// No challenge: the request may be fine, we could not decide.
	case rej.Status == http.StatusUnauthorized && rej.Code == "":
		challenge = rs.noToken
	default:
		challenge = rs.challenge(rej)
	}
	sw := &statusWriter{ResponseWriter: w, status: rej.Status, challenge: challenge}
	if rej.Status == http.StatusServiceUnavailable {
		sw.retryAfter = rs.retryAfter
	}
	if rs.errorHandler != nil {
		sw.setHeaders()
		rs.errorHandler(sw, r, rej)
		sw.WriteHeader(rej.Status) // in case it wrote nothing
		return
	}
	h := w.Header()
	h.Del("Content-Length")
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	sw.WriteHeader(rej.Status)
	body := http.StatusText(rej.Status)
	if rej.Description != "" {
		body += ": " + rej.Description
	}
	_, _ = io.WriteString(w, body+"\n")
}

// statusWriter holds an ErrorHandler to the decided status and headers: the
// first WriteHeader or Write sends rej.Status with the challenge, whatever
// the ErrorHandler asked for or changed.
type statusWriter struct {
	http.ResponseWriter
	status     int
	challenge  string // empty: no WWW-Authenticate
	retryAfter string // empty: no Retry-After
	wrote      bool
}

func (sw *statusWriter) setHeaders() {
	h := sw.ResponseWriter.Header()
	if sw.challenge != "" {
		h.Set("WWW-Authenticate", sw.challenge)
	} else {
		h.Del("WWW-Authenticate")
	}
	if sw.retryAfter != "" {
		h.Set("Retry-After", sw.retryAfter)
	} else {
		h.Del("Retry-After")
	}
}

// WriteHeader sends the decided status, whatever code says.
func (sw *statusWriter) WriteHeader(int) {
	if sw.wrote {
		return
	}
	sw.wrote = true
	sw.setHeaders()
	sw.ResponseWriter.WriteHeader(sw.status)
}

func (sw *statusWriter) Write(b []byte) (int, error) {
	sw.WriteHeader(sw.status)
	return sw.ResponseWriter.Write(b)
}

// Unwrap gives http.ResponseController access to the underlying writer.
func (sw *statusWriter) Unwrap() http.ResponseWriter { return sw.ResponseWriter }

// checkQuotable reports whether s can appear inside a quoted-string of a
// WWW-Authenticate header as is: printable ASCII without '"' and '\' (RFC 6750
// section 3 forbids them in realm and scope), no control characters.
func checkQuotable(s string) error {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			return errors.New(`contains '"' or '\'`)
		case c < 0x20 || c > 0x7e:
			return errors.New("contains a control or non-ASCII character")
		}
	}
	return nil
}

// checkScopes reports whether every name is an RFC 6749 scope-token:
// 1*( %x21 / %x23-5B / %x5D-7E ), which also makes it quotable.
func checkScopes(names []string) error {
	for _, n := range names {
		if n == "" {
			return errors.New("empty scope name")
		}
		for i := 0; i < len(n); i++ {
			if c := n[i]; c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
				return errors.New(`scope name contains a space, '"', '\', a control or non-ASCII character`)
			}
		}
	}
	return nil
}

// checkURL reports whether s is an absolute https URL (http for loopback
// hosts) without fragment or user information that can be quoted in a
// header.
func checkURL(s string) error {
	if err := checkQuotable(s); err != nil {
		return err
	}
	if strings.Contains(s, " ") {
		return errors.New("contains a space")
	}
	u, err := url.Parse(s)
	if err != nil {
		return errors.New("not a URL")
	}
	switch {
	case u.Host == "" || !u.IsAbs():
		return errors.New("not an absolute URL")
	case u.User != nil:
		return errors.New("must not contain user information")
	case u.Fragment != "" || strings.Contains(s, "#"):
		return errors.New("must not contain a fragment")
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && isLoopback(u.Hostname()):
		return nil
	}
	return errors.New("must use https (http only for loopback hosts)")
}

// isLoopback reports whether host is a loopback IP address or a name under
// localhost (RFC 6761), which never leave the machine.
func isLoopback(host string) bool {
	if ip := net.ParseIP(host); ip != nil {
		return ip.IsLoopback()
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	return host == "localhost" || strings.HasSuffix(host, ".localhost")
}
