//go:build unix

package storage

import "syscall"

func init() {
	privateUmask = func() { syscall.Umask(0o077) }
}
