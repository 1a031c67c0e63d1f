package tollgate

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
)

// DefaultHybridMaxTokenBytes is the default of [HybridConfig.MaxTokenBytes].
const DefaultHybridMaxTokenBytes = 16 << 10

// HybridConfig configures a [Hybrid]. Which validators are set picks the
// mode:
//
//   - JWT and Introspection: a token that looks like a JWT and names one of
//     JWTIssuers in its "iss" goes to JWT; every other token goes to
//     Introspection. JWTIssuers is required.
//   - JWT only: every token goes to JWT (JWTIssuers is not used).
//   - Introspection only: every token goes to Introspection, JWTs included
//     (for authorization servers whose JWTs must be introspected).
type HybridConfig struct {
	// JWT validates JWT access tokens locally (a validator.Validator, say,
	// usually behind a cache).
	JWT Validator
	// JWTIssuers are the issuers whose JWTs JWT validates: the same list as
	// JWT's own configuration. A JWT that names one of them is never sent to
	// Introspection, even when JWT rejects it: local policy (audience,
	// algorithms, lifetime) is final, and the token goes no further.
	JWTIssuers []string
	// Introspection validates opaque tokens (an introspect.Client).
	Introspection Validator
	// MaxTokenBytes bounds the size of a JWT-shaped token that the router
	// reads (default [DefaultHybridMaxTokenBytes], 16 KiB). In the JWT and
	// Introspection mode, a longer token made of three dot-separated
	// segments is rejected (check "size"): it is neither read nor sent to
	// the authorization server. Other tokens are not limited here.
	MaxTokenBytes int
}

// Hybrid is a [Validator] that routes each token to the validator that can
// judge it: JWT access tokens of known issuers to local validation, other
// tokens to introspection. See [HybridConfig] for the modes.
//
// Routing reads the JWT's payload without verifying it, only to find its
// "iss": it is tolerant (padding, either base64 alphabet, malformed JSON
// after an "iss" was found, duplicate "iss" members - any configured one
// counts) so that a token from a configured issuer reaches the JWT validator,
// which does every real check, rather than the authorization server. The
// unverified "iss" only chooses between configured validators; it never
// causes a fetch.
type Hybrid struct {
	jwt      Validator
	intro    Validator
	issuers  map[string]struct{}
	maxBytes int
}

// NewHybrid returns a Hybrid configured by cfg, after checking it.
func NewHybrid(cfg HybridConfig) (*Hybrid, error) {
	h := &Hybrid{jwt: cfg.JWT, intro: cfg.Introspection, maxBytes: cfg.MaxTokenBytes}
	switch {
	case h.jwt == nil && h.intro == nil:
		return nil, errors.New("tollgate: hybrid: JWT or Introspection is required")
	case h.maxBytes < 0:
		return nil, errors.New("tollgate: hybrid: MaxTokenBytes cannot be off")
	case h.maxBytes == 0:
		h.maxBytes = DefaultHybridMaxTokenBytes
	}
	if h.jwt != nil && h.intro != nil {
		if len(cfg.JWTIssuers) == 0 {
			return nil, errors.New("tollgate: hybrid: JWTIssuers is required when both JWT and Introspection are set")
		}
		h.issuers = make(map[string]struct{}, len(cfg.JWTIssuers))
		for _, iss := range cfg.JWTIssuers {
			if iss == "" {
				return nil, errors.New("tollgate: hybrid: empty issuer in JWTIssuers")
			}
			h.issuers[iss] = struct{}{}
		}
	}
	return h, nil
}

// Validate hands token to the validator its shape and issuer call for, and
// returns that validator's answer.
func (h *Hybrid) Validate(ctx context.Context, token string) (*Principal, error) {
	switch {
	case h.intro == nil:
		return h.jwt.Validate(ctx, token)
	case h.jwt == nil:
		return h.intro.Validate(ctx, token)
	}
	payload, ok := jwtPayload(token)
	if !ok {
		return h.intro.Validate(ctx, token)
	}
	if len(token) > h.maxBytes {
		return nil, &Error{Kind: ErrInvalidToken, Check: "size",
			Detail: "JWT-shaped token longer than " + strconv.Itoa(h.maxBytes) + " bytes"}
	}
	if h.fromJWTIssuer(payload) {
		return h.jwt.Validate(ctx, token)
	}
	return h.intro.Validate(ctx, token)
}

// jwtPayload returns the middle segment of a token made of exactly three
// dot-separated segments, the first two not empty (the signature may be, as
// in an unsecured JWT, which the JWT validator is there to refuse).
func jwtPayload(token string) (string, bool) {
	i := strings.IndexByte(token, '.')
	if i <= 0 {
		return "", false
	}
	rest := token[i+1:]
	j := strings.IndexByte(rest, '.')
	if j <= 0 || strings.IndexByte(rest[j+1:], '.') >= 0 {
		return "", false
	}
	return rest[:j], true
}

// fromJWTIssuer decodes payload (base64url, tolerantly) and reports whether
// its top-level "iss" is one of the configured JWT issuers.
func (h *Hybrid) fromJWTIssuer(payload string) bool {
	var buf [1024]byte
	var dst []byte
	if n := len(payload) * 3 / 4; n <= len(buf) {
		dst = buf[:n]
	} else {
		dst = make([]byte, n)
	}
	// The strict decoder is the fast path; the tolerant one is for tokens
	// that a strict reading would let slip past to introspection.
	n, err := base64.RawURLEncoding.Decode(dst, []byte(payload))
	if err != nil {
		var ok bool
		if n, ok = decodeBase64Tolerant(dst, payload); !ok {
			return false
		}
	}
	return scanIssuers(dst[:n], h.issuers)
}

// decodeBase64Tolerant decodes src in either base64 alphabet (URL-safe or
// standard, even mixed), with or without padding, into dst, which holds at
// least len(src)*3/4 bytes. It reports false for any other character.
func decodeBase64Tolerant(dst []byte, src string) (int, bool) {
	src = strings.TrimRight(src, "=")
	n := 0
	var acc uint32
	bits := 0
	for i := 0; i < len(src); i++ {
		var v byte
		switch c := src[i]; {
		case c >= 'A' && c <= 'Z':
			v = c - 'A'
		case c >= 'a' && c <= 'z':
			v = c - 'a' + 26
		case c >= '0' && c <= '9':
			v = c - '0' + 52
		case c == '-' || c == '+':
			v = 62
		case c == '_' || c == '/':
			v = 63
		default:
			return 0, false
		}
		acc = acc<<6 | uint32(v)
		bits += 6
		if bits >= 8 {
			bits -= 8
			dst[n] = byte(acc >> bits)
			n++
		}
	}
	return n, true
}

// scanIssuers reports whether the JSON object p has a top-level "iss"
// member whose string value is in issuers. It is a routing aid, not a
// validator: it returns true as soon as a configured issuer is found (a
// later duplicate or syntax error does not matter), and false when the
// input ends or stops being readable before one is.
func scanIssuers(p []byte, issuers map[string]struct{}) bool {
	i := skipSpace(p, 0)
	if i >= len(p) || p[i] != '{' {
		return false
	}
	i++
	for {
		i = skipSpace(p, i)
		if i >= len(p) || p[i] != '"' {
			return false
		}
		key, next, ok := readString(p, i)
		if !ok {
			return false
		}
		i = skipSpace(p, next)
		if i >= len(p) || p[i] != ':' {
			return false
		}
		i = skipSpace(p, i+1)
		if i < len(p) && p[i] == '"' && stringIs(key, "iss") {
			val, next, ok := readString(p, i)
			if !ok {
				return false
			}
			if _, found := issuers[string(unquote(val))]; found {
				return true
			}
			i = next
		} else if i = skipValue(p, i); i < 0 {
			return false
		}
		i = skipSpace(p, i)
		if i >= len(p) || p[i] != ',' {
			return false
		}
		i++
	}
}

func skipSpace(p []byte, i int) int {
	for i < len(p) && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r') {
		i++
	}
	return i
}

// readString reads the JSON string starting at p[i] == '"'. It returns the
// string with its quotes (escapes not yet decoded) and the index after it.
func readString(p []byte, i int) ([]byte, int, bool) {
	for j := i + 1; j < len(p); j++ {
		switch p[j] {
		case '\\':
			j++
		case '"':
			return p[i : j+1], j + 1, true
		}
	}
	return nil, 0, false
}

// unquote returns the value of the quoted JSON string q. Strings without
// escapes (all real issuers) cost nothing; escaped ones are decoded by
// encoding/json, so "https:\/\/as.example" is "https://as.example".
func unquote(q []byte) []byte {
	body := q[1 : len(q)-1]
	for _, c := range body {
		if c == '\\' {
			var s string
			// A copy, so that q (often on the caller's stack) does not escape.
			if json.Unmarshal(bytes.Clone(q), &s) != nil {
				return nil
			}
			return []byte(s)
		}
	}
	return body
}

// stringIs reports whether the quoted JSON string q decodes to s.
func stringIs(q []byte, s string) bool {
	return string(unquote(q)) == s
}

// skipValue returns the index after the JSON value starting at p[i], or -1.
// Nested objects and arrays are skipped by counting brackets outside
// strings, without recursion.
func skipValue(p []byte, i int) int {
	depth := 0
	for i < len(p) {
		switch c := p[i]; c {
		case '"':
			_, next, ok := readString(p, i)
			if !ok {
				return -1
			}
			i = next
		case '{', '[':
			depth++
			i++
		case '}', ']':
			if depth == 0 {
				return i
			}
			depth--
			i++
		case ',':
			if depth == 0 {
				return i
			}
			i++
		default:
			i++
		}
		if depth == 0 && i < len(p) && (p[i] == ',' || p[i] == '}') {
			return i
		}
	}
	if depth == 0 {
		return i
	}
	return -1
}
