package validator

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"hash"
	"strings"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/jwks"
)

// The signature layer: the compact serialization (RFC 7515 section 7.1), the
// protected header, and signature verification with crypto/*. It knows
// nothing of claims, so that published JWS vectors, whose payloads are not
// access tokens, run through exactly the code that verifies access tokens.

const (
	// headerBufSize holds a decoded header on the stack; larger headers
	// (rare, and bounded by the token size) go to the heap.
	headerBufSize = 512
	// maxSigSize is the largest signature accepted: a 8192-bit RSA key.
	maxSigSize = 1024
)

// compact is a compact JWS split and decoded.
type compact struct {
	hdr     header
	input   []byte // the signing input: the first two segments as sent
	payload []byte // the decoded payload
}

// header holds the members of the protected header that tollgate uses.
type header struct {
	alg algorithm
	kid string
	typ typKind
}

// typKind classifies the header's "typ" (RFC 9068 section 2.1; media types
// compare case-insensitively and may omit "application/").
type typKind uint8

const (
	typAbsent      typKind = iota
	typAccessToken         // at+jwt, application/at+jwt
	typJWT                 // JWT, application/jwt
	typOther
)

func classifyTyp(v []byte) typKind {
	for _, prefix := range [...]string{"", "application/"} {
		if len(v) < len(prefix) || !bytes.EqualFold(v[:len(prefix)], []byte(prefix)) {
			continue
		}
		switch rest := v[len(prefix):]; {
		case bytes.EqualFold(rest, []byte("at+jwt")):
			return typAccessToken
		case bytes.EqualFold(rest, []byte("jwt")):
			return typJWT
		}
	}
	return typOther
}

// splitter parses compact tokens with the validator's limits.
type splitter struct {
	maxSize int
	b64     *base64.Encoding // RawURLEncoding.Strict()
}

// parse checks the token's size and shape, decodes its three segments with
// strict unpadded base64url, and decodes the header once, strictly. sigBuf
// receives the signature, returned apart from the rest so that it stays on
// the caller's stack (escape analysis does not tell a struct's fields apart).
func (sp *splitter) parse(token string, sigBuf *[maxSigSize]byte) (compact, []byte, error) {
	var c compact
	// The size limit comes before anything else looks at the token.
	if len(token) > sp.maxSize {
		return c, nil, reject(tollgate.ErrInvalidToken, "size", "token larger than the size limit")
	}
	if token == "" {
		return c, nil, reject(tollgate.ErrInvalidToken, "format", "empty token")
	}
	// encoding/base64 skips CR and LF even in strict mode: refuse them, so
	// that no two spellings of a token decode alike.
	if strings.IndexByte(token, '\n') >= 0 || strings.IndexByte(token, '\r') >= 0 {
		return c, nil, reject(tollgate.ErrInvalidToken, "format", "line break in token")
	}
	if token[0] == '{' {
		return c, nil, reject(tollgate.ErrInvalidToken, "format", "JWS JSON serialization is not accepted")
	}
	dot1 := strings.IndexByte(token, '.')
	if dot1 < 0 {
		return c, nil, reject(tollgate.ErrInvalidToken, "format", "not a compact JWS: no segments")
	}
	dot2 := strings.IndexByte(token[dot1+1:], '.')
	if dot2 < 0 {
		return c, nil, reject(tollgate.ErrInvalidToken, "format", "not a compact JWS: two segments")
	}
	dot2 += dot1 + 1
	if extra := strings.Count(token[dot2+1:], "."); extra != 0 {
		if extra == 2 {
			return c, nil, reject(tollgate.ErrInvalidToken, "format", "encrypted tokens (JWE) are not accepted")
		}
		return c, nil, reject(tollgate.ErrInvalidToken, "format", "not a compact JWS: more than three segments")
	}
	if dot1 == 0 {
		return c, nil, reject(tollgate.ErrInvalidToken, "header", "empty header")
	}

	raw := []byte(token) // the one copy: every segment is a slice of it
	var hbuf [headerBufSize]byte
	hdst := hbuf[:]
	if n := sp.b64.DecodedLen(dot1); n > len(hbuf) {
		hdst = make([]byte, n)
	}
	n, err := sp.b64.Decode(hdst, raw[:dot1])
	if err != nil {
		return c, nil, reject(tollgate.ErrInvalidToken, "format", "header is not unpadded base64url")
	}
	if c.hdr, err = parseHeader(hdst[:n]); err != nil {
		return c, nil, err
	}

	// After the header, so that "alg": "none" is reported as such.
	if dot2 == len(token)-1 {
		return c, nil, reject(tollgate.ErrInvalidToken, "signature", "unsigned token")
	}
	if sp.b64.DecodedLen(len(token)-dot2-1) > maxSigSize {
		return c, nil, reject(tollgate.ErrInvalidToken, "signature", "signature too long")
	}
	n, err = sp.b64.Decode(sigBuf[:], raw[dot2+1:])
	if err != nil {
		return c, nil, reject(tollgate.ErrInvalidToken, "format", "signature is not unpadded base64url")
	}
	sig := sigBuf[:n]

	c.payload = make([]byte, sp.b64.DecodedLen(dot2-dot1-1))
	n, err = sp.b64.Decode(c.payload, raw[dot1+1:dot2])
	if err != nil {
		return c, nil, reject(tollgate.ErrInvalidToken, "format", "payload is not unpadded base64url")
	}
	c.payload = c.payload[:n]
	c.input = raw[:dot2]
	return c, sig, nil
}

// parseHeader reads the protected header. It refuses every member that
// would make the token choose its own key (jwk, jku, x5u, x5c), change how
// the payload is read (b64, zip, cty, enc) or demand extensions (crit), and
// names that differ from a known member only in case.
func parseHeader(data []byte) (header, error) {
	var h header
	s := scanner{cursor: cursor{data: data}}
	if err := s.parse(); err != nil {
		return h, reject(tollgate.ErrInvalidToken, "header", "header: "+err.Error())
	}
	sawAlg := false
	for i := range s.count() {
		m := s.member(i)
		name := m.nameIn(data)
		switch string(name) {
		case "alg":
			if m.kind != kindString {
				return h, reject(tollgate.ErrInvalidToken, "alg", "alg is not a string")
			}
			v := m.raw(data)
			if m.esc {
				v = unescape(nil, v)
			}
			if h.alg = parseAlg(v); h.alg == algUnknown {
				return h, reject(tollgate.ErrInvalidToken, "alg", "algorithm "+quote(v)+" is not accepted")
			}
			sawAlg = true
		case "kid":
			if m.kind != kindString {
				return h, reject(tollgate.ErrInvalidToken, "kid", "kid is not a string")
			}
			h.kid = m.text(data)
		case "typ":
			if m.kind != kindString {
				return h, reject(tollgate.ErrInvalidToken, "typ", "typ is not a string")
			}
			v := m.raw(data)
			if m.esc {
				v = unescape(nil, v)
			}
			h.typ = classifyTyp(v)
		case "jwk", "jku", "x5u", "x5c":
			return h, reject(tollgate.ErrInvalidToken, "header",
				"header member "+string(name)+" is not accepted: keys come only from the issuer's key set")
		case "crit":
			return h, reject(tollgate.ErrInvalidToken, "header", "critical header extensions (crit) are not supported")
		case "b64":
			return h, reject(tollgate.ErrInvalidToken, "header", "unencoded payloads (b64) are not accepted")
		case "zip":
			return h, reject(tollgate.ErrInvalidToken, "header", "compressed payloads (zip) are not accepted")
		case "enc":
			return h, reject(tollgate.ErrInvalidToken, "format", "encrypted tokens (JWE) are not accepted")
		case "cty":
			return h, reject(tollgate.ErrInvalidToken, "header", "nested tokens (cty) are not accepted")
		default:
			for _, known := range [...]string{"alg", "kid", "typ", "jwk", "jku", "x5u", "x5c", "crit", "b64", "zip", "enc", "cty"} {
				if bytes.EqualFold(name, []byte(known)) {
					return h, reject(tollgate.ErrInvalidToken, "header", "header member "+quote(name)+" differs from "+known+" only in case")
				}
			}
		}
	}
	if !sawAlg {
		return h, reject(tollgate.ErrInvalidToken, "alg", "header has no alg")
	}
	return h, nil
}

// keyFits reports whether k may verify a signature of algorithm a: the rules
// of [jwks.Key.Fits] (its own alg, type and curve), and RSA keys of at least
// [jwks.MinRSABits] even if a custom key set built one some other way.
func keyFits(k *jwks.Key, a algorithm) bool {
	if k == nil || !k.Fits(a.String()) {
		return false
	}
	if pub, ok := k.Public().(*rsa.PublicKey); ok {
		return pub.N != nil && pub.N.BitLen() >= jwks.MinRSABits
	}
	return true
}

// verifyKey verifies sig over input with k for algorithm a. The caller has
// checked keyFits.
func verifyKey(k *jwks.Key, a algorithm, input, sig []byte) bool {
	switch pub := k.Public().(type) {
	case *rsa.PublicKey:
		return verifyRSA(pub, a, input, sig)
	case *ecdsa.PublicKey:
		return verifyECDSA(pub, a, input, sig)
	case ed25519.PublicKey:
		return a == algEdDSA && len(pub) == ed25519.PublicKeySize &&
			len(sig) == ed25519.SignatureSize && ed25519.Verify(pub, input, sig)
	}
	return false
}

// verifyRSA verifies RSASSA-PKCS1-v1_5 (RS*) or RSASSA-PSS (PS*, with MGF1
// over the same hash and a salt as long as the hash, RFC 7518 section 3.5).
func verifyRSA(pub *rsa.PublicKey, a algorithm, input, sig []byte) bool {
	if len(sig) != pub.Size() {
		return false
	}
	var buf [64]byte
	digest := a.digest(input, &buf)
	switch a {
	case algRS256, algRS384, algRS512:
		return rsa.VerifyPKCS1v15(pub, a.hash(), digest, sig) == nil
	case algPS256, algPS384, algPS512:
		opts := rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: a.hash()}
		return rsa.VerifyPSS(pub, a.hash(), digest, sig, &opts) == nil
	}
	return false
}

// verifyECDSA verifies an ES* signature: the IEEE P1363 concatenation r||s,
// each exactly as long as the curve's order (RFC 7518 section 3.4). It is
// converted to the ASN.1 form crypto/ecdsa verifies without big.Int
// allocations; r or s of zero is refused before that.
func verifyECDSA(pub *ecdsa.PublicKey, a algorithm, input, sig []byte) bool {
	size := (pub.Curve.Params().BitSize + 7) / 8
	if len(sig) != 2*size {
		return false
	}
	r, s := trimLeadingZeros(sig[:size]), trimLeadingZeros(sig[size:])
	if len(r) == 0 || len(s) == 0 {
		return false
	}
	var der [144]byte
	var buf [64]byte
	return ecdsa.VerifyASN1(pub, a.digest(input, &buf), asn1Signature(der[:0], r, s))
}

func trimLeadingZeros(b []byte) []byte {
	for len(b) > 0 && b[0] == 0 {
		b = b[1:]
	}
	return b
}

// asn1Signature appends SEQUENCE { INTEGER r, INTEGER s } in DER. r and s are
// unsigned big-endian without leading zeros, at most 66 bytes each (P-521).
func asn1Signature(out, r, s []byte) []byte {
	rl, sl := len(r)+int(r[0]>>7), len(s)+int(s[0]>>7)
	body := 2 + rl + 2 + sl
	out = append(out, 0x30)
	if body >= 0x80 {
		out = append(out, 0x81)
	}
	out = append(out, byte(body))
	for _, n := range [2][]byte{r, s} {
		out = append(out, 0x02, byte(len(n)+int(n[0]>>7)))
		if n[0]&0x80 != 0 {
			out = append(out, 0)
		}
		out = append(out, n...)
	}
	return out
}

// verifyHMAC verifies an HS* signature in constant time.
func verifyHMAC(secret []byte, a algorithm, input, sig []byte) bool {
	var h func() hash.Hash
	switch a {
	case algHS256:
		h = sha256.New
	case algHS384:
		h = sha512.New384
	case algHS512:
		h = sha512.New
	default:
		return false
	}
	mac := hmac.New(h, secret)
	mac.Write(input)
	var buf [64]byte
	return hmac.Equal(mac.Sum(buf[:0]), sig)
}
