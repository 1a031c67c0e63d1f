package validator

import (
	"crypto"
	"crypto/sha256"
	"crypto/sha512"
)

// algorithm is a JWS algorithm (RFC 7518, RFC 8037) tollgate verifies.
// "none" is not one, and never will be.
type algorithm uint8

const (
	algUnknown algorithm = iota
	algRS256
	algRS384
	algRS512
	algPS256
	algPS384
	algPS512
	algES256
	algES384
	algES512
	algEdDSA
	algHS256
	algHS384
	algHS512
	algCount
)

// algSet is a set of algorithms, one bit each.
type algSet uint16

func (s algSet) has(a algorithm) bool { return s&(1<<a) != 0 }

const (
	asymmetricAlgs algSet = 1<<algRS256 | 1<<algRS384 | 1<<algRS512 | 1<<algPS256 | 1<<algPS384 | 1<<algPS512 |
		1<<algES256 | 1<<algES384 | 1<<algES512 | 1<<algEdDSA
	hmacAlgs algSet = 1<<algHS256 | 1<<algHS384 | 1<<algHS512
)

// parseAlg maps a header's "alg" to an algorithm. The match is exact:
// RFC 7515 names are case-sensitive, so "rs256" and "None" are unknown.
func parseAlg(name []byte) algorithm {
	switch string(name) {
	case "RS256":
		return algRS256
	case "RS384":
		return algRS384
	case "RS512":
		return algRS512
	case "PS256":
		return algPS256
	case "PS384":
		return algPS384
	case "PS512":
		return algPS512
	case "ES256":
		return algES256
	case "ES384":
		return algES384
	case "ES512":
		return algES512
	case "EdDSA":
		return algEdDSA
	case "HS256":
		return algHS256
	case "HS384":
		return algHS384
	case "HS512":
		return algHS512
	}
	return algUnknown
}

func (a algorithm) String() string {
	switch a {
	case algRS256:
		return "RS256"
	case algRS384:
		return "RS384"
	case algRS512:
		return "RS512"
	case algPS256:
		return "PS256"
	case algPS384:
		return "PS384"
	case algPS512:
		return "PS512"
	case algES256:
		return "ES256"
	case algES384:
		return "ES384"
	case algES512:
		return "ES512"
	case algEdDSA:
		return "EdDSA"
	case algHS256:
		return "HS256"
	case algHS384:
		return "HS384"
	case algHS512:
		return "HS512"
	}
	return "unknown"
}

// hash returns the digest the algorithm signs (0 for EdDSA, which signs the
// message itself).
func (a algorithm) hash() crypto.Hash {
	switch a {
	case algRS256, algPS256, algES256, algHS256:
		return crypto.SHA256
	case algRS384, algPS384, algES384, algHS384:
		return crypto.SHA384
	case algRS512, algPS512, algES512, algHS512:
		return crypto.SHA512
	}
	return 0
}

// digest hashes msg with the algorithm's hash into buf and returns the digest.
// The fixed-size functions keep the hash state on the stack.
func (a algorithm) digest(msg []byte, buf *[64]byte) []byte {
	switch a.hash() {
	case crypto.SHA256:
		d := sha256.Sum256(msg)
		return buf[:copy(buf[:], d[:])]
	case crypto.SHA384:
		d := sha512.Sum384(msg)
		return buf[:copy(buf[:], d[:])]
	case crypto.SHA512:
		d := sha512.Sum512(msg)
		return buf[:copy(buf[:], d[:])]
	}
	return nil
}
