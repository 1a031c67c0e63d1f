package metadata

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/tollgate/tollgate/internal/netpolicy"
)

// Errors of a metadata document that must not be used.
var (
	// ErrNotObject means the document is not one JSON object, or a member
	// read from it does not have the type the specifications give it.
	ErrNotObject = errors.New("the metadata document is not a JSON object")
	// ErrIssuerMismatch means the document's "issuer" is not exactly the
	// configured issuer (RFC 8414 section 3.3, OpenID Connect Discovery
	// section 4.3).
	ErrIssuerMismatch = errors.New("the metadata document is for another issuer")
	// ErrNoMember means the document lacks the member asked for.
	ErrNoMember = errors.New("the metadata document lacks a member")
)

// Kind is a kind of metadata document.
type Kind int

const (
	// OAuth is RFC 8414 authorization server metadata, at
	// "/.well-known/oauth-authorization-server" inserted between the host
	// and the issuer's path (RFC 8414 section 3.1).
	OAuth Kind = iota + 1
	// OpenID is an OpenID Connect Discovery 1.0 document, at
	// "/.well-known/openid-configuration" appended to the issuer (section
	// 4).
	OpenID
)

// The well-known suffixes of the documents.
const (
	oauthWellKnown  = "/.well-known/oauth-authorization-server"
	openIDWellKnown = "/.well-known/openid-configuration"
)

// Issuer is an issuer identifier checked by [ParseIssuer].
type Issuer struct {
	id string
	u  *url.URL
}

// ParseIssuer checks that raw can be an issuer whose metadata is fetched:
// an absolute http or https URL that passes [netpolicy.CheckURL] (plain http
// only for a loopback host, or with allowHTTP), without user information
// (it would be sent as credentials to the metadata endpoint) and without a
// query (RFC 8414 section 2, OpenID Connect Discovery section 2). The error
// does not quote a password.
func ParseIssuer(raw string, allowHTTP bool) (Issuer, error) {
	u, err := netpolicy.CheckURL(raw, allowHTTP)
	if err != nil {
		return Issuer{}, err
	}
	if u.User != nil {
		return Issuer{}, errors.New("an issuer must not have user information")
	}
	if u.RawQuery != "" || u.ForceQuery {
		return Issuer{}, errors.New("an issuer must not have a query")
	}
	return Issuer{id: raw, u: u}, nil
}

// String returns the issuer identifier as configured: the value a document's
// "issuer" must equal.
func (is Issuer) String() string { return is.id }

// URL returns the parsed issuer (a copy).
func (is Issuer) URL() *url.URL {
	if is.u == nil {
		return nil
	}
	u := *is.u
	return &u
}

// DocumentURL returns where the document of kind k is. Both rules remove a
// terminating "/" of the issuer's path first, which keeps its escaping. It
// panics for a Kind other than [OAuth] and [OpenID].
func (is Issuer) DocumentURL(k Kind) string {
	path := strings.TrimSuffix(is.u.EscapedPath(), "/")
	origin := is.u.Scheme + "://" + is.u.Host
	switch k {
	case OAuth:
		return origin + oauthWellKnown + path
	case OpenID:
		return origin + path + openIDWellKnown
	}
	panic("metadata: unknown Kind " + strconv.Itoa(int(k)))
}

// DocumentURLs returns the URLs of the documents of the given kinds, in that
// order.
func (is Issuer) DocumentURLs(kinds ...Kind) []string {
	urls := make([]string, len(kinds))
	for i, k := range kinds {
		urls[i] = is.DocumentURL(k)
	}
	return urls
}

// Fetcher reads the metadata documents of one issuer. Its fields are set
// once; it is then safe for concurrent use.
type Fetcher struct {
	// Client sends the requests. Give it the redirect policy of
	// [netpolicy.FollowSecure] and timeouts; the caller's context bounds
	// each fetch as well.
	Client *http.Client
	// Issuer is the configured issuer: every document must name it.
	Issuer Issuer
	// MaxBytes bounds a document's body.
	MaxBytes int64
	// AllowHTTP accepts endpoints over plain http to hosts that are not
	// loopback: the caller's Insecure... option.
	AllowHTTP bool
}

// Endpoint fetches the document at docURL, checks that it describes the
// Fetcher's issuer and returns the URL of its member named member (e.g.
// "jwks_uri"). noCache asks caches on the way for a fresh copy
// (Cache-Control: no-cache). status is the answer's HTTP status, 0 when
// none came: callers decide by it whether to try another document. Errors
// name docURL without its password.
func (f *Fetcher) Endpoint(ctx context.Context, docURL, member string, noCache bool) (endpoint string, status int, err error) {
	h := http.Header{"Accept": {"application/json"}}
	if noCache {
		h.Set("Cache-Control", "no-cache")
	}
	a, err := netpolicy.Get(ctx, f.Client, docURL, h, f.MaxBytes)
	if err != nil {
		return "", a.Status, err
	}
	doc, err := Parse(a.Body, f.Issuer.String())
	if err == nil {
		endpoint, err = doc.Endpoint(member, f.AllowHTTP)
	}
	if err != nil {
		return "", a.Status, fmt.Errorf("%s: %w", netpolicy.Redacted(docURL), err)
	}
	return endpoint, a.Status, nil
}

// Document is a metadata document whose issuer has been checked.
type Document struct {
	members map[string]json.RawMessage
}

// Parse decodes a metadata document and checks that its "issuer" equals
// issuer exactly: no case folding, no trailing "/" added or removed. The
// JSON is read strictly: valid UTF-8, one object and nothing after it,
// member names matched exactly (never case-insensitively) and none twice (a
// second "issuer" must not override the checked one in a reader that keeps
// the last).
func Parse(body []byte, issuer string) (Document, error) {
	members, err := object(body)
	if err != nil {
		return Document{}, err
	}
	d := Document{members: members}
	iss, err := d.str("issuer")
	if err != nil {
		return Document{}, err
	}
	if iss != issuer {
		return Document{}, fmt.Errorf("%w: it names issuer %s, not the configured %q", ErrIssuerMismatch, clip(iss), issuer)
	}
	return d, nil
}

// Endpoint returns the member named member as a URL that passes
// [netpolicy.CheckURL] (plain http only to loopback hosts, unless
// allowHTTP). A missing, null or empty member is [ErrNoMember]; one that is
// not a string, [ErrNotObject].
func (d Document) Endpoint(member string, allowHTTP bool) (string, error) {
	v, err := d.str(member)
	if err != nil {
		return "", err
	}
	if v == "" {
		return "", fmt.Errorf("%w: no %s", ErrNoMember, member)
	}
	if _, err := netpolicy.CheckURL(v, allowHTTP); err != nil {
		return "", fmt.Errorf("%s of the metadata document: %w", member, err)
	}
	return v, nil
}

// str reads a string member; missing and null read as "".
func (d Document) str(name string) (string, error) {
	raw, ok := d.members[name]
	if !ok || string(raw) == "null" {
		return "", nil
	}
	var s string
	if raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return "", fmt.Errorf("%w with a string %s", ErrNotObject, name)
	}
	return s, nil
}

// object decodes one JSON object into its members, refusing duplicate
// names and anything after the object.
func object(body []byte) (map[string]json.RawMessage, error) {
	if !utf8.Valid(body) {
		return nil, fmt.Errorf("%w: invalid UTF-8", ErrNotObject)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, ErrNotObject
	}
	members := make(map[string]json.RawMessage)
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, ErrNotObject
		}
		name, _ := t.(string) // an object's Token is always a name here
		if _, dup := members[name]; dup {
			return nil, fmt.Errorf("%w: member %s appears twice", ErrNotObject, clip(name))
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, ErrNotObject
		}
		members[name] = v
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('}') {
		return nil, ErrNotObject
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: data after the object", ErrNotObject)
	}
	return members, nil
}

// clip quotes a value taken from a document, cut to a length fit for a log.
func clip(s string) string {
	const limit = 200
	if len(s) > limit {
		s = s[:limit] + "..."
	}
	return strconv.Quote(s)
}
