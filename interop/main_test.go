//go:build interop && unix

// Package interop tests tollgate end to end against an authorization server
// that nobody on this team wrote: panva's oidc-provider (server.mjs), run
// with Node.js. Tokens are obtained over HTTP the way a real client gets them
// and presented to a resource server built from tollgate's middleware,
// validator, key set, introspection client and cache.
//
// Run it with `make interop` (or scripts/interop.sh), which checks Node.js
// and installs the npm dependencies first; `go test -tags interop ./interop/`
// works once `npm ci` has run in this directory.
package interop

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"testing"

	"go.uber.org/goleak"
)

// nodeBinary is the Node.js executable: $NODE, or node on the PATH.
var nodeBinary = "node"

// Minimum Node.js version of oidc-provider 9.
const nodeMajor, nodeMinor = 20, 19

func TestMain(m *testing.M) {
	if err := checkNode(); err != nil {
		fmt.Fprintf(os.Stderr, "interop: %v\n", err)
		os.Exit(1)
	}
	var err error
	shared, err = launchAS()
	code := 1
	if err == nil {
		code = m.Run()
	} else {
		fmt.Fprintf(os.Stderr, "interop: %v\n", err)
	}
	if shared != nil {
		if err := shared.stop(); err != nil {
			fmt.Fprintf(os.Stderr, "interop: stopping the shared authorization server: %v\n", err)
			code = 1
		}
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "interop: leaked goroutines: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// shared is the authorization server of the tests that leave it as it is.
var shared *authServer

// checkNode fails - never skips - when Node.js or the npm dependencies are
// missing: a suite that silently does not run proves nothing.
func checkNode() error {
	if n := os.Getenv("NODE"); n != "" {
		nodeBinary = n
	}
	path, err := exec.LookPath(nodeBinary)
	if err != nil {
		return fmt.Errorf("Node.js >= %d.%d is required and %q was not found (set NODE or PATH)", nodeMajor, nodeMinor, nodeBinary)
	}
	nodeBinary = path
	out, err := exec.Command(path, "--version").Output()
	if err != nil {
		return fmt.Errorf("%s --version: %v", path, err)
	}
	v := regexp.MustCompile(`^v(\d+)\.(\d+)\.`).FindSubmatch(out)
	if v == nil {
		return fmt.Errorf("%s --version printed %q, not a version", path, out)
	}
	major, _ := strconv.Atoi(string(v[1]))
	minor, _ := strconv.Atoi(string(v[2]))
	if major < nodeMajor || major == nodeMajor && minor < nodeMinor {
		return fmt.Errorf("Node.js >= %d.%d is required (oidc-provider), %s is %s", nodeMajor, nodeMinor, path, out[:len(out)-1])
	}
	if _, err := os.Stat("node_modules/oidc-provider/package.json"); err != nil {
		return fmt.Errorf("oidc-provider is not installed: run `npm ci` in interop/ (make interop does)")
	}
	return nil
}
