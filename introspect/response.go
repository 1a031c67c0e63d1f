package introspect

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tollgate/tollgate"
)

// checks are the claim checks applied to an active answer.
type checks struct {
	issuer    string   // expected "iss", when not empty
	audiences []string // accepted audiences, when not empty
	leeway    time.Duration
}

// maxDepth bounds the nesting of an answer; real answers nest two or three
// levels ("cnf", custom claims).
const maxDepth = 32

// errGarbage marks an answer that is not a JSON object: the authorization
// server (or something in front of it) misbehaves, so no decision can be
// made about the token.
var errGarbage = errors.New("introspection answer is not a JSON object")

// parseResponse reads an introspection answer (RFC 7662 section 2.2) and,
// when the token is active and passes the checks, returns its principal.
//
// The JSON is read strictly: valid UTF-8, one object, no duplicate member
// names at any depth (a second "active" must not override the first, as it
// would silently with encoding/json), member names matched exactly (never
// case-insensitively). Malformed JSON is an error wrapping errGarbage; every
// other failure is a *tollgate.Error of kind ErrInvalidToken or ErrExpired.
func parseResponse(body []byte, now time.Time, ck *checks) (*tollgate.Principal, error) {
	if err := strictJSON(body); err != nil {
		return nil, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("%w: %v", errGarbage, err)
	}

	// RFC 7662: "active" is REQUIRED and a boolean. Only the JSON literal
	// true means active; "true", 1, null or no member at all do not.
	switch string(m["active"]) {
	case "true":
	case "false":
		return nil, invalid("active", "token is not active")
	case "":
		return nil, invalid("active", "answer has no active member")
	default:
		return nil, invalid("active", "active is not a boolean")
	}

	// A sender-constrained token (DPoP, mTLS) presented as a bearer token
	// would let whoever stole it use it: refuse until proof of possession is
	// checked.
	if _, ok := m["cnf"]; ok {
		return nil, invalid("cnf", "sender-constrained token presented as a bearer token")
	}
	tokenType, err := str(m, "token_type")
	if err != nil {
		return nil, err
	}
	if tokenType != "" && !strings.EqualFold(tokenType, "Bearer") {
		return nil, invalid("token_type", "token type is not Bearer")
	}

	var info tollgate.PrincipalInfo
	info.Kind = tollgate.KindOpaque
	for _, f := range []struct {
		name string
		dst  *string
	}{
		{"sub", &info.Subject}, {"client_id", &info.ClientID}, {"username", &info.Username},
		{"iss", &info.Issuer}, {"jti", &info.TokenID},
	} {
		if *f.dst, err = str(m, f.name); err != nil {
			return nil, err
		}
	}
	scope, err := str(m, "scope")
	if err != nil {
		return nil, err
	}
	info.Scopes = tollgate.ParseScopes(scope)
	if info.Audiences, err = audiences(m["aud"]); err != nil {
		return nil, err
	}
	var nbf time.Time
	for _, f := range []struct {
		name string
		dst  *time.Time
	}{{"exp", &info.ExpiresAt}, {"iat", &info.IssuedAt}, {"nbf", &nbf}} {
		if *f.dst, err = numericDate(m, f.name); err != nil {
			return nil, err
		}
	}

	// The server said active, but its clock or its cache may lag: never
	// accept a token past its exp (no leeway), nor one not yet valid.
	if !info.ExpiresAt.IsZero() && !now.Before(info.ExpiresAt) {
		return nil, &tollgate.Error{Kind: tollgate.ErrExpired, Check: "exp",
			Detail: "expired " + now.Sub(info.ExpiresAt).Truncate(time.Second).String() + " ago"}
	}
	if !nbf.IsZero() && nbf.After(now.Add(ck.leeway)) {
		return nil, &tollgate.Error{Kind: tollgate.ErrExpired, Check: "nbf", Detail: "token not valid yet"}
	}
	if ck.issuer != "" {
		switch info.Issuer {
		case ck.issuer:
		case "":
			info.Issuer = ck.issuer
		default:
			return nil, invalid("iss", "issuer not accepted")
		}
	}
	if len(ck.audiences) > 0 && !slices.ContainsFunc(info.Audiences, func(a string) bool {
		return slices.Contains(ck.audiences, a)
	}) {
		if len(info.Audiences) == 0 {
			return nil, invalid("aud", "answer has no audience")
		}
		return nil, invalid("aud", "audience not accepted")
	}
	info.Claims = body
	return tollgate.NewPrincipal(info), nil
}

func invalid(check, detail string) error {
	return &tollgate.Error{Kind: tollgate.ErrInvalidToken, Check: check, Detail: detail}
}

// str returns a string member; absent or null is "".
func str(m map[string]json.RawMessage, name string) (string, error) {
	raw, ok := m[name]
	if !ok || string(raw) == "null" {
		return "", nil
	}
	var s string
	if raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return "", invalid(name, name+" is not a string")
	}
	return s, nil
}

// audiences reads "aud": a string or an array of strings.
func audiences(raw json.RawMessage) ([]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err == nil {
			return []string{s}, nil
		}
	case '[':
		var a []string
		if err := json.Unmarshal(raw, &a); err == nil {
			return a, nil
		}
	}
	return nil, invalid("aud", "aud is not a string or an array of strings")
}

// maxNumericDate is 9999-12-31T23:59:59Z; later dates are nonsense, and
// larger floats would overflow time arithmetic.
const maxNumericDate = 253402300799

// numericDate reads a NumericDate member (seconds since the epoch, possibly
// with a fraction); absent or null is the zero time.
func numericDate(m map[string]json.RawMessage, name string) (time.Time, error) {
	raw, ok := m[name]
	if !ok || string(raw) == "null" {
		return time.Time{}, nil
	}
	bad := invalid(name, name+" is not a valid NumericDate")
	if c := raw[0]; c != '-' && (c < '0' || c > '9') {
		return time.Time{}, bad
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || f < 0 || f > maxNumericDate {
		return time.Time{}, bad
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), nil
}

// strictJSON checks that body is valid UTF-8 holding exactly one JSON
// object, nested at most maxDepth levels, whose objects have no duplicate
// member names (compared after unescaping, so "\u0061ctive" is "active").
func strictJSON(body []byte) error {
	if !utf8.Valid(body) {
		return fmt.Errorf("%w: invalid UTF-8", errGarbage)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return errGarbage
	}
	if err := walkObject(dec, 1); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%w: data after the object", errGarbage)
	}
	return nil
}

// walkObject reads the members of an object whose '{' was read.
func walkObject(dec *json.Decoder, depth int) error {
	var seen map[string]struct{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("%w: %v", errGarbage, err)
		}
		name, ok := tok.(string)
		if !ok {
			return errGarbage
		}
		if seen == nil {
			seen = make(map[string]struct{})
		}
		if _, dup := seen[name]; dup {
			return invalid("claims", "duplicate member in the introspection answer")
		}
		seen[name] = struct{}{}
		if err := walkValue(dec, depth); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil { // '}'
		return fmt.Errorf("%w: %v", errGarbage, err)
	}
	return nil
}

func walkValue(dec *json.Decoder, depth int) error {
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("%w: %v", errGarbage, err)
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	if depth >= maxDepth {
		return fmt.Errorf("%w: nested too deeply", errGarbage)
	}
	switch d {
	case '{':
		return walkObject(dec, depth+1)
	case '[':
		for dec.More() {
			if err := walkValue(dec, depth+1); err != nil {
				return err
			}
		}
		if _, err := dec.Token(); err != nil { // ']'
			return fmt.Errorf("%w: %v", errGarbage, err)
		}
		return nil
	}
	return errGarbage
}
