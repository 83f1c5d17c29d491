package replicatest

import "syscall"

// dieWithParent asks the kernel to kill the child when the test binary
// dies, so that a crashed test leaves no process behind.
func dieWithParent() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
