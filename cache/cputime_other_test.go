//go:build !unix

package cache_test

import "time"

func processCPU() (time.Duration, bool) { return 0, false }
