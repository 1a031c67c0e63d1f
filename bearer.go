package tollgate

// ParseAuthorization extracts the token from the value of an Authorization
// header carrying bearer credentials, as RFC 6750 section 2.1 defines them:
//
//	credentials = "Bearer" 1*SP b64token
//	b64token    = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
//
// The scheme is matched case-insensitively (RFC 9110 section 11.1).
//
// It returns an [*Error] of kind [ErrNoToken] for an empty value or another
// scheme (Basic, DPoP, ...), which a resource server answers like a request
// without credentials; and of kind [ErrInvalidRequest] for the Bearer scheme
// with a missing or ill-formed token (check "authorization"). The error never
// contains the header value.
func ParseAuthorization(header string) (string, error) {
	const scheme = "bearer"
	if len(header) < len(scheme) || !equalFoldASCII(header[:len(scheme)], scheme) {
		return "", errNoCredentials()
	}
	rest := header[len(scheme):]
	if rest == "" {
		return "", errEmptyToken()
	}
	if rest[0] != ' ' {
		// "Bearerfoo" is another scheme, not a malformed bearer credential.
		if isTokenChar(rest[0]) {
			return "", errNoCredentials()
		}
		return "", errMalformedToken()
	}
	i := 0
	for i < len(rest) && rest[i] == ' ' {
		i++
	}
	token := rest[i:]
	if err := CheckToken(token); err != nil {
		return "", err
	}
	return token, nil
}

// CheckToken reports whether token is a syntactically valid RFC 6750 b64token,
// the form a bearer token must have wherever it is carried (header, form body
// or query). It returns nil or an [*Error] of kind [ErrInvalidRequest].
func CheckToken(token string) error {
	if token == "" {
		return errEmptyToken()
	}
	i := 0
	for i < len(token) && b64TokenChars[token[i]] {
		i++
	}
	if i == 0 {
		return errMalformedToken()
	}
	for i < len(token) && token[i] == '=' {
		i++
	}
	if i != len(token) {
		return errMalformedToken()
	}
	return nil
}

// b64TokenChars marks the bytes of the b64token alphabet (without '='). A
// table lookup per byte keeps the scan of a kilobyte-long JWT cheap; it is
// never written after initialisation.
var b64TokenChars = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		t[c] = isB64TokenChar(byte(c))
	}
	return t
}()

// Fresh values each time: an *Error has exported fields, and a caller that
// changed a shared one would change it for everyone.
func errNoCredentials() error {
	return &Error{Kind: ErrNoToken, Check: "authorization", Detail: "no bearer credentials"}
}

func errEmptyToken() error {
	return &Error{Kind: ErrInvalidRequest, Check: "authorization", Detail: "empty bearer token"}
}

func errMalformedToken() error {
	return &Error{Kind: ErrInvalidRequest, Check: "authorization", Detail: "malformed bearer token"}
}

func isB64TokenChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/'
}

// isTokenChar reports whether c may appear in an RFC 9110 token (an
// authentication scheme name).
func isTokenChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '!' || c == '#' || c == '$' || c == '%' || c == '&' || c == '\'' || c == '*' ||
		c == '+' || c == '-' || c == '.' || c == '^' || c == '_' || c == '`' || c == '|' || c == '~'
}

func equalFoldASCII(s, lower string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}
