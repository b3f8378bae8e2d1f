//go:build !unix

package builtin

import "os/exec"

// inOwnProcessGroup: without Unix process groups, cancelling ends the program itself only.
func inOwnProcessGroup(cmd *exec.Cmd) (killGroup func()) {
	return func() {}
}
