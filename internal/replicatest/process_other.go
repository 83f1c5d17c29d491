//go:build !linux

package replicatest

import "syscall"

// dieWithParent returns nil: only Linux kills children with their parent;
// elsewhere the test's cleanup kills them.
func dieWithParent() *syscall.SysProcAttr { return nil }
