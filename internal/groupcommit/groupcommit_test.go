package groupcommit

import (
	"errors"
	"sync"
	"testing"
	"time"
)

// TestBatchesAndOutcomes: concurrent callers share commits, every item is
// committed exactly once and in a batch, and each caller gets its own
// outcome.
func TestBatchesAndOutcomes(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	var mu sync.Mutex
	var batches [][]int
	first := true
	q := &Queue[int]{Commit: func(batch []int, errs []error) {
		if first {
			first = false
			close(started)
			<-release // hold the first commit so the rest queue up
		}
		mu.Lock()
		batches = append(batches, append([]int(nil), batch...))
		mu.Unlock()
		for i, v := range batch {
			if v%2 == 1 {
				errs[i] = errors.New("odd")
			}
		}
	}}
	const n = 50
	var wg sync.WaitGroup
	results := make([]error, n)
	wg.Add(1)
	go func() { defer wg.Done(); results[0] = q.Do(0) }()
	<-started
	for i := 1; i < n; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); results[i] = q.Do(i) }()
	}
	for func() bool { q.mu.Lock(); defer q.mu.Unlock(); return len(q.queue) < n-1 }() {
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	seen := map[int]int{}
	for _, b := range batches {
		for _, v := range b {
			seen[v]++
		}
	}
	for i := 0; i < n; i++ {
		if seen[i] != 1 {
			t.Errorf("item %d committed %d times", i, seen[i])
		}
		if got, want := results[i] != nil, i%2 == 1; got != want {
			t.Errorf("item %d: err = %v", i, results[i])
		}
	}
	if len(batches) != 2 {
		t.Errorf("%d batches, want 2 (the held one, then the %d that queued behind it)", len(batches), n-1)
	}
}
