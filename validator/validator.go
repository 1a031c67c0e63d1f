package validator

import (
	"context"
	"errors"
	"time"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/cache"
	"github.com/tollgate/tollgate/jwks"
)

// Validator validates JWT access tokens locally against the keys of its
// configured issuers. It implements [tollgate.Validator] and is safe for
// concurrent use. Make one with [New].
type Validator struct {
	issuers map[string]*issuer
	order   []*issuer // as configured
	split   splitter
	now     func() time.Time
	owned   []*jwks.Set  // key sets created for issuers without Keys
	cache   *cache.Cache // nil when Config.DisableCache
}

var _ tollgate.Validator = (*Validator)(nil)

// Validate checks token and returns the principal it carries. In order:
//
//  1. size (before any decoding), then the compact form: exactly three
//     segments of unpadded base64url, decoded strictly;
//  2. the protected header, decoded once: alg among the supported ones
//     ("none" never is), no jwk/jku/x5u/x5c/crit/b64/zip/cty/enc members, no
//     duplicate or case-variant members;
//  3. the claims set read strictly (no duplicates, registered claims of the
//     right JSON type), and its "iss" selecting one of the configured issuers;
//  4. typ (RFC 9068), the issuer's algorithm allowlist, the key (by kid, or
//     the one key of the issuer that fits the algorithm) and the signature;
//  5. cnf (sender-constrained tokens are not bearer tokens), nonce/at_hash
//     (ID tokens), aud, exp, nbf, iat, max age, sub, required claims, and the
//     issuer's Check.
//
// Every rejection is a *tollgate.Error whose Check names the failed check;
// errors.Is matches tollgate.ErrInvalidToken (tollgate.ErrExpired for exp,
// nbf and max age), or tollgate.ErrUnavailable when the issuer's keys could
// not be had. Neither the token nor a secret ever appears in the error.
func (v *Validator) Validate(ctx context.Context, token string) (*tollgate.Principal, error) {
	if v.cache != nil {
		return v.cache.Validate(ctx, token)
	}
	return v.validate(ctx, token)
}

// validate is Validate without the cache.
func (v *Validator) validate(ctx context.Context, token string) (*tollgate.Principal, error) {
	var sigBuf [maxSigSize]byte
	c, sig, err := v.split.parse(token, &sigBuf)
	if err != nil {
		return nil, err
	}
	s := scanner{cursor: cursor{data: c.payload}}
	if err := s.parse(); err != nil {
		return nil, reject(tollgate.ErrInvalidToken, "claims", "claims: "+err.Error())
	}
	var cl claims
	if err := cl.read(&s); err != nil {
		return nil, err
	}
	is, err := v.issuerOf(&s, &cl)
	if err != nil {
		return nil, err
	}
	if err := is.checkTyp(c.hdr.typ); err != nil {
		return nil, err
	}
	if err := is.verify(ctx, c.hdr.alg, c.hdr.kid, c.input, sig); err != nil {
		return nil, err
	}
	return is.accept(&s, &cl, v.now())
}

// issuerOf selects the configured issuer named by the (not yet verified)
// "iss" claim. It only selects: the signature must still verify with that
// issuer's keys.
func (v *Validator) issuerOf(s *scanner, cl *claims) (*issuer, error) {
	m := at(s, cl.iss)
	if m == nil {
		return nil, reject(tollgate.ErrInvalidToken, "iss", "no iss")
	}
	name := m.raw(s.data)
	if m.esc {
		name = unescape(nil, name)
	}
	is, ok := v.issuers[string(name)]
	if !ok {
		return nil, reject(tollgate.ErrInvalidToken, "iss", "issuer "+quote(name)+" is not accepted")
	}
	return is, nil
}

// Generation changes whenever a key set of one of the issuers removes or
// replaces a key (key sets that can, like a *jwks.Set, report it through a
// Generation method). A cache of validation results compares it to drop the
// results obtained with keys that are no longer trusted.
func (v *Validator) Generation() uint64 {
	var g uint64
	for _, is := range v.order {
		if gs, ok := is.keys.(generationer); ok {
			g += gs.Generation()
		}
	}
	return g
}

// expiry is the Expiry of the validator's cache: the instant from which an
// accepted token may be refused for reasons of time that the cache does not
// see by itself. The cache already stops at exp (stricter than the
// validator, which allows Leeway past it); nbf and a future iat only ever
// turn a rejection into an acceptance. What remains is the maximum age: the
// validator accepts until iat + MaxAge + Leeway.
func (v *Validator) expiry(p *tollgate.Principal) time.Time {
	is := v.issuers[p.Issuer()]
	switch {
	case is == nil:
		// Not a principal of ours: an instant long past, so that it is
		// not cached at all.
		return time.Unix(0, 0)
	case is.maxAge > 0:
		return p.IssuedAt().Add(is.maxAge + is.leeway)
	}
	return time.Time{}
}

// earliest combines two cache Expiry functions: the earlier of their
// non-zero bounds. b may be nil.
func earliest(a, b func(*tollgate.Principal) time.Time) func(*tollgate.Principal) time.Time {
	if b == nil {
		return a
	}
	return func(p *tollgate.Principal) time.Time {
		ta, tb := a(p), b(p)
		if ta.IsZero() || (!tb.IsZero() && tb.Before(ta)) {
			return tb
		}
		return ta
	}
}

// Issuers returns the issuer identifiers the validator trusts, in the order
// they were configured. tollgate.NewHybrid reads it to route JWTs.
func (v *Validator) Issuers() []string {
	out := make([]string, len(v.order))
	for i, is := range v.order {
		out[i] = is.name
	}
	return out
}

// Start fetches the keys of the key sets the validator created (for issuers
// configured without Keys) and returns the first failure of each, joined.
// Calling it is optional - keys are fetched on first use otherwise - but a
// server that calls it before accepting traffic answers its first requests
// without waiting. A failed Start is not fatal: the sets keep retrying in
// the background and [Validator.Ready] reports when they have keys.
func (v *Validator) Start(ctx context.Context) error {
	var errs []error
	for _, set := range v.owned {
		if err := set.Start(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Ready reports whether every issuer's keys are loaded: the key sets the
// validator created, and configured Keys that have a Ready method (as
// *jwks.Set does). A readiness probe (/readyz) can use it.
func (v *Validator) Ready() bool {
	for _, is := range v.order {
		if r, ok := is.keys.(interface{ Ready() bool }); ok && !r.Ready() {
			return false
		}
	}
	return true
}

// Close stops the validator's cache and closes the key sets it created. It
// does not close key sets passed in Issuer.Keys.
func (v *Validator) Close() error {
	var errs []error
	if v.cache != nil {
		errs = append(errs, v.cache.Close())
	}
	for _, set := range v.owned {
		errs = append(errs, set.Close())
	}
	return errors.Join(errs...)
}

// checkTyp applies RFC 9068 section 2.1 (and 4): "at+jwt" required, unless
// the issuer is configured not to set it.
func (is *issuer) checkTyp(t typKind) error {
	switch t {
	case typAccessToken:
		return nil
	case typAbsent, typJWT:
		if is.untyped {
			return nil
		}
		if t == typAbsent {
			return reject(tollgate.ErrInvalidToken, "typ", "no typ: not an RFC 9068 access token (at+jwt)")
		}
	}
	return reject(tollgate.ErrInvalidToken, "typ", "typ is not at+jwt")
}

// verify checks the algorithm against the issuer's allowlist, selects the key
// and verifies the signature.
func (is *issuer) verify(ctx context.Context, a algorithm, kid string, input, sig []byte) error {
	if !is.algs.has(a) {
		return reject(tollgate.ErrInvalidToken, "alg", "algorithm "+a.String()+" is not allowed for this issuer")
	}
	if is.secret != nil {
		// The issuer is symmetric and has one secret: kid selects nothing.
		if !verifyHMAC(is.secret, a, input, sig) {
			return reject(tollgate.ErrInvalidToken, "signature", "signature does not verify")
		}
		return nil
	}
	if kid != "" {
		keys, err := is.keys.Lookup(ctx, kid)
		if err != nil {
			return keySetError(err)
		}
		if len(keys) == 0 {
			return reject(tollgate.ErrInvalidToken, "kid", "no key with this kid")
		}
		fits := false
		for _, k := range keys {
			if !keyFits(k, a) {
				continue
			}
			fits = true
			if verifyKey(k, a, input, sig) {
				return nil
			}
		}
		if !fits {
			return reject(tollgate.ErrInvalidToken, "key", "the key with this kid does not fit algorithm "+a.String())
		}
		return reject(tollgate.ErrInvalidToken, "signature", "signature does not verify")
	}

	keys, err := is.keys.Keys(ctx)
	if err != nil {
		return keySetError(err)
	}
	var key *jwks.Key
	n := 0
	for _, k := range keys {
		if keyFits(k, a) {
			key, n = k, n+1
		}
	}
	switch {
	case n == 0:
		return reject(tollgate.ErrInvalidToken, "key", "no key of the issuer fits algorithm "+a.String())
	case n > 1:
		return reject(tollgate.ErrInvalidToken, "kid", "no kid, and more than one key fits algorithm "+a.String())
	}
	if !verifyKey(key, a, input, sig) {
		return reject(tollgate.ErrInvalidToken, "signature", "signature does not verify")
	}
	return nil
}
