package introspect

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/cache"
	"github.com/tollgate/tollgate/internal/metadata"
	"github.com/tollgate/tollgate/internal/netpolicy"
)

// AuthMethod is how the client authenticates to the introspection endpoint,
// named as in the "introspection_endpoint_auth_methods_supported" metadata
// of RFC 8414.
type AuthMethod string

// The client authentication methods.
const (
	// ClientSecretBasic sends the client ID and secret in an HTTP Basic
	// Authorization header, each form-urlencoded first (RFC 6749 section
	// 2.3.1). The default.
	ClientSecretBasic AuthMethod = "client_secret_basic"
	// ClientSecretPost sends client_id and client_secret in the form body.
	ClientSecretPost AuthMethod = "client_secret_post"
	// PrivateKeyJWT sends a short-lived JWT signed with the client's private
	// key (RFC 7523 section 2.2, OpenID Connect Core section 9).
	PrivateKeyJWT AuthMethod = "private_key_jwt"
)

// Secret is a client secret. It prints as "[redacted]" with every fmt verb,
// in [log/slog] and in JSON, so that logging a [Config] never reveals it; use
// string(s) where the value itself is needed.
type Secret string

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

// ClientKey is the private key of a client that authenticates with
// [PrivateKeyJWT]. Like [Secret], it prints only its algorithm and key ID,
// never the key.
type ClientKey struct {
	// Signer is the private key: *rsa.PrivateKey, *ecdsa.PrivateKey,
	// ed25519.PrivateKey, or any crypto.Signer whose Public method returns
	// one of their public keys (a key in an HSM or a cloud KMS, say).
	Signer crypto.Signer
	// Algorithm is the JWS algorithm of the assertions: RS256, RS384, RS512,
	// PS256, PS384, PS512 (RSA of at least 2048 bits), ES256, ES384, ES512
	// (the matching NIST curve) or EdDSA (Ed25519).
	Algorithm string
	// KeyID is the "kid" header of the assertions: the ID under which the
	// authorization server knows the public key. Empty omits "kid".
	KeyID string
}

// String describes the key without revealing it.
func (k ClientKey) String() string {
	if k.Signer == nil {
		return "introspect.ClientKey{}"
	}
	return fmt.Sprintf("introspect.ClientKey{Algorithm: %q, KeyID: %q, Signer: %s}", k.Algorithm, k.KeyID, redacted)
}

// Format writes [ClientKey.String] whatever the verb.
func (k ClientKey) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, k.String()) }

// LogValue describes the key without revealing it.
func (k ClientKey) LogValue() slog.Value {
	return slog.GroupValue(slog.String("alg", k.Algorithm), slog.String("kid", k.KeyID))
}

// MarshalJSON describes the key without revealing it.
func (k ClientKey) MarshalJSON() ([]byte, error) {
	return fmt.Appendf(nil, `{"alg":%q,"kid":%q}`, k.Algorithm, k.KeyID), nil
}

// Defaults of [Config].
const (
	DefaultTimeout          = 5 * time.Second
	DefaultMaxResponseBytes = 64 << 10
	DefaultMaxTokenBytes    = 8 << 10
	DefaultMaxConcurrent    = 32
	DefaultLeeway           = 30 * time.Second
	DefaultAssertionTTL     = time.Minute

	// DefaultCacheMaxTTL is the default of Config.Cache.MaxTTL: how long an
	// active answer is served from the cache at most. It is the revocation
	// latency: a token revoked at the authorization server stays accepted
	// here for up to this long.
	DefaultCacheMaxTTL = 2 * time.Minute
)

// Config configures a [Client]. Durations and sizes follow tollgate's rule:
// zero means the documented default, a negative value means "off" where off
// makes sense and is an error where it does not.
type Config struct {
	// Issuer is the authorization server's issuer identifier. When Endpoint
	// is empty, the introspection endpoint is read from the issuer's metadata
	// (RFC 8414 "/.well-known/oauth-authorization-server", then OpenID
	// Connect discovery), whose "issuer" must equal Issuer exactly; the
	// lookup happens on first use and is retried after failures. An Issuer
	// must not have user information, nor, when used for discovery, a query.
	//
	// When set, an answer's "iss", if present, must equal Issuer; a
	// principal whose answer has no "iss" gets Issuer as its issuer (the
	// server that answered vouches for the token).
	Issuer string

	// Endpoint is the introspection endpoint URL. Set it to skip discovery.
	// One of Issuer and Endpoint is required. It must not have user
	// information ("https://user:password@..."): the client's credentials
	// go in ClientID and ClientSecret, which are never printed, while a URL
	// is printed in logs, events and errors. A discovered endpoint with user
	// information is refused too.
	Endpoint string

	// Audiences are the audiences this resource server answers to: an
	// active answer must have an "aud" (a string or an array) with at least
	// one of them, or the token is rejected (check "aud"). Required, none
	// empty, unless InsecureAnyAudience is set.
	Audiences []string

	// InsecureAnyAudience accepts active answers whatever their "aud", and
	// without one; Audiences must then be empty. RFC 7662 section 4 expects
	// the resource server to check that a token is meant for it: without
	// the check, a token that the authorization server issued for any other
	// API is accepted here too, and only scopes keep the APIs apart. Set it
	// only for an authorization server that puts no audience in its
	// introspection answers. It is logged at construction.
	InsecureAnyAudience bool

	// ClientID identifies this resource server to the authorization server.
	// Required.
	ClientID string
	// ClientSecret is the client secret for [ClientSecretBasic] and
	// [ClientSecretPost]. It is never logged or printed.
	ClientSecret Secret
	// AuthMethod is the client authentication method (default
	// [ClientSecretBasic]).
	AuthMethod AuthMethod
	// ClientKey is the private key for [PrivateKeyJWT].
	ClientKey ClientKey
	// AssertionAudience is the "aud" of [PrivateKeyJWT] assertions (default:
	// Issuer, or the endpoint URL when Issuer is empty).
	AssertionAudience string
	// AssertionTTL is the lifetime of an assertion (default one minute).
	AssertionTTL time.Duration

	// HTTPClient sends the requests (default: a client with its own
	// transport and timeouts). It is not modified: tollgate wraps a copy so
	// that redirects are never followed (a redirect would resend the token
	// and our credentials).
	HTTPClient *http.Client
	// Timeout bounds each call to the authorization server, discovery
	// included (default 5s). It cannot be turned off.
	Timeout time.Duration
	// MaxResponseBytes bounds the size of an answer (default 64 KiB).
	MaxResponseBytes int64
	// MaxTokenBytes is the largest token sent to the authorization server
	// (default 8 KiB); longer ones are rejected (check "size") without a call.
	MaxTokenBytes int
	// MaxConcurrent limits the calls to the authorization server in flight
	// at once (default 32; negative: no limit). A call that finds the limit
	// reached waits for a slot until its context ends.
	MaxConcurrent int
	// Leeway is the clock skew tolerated on "nbf" (default 30s; negative:
	// none). "exp" gets no leeway: an answer whose "exp" has passed is never
	// accepted, nor served from the cache.
	Leeway time.Duration

	// Cache configures the cache of introspection answers in front of the
	// calls; see package [cache] for its fields. The introspection client
	// changes two defaults: MaxTTL is [DefaultCacheMaxTTL] (2 minutes, not
	// the cache's 5) and CallTimeout is three times Timeout (room for
	// discovery and the call). Name defaults to "introspection", Now to
	// Config.Now, and Config.Observer receives the cache's events too.
	//
	// An active answer is served until the earlier of the token's "exp" and
	// MaxTTL after it was fetched. MaxTTL is the revocation latency: a token
	// revoked at the authorization server is still accepted here until its
	// entry runs out. Lower it for faster revocation, at the cost of more
	// calls to the authorization server; a negative MaxTTL caches no active
	// answer. Rejections (inactive, expired, wrong audience...) are cached
	// for NegativeTTL (default 10s); ErrUnavailable never is. Active answers
	// and rejections have separate caps (MaxEntries, MaxNegativeEntries).
	Cache cache.Config
	// DisableCache turns the cache off: every Validate is a call to the
	// authorization server, and concurrent calls for one token are not
	// coalesced. Only for a caller that puts its own cache in front.
	DisableCache bool

	// Now is the clock (default time.Now).
	Now func() time.Time
	// Observer receives OnIntrospect and OnIntrospectFailure events (and the
	// cache's hits and misses). Events never carry the token or a secret.
	// The zero Observer means [tollgate.NewLogObserver](Logger), so that a
	// failing introspection is never silent: failures reach the log as
	// warnings (refused credentials as errors), the rest at debug level.
	// Any func set replaces that default entirely.
	Observer tollgate.Observer
	// Logger receives one warning at construction for every Insecure...
	// option set, and the events when Observer is zero (default
	// slog.Default()).
	Logger *slog.Logger

	// InsecureAllowHTTP allows plain http to hosts that are not loopback,
	// for the issuer, discovery and the endpoint. The token and our
	// credentials then cross the network in the clear: never in production.
	// It is logged at construction.
	InsecureAllowHTTP bool
}

// String describes the configuration without its secrets: it is what every
// fmt verb prints, so a Config can be logged with %v or %+v.
func (c Config) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "introspect.Config{Issuer: %q, Endpoint: %q, ClientID: %q, AuthMethod: %q",
		netpolicy.Redacted(c.Issuer), netpolicy.Redacted(c.Endpoint), c.ClientID, c.AuthMethod)
	if c.ClientSecret != "" {
		b.WriteString(", ClientSecret: " + redacted)
	}
	if c.ClientKey.Signer != nil {
		b.WriteString(", ClientKey: " + c.ClientKey.String())
	}
	if len(c.Audiences) > 0 {
		fmt.Fprintf(&b, ", Audiences: %q", c.Audiences)
	}
	if c.InsecureAnyAudience {
		b.WriteString(", InsecureAnyAudience: true")
	}
	if c.InsecureAllowHTTP {
		b.WriteString(", InsecureAllowHTTP: true")
	}
	b.WriteString("}")
	return b.String()
}

// Format writes [Config.String] whatever the verb, so that no verb (%d, %x,
// %#v...) can reach the secret or the private key.
func (c Config) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, c.String()) }

// LogValue describes the configuration without its secrets, for [log/slog].
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("issuer", netpolicy.Redacted(c.Issuer)),
		slog.String("endpoint", netpolicy.Redacted(c.Endpoint)),
		slog.String("client_id", c.ClientID),
		slog.String("auth_method", string(c.AuthMethod)),
		slog.Any("audiences", c.Audiences),
		slog.Bool("insecure_any_audience", c.InsecureAnyAudience),
		slog.Bool("insecure_allow_http", c.InsecureAllowHTTP),
	)
}

// settings is a Config with its defaults applied and checked.
type settings struct {
	Config
	leeway time.Duration

	// For discovery (Endpoint empty): the issuer and where its metadata
	// may be, RFC 8414 first.
	issuer       metadata.Issuer
	metadataURLs []string
}

func (c Config) withDefaults() (settings, error) {
	s := settings{Config: c}
	if c.Issuer == "" && c.Endpoint == "" {
		return s, errors.New("introspect: Issuer or Endpoint is required")
	}
	switch {
	case c.Issuer != "" && c.Endpoint == "":
		// Discovery fetches from the issuer: no user information (it would
		// be sent as credentials), no query (RFC 8414 section 2).
		is, err := metadata.ParseIssuer(c.Issuer, c.InsecureAllowHTTP)
		if err != nil {
			return s, fmt.Errorf("introspect: Issuer: %w", err)
		}
		s.metadataURLs = is.DocumentURLs(metadata.OAuth, metadata.OpenID)
		s.issuer = is
	case c.Issuer != "":
		u, err := netpolicy.CheckURL(c.Issuer, c.InsecureAllowHTTP)
		if err != nil {
			return s, fmt.Errorf("introspect: Issuer: %w", err)
		}
		if u.User != nil {
			return s, errors.New("introspect: Issuer must not have user information")
		}
	}
	if c.Endpoint != "" {
		u, err := netpolicy.CheckURL(c.Endpoint, c.InsecureAllowHTTP)
		if err != nil {
			return s, fmt.Errorf("introspect: Endpoint: %w", err)
		}
		// A password in the URL would reach every log line, event and
		// printed configuration that names the endpoint; the error does
		// not quote it either.
		if u.User != nil {
			return s, errors.New("introspect: Endpoint must not have user information: give the client's credentials in ClientID and ClientSecret")
		}
	}
	switch {
	case len(c.Audiences) == 0 && !c.InsecureAnyAudience:
		return s, errors.New("introspect: Audiences is required (InsecureAnyAudience accepts every audience, for an authorization server that names none)")
	case len(c.Audiences) > 0 && c.InsecureAnyAudience:
		return s, errors.New("introspect: Audiences and InsecureAnyAudience are both set: set one")
	}
	for _, a := range c.Audiences {
		if a == "" {
			return s, errors.New("introspect: empty audience in Audiences")
		}
	}
	if c.ClientID == "" {
		return s, errors.New("introspect: ClientID is required")
	}
	if s.AuthMethod == "" {
		s.AuthMethod = ClientSecretBasic
	}
	switch s.AuthMethod {
	case ClientSecretBasic, ClientSecretPost:
		if c.ClientSecret == "" {
			return s, fmt.Errorf("introspect: %s needs a ClientSecret", s.AuthMethod)
		}
		if c.ClientKey.Signer != nil {
			return s, fmt.Errorf("introspect: ClientKey is set but AuthMethod is %s", s.AuthMethod)
		}
	case PrivateKeyJWT:
		if c.ClientSecret != "" {
			return s, errors.New("introspect: ClientSecret is set but AuthMethod is private_key_jwt")
		}
		if err := checkClientKey(c.ClientKey); err != nil {
			return s, err
		}
	default:
		return s, fmt.Errorf("introspect: unknown AuthMethod %q", string(c.AuthMethod))
	}
	var err error
	if s.AssertionTTL, err = duration("AssertionTTL", c.AssertionTTL, DefaultAssertionTTL, false); err != nil {
		return s, err
	}
	if s.AssertionTTL > 5*time.Minute {
		return s, errors.New("introspect: AssertionTTL over 5 minutes")
	}
	if s.Timeout, err = duration("Timeout", c.Timeout, DefaultTimeout, false); err != nil {
		return s, err
	}
	if s.Leeway, err = duration("Leeway", c.Leeway, DefaultLeeway, true); err != nil {
		return s, err
	}
	s.leeway = max(s.Leeway, 0)
	switch {
	case c.MaxResponseBytes < 0:
		return s, errors.New("introspect: MaxResponseBytes cannot be off")
	case c.MaxResponseBytes == 0:
		s.MaxResponseBytes = DefaultMaxResponseBytes
	}
	switch {
	case c.MaxTokenBytes < 0:
		return s, errors.New("introspect: MaxTokenBytes cannot be off")
	case c.MaxTokenBytes == 0:
		s.MaxTokenBytes = DefaultMaxTokenBytes
	}
	if c.MaxConcurrent == 0 {
		s.MaxConcurrent = DefaultMaxConcurrent
	}
	if s.Cache.MaxTTL == 0 {
		s.Cache.MaxTTL = DefaultCacheMaxTTL
	}
	if s.Cache.CallTimeout == 0 {
		s.Cache.CallTimeout = 3 * s.Timeout
	}
	if s.Cache.Name == "" {
		s.Cache.Name = "introspection"
	}
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.Logger == nil {
		s.Logger = slog.Default()
	}
	// The one place the default observer is chosen: the cache and discovery
	// get s.Observer, so each event is logged once.
	if s.Observer.IsZero() {
		s.Observer = tollgate.NewLogObserver(s.Logger)
	}
	if s.Cache.Now == nil {
		s.Cache.Now = s.Now
	}
	s.Cache.Observer = tollgate.JoinObservers(s.Observer, s.Cache.Observer)
	return s, nil
}

// duration applies the default of a duration setting; a negative value is
// "off" when offOK, and an error otherwise.
func duration(name string, v, def time.Duration, offOK bool) (time.Duration, error) {
	switch {
	case v == 0:
		return def, nil
	case v < 0 && !offOK:
		return 0, fmt.Errorf("introspect: %s cannot be off", name)
	}
	return v, nil
}

// checkClientKey checks that the key can make assertions with its algorithm.
func checkClientKey(k ClientKey) error {
	if k.Signer == nil {
		return errors.New("introspect: private_key_jwt needs a ClientKey.Signer")
	}
	pub := k.Signer.Public()
	ok := false
	switch k.Algorithm {
	case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512":
		p, isRSA := pub.(*rsa.PublicKey)
		if isRSA && p.N != nil && p.N.BitLen() < 2048 {
			return errors.New("introspect: ClientKey: RSA key shorter than 2048 bits")
		}
		ok = isRSA && p.N != nil
	case "ES256", "ES384", "ES512":
		p, isEC := pub.(*ecdsa.PublicKey)
		want := map[string]elliptic.Curve{"ES256": elliptic.P256(), "ES384": elliptic.P384(), "ES512": elliptic.P521()}[k.Algorithm]
		ok = isEC && p.Curve == want
	case "EdDSA":
		_, ok = pub.(ed25519.PublicKey)
	case "":
		return errors.New("introspect: ClientKey.Algorithm is required")
	default:
		return fmt.Errorf("introspect: ClientKey: unsupported algorithm %q", k.Algorithm)
	}
	if !ok {
		return fmt.Errorf("introspect: ClientKey: the key does not fit %s", k.Algorithm)
	}
	return nil
}
