//go:build unix

package hooks

import "syscall"

func init() {
	privateUmask = func() { syscall.Umask(0o077) }
}
