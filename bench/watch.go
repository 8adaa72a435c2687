package main

import (
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// watch holds waiters long polls and feeds event streams open against the
// sesinbound at awsAddr, until it stops. The waiters' filter never matches
// the benchmark's mail, so every message wakes each of them, it looks at
// what is new and waits again: the most a waiter costs. Each stream reads
// every record.
func (lb *lab) watch(awsAddr string, waiters, feeds int) error {
	base := "http://" + awsAddr + "/_sesinbound/"
	client := &http.Client{}
	var ready sync.WaitGroup
	errc := make(chan error, feeds)
	for i := range feeds {
		ready.Add(1)
		go func() {
			resp, err := client.Get(base + "events")
			if err == nil && resp.StatusCode != http.StatusOK {
				err = fmt.Errorf("events: %s", resp.Status)
			}
			ready.Done()
			if err != nil {
				errc <- fmt.Errorf("stream %d: %v", i, err)
				return
			}
			io.Copy(io.Discard, resp.Body) // until the server stops
			resp.Body.Close()
		}()
	}
	ready.Wait()
	select {
	case err := <-errc:
		return err
	default:
	}
	for i := range waiters {
		go func() {
			url := fmt.Sprintf("%smessages?wait=5m&to=waiter-%d@example.invalid&after=0", base, i)
			for {
				resp, err := client.Get(url)
				if err != nil {
					return // the server stopped
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
	}
	time.Sleep(300 * time.Millisecond) // let the long polls arrive
	return nil
}
