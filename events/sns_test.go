package events_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/sesinbound/sesinbound/events"
)

// Every field SNS signs is covered by the signature: changing any one of
// them makes Verify fail. (e2e/sns_test.go checks the same with AWS's
// sns-validator.)
func TestSNSSignatureCoversEveryField(t *testing.T) {
	s := &events.Signer{BaseURL: "https://127.0.0.1:4566"}
	m, err := s.Message("arn:aws:sns:us-east-1:111122223333:t", "Amazon SES Email Receipt Notification", `{"notificationType":"Received"}`, time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	cert, err := s.CertPEM()
	if err != nil {
		t.Fatal(err)
	}
	if err := events.Verify(m, cert); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	for name, change := range map[string]func(*events.Message){
		"Message":   func(m *events.Message) { m.Message += " " },
		"MessageId": func(m *events.Message) { m.MessageID += "0" },
		"Subject":   func(m *events.Message) { m.Subject += "!" },
		"Timestamp": func(m *events.Message) { m.Timestamp = "2026-01-01T00:00:00.000Z" },
		"TopicArn":  func(m *events.Message) { m.TopicArn += "2" },
		"Type":      func(m *events.Message) { m.Type = "SubscriptionConfirmation" },
	} {
		c := *m
		change(&c)
		if events.Verify(&c, cert) == nil {
			t.Errorf("a message with %s changed still verifies: %s is not signed", name, name)
		}
	}
}

// With a Dir, the signing key and certificate survive a restart: a new
// Signer on the same Dir serves the same certificate, and a message signed
// before verifies with it.
func TestSNSSigningKeyPersists(t *testing.T) {
	dir := t.TempDir()
	first := &events.Signer{BaseURL: "https://127.0.0.1:4566", Dir: dir}
	m, err := first.Message("arn:aws:sns:us-east-1:111122223333:t", "s", "before", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	before, _ := first.CertPEM()
	second := &events.Signer{BaseURL: "https://127.0.0.1:4566", Dir: dir}
	after, err := second.CertPEM()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Fatalf("a Signer on the same Dir made a new certificate")
	}
	if err := events.Verify(m, after); err != nil {
		t.Fatalf("a message signed before the restart does not verify after it: %v", err)
	}
	// Without a Dir every Signer has a key of its own.
	a, _ := (&events.Signer{}).CertPEM()
	b, _ := (&events.Signer{}).CertPEM()
	if bytes.Equal(a, b) {
		t.Fatalf("two Signers without a Dir share a certificate")
	}
}
