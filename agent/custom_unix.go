//go:build unix

package agent

import (
	"os/exec"
	"syscall"
)

// killProcessGroup runs cmd in a process group of its own and, when its
// context ends, kills the whole group: a shell killed alone would leave its
// children running and holding the output pipe.
func killProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
