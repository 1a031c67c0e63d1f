package main

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net/url"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/cache"
	"github.com/tollgate/tollgate/introspect"
)

// introspectionConfig configures the RFC 7662 client that validates opaque
// tokens (see introspect.Config). With issuers as well, the JWTs of those
// issuers are validated locally and every other token is introspected.
type introspectionConfig struct {
	// Issuer is the authorization server; the endpoint comes from its
	// metadata unless Endpoint is set. One of the two is required.
	Issuer   string `yaml:"issuer"`
	Endpoint string `yaml:"endpoint"`
	// Audiences this API answers to: an active answer must name one.
	// Required unless InsecureAnyAudience.
	Audiences []string `yaml:"audiences"`
	// ClientID and the credentials of this resource server at the
	// authorization server.
	ClientID     string  `yaml:"client_id"`
	AuthMethod   string  `yaml:"auth_method"`
	ClientSecret *secret `yaml:"client_secret"`
	// ClientKey is a PEM private key (PKCS #8, PKCS #1 or SEC 1) for
	// private_key_jwt, with the algorithm and key ID of its assertions.
	ClientKey          *secret     `yaml:"client_key"`
	ClientKeyAlgorithm string      `yaml:"client_key_algorithm"`
	ClientKeyID        string      `yaml:"client_key_id"`
	Timeout            duration    `yaml:"timeout"`
	MaxConcurrent      int         `yaml:"max_concurrent"`
	Leeway             duration    `yaml:"leeway"`
	Cache              cacheConfig `yaml:"cache"`
	// InsecureAnyAudience accepts active answers whatever their audience,
	// for authorization servers that put none in introspection answers.
	// Scopes alone then keep the tokens of other APIs out.
	InsecureAnyAudience bool `yaml:"insecure_any_audience"`
	// InsecureAllowHTTP allows plain http to hosts that are not loopback:
	// tokens and credentials then cross the network in the clear.
	InsecureAllowHTTP bool `yaml:"insecure_allow_http"`

	signer crypto.Signer // parsed ClientKey
}

func (ic *introspectionConfig) validate(fe *fieldErrors, at string) {
	if ic.Issuer == "" && ic.Endpoint == "" {
		fe.add(at+".issuer", "issuer or endpoint is required")
	}
	if ic.Issuer != "" {
		if err := checkFetchURL(ic.Issuer, ic.InsecureAllowHTTP); err != nil {
			fe.add(at+".issuer", "%v", err)
		}
	}
	if ic.Endpoint != "" {
		if err := checkFetchURL(ic.Endpoint, ic.InsecureAllowHTTP); err != nil {
			fe.add(at+".endpoint", "%v", err)
		} else if u, _ := url.Parse(ic.Endpoint); u.User != nil {
			// introspect.New refuses it too; said here with the field name.
			fe.add(at+".endpoint", "must not have user information: the credentials go in client_id and client_secret")
		}
	}
	switch {
	case len(ic.Audiences) == 0 && !ic.InsecureAnyAudience:
		fe.add(at+".audiences", "at least one audience is required (or insecure_any_audience: true for an authorization server that names none)")
	case len(ic.Audiences) > 0 && ic.InsecureAnyAudience:
		fe.add(at+".insecure_any_audience", "set with audiences: the audiences would not be checked; set one of the two")
	}
	for i, a := range ic.Audiences {
		if a == "" {
			fe.add(fmt.Sprintf("%s.audiences[%d]", at, i), "empty")
		}
	}
	if ic.ClientID == "" {
		fe.add(at+".client_id", "required: introspection needs this API's client credentials")
	}
	switch introspect.AuthMethod(ic.AuthMethod) {
	case "", introspect.ClientSecretBasic, introspect.ClientSecretPost:
		if ic.ClientSecret == nil {
			fe.add(at+".client_secret", "required for %s", ic.method())
		} else {
			ic.ClientSecret.validate(fe, at+".client_secret")
		}
		if ic.ClientKey != nil {
			fe.add(at+".client_key", "only for auth_method private_key_jwt")
		}
	case introspect.PrivateKeyJWT:
		if ic.ClientSecret != nil {
			fe.add(at+".client_secret", "not used with private_key_jwt")
		}
		if ic.ClientKey == nil {
			fe.add(at+".client_key", "required for private_key_jwt")
		} else {
			ic.ClientKey.validate(fe, at+".client_key")
			if ic.ClientKey.resolved != "" {
				signer, err := parsePrivateKey([]byte(ic.ClientKey.resolved))
				if err != nil {
					fe.add(at+".client_key", "%v", err)
				}
				ic.signer = signer
			}
		}
		if ic.ClientKeyAlgorithm == "" {
			fe.add(at+".client_key_algorithm", "required for private_key_jwt (RS256, ES256, EdDSA...)")
		}
	default:
		fe.add(at+".auth_method", "%q is not one of client_secret_basic, client_secret_post, private_key_jwt", ic.AuthMethod)
	}
	checkNotNegative(fe, at+".timeout", ic.Timeout)
}

func (ic *introspectionConfig) method() string {
	if ic.AuthMethod == "" {
		return string(introspect.ClientSecretBasic)
	}
	return ic.AuthMethod
}

// parsePrivateKey reads one PEM private key. The error never quotes the
// key.
func parsePrivateKey(b []byte) (crypto.Signer, error) {
	block, rest := pem.Decode(b)
	if block == nil {
		return nil, errors.New("not a PEM private key")
	}
	if p, _ := pem.Decode(rest); p != nil {
		return nil, errors.New("more than one PEM block")
	}
	var (
		key any
		err error
	)
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("PEM block %q is not a private key", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot parse the %s", block.Type)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, errors.New("the key cannot sign")
	}
	return signer, nil
}

// newIntrospection builds the introspection client of the configuration.
// The client logs its Insecure... options to logger, and its events too
// when obs is zero.
func newIntrospection(ic *introspectionConfig, logger *slog.Logger, obs tollgate.Observer) (*introspect.Client, error) {
	c := introspect.Config{
		Issuer:              ic.Issuer,
		Endpoint:            ic.Endpoint,
		Audiences:           ic.Audiences,
		ClientID:            ic.ClientID,
		AuthMethod:          introspect.AuthMethod(ic.AuthMethod),
		Timeout:             ic.Timeout.D(),
		MaxConcurrent:       ic.MaxConcurrent,
		Leeway:              ic.Leeway.D(),
		Observer:            obs,
		Logger:              logger,
		InsecureAnyAudience: ic.InsecureAnyAudience,
		InsecureAllowHTTP:   ic.InsecureAllowHTTP,
		DisableCache:        ic.Cache.Disabled,
		Cache: cache.Config{
			MaxTTL:             ic.Cache.MaxTTL.D(),
			NegativeTTL:        ic.Cache.NegativeTTL.D(),
			MaxEntries:         ic.Cache.MaxEntries,
			MaxNegativeEntries: ic.Cache.MaxNegativeEntries,
		},
	}
	if ic.ClientSecret != nil {
		c.ClientSecret = introspect.Secret(ic.ClientSecret.resolved)
	}
	if ic.signer != nil {
		c.ClientKey = introspect.ClientKey{Signer: ic.signer, Algorithm: ic.ClientKeyAlgorithm, KeyID: ic.ClientKeyID}
	}
	client, err := introspect.New(c)
	if err != nil {
		return nil, fmt.Errorf("introspection: %w", err)
	}
	return client, nil
}
