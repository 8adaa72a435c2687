package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
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

// webhookSink is the watched row's --webhook: an HTTP server in this
// process that reads every POST and answers 204, counting them.
type webhookSink struct {
	url  string
	name string // the row posting to it
	aws  string // its AWS endpoint
	hits atomic.Int64
}

func (lb *lab) startWebhookSink() (*webhookSink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &webhookSink{url: "http://" + ln.Addr().String() + "/hook"}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		s.hits.Add(1)
		w.WriteHeader(http.StatusNoContent)
	})}
	go srv.Serve(ln) // until the benchmark exits
	return s, nil
}

// note says what the webhook did: how many records it posted, and how
// many it skipped for falling behind its queue.
func (s *webhookSink) note() string {
	var st struct{ Posted, Failed, Skipped int }
	resp, err := http.Get("http://" + s.aws + "/_sesinbound/webhook")
	if err == nil {
		err = json.NewDecoder(resp.Body).Decode(&st)
		resp.Body.Close()
	}
	if err != nil {
		return fmt.Sprintf("%s's webhook: the sink received %d POSTs; its status: %v", s.name, s.hits.Load(), err)
	}
	return fmt.Sprintf("%s's webhook: the sink received %d POSTs; sesinbound reports %d posted, %d failed, %d skipped (fell behind its queue)",
		s.name, s.hits.Load(), st.Posted, st.Failed, st.Skipped)
}
