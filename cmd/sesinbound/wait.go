package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sesinbound/sesinbound/emulator"
)

// maxPoll is the longest one long-poll request may wait (the server's limit).
const maxPoll = 5 * time.Minute

// wait blocks until a processed message matches the flags, then prints its
// ID (or, with --json, its record). At the timeout it prints one line and
// exits 1; any other problem exits 2.
func wait(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sesinbound wait", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	awsAddr := fs.String("aws-addr", serverAddr(getenv), "")
	filters := map[string]*string{}
	for _, name := range []string{"to", "from", "subject", "rule", "id", "bounced", "after"} {
		filters[name] = fs.String(name, "", "")
	}
	timeout := fs.Duration("timeout", 30*time.Second, "")
	asJSON := fs.Bool("json", false, "")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return &exitError{2, fmt.Errorf("unexpected argument %q; wait takes only flags (--to, --from, --subject, --rule, --id, --bounced, --after, --timeout, --json)", fs.Arg(0))}
	}
	if *timeout <= 0 {
		return &exitError{2, errors.New("--timeout must be positive")}
	}
	q := url.Values{}
	var desc []string
	for _, name := range []string{"to", "from", "subject", "rule", "id", "bounced", "after"} {
		if v := *filters[name]; v != "" {
			q.Set(name, v)
			if name != "after" {
				desc = append(desc, name+"="+v)
			}
		}
	}
	what := "any message"
	if len(desc) > 0 {
		what = "a message with " + strings.Join(desc, ", ")
	}
	base := endpointURL(*awsAddr) + "/_sesinbound/messages?"
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	deadline, _ := ctx.Deadline()
	for {
		left := time.Until(deadline).Truncate(time.Millisecond)
		if left <= 0 {
			break
		}
		q.Set("wait", min(left, maxPoll).String())
		rec, err := poll(ctx, base+q.Encode(), getenv("SESINBOUND_ADMIN_TOKEN"))
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			return &exitError{2, err}
		}
		if rec == nil {
			continue // 204: the server's deadline; ours decides
		}
		if *asJSON {
			fmt.Fprintf(stdout, "%s\n", rec)
			return nil
		}
		var m struct {
			MessageID string `json:"messageId"`
		}
		json.Unmarshal(rec, &m)
		fmt.Fprintln(stdout, m.MessageID)
		return nil
	}
	return &exitError{1, fmt.Errorf("wait: no processed message matched (%s) within %v", what, *timeout)}
}

// poll makes one long-poll request: the first record on 200, nil on 204.
func poll(ctx context.Context, u, token string) (json.RawMessage, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	if token != "" { // with --admin-token every /_sesinbound/ call needs it
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("wait: %w (is sesinbound running there? set --aws-addr or SESINBOUND_AWS_ADDR)", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	switch resp.StatusCode {
	case http.StatusNoContent:
		return nil, nil
	case http.StatusOK:
		var page struct {
			Messages []json.RawMessage `json:"messages"`
		}
		if err := json.Unmarshal(b, &page); err != nil || len(page.Messages) == 0 {
			return nil, fmt.Errorf("wait: unexpected answer from %s: %.200s", u, b)
		}
		return page.Messages[0], nil
	}
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(b, &e) == nil && e.Error != "" {
		return nil, fmt.Errorf("wait: %s", e.Error)
	}
	return nil, fmt.Errorf("wait: %s answered %s", u, resp.Status)
}

// serverAddr finds sesinbound's endpoint as decrypt does: SESINBOUND_AWS_ADDR,
// else AWS_ENDPOINT_URL when it names a server, else the default.
func serverAddr(getenv func(string) string) string {
	if v := getenv("SESINBOUND_AWS_ADDR"); v != "" {
		return v
	}
	if v := getenv("AWS_ENDPOINT_URL"); v != "" && v != emulator.EndpointEmbedded && v != emulator.EndpointAWS {
		return v
	}
	return DefaultConfig().AWSAddr
}
