package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/tollgate/tollgate"
)

// errRejected is check's error when the token is refused: the output says
// why (exit status 1).
var errRejected = errors.New("token rejected")

// maxCheckToken bounds the token check reads.
const maxCheckToken = 64 << 10

// check runs `tollgate check`: it decodes the token for display (unverified,
// and labelled so), validates it with the validator the servers build from
// the same configuration, and prints which check failed and why - the
// validator's own *tollgate.Error - and the answer a server would give to a
// request with it. It never prints the token, its signature or a secret.
func check(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tollgate check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "tollgate.yaml", "the configuration `file`")
	tokenFile := fs.String("token-file", "-", "read the token from `file` (- for standard input)")
	method := fs.String("method", "GET", "the `method` of the request to decide on")
	path := fs.String("path", "", "the request `path` to decide on, with the configured rules (default: none, only the token is checked)")
	timeout := fs.Duration("timeout", startTimeout, "how long to wait for the issuers' keys")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "tollgate check: unexpected argument %q (the token is read from standard input or -token-file, never from the command line, where other users can see it)\n", fs.Arg(0))
		return errUsage
	}
	cfg, err := loadConfig(*configPath, 0, os.LookupEnv)
	if err != nil {
		return err
	}
	token, err := readToken(*tokenFile, stdin)
	if err != nil {
		return err
	}
	// Warnings (keys that could not be loaded, Insecure options) go to
	// stderr; the report goes to stdout.
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	a, err := newApp(cfg, logger, tollgate.Observer{})
	if err != nil {
		return err
	}
	defer a.close()

	out := &report{w: stdout}
	describeToken(out, token, time.Now())

	a.start(ctx, *timeout)
	vctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	p, verr := a.v.Validate(vctx, token)
	out.section("validation")
	if verr != nil {
		e := tollgate.AsError(verr)
		out.line("result", "REJECTED")
		out.line("kind", kindText(e))
		out.line("check", e.Check)
		if e.Detail != "" {
			out.line("detail", e.Detail)
		}
		if e.Err != nil {
			out.line("cause", e.Err.Error())
		}
		out.line("meaning", checkMeaning(e))
	} else {
		out.line("result", "VALID")
		out.line("subject", printable(p.Subject()))
		out.line("client_id", printable(p.ClientID()))
		out.line("issuer", printable(p.Issuer()))
		out.line("scopes", printable(p.Scopes().String()))
		out.line("kind", p.Kind().String())
		out.line("expires", fmt.Sprintf("%s (%s)", p.ExpiresAt().UTC().Format(time.RFC3339), relative(p.ExpiresAt(), time.Now())))
	}

	allowed := verr == nil
	if *path != "" {
		allowed = decideRequest(out, a, *method, *path, token)
	}
	if out.err != nil {
		return out.err
	}
	if !allowed {
		return errRejected
	}
	return nil
}

// decideRequest runs the request through the same handler chain as
// forward-auth (normalization, rules, middleware, scope checks) and prints
// the answer. It reports whether the request would be let through.
func decideRequest(out *report, a *app, method, path, token string) bool {
	out.section("request")
	out.line("request", method+" "+path)
	m := newMetrics(func() bool { return true })
	f, err := newForwardAuth(a, m)
	if err != nil {
		out.line("error", err.Error())
		return false
	}
	f.mode, f.prefix = modeEnvoy, "" // the check request is the original request
	if np, err := normalizePath(path); err != nil {
		out.line("path", err.Error())
	} else if rl, conflict := a.rules.match(method, np); conflict != nil {
		for _, c := range conflict {
			out.line("rule", fmt.Sprintf("rules[%d] %q%s", c.index, c.pattern, ruleNeeds(c)))
		}
		out.line("rule", "refused: variants of the path (letter case, trailing slash) select these rules, and none is at least as strict as the others")
	} else if rl == nil {
		out.line("rule", "none matches: refused")
	} else {
		out.line("rule", fmt.Sprintf("rules[%d] %q%s", rl.index, rl.pattern, ruleNeeds(rl)))
	}
	req := httptest.NewRequest(method, "http://tollgate.check/", nil)
	req.RequestURI = path
	req.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	f.ServeHTTP(rec, req)
	res := rec.Result()
	out.line("answer", fmt.Sprintf("%d %s", res.StatusCode, http.StatusText(res.StatusCode)))
	names := make([]string, 0, len(res.Header))
	for k := range res.Header {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		switch k {
		case "Content-Type", "X-Content-Type-Options", "Cache-Control":
			continue
		}
		for _, v := range res.Header[k] {
			out.line("", k+": "+printable(v))
		}
	}
	return res.StatusCode == http.StatusOK
}

func ruleNeeds(r *rule) string {
	switch {
	case r.deny:
		return ": deny"
	case r.anonymous:
		return ": anonymous (a token, if sent, must be valid)"
	}
	var parts []string
	if len(r.scopes) > 0 {
		parts = append(parts, "all of "+strings.Join(r.scopes, " "))
	}
	if len(r.anyScope) > 0 {
		parts = append(parts, "one of "+strings.Join(r.anyScope, " "))
	}
	if len(parts) == 0 {
		return ": any valid token"
	}
	return ": needs " + strings.Join(parts, " and ")
}

// readToken reads a token from a file or stdin, without a trailing newline
// and with an optional "Bearer " in front.
func readToken(name string, stdin io.Reader) (string, error) {
	r := stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return "", err
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, maxCheckToken+1))
	if err != nil {
		return "", fmt.Errorf("reading the token: %w", err)
	}
	if len(b) > maxCheckToken {
		return "", fmt.Errorf("the token is longer than %d bytes", maxCheckToken)
	}
	t := strings.TrimSpace(string(b))
	if len(t) > 7 && strings.EqualFold(t[:7], "bearer ") {
		t = strings.TrimSpace(t[7:])
	}
	if t == "" {
		return "", errors.New("no token: pass it on standard input or with -token-file")
	}
	return t, nil
}

// describeToken prints what the token says about itself, decoded but not
// verified: header, claims and their times. The signature is never printed.
func describeToken(out *report, token string, now time.Time) {
	out.section("token")
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		out.line("form", fmt.Sprintf("opaque (%d bytes, not a JWT): only introspection can judge it", len(token)))
		return
	}
	out.line("form", fmt.Sprintf("JWT, %d bytes (the token and its signature are not printed)", len(token)))
	for i, name := range []string{"header", "claims"} {
		b, err := decodeSegment64(parts[i])
		if err != nil {
			out.line(name, "not decodable: "+err.Error())
			continue
		}
		var pretty bytes.Buffer
		if err := json.Indent(&pretty, b, "  ", "  "); err != nil {
			out.line(name, "not JSON")
			continue
		}
		out.line(name, "(decoded, NOT verified)")
		out.raw("  " + pretty.String() + "\n")
		if name == "claims" {
			describeTimes(out, b, now)
		}
	}
}

func decodeSegment64(s string) ([]byte, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, errors.New("not unpadded base64url")
	}
	return b, nil
}

// describeTimes prints exp, nbf and iat as dates relative to now.
func describeTimes(out *report, claims []byte, now time.Time) {
	var c map[string]json.RawMessage
	if json.Unmarshal(claims, &c) != nil {
		return
	}
	for _, k := range []string{"iat", "nbf", "exp"} {
		raw, ok := c[k]
		if !ok {
			continue
		}
		var n json.Number
		if json.Unmarshal(raw, &n) != nil {
			out.line(k, "not a number")
			continue
		}
		f, err := n.Float64()
		if err != nil {
			continue
		}
		t := time.Unix(int64(f), 0)
		out.line(k, fmt.Sprintf("%s (%s)", t.UTC().Format(time.RFC3339), relative(t, now)))
	}
}

// printable returns s, quoted if it holds characters a terminal would
// interpret.
func printable(s string) string {
	for _, c := range s {
		if !unicode.IsPrint(c) {
			return strconv.Quote(s)
		}
	}
	return s
}

// relative says how far t is from now: "in 5m0s" or "3m0s ago".
func relative(t, now time.Time) string {
	d := t.Sub(now).Round(time.Second)
	if d >= 0 {
		return "in " + d.String()
	}
	return (-d).String() + " ago"
}

func kindText(e *tollgate.Error) string {
	switch {
	case errors.Is(e.Kind, tollgate.ErrUnavailable):
		return "unavailable (no decision: keys or authorization server out of reach)"
	case errors.Is(e.Kind, tollgate.ErrExpired):
		return "expired (invalid token)"
	case errors.Is(e.Kind, tollgate.ErrInvalidRequest):
		return "invalid request"
	case errors.Is(e.Kind, tollgate.ErrNoToken):
		return "no token"
	}
	return "invalid token"
}

// checkMeaning explains a failed check in a sentence, for the person
// debugging.
func checkMeaning(e *tollgate.Error) string {
	switch e.Check {
	case "size":
		return "the token is longer than the limit"
	case "format":
		return "not a compact JWS (three base64url parts) - an opaque token needs introspection"
	case "header":
		return "the JOSE header has a member tollgate refuses, or is malformed"
	case "alg":
		return "the algorithm is not allowed for this issuer (see issuers[].algorithms)"
	case "typ":
		return "typ is not at+jwt (RFC 9068); for issuers that do not set it, see insecure_allow_untyped"
	case "kid":
		return "no key of the issuer has this key ID, even after refetching the key set"
	case "key":
		return "no key of the issuer fits the token's algorithm"
	case "signature":
		return "the signature does not verify: tampered, or signed by another key"
	case "iss":
		return "the issuer is not one of the configured issuers (compared byte for byte, trailing slash included)"
	case "aud":
		return "the audience is not one of the issuer's configured audiences"
	case "exp":
		return "the token has expired (leeway included)"
	case "nbf":
		return "the token is not valid yet"
	case "iat":
		return "the token was issued in the future, or longer ago than max_age"
	case "sub":
		return "the token has no subject"
	case "cnf":
		return "a sender-constrained token (DPoP or mTLS) presented as a bearer token"
	case "claims":
		return "a required claim is missing or has the wrong type"
	case "jwks":
		return "the issuer's keys could not be loaded: check the issuer URL and that the authorization server is reachable"
	case "introspection":
		return "the introspection endpoint could not give an answer"
	case "active":
		return "the authorization server says the token is not active (revoked, expired or unknown)"
	}
	return "see the detail"
}

// report writes aligned "name  value" lines and remembers the first write
// error.
type report struct {
	w   io.Writer
	err error
}

func (r *report) raw(s string) {
	if r.err == nil {
		_, r.err = io.WriteString(r.w, s)
	}
}

func (r *report) section(name string) {
	r.raw("\n" + strings.ToUpper(name) + "\n")
}

func (r *report) line(name, value string) {
	r.raw(fmt.Sprintf("  %-10s %s\n", name, value))
}
