package jwks

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/internal/metadata"
	"github.com/tollgate/tollgate/internal/netpolicy"
)

// Defaults for the zero values of [Config].
const (
	DefaultTimeout            = 10 * time.Second
	DefaultMinRefreshInterval = 5 * time.Minute
	DefaultMaxRefreshInterval = time.Hour
	DefaultMinRefetchInterval = 30 * time.Second
	DefaultStaleLimit         = 7 * 24 * time.Hour
	DefaultMaxBodyBytes       = 1 << 20
	DefaultMaxKeys            = 100
)

// Discovery selects how the JWK Set URL of [Config.Issuer] is found.
type Discovery int

const (
	// DiscoveryAuto reads the OpenID Connect discovery document and, if
	// that is answered with a 4xx status, the RFC 8414 metadata document.
	DiscoveryAuto Discovery = iota
	// DiscoveryOIDC reads only the OpenID Connect discovery document,
	// issuer + "/.well-known/openid-configuration".
	DiscoveryOIDC
	// DiscoveryOAuth reads only the RFC 8414 authorization server metadata,
	// at "/.well-known/oauth-authorization-server" inserted before the
	// issuer's path (RFC 8414 section 3.1).
	DiscoveryOAuth
)

// Config configures a [Set]. Exactly one source must be given: URL, Issuer
// or Keys. Durations and sizes left zero take the documented default.
type Config struct {
	// URL is the address of the JWK Set. It must be https, unless its host
	// is loopback (localhost, *.localhost, 127.0.0.0/8, ::1) or
	// InsecureAllowHTTP is set.
	URL string

	// Issuer is an issuer identifier whose JWK Set is found by discovery
	// (see Discovery): the metadata document's "issuer" must equal Issuer
	// exactly, and its "jwks_uri" obeys the same rules as URL. The document
	// is read again after a failed fetch, so a moved jwks_uri is followed.
	Issuer string

	// Discovery selects the discovery document for Issuer (default
	// DiscoveryAuto).
	Discovery Discovery

	// Keys makes a static set: these keys, no network, no refresh. An
	// unknown key ID is then always an invalid token.
	Keys []*Key

	// HTTPClient sends the requests (for corporate CAs or an egress proxy).
	// It is not modified: redirects are followed only to https (or from a
	// loopback host to a loopback host) whatever its CheckRedirect says.
	// Nil means a client of tollgate's own with timeouts on every wait.
	HTTPClient *http.Client

	// InsecureAllowHTTP accepts plain http URLs and redirects to any host.
	// Keys fetched over plain http can be replaced by anyone on the path:
	// use it only in a closed test network. It is logged at construction.
	InsecureAllowHTTP bool

	// Timeout bounds one fetch of the set, discovery included (default
	// DefaultTimeout). It is also the longest a request waits for a refetch.
	// Negative values are rejected: an unbounded fetch is not offered.
	Timeout time.Duration

	// MinRefreshInterval and MaxRefreshInterval bound the background
	// refresh (defaults DefaultMinRefreshInterval, DefaultMaxRefreshInterval):
	// the set is fetched again after the response's Cache-Control max-age
	// (no-cache and no-store count as 0) clamped to these bounds, or after
	// MaxRefreshInterval when the response has none. Each interval is
	// shortened by up to a tenth at random, never below the minimum, so that
	// many servers do not fetch in step.
	MinRefreshInterval time.Duration
	MaxRefreshInterval time.Duration

	// MinRefetchInterval is the rate limit of fetches triggered by tokens
	// (default DefaultMinRefetchInterval). A token with an unknown key ID
	// triggers an immediate fetch, but at most one per interval:
	// concurrent misses share one fetch, and a miss inside the interval is
	// answered at once from the keys held. Only such fetches count against
	// the limit - what a token can trigger is what an attacker can - so a
	// routine background refresh a moment earlier does not delay the first
	// token signed with a key the authorization server has just added. A
	// background refresh never starts within the interval after another
	// fetch. After a failed fetch, the background retries start at this
	// interval and double up to MinRefreshInterval.
	MinRefetchInterval time.Duration

	// StaleLimit is how long keys stay usable after the last successful
	// fetch while every later fetch fails (default DefaultStaleLimit).
	// Past it, lookups answer tollgate.ErrUnavailable and Ready reports
	// false until a fetch succeeds. Negative: keys never go stale.
	StaleLimit time.Duration

	// MaxBodyBytes limits a JWK Set or discovery document, in bytes (default
	// DefaultMaxBodyBytes). A longer answer is a failed fetch.
	MaxBodyBytes int64

	// MaxKeys limits the members of a JWK Set (default DefaultMaxKeys). A
	// set with more is a failed fetch.
	MaxKeys int

	// Observer receives OnKeyFetch, OnKeyFetchFailure and OnKeySkipped.
	// The zero Observer means [tollgate.NewLogObserver](Logger), so that a
	// set that cannot load its keys is never silent: failed fetches and
	// skipped keys reach the log as warnings, successful fetches at debug
	// level. Any func set replaces that default entirely.
	Observer tollgate.Observer

	// Logger receives the one warning about InsecureAllowHTTP, and the
	// events when Observer is zero (default slog.Default()).
	Logger *slog.Logger

	// Now is the clock (default time.Now). Waits use timers of the time
	// package, which testing/synctest fakes as well.
	Now func() time.Time
}

// settings is a Config with its defaults applied and its URLs parsed.
type settings struct {
	Config
	static        bool
	issuer        metadata.Issuer // set with discoveryURLs
	discoveryURLs []string
	jwksURL       string
	display       string // the source, with any password redacted
}

func (cfg Config) resolve() (settings, error) {
	s := settings{Config: cfg}
	sources := 0
	for _, set := range []bool{cfg.URL != "", cfg.Issuer != "", cfg.Keys != nil} {
		if set {
			sources++
		}
	}
	if sources != 1 {
		return s, errors.New("jwks: exactly one of URL, Issuer and Keys must be set")
	}
	for _, d := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"Timeout", &s.Timeout, DefaultTimeout},
		{"MinRefreshInterval", &s.MinRefreshInterval, DefaultMinRefreshInterval},
		{"MaxRefreshInterval", &s.MaxRefreshInterval, DefaultMaxRefreshInterval},
		{"MinRefetchInterval", &s.MinRefetchInterval, DefaultMinRefetchInterval},
	} {
		switch {
		case *d.v < 0:
			return s, fmt.Errorf("jwks: %s must not be negative", d.name)
		case *d.v == 0:
			*d.v = d.def
		}
	}
	if s.MaxRefreshInterval < s.MinRefreshInterval {
		if cfg.MaxRefreshInterval != 0 {
			return s, fmt.Errorf("jwks: MaxRefreshInterval (%v) is less than MinRefreshInterval (%v)", s.MaxRefreshInterval, s.MinRefreshInterval)
		}
		s.MaxRefreshInterval = s.MinRefreshInterval
	}
	if s.StaleLimit == 0 {
		s.StaleLimit = DefaultStaleLimit
	}
	switch {
	case s.MaxBodyBytes < 0:
		return s, errors.New("jwks: MaxBodyBytes must not be negative")
	case s.MaxBodyBytes == 0:
		s.MaxBodyBytes = DefaultMaxBodyBytes
	}
	switch {
	case s.MaxKeys < 0:
		return s, errors.New("jwks: MaxKeys must not be negative")
	case s.MaxKeys == 0:
		s.MaxKeys = DefaultMaxKeys
	}
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.Logger == nil {
		s.Logger = slog.Default()
	}
	if s.Observer.IsZero() {
		s.Observer = tollgate.NewLogObserver(s.Logger)
	}

	switch {
	case cfg.Keys != nil:
		s.static = true
		s.display = "static keys"
		if len(cfg.Keys) == 0 {
			return s, errors.New("jwks: Keys is empty")
		}
		for i, k := range cfg.Keys {
			if k == nil {
				return s, fmt.Errorf("jwks: Keys[%d] is nil", i)
			}
		}
	case cfg.URL != "":
		u, err := netpolicy.CheckURL(cfg.URL, cfg.InsecureAllowHTTP)
		if err != nil {
			return s, fmt.Errorf("jwks: URL: %w", err)
		}
		s.jwksURL, s.display = cfg.URL, u.Redacted()
	default:
		is, err := metadata.ParseIssuer(cfg.Issuer, cfg.InsecureAllowHTTP)
		if err != nil {
			return s, fmt.Errorf("jwks: Issuer: %w", err)
		}
		var kinds []metadata.Kind
		switch cfg.Discovery {
		case DiscoveryAuto:
			kinds = []metadata.Kind{metadata.OpenID, metadata.OAuth}
		case DiscoveryOIDC:
			kinds = []metadata.Kind{metadata.OpenID}
		case DiscoveryOAuth:
			kinds = []metadata.Kind{metadata.OAuth}
		default:
			return s, fmt.Errorf("jwks: unknown Discovery %d", cfg.Discovery)
		}
		s.issuer, s.display = is, is.URL().Redacted()
		s.discoveryURLs = is.DocumentURLs(kinds...)
	}
	return s, nil
}
