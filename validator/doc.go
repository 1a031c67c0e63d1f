// Package validator validates JWT access tokens locally (RFC 9068), following
// the JWT best current practices of RFC 8725.
package validator
