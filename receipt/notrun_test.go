package receipt_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/sesinbound/sesinbound/receipt"
)

func TestNotRun(t *testing.T) {
	rules := testRules + `
  - Name: off
    Recipients: [example.com]
    Actions:
      - S3Action: {BucketName: archive}
  - Name: elsewhere
    Enabled: true
    Recipients: [example.net]
    Actions:
      - S3Action: {BucketName: archive}
`
	e := newEnv(t, rules, nil)
	msg := testMessage("boss@example.com")
	msg.Data = []byte("Subject: the quarterly figures\r\nFrom: a@example.org\r\n\r\nbody\r\n")
	res, err := e.proc.Deliver(t.Context(), msg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Subject != "the quarterly figures" {
		t.Errorf("Subject = %q", res.Subject)
	}
	if res.NotRun != nil {
		t.Errorf("NotRun is filled at delivery: %v", res.NotRun)
	}
	got := res.WithNotRun().NotRun
	want := []receipt.NotRunRule{
		{Name: "archive", Reason: receipt.NotRunStopped, By: "vip"},
		{Name: "never", Reason: receipt.NotRunStopped, By: "vip"},
		{Name: "off", Reason: receipt.NotRunDisabled},
		{Name: "elsewhere", Reason: receipt.NotRunNoMatch},
	}
	if !slices.Equal(got, want) {
		t.Errorf("NotRun = %+v\nwant %+v", got, want)
	}
}

func TestNotRunAfterFailure(t *testing.T) {
	e := newEnv(t, testRules, failingStore{errors.New("connection refused")})
	res, err := e.proc.Deliver(t.Context(), testMessage("boss@example.com"))
	if err == nil {
		t.Fatal("Deliver succeeded with a failing store")
	}
	got := res.WithNotRun().NotRun
	want := []receipt.NotRunRule{
		{Name: "archive", Reason: receipt.NotRunFailed, By: "vip"},
		{Name: "never", Reason: receipt.NotRunFailed, By: "vip"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("NotRun = %+v\nwant %+v", got, want)
	}
}
