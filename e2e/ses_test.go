package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ses"
	"github.com/aws/aws-sdk-go-v2/service/ses/types"
)

func sesClient(url string) *ses.Client {
	return ses.New(ses.Options{Region: "us-east-1", BaseEndpoint: aws.String(url),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
}

// TestKillNineDuringSESChanges kills the process while SES API calls are
// saving the configuration: after the restart, every change that was
// answered is there, the one in flight is there or not, and nothing is
// torn.
func TestKillNineDuringSESChanges(t *testing.T) {
	dir := t.TempDir()
	inst := start(t, nil, "--data-dir", dir)
	c := sesClient(inst.AWSURL)
	ctx := t.Context()
	if _, err := c.CreateReceiptRuleSet(ctx, &ses.CreateReceiptRuleSetInput{RuleSetName: aws.String("k")}); err != nil {
		t.Fatal(err)
	}
	stopRule := func(name string, rcpt int) *types.ReceiptRule {
		return &types.ReceiptRule{Name: aws.String(name), Enabled: true, Recipients: []string{"u" + strconv.Itoa(rcpt) + "@example.com"},
			Actions: []types.ReceiptAction{{StopAction: &types.StopAction{Scope: types.StopScopeRuleSet}}}}
	}
	var mu sync.Mutex
	created, updated := 0, -1 // rules r0..r(created-1) answered; the last answered update of r0
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			var err error
			if i < 150 {
				_, err = c.CreateReceiptRule(ctx, &ses.CreateReceiptRuleInput{RuleSetName: aws.String("k"), Rule: stopRule(fmt.Sprintf("r%d", i), 0)})
			} else {
				_, err = c.UpdateReceiptRule(ctx, &ses.UpdateReceiptRuleInput{RuleSetName: aws.String("k"), Rule: stopRule("r0", i)})
			}
			if err != nil {
				return // the server is gone
			}
			mu.Lock()
			if i < 150 {
				created = i + 1
			} else {
				updated = i
			}
			mu.Unlock()
		}
	}()
	time.Sleep(1500 * time.Millisecond)
	inst.cmd.Process.Signal(syscall.SIGKILL)
	<-inst.done
	wg.Wait()
	if created < 10 {
		t.Fatalf("only %d changes were answered before the kill", created)
	}

	again := start(t, nil, "--data-dir", dir)
	out, err := sesClient(again.AWSURL).DescribeReceiptRuleSet(ctx, &ses.DescribeReceiptRuleSetInput{RuleSetName: aws.String("k")})
	if err != nil {
		t.Fatalf("after kill -9: %v\n%s", err, again.log)
	}
	have := map[string]bool{}
	var r0 types.ReceiptRule
	for _, r := range out.Rules {
		have[*r.Name] = true
		if *r.Name == "r0" {
			r0 = r
		}
	}
	for i := 0; i < created; i++ {
		if !have[fmt.Sprintf("r%d", i)] {
			t.Fatalf("rule r%d was answered and is gone after kill -9", i)
		}
	}
	if n := len(out.Rules); n != created && n != created+1 {
		t.Fatalf("%d rules after the restart, %d answered", n, created)
	}
	if updated >= 0 {
		got := strings.TrimSuffix(strings.TrimPrefix(r0.Recipients[0], "u"), "@example.com")
		if got != strconv.Itoa(updated) && got != strconv.Itoa(updated+1) {
			t.Fatalf("r0 after the restart is update %s, the last answered was %d", got, updated)
		}
	}
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), ".tmp-") {
			t.Errorf("a temporary file survived the restart: %s", path)
		}
		return nil
	})
	t.Logf("%d rules created and %d updates answered before kill -9; all there after the restart", created, max(0, updated-149))
}
