//go:build interop && linux

package interop

import "syscall"

// sysProcAttr puts the server in its own process group, so that stopping it
// reaches anything it started, and has the kernel kill it if the thread that
// started it dies (a test binary killed by its -timeout never runs cleanups).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
