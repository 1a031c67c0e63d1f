//go:build interop && unix && !linux

package interop

import "syscall"

// sysProcAttr puts the server in its own process group, so that stopping it
// reaches anything it started. (Without Linux's Pdeathsig, a server whose
// test binary was killed stops when its stdin closes.)
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
