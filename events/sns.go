package events

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/google/uuid"
)

// CertPath is where the endpoint serves the certificate that verifies
// sesinbound's SNS signatures (SNS serves its own from
// sns.<region>.amazonaws.com; verifiers that insist on that host must be
// told about this one).
const CertPath = "/_sesinbound/sns/SimpleNotificationService.pem"

// Message is an SNS message as posted to an HTTP subscription.
type Message struct {
	Type             string `json:"Type"`
	MessageID        string `json:"MessageId"`
	TopicArn         string `json:"TopicArn"`
	Subject          string `json:"Subject"`
	Message          string `json:"Message"`
	Timestamp        string `json:"Timestamp"`
	SignatureVersion string `json:"SignatureVersion"`
	Signature        string `json:"Signature"`
	SigningCertURL   string `json:"SigningCertURL"`
	UnsubscribeURL   string `json:"UnsubscribeURL"`

	subscription string
}

// JSON encodes the message as SNS does, without HTML escaping.
func (m *Message) JSON() []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	enc.Encode(m)
	return b.Bytes()
}

// StringToSign is the canonical form SNS signs for a Notification: each
// field name and value on its own line, in this order.
func (m *Message) StringToSign() string {
	var b bytes.Buffer
	for _, kv := range [][2]string{{"Message", m.Message}, {"MessageId", m.MessageID}, {"Subject", m.Subject},
		{"Timestamp", m.Timestamp}, {"TopicArn", m.TopicArn}, {"Type", m.Type}} {
		b.WriteString(kv[0] + "\n" + kv[1] + "\n")
	}
	return b.String()
}

// Signer signs SNS messages with a key of the emulator's own and serves the
// matching certificate.
type Signer struct {
	// BaseURL is where the AWS endpoint is reachable, e.g.
	// http://127.0.0.1:4566; the certificate URL is built from it.
	BaseURL string
	// Dir, when set, keeps the key and certificate across restarts.
	Dir string
	// Rand feeds the message, subscription and request IDs; nil means
	// crypto/rand. Messages are signed concurrently, so it must be safe
	// for concurrent use (lock a deterministic test reader). The signing
	// key always comes from crypto/rand.
	Rand io.Reader

	once    sync.Once
	key     *rsa.PrivateKey
	certPEM []byte
	err     error
}

// load makes or reads the key on first use: generating an RSA key takes
// tens of milliseconds, which startup should not pay when no topic is
// mapped.
func (s *Signer) load() error {
	s.once.Do(func() {
		keyPath, certPath := filepath.Join(s.Dir, "sns-signing-key.pem"), filepath.Join(s.Dir, "sns-signing-cert.pem")
		if s.Dir != "" {
			if k, c, err := readKeyPair(keyPath, certPath); err == nil {
				s.key, s.certPEM = k, c
				return
			}
		}
		s.key, s.err = rsa.GenerateKey(rand.Reader, 2048)
		if s.err != nil {
			return
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(time.Now().UnixNano()),
			Subject:      pkix.Name{CommonName: "sns.amazonaws.com", Organization: []string{"sesinbound"}},
			NotBefore:    time.Now().Add(-time.Hour),
			NotAfter:     time.Now().AddDate(10, 0, 0),
			KeyUsage:     x509.KeyUsageDigitalSignature,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &s.key.PublicKey, s.key)
		if err != nil {
			s.err = err
			return
		}
		s.certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
		if s.Dir != "" {
			keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(s.key)})
			if err := os.MkdirAll(s.Dir, 0o700); err == nil {
				os.WriteFile(keyPath, keyPEM, 0o600)
				os.WriteFile(certPath, s.certPEM, 0o644)
			}
		}
	})
	return s.err
}

func readKeyPair(keyPath, certPath string) (*rsa.PrivateKey, []byte, error) {
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, nil, err
	}
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		return nil, nil, err
	}
	block, _ := pem.Decode(keyPEM)
	if block == nil {
		return nil, nil, errors.New("no PEM key")
	}
	key, err := x509.ParsePKCS1PrivateKey(block.Bytes)
	return key, certPEM, err
}

// Message builds and signs (SignatureVersion 1, SHA1withRSA, SNS's default)
// a Notification.
func (s *Signer) Message(topicArn, subject, message string, now time.Time) (*Message, error) {
	if err := s.load(); err != nil {
		return nil, fmt.Errorf("sns signing key: %w", err)
	}
	msgID, err := s.uuid()
	if err != nil {
		return nil, err
	}
	subID, err := s.uuid()
	if err != nil {
		return nil, err
	}
	m := &Message{
		Type:             "Notification",
		MessageID:        msgID,
		TopicArn:         topicArn,
		Subject:          subject,
		Message:          message,
		Timestamp:        now.UTC().Format("2006-01-02T15:04:05.000Z"),
		SignatureVersion: "1",
		SigningCertURL:   s.BaseURL + CertPath,
		subscription:     subID,
	}
	m.UnsubscribeURL = s.BaseURL + "/_sesinbound/sns/unsubscribe?SubscriptionArn=" + m.TopicArn + ":" + m.subscription
	sum := sha1.Sum([]byte(m.StringToSign()))
	sig, err := rsa.SignPKCS1v15(rand.Reader, s.key, crypto.SHA1, sum[:])
	if err != nil {
		return nil, err
	}
	m.Signature = base64.StdEncoding.EncodeToString(sig)
	return m, nil
}

// CertPEM returns the signing certificate.
func (s *Signer) CertPEM() ([]byte, error) {
	if err := s.load(); err != nil {
		return nil, err
	}
	return s.certPEM, nil
}

// Handler serves the certificate at CertPath, and accepts unsubscribe
// requests (there is nothing to unsubscribe from).
func (s *Signer) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+CertPath, func(w http.ResponseWriter, r *http.Request) {
		pemBytes, err := s.CertPEM()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/x-pem-file")
		w.Write(pemBytes)
	})
	mux.HandleFunc("GET /_sesinbound/sns/unsubscribe", func(w http.ResponseWriter, r *http.Request) {
		id, err := s.uuid()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/xml")
		fmt.Fprint(w, `<UnsubscribeResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><ResponseMetadata><RequestId>`+id+`</RequestId></ResponseMetadata></UnsubscribeResponse>`)
	})
	return mux
}

// Verify checks a message's signature against a PEM certificate, as an SNS
// subscriber does (versions 1 and 2).
func Verify(m *Message, certPEM []byte) error {
	block, _ := pem.Decode(certPEM)
	if block == nil {
		return errors.New("no PEM certificate")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return err
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return errors.New("the certificate's key is not RSA")
	}
	sig, err := base64.StdEncoding.DecodeString(m.Signature)
	if err != nil {
		return err
	}
	switch m.SignatureVersion {
	case "1":
		sum := sha1.Sum([]byte(m.StringToSign()))
		return rsa.VerifyPKCS1v15(pub, crypto.SHA1, sum[:], sig)
	case "2":
		sum := sha256.Sum256([]byte(m.StringToSign()))
		return rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig)
	}
	return fmt.Errorf("unknown SignatureVersion %q", m.SignatureVersion)
}

// uuid returns a random (version 4) UUID from the signer's Rand, the form
// of SNS's message and subscription IDs.
func (s *Signer) uuid() (string, error) {
	r := s.Rand
	if r == nil {
		r = rand.Reader
	}
	id, err := uuid.NewRandomFromReader(r)
	if err != nil {
		return "", fmt.Errorf("sns id: %w", err)
	}
	return id.String(), nil
}
