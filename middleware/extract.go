package middleware

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/tollgate/tollgate"
)

// tokenParam is the form and query parameter of RFC 6750 sections 2.2 and 2.3.
const tokenParam = "access_token"

// extract finds the bearer token of r (RFC 6750 section 2). It returns the
// token and the request to pass on: r itself, or a shallow copy without the
// access_token parameter and, when the form body was read, with the body
// given back (so an anonymous request of an Optional middleware keeps it).
//
// The header always counts; the query counts as a second place even when
// query tokens are off, since a client that sends one there meant it as a
// credential; the form body is read only when form tokens are on (reading it
// consumes it). A form or query token alone, when not enabled, is no
// credential.
func (m *Middleware) extract(w http.ResponseWriter, r *http.Request) (string, *http.Request, *tollgate.Error) {
	var (
		token      string
		fromHeader bool
		places     int
	)
	switch vals := r.Header["Authorization"]; len(vals) {
	case 0:
	case 1:
		t, err := tollgate.ParseAuthorization(vals[0])
		if err != nil {
			if e := tollgate.AsError(err); !errors.Is(e.Kind, tollgate.ErrNoToken) {
				return "", r, e
			}
			break // another scheme (Basic...): not a bearer credential
		}
		token, fromHeader = t, true
		places++
	default:
		return "", r, invalidRequest("authorization", detailMultipleHeaders)
	}

	q := scanParam(r.URL.RawQuery)
	if q.count > 0 {
		places++
	}

	var f paramScan
	if m.allowForm && isFormPost(r) {
		var err *tollgate.Error
		f, r, err = m.readForm(w, r)
		if err != nil {
			return "", r, err
		}
		if f.count > 0 {
			places++
		}
	}

	switch {
	case places > 1:
		return "", r, invalidRequest("authorization", detailMultiplePlaces)
	case fromHeader:
		return token, r, nil
	case f.count > 0:
		t, err := f.token("form")
		return t, r, err
	case q.count > 0 && m.allowQuery:
		t, err := q.token("query")
		if err != nil {
			return "", r, err
		}
		// RFC 6750 section 2.3: successful answers to a request with a
		// query token SHOULD be marked private, so that no shared cache
		// keeps what was fetched with a URL that carried a credential.
		// Set before the handler runs, which may still choose otherwise.
		w.Header().Set("Cache-Control", "private")
		return t, withoutQueryToken(r), nil
	}
	return "", r, &tollgate.Error{Kind: tollgate.ErrNoToken, Check: "authorization", Detail: "no bearer credentials"}
}

func invalidRequest(check, detail string) *tollgate.Error {
	return &tollgate.Error{Kind: tollgate.ErrInvalidRequest, Check: check, Detail: detail}
}

// paramScan is what scanParam found of access_token in a urlencoded string.
type paramScan struct {
	count     int
	value     string // the first occurrence, unescaped
	malformed bool   // an occurrence's value could not be unescaped
}

func (s paramScan) token(check string) (string, *tollgate.Error) {
	switch {
	case s.count > 1:
		return "", invalidRequest(check, detailMultipleParams)
	case s.malformed:
		return "", invalidRequest(check, "malformed bearer token")
	}
	if err := tollgate.CheckToken(s.value); err != nil {
		return "", invalidRequest(check, tollgate.AsError(err).Detail)
	}
	return s.value, nil
}

// scanParam looks for access_token in the urlencoded string raw, reading it
// the way url.ParseQuery does (so that what a handler would see through
// r.URL.Query or r.PostForm is what counts), except that an occurrence whose
// value cannot be unescaped still counts, as a malformed token: fail closed.
// It does not allocate unless the string has %-escapes.
func scanParam(raw string) paramScan {
	var s paramScan
	if raw == "" || !strings.Contains(raw, tokenParam) && !strings.Contains(raw, "%") {
		return s
	}
	for raw != "" {
		var seg string
		seg, raw, _ = strings.Cut(raw, "&")
		is, v, ok := tokenSegment(seg)
		if !is {
			continue
		}
		s.count++
		if s.count == 1 {
			s.value, s.malformed = v, !ok
		}
	}
	return s
}

// tokenSegment reports whether seg, one name=value pair, is an access_token
// parameter, and if so its unescaped value and whether unescaping succeeded.
func tokenSegment(seg string) (is bool, value string, ok bool) {
	if seg == "" || strings.Contains(seg, ";") {
		return false, "", false // url.ParseQuery skips these
	}
	k, v, _ := strings.Cut(seg, "=")
	if k != tokenParam {
		if !strings.Contains(k, "%") {
			return false, "", false
		}
		if uk, err := url.QueryUnescape(k); err != nil || uk != tokenParam {
			return false, "", false
		}
	}
	uv, err := url.QueryUnescape(v)
	if err != nil {
		return true, "", false
	}
	return true, uv, true
}

// stripParam returns raw without its access_token parameters; the other
// pairs are kept byte for byte, in order.
func stripParam(raw string) string {
	if scanParam(raw).count == 0 {
		return raw
	}
	var b strings.Builder
	b.Grow(len(raw))
	for raw != "" {
		var seg string
		seg, raw, _ = strings.Cut(raw, "&")
		if is, _, _ := tokenSegment(seg); is {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(seg)
	}
	return b.String()
}

// withoutQueryToken returns a shallow copy of r whose URL, RequestURI and
// Form no longer hold the access_token parameter, so that neither the
// handler, nor its logs, nor an upstream it proxies to sees the token.
func withoutQueryToken(r *http.Request) *http.Request {
	r2 := new(http.Request)
	*r2 = *r
	u := *r.URL
	u.RawQuery = stripParam(u.RawQuery)
	r2.URL = &u
	if path, query, ok := strings.Cut(r.RequestURI, "?"); ok {
		r2.RequestURI = path
		if query = stripParam(query); query != "" {
			r2.RequestURI += "?" + query
		}
	}
	r2.Form = withoutTokenValues(r.Form)
	return r2
}

func withoutTokenValues(v url.Values) url.Values {
	if !v.Has(tokenParam) {
		return v
	}
	c := make(url.Values, len(v))
	for k, vs := range v {
		if k != tokenParam {
			c[k] = vs
		}
	}
	return c
}

// isFormPost reports whether r may carry a form-encoded token (RFC 6750
// section 2.2): a POST with Content-Type application/x-www-form-urlencoded.
func isFormPost(r *http.Request) bool {
	if r.Method != http.MethodPost {
		return false
	}
	const formType = "application/x-www-form-urlencoded"
	ct := r.Header.Get("Content-Type")
	if strings.EqualFold(ct, formType) {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == formType
}

// readForm reads the form body of r, at most MaxFormBytes, and returns what
// it holds of access_token with a shallow copy of r that carries the body
// without the token: in r.Body (for handlers that read it), r.PostForm and
// r.ContentLength. A body that an earlier handler already parsed is taken
// from r.PostForm.
func (m *Middleware) readForm(w http.ResponseWriter, r *http.Request) (paramScan, *http.Request, *tollgate.Error) {
	r2 := new(http.Request)
	*r2 = *r
	if r.PostForm != nil {
		var s paramScan
		if vs := r.PostForm[tokenParam]; len(vs) > 0 {
			s.count, s.value = len(vs), vs[0]
		}
		r2.PostForm = withoutTokenValues(r.PostForm)
		r2.Form = withoutTokenValues(r.Form)
		return s, r2, nil
	}
	var body []byte
	if r.Body != nil {
		var err error
		body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, m.maxForm))
		if err != nil {
			// What was read is gone: the request cannot go on.
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				return paramScan{}, r, invalidRequest("form", detailFormTooLarge)
			}
			return paramScan{}, r, invalidRequest("form", detailFormUnreadable)
		}
	}
	raw := string(body)
	s := scanParam(raw)
	if s.count > 0 {
		raw = stripParam(raw)
		body = []byte(raw)
	}
	postForm, _ := url.ParseQuery(raw) // like ParseForm: keep what parses
	r2.PostForm = postForm
	r2.Form = nil // ParseForm rebuilds it from PostForm and the query
	r2.Body = io.NopCloser(bytes.NewReader(body))
	r2.ContentLength = int64(len(body))
	r2.TransferEncoding = nil
	r2.GetBody = nil
	if r.Header.Get("Content-Length") != "" {
		r2.Header = r.Header.Clone()
		r2.Header.Set("Content-Length", strconv.Itoa(len(body)))
	}
	return s, r2, nil
}
