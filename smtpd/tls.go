package smtpd

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// TLSConfig returns the STARTTLS configuration: the certificate and key in
// certFile and keyFile when given; otherwise a self-signed certificate for
// hostname, kept in dir (when dir is not empty) so that it survives
// restarts and clients can pin it. Without dir the certificate is made on
// the first handshake.
func TLSConfig(certFile, keyFile, dir, hostname string) (*tls.Config, error) {
	switch {
	case certFile != "" && keyFile != "":
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("tls certificate: %w", err)
		}
		return &tls.Config{Certificates: []tls.Certificate{cert}}, nil
	case certFile != "" || keyFile != "":
		return nil, errors.New("tls certificate: give both --tls-cert and --tls-key, or neither")
	}
	if dir == "" {
		// Nothing to keep: the certificate is made on the first handshake,
		// which takes it off the path from exec to the first 220.
		cert := sync.OnceValues(func() (*tls.Certificate, error) {
			cert, _, _, err := selfSigned(hostname)
			return cert, err
		})
		return &tls.Config{GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return cert() }}, nil
	}
	certPath, keyPath := filepath.Join(dir, "smtp-cert.pem"), filepath.Join(dir, "smtp-key.pem")
	if cert, err := tls.LoadX509KeyPair(certPath, keyPath); err == nil {
		return &tls.Config{Certificates: []tls.Certificate{cert}}, nil
	}
	cert, certPEM, keyPEM, err := selfSigned(hostname)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(keyPath, keyPEM, 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(certPath, certPEM, 0o644); err != nil {
		return nil, err
	}
	return &tls.Config{Certificates: []tls.Certificate{*cert}}, nil
}

// selfSigned makes a certificate with SelfSignedCert, parsed and in PEM.
func selfSigned(hostname string) (cert *tls.Certificate, certPEM, keyPEM []byte, err error) {
	certPEM, keyPEM, err = SelfSignedCert(hostname)
	if err != nil {
		return nil, nil, nil, err
	}
	c, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, nil, nil, err
	}
	return &c, certPEM, keyPEM, nil
}

// SelfSignedCert makes a P-256 certificate for hostname (and localhost and
// the loopback addresses), valid for ten years, in PEM.
func SelfSignedCert(hostname string) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: hostname, Organization: []string{"sesinbound"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().AddDate(10, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{hostname, "localhost"},
	}
	tmpl.IPAddresses = loopbackIPs()
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), nil
}

func loopbackIPs() []net.IP {
	return []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
}
