// Package groupcommit shares one expensive commit, such as an fdatasync,
// among everyone waiting at that moment: each caller queues its item and
// waits; whoever finds no commit running becomes the committer and commits,
// batch after batch, everything queued until the queue is empty.
//
// It does not write or sync anything itself: the Commit function does, and
// decides each item's outcome.
package groupcommit

import "sync"

// Queue batches items for Commit. The zero value is not usable: set Commit.
// A Queue is safe for concurrent use.
type Queue[T any] struct {
	// Commit commits a batch, in the order the items were queued, and
	// sets errs[i] to the outcome of batch[i]. Only one Commit runs at a
	// time.
	Commit func(batch []T, errs []error)

	mu      sync.Mutex // guards queue and running
	queue   []waiting[T]
	running bool
}

type waiting[T any] struct {
	item T
	done chan error
}

// Do queues item and returns its outcome once a Commit has covered it.
func (q *Queue[T]) Do(item T) error {
	w := waiting[T]{item: item, done: make(chan error, 1)}
	q.mu.Lock()
	q.queue = append(q.queue, w)
	if !q.running {
		q.running = true
		go q.drain()
	}
	q.mu.Unlock()
	return <-w.done
}

// drain commits what is queued, in batches, until the queue is empty.
func (q *Queue[T]) drain() {
	var items []T
	var errs []error
	for {
		q.mu.Lock()
		batch := q.queue
		q.queue = nil
		if len(batch) == 0 {
			q.running = false
			q.mu.Unlock()
			return
		}
		q.mu.Unlock()
		items, errs = items[:0], errs[:0]
		for _, w := range batch {
			items = append(items, w.item)
			errs = append(errs, nil)
		}
		q.Commit(items, errs)
		for i, w := range batch {
			w.done <- errs[i]
		}
		clear(items) // let the items go before the next batch
	}
}
