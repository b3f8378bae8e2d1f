//go:build !linux

package chaos

import "os/exec"

// dieWithParent does nothing where the system can't tie a child's life to its parent's.
func dieWithParent(*exec.Cmd) {}
