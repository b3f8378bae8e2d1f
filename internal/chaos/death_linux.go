package chaos

import (
	"os/exec"
	"syscall"
)

// dieWithParent has the node killed when the orchestrator dies (a test timing out, a kill -9
// of kiln chaos), so that no node outlives it.
func dieWithParent(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
}
