//go:build unix

package builtin

import (
	"os/exec"
	"syscall"
)

// inOwnProcessGroup starts cmd as the leader of a new process group, so that cancelling the job
// (or its timeout) sends SIGTERM to the program and everything it started, and SIGKILL to the
// group once the grace period (cmd.WaitDelay) is over. The function it returns kills what is
// left of the group after Wait: no orphan outlives its job.
func inOwnProcessGroup(cmd *exec.Cmd) (killGroup func()) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	}
	return func() {
		if cmd.Process != nil {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
	}
}
