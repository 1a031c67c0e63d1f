package validator

import "context"

// VerifySignature runs token through the signature layer only (compact form,
// header, the issuer's algorithms and keys, signature) as the configured
// issuer iss, and returns the decoded payload. Published JWS vectors, whose
// payloads are not access tokens, are checked with it.
func (v *Validator) VerifySignature(ctx context.Context, iss, token string) ([]byte, error) {
	var sigBuf [maxSigSize]byte
	c, sig, err := v.split.parse(token, &sigBuf)
	if err != nil {
		return nil, err
	}
	if err := v.issuers[iss].verify(ctx, c.hdr.alg, c.hdr.kid, c.input, sig); err != nil {
		return nil, err
	}
	return c.payload, nil
}
