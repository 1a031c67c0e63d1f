package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/jwks"
	"github.com/tollgate/tollgate/oauthtest"
	"github.com/tollgate/tollgate/validator"
)

const oneHour = time.Hour

// newValidator returns tollgate's JWT validator for the tokens of as, and a
// func that releases it.
func newValidator(as *oauthtest.Server) (tollgate.Validator, func(), error) {
	keys, err := fetchKeys(as)
	if err != nil {
		return nil, nil, err
	}
	v, err := validator.New(validator.Config{Issuers: []validator.Issuer{{
		Issuer:    as.Issuer(),
		Audiences: []string{as.Audience()},
		Keys:      keys,
	}}})
	if err != nil {
		return nil, nil, err
	}
	return v, func() { _ = v.Close() }, nil
}

// fetchKeys fetches the authorization server's JWK Set once. A long-running
// service uses a *jwks.Set instead, which refreshes the keys in the
// background and follows rotations.
func fetchKeys(as *oauthtest.Server) (validator.KeySet, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, as.JWKSURL(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := as.Client().Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("jwks: status %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	keys, _, err := jwks.ParseSet(body, 100)
	if err != nil {
		return nil, err
	}
	return fixedKeys(keys), nil
}

// fixedKeys is a validator.KeySet that never changes.
type fixedKeys []*jwks.Key

func (ks fixedKeys) Lookup(_ context.Context, kid string) ([]*jwks.Key, error) {
	var found []*jwks.Key
	for _, k := range ks {
		if k.ID() == kid {
			found = append(found, k)
		}
	}
	if len(found) == 0 {
		return nil, &tollgate.Error{Kind: tollgate.ErrInvalidToken, Check: "kid", Detail: "no key with this kid"}
	}
	return found, nil
}

func (ks fixedKeys) Keys(context.Context) ([]*jwks.Key, error) { return ks, nil }

// forge returns a token that names the server's key but is signed by
// another one.
func forge(as *oauthtest.Server) string {
	k := as.SigningKey()
	return as.JWT(oauthtest.TokenOptions{
		Subject: "mallory",
		Scopes:  []string{"test:read", "test:write"},
		Key:     oauthtest.NewKey(k.Algorithm()).WithID(k.ID()),
	})
}
