package validator

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/cache"
	"github.com/tollgate/tollgate/jwks"
)

const (
	// DefaultMaxTokenBytes is the size limit of a token when
	// [Config.MaxTokenBytes] is 0: 16 KiB, far above any real access token
	// (a few hundred bytes to a few KiB) and small enough to bound the work
	// an attacker can ask for.
	DefaultMaxTokenBytes = 16 << 10

	// maxMaxTokenBytes bounds MaxTokenBytes: no access token comes near it,
	// and offsets inside a token fit in 32 bits.
	maxMaxTokenBytes = 1 << 20

	// DefaultLeeway is the clock skew tolerated on exp, nbf and iat when
	// [Issuer.Leeway] is 0.
	DefaultLeeway = 60 * time.Second
)

// Config configures a [Validator]. Only Issuers must be set.
type Config struct {
	// Issuers are the authorization servers whose tokens are accepted; at
	// least one. A token's unverified "iss" only selects one of them: its
	// signature must then verify with that issuer's keys, and nothing is
	// ever fetched from a URL the token names.
	Issuers []Issuer

	// MaxTokenBytes is the largest token accepted, in bytes, checked before
	// any decoding. 0 means [DefaultMaxTokenBytes]. Negative values, and
	// values above 1 MiB, are an error: there is no "off" for this limit.
	MaxTokenBytes int

	// Now is the clock that exp, nbf, iat and MaxAge are judged by.
	// nil means time.Now.
	Now func() time.Time

	// Logger receives one warning at construction for every Insecure...
	// option set, and the events when Observer is zero. nil means
	// slog.Default().
	Logger *slog.Logger

	// HTTPClient fetches the discovery documents and JWK Sets of the key
	// sets the validator creates itself (for issuers without Keys). nil
	// means a client of tollgate's own with timeouts on every wait.
	HTTPClient *http.Client

	// Observer receives the events of the key sets the validator creates
	// and of its cache (transports report accepts and rejects). The zero
	// Observer means [tollgate.NewLogObserver](Logger), so that an issuer
	// whose keys cannot be loaded is never silent: failed key fetches and
	// skipped keys reach the log as warnings, the rest at debug level. Any
	// func set replaces that default entirely. Key sets given in
	// Issuer.Keys report through their own configuration.
	Observer tollgate.Observer

	// Cache configures the cache of validation results in front of the
	// checks; see package [cache] for its fields and defaults. Its Name
	// defaults to "jwt" and its Now to Config.Now; Config.Observer
	// receives its events too; its Generation is always the validator's, so results
	// obtained with a key that a refresh withdrew are not served again. Its
	// Expiry is the validator's (the end of an issuer's MaxAge), or the
	// earlier of the validator's and the one set here, so that the cache
	// never accepts a token the validator would refuse for its age. A
	// rejection for "nbf" (not yet valid) is cached for NegativeTTL like any
	// other: the token is refused for at most NegativeTTL (10 seconds by
	// default) after it becomes valid.
	Cache cache.Config

	// DisableCache turns the cache off: every call decodes the token and
	// verifies its signature. For benchmarks, or for a caller that puts its
	// own cache in front of the validator.
	DisableCache bool
}

// Secret is a shared secret, such as [Issuer.HMACSecret]. A []byte can be
// assigned to it, and []byte(s) is the secret itself; but it prints as
// "[redacted]" with every fmt verb, in [log/slog] and in JSON, so that
// printing or logging a [Config] or an [Issuer] never reveals it.
type Secret []byte

const redacted = "[redacted]"

// String returns "[redacted]".
func (Secret) String() string { return redacted }

// GoString returns "[redacted]".
func (Secret) GoString() string { return redacted }

// Format writes "[redacted]" whatever the verb.
func (Secret) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, redacted) }

// LogValue returns "[redacted]".
func (Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalJSON returns "[redacted]" as a JSON string.
func (Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// Issuer is one trusted authorization server and the rules for its tokens.
// The zero value of every field but Issuer, Audiences and Keys (or
// HMACSecret) is the strict default.
type Issuer struct {
	// Issuer is the issuer identifier, compared byte for byte with the
	// token's "iss". Required.
	Issuer string

	// Audiences are the identifiers of this resource server; a token's "aud"
	// must contain at least one of them. Required, none empty.
	Audiences []string

	// Keys is where the issuer's public keys come from, usually a *jwks.Set.
	// The validator does not own Keys: closing it is the caller's business.
	//
	// When neither Keys nor HMACSecret is set, the validator creates (and
	// owns, and closes) a *jwks.Set for the issuer: from JWKSURL if set,
	// otherwise by discovery from Issuer (OpenID Connect, then RFC 8414),
	// with Config.HTTPClient and the jwks package's defaults. Keys and
	// HMACSecret are never both set.
	Keys KeySet

	// JWKSURL is the JWK Set of an issuer without Keys, when its discovery
	// document should not be used to find it.
	JWKSURL string

	// InsecureAllowHTTP lets the key set the validator creates for this
	// issuer fetch over plain http from hosts that are not loopback. Keys
	// fetched over http can be replaced by anyone on the path: use it only
	// in a closed test network. It is logged at construction.
	InsecureAllowHTTP bool

	// Algorithms is the allowlist of JWS algorithms: RS256, RS384, RS512,
	// PS256, PS384, PS512, ES256, ES384, ES512, EdDSA with Keys, or HS256,
	// HS384, HS512 with HMACSecret. nil means every asymmetric algorithm with
	// Keys, and HS256 with HMACSecret. "none" is never accepted and cannot be
	// listed.
	Algorithms []string

	// HMACSecret is a shared secret for HS* tokens, for the rare issuer that
	// signs access tokens with HMAC. It must be at least as long as the
	// output of every allowed HS* hash (32 bytes for HS256), and cannot be
	// combined with Keys: an issuer is either symmetric or asymmetric, so a
	// public key can never be used as an HMAC secret. The validator keeps a
	// copy. It is a [Secret], so that printing or logging the Issuer or
	// the Config does not reveal it; assign it from a []byte.
	HMACSecret Secret

	// Leeway is the clock skew tolerated on exp, nbf and iat. 0 means
	// [DefaultLeeway]; negative means none.
	Leeway time.Duration

	// MaxAge, when positive, rejects tokens issued longer ago than this
	// (plus Leeway), and requires "iat". 0 or negative means no limit. The
	// validator's cache serves an accepted token only until iat + MaxAge +
	// Leeway.
	MaxAge time.Duration

	// ScopeClaim names the claim the scopes are read from: a space-delimited
	// string or an array of strings. "" means "scope" (a string), or when a
	// token has no "scope", "scp" (an array or a string, as Azure AD sends).
	ScopeClaim string

	// RequiredClaims are claims that must be present (and not null) beyond
	// the ones always required (iss, aud, exp, sub): for example "jti",
	// "client_id" or "iat".
	RequiredClaims []string

	// Check, if set, is called with the principal of every token that passed
	// all other checks; a non-nil error rejects the token. It sees only the
	// token (not the request), so its verdict may be cached with the
	// token's. An error that is not a *tollgate.Error becomes
	// ErrInvalidToken with Check "claims".
	Check func(p *tollgate.Principal) error

	// InsecureAllowUntyped accepts tokens whose header has no "typ", or "typ"
	// "JWT" (or "application/jwt", in any case), as Auth0, Azure AD and
	// Keycloak issue them, for issuers that do not implement RFC 9068. Without it "typ" must be "at+jwt" (RFC 9068
	// section 2.1), which stops ID tokens and other JWTs signed by the same
	// keys from being replayed as access tokens. Other types ("dpop+jwt",
	// "logout+jwt"...) are rejected either way, and so are tokens with
	// "nonce" or "at_hash" (ID tokens).
	InsecureAllowUntyped bool
}

// issuer is an Issuer after validation, with its algorithms as a set.
type issuer struct {
	name       string
	audiences  []string
	keys       KeySet
	algs       algSet
	secret     []byte
	leeway     time.Duration
	maxAge     time.Duration
	scopeClaim string
	required   []string
	check      func(*tollgate.Principal) error
	untyped    bool
}

// New validates cfg and returns a Validator. It reports an error for every
// configuration that could not be enforced as written: no issuer, an issuer
// without audience or keys, an unknown or ill-fitting algorithm, an HMAC
// secret too short or combined with keys.
func New(cfg Config) (*Validator, error) {
	if len(cfg.Issuers) == 0 {
		return nil, errors.New("validator: no issuer configured")
	}
	if cfg.MaxTokenBytes < 0 {
		return nil, errors.New("validator: negative MaxTokenBytes: the size limit cannot be turned off")
	}
	if cfg.MaxTokenBytes == 0 {
		cfg.MaxTokenBytes = DefaultMaxTokenBytes
	}
	if cfg.MaxTokenBytes > maxMaxTokenBytes {
		return nil, errors.New("validator: MaxTokenBytes above 1 MiB")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	// The one place the default observer is chosen: the key sets created
	// below and the cache get cfg.Observer, no longer zero, so jwks.New adds
	// no log observer of its own and each event is logged once.
	if cfg.Observer.IsZero() {
		cfg.Observer = tollgate.NewLogObserver(cfg.Logger)
	}
	v := &Validator{
		issuers: make(map[string]*issuer, len(cfg.Issuers)),
		now:     cfg.Now,
		split:   splitter{maxSize: cfg.MaxTokenBytes, b64: base64.RawURLEncoding.Strict()},
	}
	for i := range cfg.Issuers {
		is, err := newIssuer(&cfg.Issuers[i])
		if err != nil {
			v.Close()
			return nil, err
		}
		if _, dup := v.issuers[is.name]; dup {
			v.Close()
			return nil, fmt.Errorf("validator: issuer %q configured twice", is.name)
		}
		if is.keys == nil && is.secret == nil {
			set, err := newKeySet(&cfg, &cfg.Issuers[i])
			if err != nil {
				v.Close()
				return nil, fmt.Errorf("validator: issuer %q: %w", is.name, err)
			}
			is.keys = set
			v.owned = append(v.owned, set)
		}
		v.issuers[is.name] = is
		v.order = append(v.order, is)
		if is.untyped {
			cfg.Logger.Warn("tollgate validator: InsecureAllowUntyped: tokens without typ at+jwt are accepted from this issuer",
				"issuer", is.name)
		}
	}
	if !cfg.DisableCache {
		cc := cfg.Cache
		if cc.Name == "" {
			cc.Name = "jwt"
		}
		if cc.Now == nil {
			cc.Now = cfg.Now
		}
		cc.Observer = tollgate.JoinObservers(cfg.Observer, cc.Observer)
		cc.Generation = v.Generation
		cc.Expiry = earliest(v.expiry, cc.Expiry)
		c, err := cache.New(tollgate.ValidatorFunc(v.validate), cc)
		if err != nil {
			v.Close()
			return nil, fmt.Errorf("validator: %w", err)
		}
		v.cache = c
	}
	return v, nil
}

// newKeySet creates the key set of an issuer configured without Keys.
func newKeySet(cfg *Config, c *Issuer) (*jwks.Set, error) {
	jc := jwks.Config{
		HTTPClient:        cfg.HTTPClient,
		InsecureAllowHTTP: c.InsecureAllowHTTP,
		Observer:          cfg.Observer,
		Logger:            cfg.Logger,
		Now:               cfg.Now,
	}
	if c.JWKSURL != "" {
		jc.URL = c.JWKSURL
	} else {
		jc.Issuer = c.Issuer
	}
	return jwks.New(jc)
}

func newIssuer(c *Issuer) (*issuer, error) {
	if c.Issuer == "" {
		return nil, errors.New("validator: an issuer has an empty Issuer")
	}
	errorf := func(format string, args ...any) error {
		return fmt.Errorf("validator: issuer %q: "+format, append([]any{c.Issuer}, args...)...)
	}
	if len(c.Audiences) == 0 {
		return nil, errorf("no audience configured")
	}
	if slices.Contains(c.Audiences, "") {
		return nil, errorf("empty audience")
	}
	is := &issuer{
		name:       c.Issuer,
		audiences:  slices.Clone(c.Audiences),
		keys:       c.Keys,
		leeway:     c.Leeway,
		maxAge:     max(c.MaxAge, 0),
		scopeClaim: c.ScopeClaim,
		required:   slices.Clone(c.RequiredClaims),
		check:      c.Check,
		untyped:    c.InsecureAllowUntyped,
	}
	switch {
	case is.leeway == 0:
		is.leeway = DefaultLeeway
	case is.leeway < 0:
		is.leeway = 0
	}
	if slices.Contains(is.required, "") {
		return nil, errorf("empty name in RequiredClaims")
	}

	if c.HMACSecret != nil && len(c.HMACSecret) == 0 {
		return nil, errorf("empty HMACSecret")
	}
	symmetric := c.HMACSecret != nil
	switch {
	case c.Keys != nil && symmetric:
		return nil, errorf("both Keys and HMACSecret set: HMAC is never used alongside asymmetric keys")
	case symmetric && (c.JWKSURL != "" || c.InsecureAllowHTTP):
		return nil, errorf("JWKSURL or InsecureAllowHTTP set with an HMACSecret")
	case c.Keys != nil && (c.JWKSURL != "" || c.InsecureAllowHTTP):
		return nil, errorf("JWKSURL or InsecureAllowHTTP set with Keys: they configure the key set the validator creates")
	}
	if symmetric {
		is.secret = bytes.Clone(c.HMACSecret)
	}

	if c.Algorithms == nil {
		is.algs = asymmetricAlgs
		if symmetric {
			is.algs = 1 << algHS256
		}
	}
	for _, name := range c.Algorithms {
		a := parseAlg([]byte(name))
		if a == algUnknown {
			return nil, errorf("unknown algorithm %q", name)
		}
		is.algs |= 1 << a
	}
	if is.algs == 0 {
		return nil, errorf("empty Algorithms")
	}
	for a := algorithm(1); a < algCount; a++ {
		if !is.algs.has(a) {
			continue
		}
		switch {
		case symmetric && !hmacAlgs.has(a):
			return nil, errorf("algorithm %s needs Keys, not an HMACSecret", a)
		case !symmetric && hmacAlgs.has(a):
			return nil, errorf("algorithm %s needs an HMACSecret", a)
		case symmetric && len(is.secret) < a.hash().Size():
			return nil, errorf("HMACSecret of %d bytes is shorter than the %d-byte output of %s",
				len(is.secret), a.hash().Size(), a)
		}
	}
	return is, nil
}
