package emulator

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/sesinbound/sesinbound/backend"
	"github.com/sesinbound/sesinbound/encrypt"
	"github.com/sesinbound/sesinbound/fakes"
	"github.com/sesinbound/sesinbound/faults"
	"github.com/sesinbound/sesinbound/receipt"
)

// Special values of Config.S3Endpoint and Config.KMSEndpoint.
const (
	EndpointEmbedded = "embedded" // the in-process fake, whatever the environment says
	EndpointAWS      = "aws"      // the SDK's own endpoint resolution: real AWS
)

// objectStore is what sesinbound needs of S3, from *s3.Client or *fakes.S3.
type objectStore interface {
	receipt.ObjectStore
	backend.BucketAPI
	backend.ObjectAPI
}

// keyStore is what sesinbound needs of KMS, from *kms.Client or *fakes.KMS.
type keyStore interface {
	encrypt.KMS
	backend.KeyAPI
	backend.CryptoAPI
}

// Backends are the S3 and KMS in use, each embedded or external.
type Backends struct {
	S3      objectStore
	KMS     keyStore
	FakeS3  *fakes.S3  // nil when S3 is external
	FakeKMS *fakes.KMS // nil when KMS is external
	S3Name  string     // "embedded", "aws" or the endpoint URL, for logs
	KMSName string
}

// Endpoint decides where one service lives: the flag, then
// AWS_ENDPOINT_URL_<SERVICE>, then AWS_ENDPOINT_URL. "" means embedded.
func Endpoint(flagValue, service string, getenv func(string) string) string {
	v := flagValue
	if v == "" {
		v = getenv("AWS_ENDPOINT_URL_" + service)
	}
	if v == "" {
		v = getenv("AWS_ENDPOINT_URL")
	}
	if v == EndpointEmbedded {
		return ""
	}
	return v
}

// OpenBackends builds the embedded fakes and the SDK clients that c asks
// for. The fakes answer the endpoint-scoped faults of flts themselves
// (fakes.WithS3Faults, fakes.WithKMSFaults); the pipeline-scoped ones are
// the decorators' (faults.Store, faults.KMS), whichever backend is in use.
// flts may be nil: no faults.
func OpenBackends(ctx context.Context, c Config, rules *receipt.RuleSet, getenv func(string) string, flts *faults.Registry) (*Backends, error) {
	b := &Backends{S3Name: EndpointEmbedded, KMSName: EndpointEmbedded}
	s3URL := Endpoint(c.S3Endpoint, "S3", getenv)
	kmsURL := Endpoint(c.KMSEndpoint, "KMS", getenv)
	if s3URL != "" || kmsURL != "" {
		ep := backend.Endpoints{PathStyle: c.PathStyle, Attempts: 1}
		if s3URL != EndpointAWS {
			ep.S3 = s3URL
		}
		if kmsURL != EndpointAWS {
			ep.KMS = kmsURL
		}
		clients, err := backend.NewClients(ctx, rules.Region, ep)
		if err != nil {
			return nil, err
		}
		if s3URL != "" {
			b.S3, b.S3Name = clients.S3, s3URL
		}
		if kmsURL != "" {
			b.KMS, b.KMSName = clients.KMS, kmsURL
		}
	}
	if b.S3 == nil {
		opts := []fakes.S3Option{fakes.WithS3Region(rules.Region)}
		if flts != nil {
			opts = append(opts, fakes.WithS3Faults(flts.EndpointFaults("s3")))
		}
		if c.DataDir != "" {
			opts = append(opts, fakes.WithS3DataDir(filepath.Join(c.DataDir, "s3")))
		}
		s, err := fakes.NewS3(opts...)
		if err != nil {
			return nil, fmt.Errorf("embedded s3: %w", err)
		}
		b.S3, b.FakeS3 = s, s
	}
	if b.KMS == nil {
		opts := []fakes.KMSOption{fakes.WithKMSAccount(rules.Region, rules.AccountID)}
		if flts != nil {
			opts = append(opts, fakes.WithKMSFaults(flts.EndpointFaults("kms")))
		}
		if c.DataDir != "" {
			opts = append(opts, fakes.WithKMSDataDir(filepath.Join(c.DataDir, "kms")))
		}
		k, err := fakes.NewKMS(opts...)
		if err != nil {
			b.Close()
			return nil, fmt.Errorf("embedded kms: %w", err)
		}
		b.KMS, b.FakeKMS = k, k
	}
	return b, nil
}

// Close stops the embedded fakes.
func (b *Backends) Close() {
	if b.FakeS3 != nil {
		b.FakeS3.Close()
	}
	if b.FakeKMS != nil {
		b.FakeKMS.Close()
	}
}

// Checks runs the startup self-check: every bucket's metadata round trip and
// every key's encryption-context binding.
func (b *Backends) Checks(ctx context.Context, rules *receipt.RuleSet) []backend.Finding {
	var out []backend.Finding
	buckets, keys := backend.Resources(rules)
	for _, bucket := range buckets {
		out = append(out, backend.ProbeMetadata(ctx, b.S3, bucket)...)
	}
	for _, k := range keys {
		out = append(out, backend.CheckKey(ctx, b.KMS, rules, k)...)
	}
	return out
}
