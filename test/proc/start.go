package proc

import (
	"os/exec"
	"runtime"
	"syscall"
)

// Start starts cmd so that it dies with the test binary (SIGKILL through
// Pdeathsig) and returns a channel that receives the result of its Wait.
//
// Pdeathsig fires when the thread that forked the child ends, not when the
// process does. Go ends a thread when a goroutine that locked it returns
// without unlocking (package testnet's goroutines do, to enter a network
// namespace), so a child forked from an ordinary goroutine can be killed
// mid-test whenever its thread is later taken and ended that way. The child
// is therefore forked from a thread locked for the child's whole life.
func Start(cmd *exec.Cmd) (<-chan error, error) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	started := make(chan error, 1)
	exited := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// Never unlocked: the thread ends with this goroutine, after the
		// child, which is what Pdeathsig wants.
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		exited <- cmd.Wait()
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	return exited, nil
}
