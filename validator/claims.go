package validator

import (
	"bytes"
	"errors"
	"math"
	"strconv"
	"time"

	"github.com/tollgate/tollgate"
)

// claims holds the registered claims of a token, located (and type-checked)
// by read before the signature is verified, decoded by accept after.
type claims struct {
	// Members by index+1 (0: absent), not pointers: see member.
	iss, sub, aud, jti, clientID, azp, scope, scp int
	exp, nbf, iat                                 time.Time
	hasExp, hasNbf, hasIat                        bool
	cnf                                           bool
	idToken                                       string // "nonce" or "at_hash" when present
}

// read locates the registered claims among the top-level members and checks
// their JSON types.
func (c *claims) read(s *scanner) error {
	data := s.data
	for i := range s.count() {
		m := s.member(i)
		name := m.nameIn(data)
		var err error
		switch string(name) {
		case "iss":
			c.iss, err = i+1, wantString(m, name, "iss")
		case "sub":
			c.sub, err = i+1, wantString(m, name, "sub")
		case "jti":
			c.jti, err = i+1, wantString(m, name, "claims")
		case "client_id":
			c.clientID, err = i+1, wantString(m, name, "claims")
		case "azp":
			c.azp, err = i+1, wantString(m, name, "claims")
		case "scope":
			c.scope, err = i+1, wantString(m, name, "claims")
		case "scp":
			c.scp = i + 1
			if !stringOrStrings(data, m) {
				err = reject(tollgate.ErrInvalidToken, "claims", "scp is neither a string nor an array of strings")
			}
		case "aud":
			c.aud = i + 1
			if !stringOrStrings(data, m) {
				err = reject(tollgate.ErrInvalidToken, "aud", "aud is neither a string nor an array of strings")
			}
		case "exp":
			c.exp, c.hasExp, err = numericDate(data, m, "exp")
		case "nbf":
			c.nbf, c.hasNbf, err = numericDate(data, m, "nbf")
		case "iat":
			c.iat, c.hasIat, err = numericDate(data, m, "iat")
		case "cnf":
			c.cnf = true
		case "nonce", "at_hash":
			c.idToken = string(name)
		default:
			// A claim whose name differs from a registered one only in case
			// is refused: encoding/json, and so Principal.Claims, would take
			// it for the registered one.
			for _, known := range [...]string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "client_id", "azp",
				"scope", "scp", "cnf", "nonce", "at_hash"} {
				if bytes.EqualFold(name, []byte(known)) {
					err = reject(tollgate.ErrInvalidToken, "claims", "claim "+quote(name)+" differs from "+known+" only in case")
					break
				}
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func wantString(m *member, name []byte, check string) error {
	if m.kind != kindString {
		return reject(tollgate.ErrInvalidToken, check, string(name)+" is not a string")
	}
	return nil
}

func stringOrStrings(data []byte, m *member) bool {
	switch m.kind {
	case kindString:
		return true
	case kindArray:
		return arrayStrings(data, m, func([]byte, bool) bool { return true })
	}
	return false
}

// maxNumericDate bounds NumericDates to what time.Time and every peer
// handle (the year 5138); beyond is an attack or a bug.
const maxNumericDate = 1e11

// numericDate reads a NumericDate (RFC 7519 section 2): a JSON number of
// seconds since the epoch, possibly with a fraction.
func numericDate(data []byte, m *member, check string) (time.Time, bool, error) {
	if m.kind == kindNumber {
		if t, ok := parseNumericDate(m.raw(data)); ok {
			return t, true, nil
		}
	}
	return time.Time{}, false, reject(tollgate.ErrInvalidToken, check, check+" is not a NumericDate")
}

func parseNumericDate(raw []byte) (time.Time, bool) {
	// Fast path: a plain integer, as every issuer writes them.
	if len(raw) <= 11 {
		var n int64
		ok := true
		for _, c := range raw {
			if c < '0' || c > '9' {
				ok = false
				break
			}
			n = n*10 + int64(c-'0')
		}
		if ok {
			return time.Unix(n, 0), n < maxNumericDate
		}
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || math.IsNaN(f) || f < 0 || f >= maxNumericDate {
		return time.Time{}, false
	}
	sec := math.Floor(f)
	return time.Unix(int64(sec), int64((f-sec)*1e9)), true
}

// at returns the member at index+1 idx, or nil for 0.
func at(s *scanner, idx int) *member {
	if idx == 0 {
		return nil
	}
	return s.member(idx - 1)
}

// accept runs the checks on the verified claims and builds the principal.
func (is *issuer) accept(s *scanner, c *claims, now time.Time) (*tollgate.Principal, error) {
	data := s.data
	if c.cnf {
		return nil, reject(tollgate.ErrInvalidToken, "cnf", "sender-constrained token (cnf) presented as a bearer token")
	}
	if c.idToken != "" {
		return nil, reject(tollgate.ErrInvalidToken, "typ", "an ID token ("+c.idToken+") is not an access token")
	}

	if c.aud == 0 {
		return nil, reject(tollgate.ErrInvalidToken, "aud", "no aud")
	}
	auds, ok := is.tokenAudiences(data, at(s, c.aud))
	if !ok {
		return nil, reject(tollgate.ErrInvalidToken, "aud", "audience not accepted")
	}

	if !c.hasExp {
		return nil, reject(tollgate.ErrInvalidToken, "exp", "no exp")
	}
	if !now.Before(c.exp.Add(is.leeway)) {
		return nil, reject(tollgate.ErrExpired, "exp", "expired "+now.Sub(c.exp).Truncate(time.Second).String()+" ago")
	}
	if c.hasNbf && now.Add(is.leeway).Before(c.nbf) {
		return nil, reject(tollgate.ErrExpired, "nbf", "not valid before "+c.nbf.UTC().Format(time.RFC3339))
	}
	if c.hasIat && now.Add(is.leeway).Before(c.iat) {
		return nil, reject(tollgate.ErrInvalidToken, "iat", "issued in the future")
	}
	if is.maxAge > 0 {
		if !c.hasIat {
			return nil, reject(tollgate.ErrInvalidToken, "iat", "no iat, and the issuer has a maximum token age")
		}
		if now.Sub(c.iat) > is.maxAge+is.leeway {
			return nil, reject(tollgate.ErrExpired, "iat", "older than the maximum token age")
		}
	}

	sub := at(s, c.sub)
	if sub == nil || sub.end-sub.start <= 2 {
		return nil, reject(tollgate.ErrInvalidToken, "sub", "no sub")
	}
	for _, name := range is.required {
		if i := s.find(name); i < 0 || s.member(i).kind == kindNull {
			return nil, reject(tollgate.ErrInvalidToken, "claims", "required claim "+quote([]byte(name))+" is missing")
		}
	}
	scopes, err := is.scopes(s, c)
	if err != nil {
		return nil, err
	}

	info := tollgate.PrincipalInfo{
		Subject:   sub.text(data),
		Issuer:    is.name,
		Audiences: auds,
		Scopes:    scopes,
		ExpiresAt: c.exp,
		Kind:      tollgate.KindJWT,
		Claims:    data,
	}
	switch {
	case c.clientID != 0:
		info.ClientID = at(s, c.clientID).text(data)
	case c.azp != 0:
		info.ClientID = at(s, c.azp).text(data)
	}
	if c.jti != 0 {
		info.TokenID = at(s, c.jti).text(data)
	}
	if c.hasIat {
		info.IssuedAt = c.iat
	}
	p := tollgate.NewPrincipal(info)
	if is.check != nil {
		if err := is.check(p); err != nil {
			var te *tollgate.Error
			if errors.As(err, &te) && te.Kind != nil {
				return nil, te
			}
			return nil, &tollgate.Error{Kind: tollgate.ErrInvalidToken, Check: "claims", Detail: "rejected by the issuer's Check", Err: err}
		}
	}
	return p, nil
}

// tokenAudiences returns the token's audiences and whether one of them is
// ours. Values equal to a configured audience reuse the configured string.
func (is *issuer) tokenAudiences(data []byte, m *member) ([]string, bool) {
	matched := false
	intern := func(raw []byte, esc bool) string {
		if esc {
			raw = unescape(nil, raw)
		}
		for _, a := range is.audiences {
			if string(raw) == a {
				matched = true
				return a
			}
		}
		return string(raw)
	}
	if m.kind == kindString {
		return []string{intern(m.raw(data), m.esc)}, matched
	}
	var auds []string
	arrayStrings(data, m, func(raw []byte, esc bool) bool {
		auds = append(auds, intern(raw, esc))
		return true
	})
	return auds, matched
}

// scopes reads the scopes per the issuer's ScopeClaim.
func (is *issuer) scopes(s *scanner, c *claims) (tollgate.Scopes, error) {
	var m *member
	switch {
	case is.scopeClaim != "":
		if i := s.find(is.scopeClaim); i >= 0 {
			m = s.member(i)
		}
	case c.scope != 0:
		m = at(s, c.scope)
	default:
		m = at(s, c.scp)
	}
	if m == nil || m.kind == kindNull {
		return tollgate.Scopes{}, nil
	}
	data := s.data
	switch m.kind {
	case kindString:
		return tollgate.ParseScopes(m.text(data)), nil
	case kindArray:
		var names []string
		if arrayStrings(data, m, func(raw []byte, esc bool) bool {
			if esc {
				raw = unescape(nil, raw)
			}
			names = append(names, string(raw))
			return true
		}) {
			return tollgate.NewScopes(names...), nil
		}
	}
	return tollgate.Scopes{}, reject(tollgate.ErrInvalidToken, "claims", string(m.nameIn(data))+" is neither a string nor an array of strings")
}
