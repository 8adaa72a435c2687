package faults_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/sesinbound/sesinbound/faults"
	"github.com/sesinbound/sesinbound/receipt"
)

func TestCountedFaults(t *testing.T) {
	r := faults.New()
	err := r.Set(receipt.FaultSpec{
		SMTP: []receipt.SMTPFault{{Stage: "rcpt", Code: 451, Status: "4.7.1", Message: "greylisted", Count: 2}},
		AWS:  []receipt.AWSFault{{Service: "KMS", Operation: "GenerateDataKey", Error: "ThrottlingException", Count: 1, Scope: "sesinbound"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		code, enh, msg, ok := r.SMTPFault("RCPT")
		if !ok || code != 451 || enh != [3]int{4, 7, 1} || msg != "greylisted" {
			t.Fatalf("fire %d = %d %v %q %v", i, code, enh, msg, ok)
		}
	}
	if _, _, _, ok := r.SMTPFault("RCPT"); ok {
		t.Fatalf("fired a third time with Count 2")
	}
	if _, _, _, ok := r.SMTPFault("MAIL"); ok {
		t.Fatalf("fired at another stage")
	}
	if err := r.AWSFault(receipt.ScopeEndpoint, "kms", "GenerateDataKey"); err != nil {
		t.Fatalf("a sesinbound-scoped fault fired for the endpoint: %v", err)
	}
	err = r.AWSFault(receipt.ScopeSesinbound, "kms", "GenerateDataKey")
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "ThrottlingException" || !receipt.Retryable(err) {
		t.Fatalf("AWSFault = %v", err)
	}
	if spec := r.Spec(); *spec.SMTP[0].Remaining != 0 || *spec.AWS[0].Remaining != 0 {
		t.Fatalf("remaining = %+v", spec)
	}
}

func TestProbabilityAndUnlimited(t *testing.T) {
	r := faults.New()
	rolls := []float64{0.1, 0.9, 0.2}
	r.Rand = func() float64 { v := rolls[0]; rolls = rolls[1:]; return v }
	r.Set(receipt.FaultSpec{SMTP: []receipt.SMTPFault{{Stage: "DATA", Code: 554, Probability: 0.5}}})
	var fired []bool
	for i := 0; i < 3; i++ {
		_, _, _, ok := r.SMTPFault("DATA")
		fired = append(fired, ok)
	}
	if fired[0] != true || fired[1] != false || fired[2] != true {
		t.Fatalf("fired = %v", fired)
	}
	r.Set(receipt.FaultSpec{AWS: []receipt.AWSFault{{Service: "s3", Error: "AccessDenied"}}})
	for i := 0; i < 5; i++ {
		if err := r.AWSFault(receipt.ScopeSesinbound, "s3", "PutObject"); err == nil || receipt.Retryable(err) || !receipt.IsConfigError(err) {
			t.Fatalf("unlimited fault: %v", err)
		}
	}
	r.Clear()
	if err := r.AWSFault(receipt.ScopeSesinbound, "s3", "PutObject"); err != nil {
		t.Fatalf("after Clear: %v", err)
	}
}

func TestInvalidSpec(t *testing.T) {
	err := faults.New().Set(receipt.FaultSpec{
		SMTP:      []receipt.SMTPFault{{Stage: "HELO", Code: 250, Probability: 2}},
		AWS:       []receipt.AWSFault{{Service: "sqs", Scope: "everywhere"}},
		Envelopes: map[string]string{"r": "upside-down"},
	})
	for _, want := range []string{"SMTP[0].Stage", "SMTP[0].Code", "SMTP[0].Probability", "AWS[0].Service", "AWS[0].Error", "AWS[0].Scope", "Envelopes.r"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not name %s", err, want)
		}
	}
}

type okStore struct{ calls int }

func (s *okStore) PutObject(context.Context, *s3.PutObjectInput, ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	s.calls++
	return &s3.PutObjectOutput{}, nil
}

func TestStoreDecorator(t *testing.T) {
	r := faults.New()
	r.Set(receipt.FaultSpec{AWS: []receipt.AWSFault{{Service: "s3", Operation: "PutObject", Error: "SlowDown", Count: 1}}})
	inner := &okStore{}
	st := faults.Store{ObjectStore: inner, Faults: r}
	if _, err := st.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String("b")}); err == nil {
		t.Fatalf("the first PutObject did not fail")
	}
	if _, err := st.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String("b")}); err != nil || inner.calls != 1 {
		t.Fatalf("the second PutObject = %v, store called %d times", err, inner.calls)
	}
}

func TestHandler(t *testing.T) {
	r := faults.New()
	h := r.Handler()
	put := httptest.NewRecorder()
	h.ServeHTTP(put, httptest.NewRequest(http.MethodPut, "/_sesinbound/faults",
		strings.NewReader(`{"AWS":[{"Service":"s3","Operation":"GetObject","Error":"SlowDown","Count":1,"Scope":"endpoint"},
		{"Service":"kms","Error":"AccessDeniedException","Count":1,"Scope":"endpoint"}]}`)))
	if put.Code != 200 {
		t.Fatalf("PUT = %d %s", put.Code, put.Body)
	}
	bad := httptest.NewRecorder()
	h.ServeHTTP(bad, httptest.NewRequest(http.MethodPost, "/_sesinbound/faults", strings.NewReader(`{"SMTP":[{"Stage":"RCPT","Code":99}],"Nope":1}`)))
	if bad.Code != 400 {
		t.Fatalf("POST of a bad spec = %d", bad.Code)
	}
	del := httptest.NewRecorder()
	h.ServeHTTP(del, httptest.NewRequest(http.MethodDelete, "/_sesinbound/faults", nil))
	if del.Code != 200 || len(r.Spec().AWS) != 0 {
		t.Fatalf("DELETE left %+v", r.Spec())
	}
}

// TestZeroValues: a Registry literal and decorators without a Registry work.
func TestZeroValues(t *testing.T) {
	var r faults.Registry
	if err := r.Add(receipt.FaultSpec{Envelopes: map[string]string{"*": "corrupt-tag"}}); err != nil {
		t.Fatal(err)
	}
	if v := r.Envelope("any"); v != "corrupt-tag" {
		t.Fatalf("Envelope = %q", v)
	}
	if _, _, _, ok := r.SMTPFault("DATA"); ok {
		t.Fatal("an SMTP fault fired from nothing")
	}
	r.Clear()
	if err := r.Set(receipt.FaultSpec{Envelopes: map[string]string{"r": "no-kms-cmk-id"}}); err != nil || r.Envelope("r") != "no-kms-cmk-id" {
		t.Fatalf("Set after Clear: %v, %q", err, r.Envelope("r"))
	}
	inner := &okStore{}
	if _, err := (faults.Store{ObjectStore: inner}).PutObject(t.Context(), &s3.PutObjectInput{}); err != nil || inner.calls != 1 {
		t.Fatalf("Store without a Registry = %v, %d calls", err, inner.calls)
	}
}
