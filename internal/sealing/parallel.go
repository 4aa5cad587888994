package sealing

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// parallel calls do(i) for every i in [0, n) on up to GOMAXPROCS
// goroutines. Each call owns index i of whatever it writes, so results
// stay in input order whatever the scheduling.
func parallel(n int, do func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers <= 1 {
		sequential(n, do)
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				do(i)
			}
		}()
	}
	wg.Wait()
}

// sequential calls do(i) for every i in [0, n), in order.
func sequential(n int, do func(i int)) {
	for i := 0; i < n; i++ {
		do(i)
	}
}
