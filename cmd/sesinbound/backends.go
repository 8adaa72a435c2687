package main

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

// Special values of --s3-endpoint and --kms-endpoint.
const (
	endpointEmbedded = "embedded" // the in-process fake, whatever the environment says
	endpointAWS      = "aws"      // the SDK's own endpoint resolution: real AWS
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

// backends are the S3 and KMS in use, each embedded or external.
type backends struct {
	s3      objectStore
	kms     keyStore
	fakeS3  *fakes.S3  // nil when S3 is external
	fakeKMS *fakes.KMS // nil when KMS is external
	s3Name  string     // "embedded", "aws" or the endpoint URL, for logs
	kmsName string
}

// endpoint decides where one service lives: the flag, then
// AWS_ENDPOINT_URL_<SERVICE>, then AWS_ENDPOINT_URL. "" means embedded.
func endpoint(flagValue, service string, getenv func(string) string) string {
	v := flagValue
	if v == "" {
		v = getenv("AWS_ENDPOINT_URL_" + service)
	}
	if v == "" {
		v = getenv("AWS_ENDPOINT_URL")
	}
	if v == endpointEmbedded {
		return ""
	}
	return v
}

// openBackends builds the embedded fakes and the SDK clients that c asks
// for. The fakes answer the endpoint-scoped faults of flts themselves; the
// pipeline-scoped ones are the decorators' (faults.Store, faults.KMS),
// whichever backend is in use. flts may be nil: no faults.
func openBackends(ctx context.Context, c Config, rules *receipt.RuleSet, getenv func(string) string, flts *faults.Registry) (*backends, error) {
	b := &backends{s3Name: endpointEmbedded, kmsName: endpointEmbedded}
	s3URL := endpoint(c.S3Endpoint, "S3", getenv)
	kmsURL := endpoint(c.KMSEndpoint, "KMS", getenv)
	if s3URL != "" || kmsURL != "" {
		ep := backend.Endpoints{PathStyle: c.PathStyle, Attempts: 1}
		if s3URL != endpointAWS {
			ep.S3 = s3URL
		}
		if kmsURL != endpointAWS {
			ep.KMS = kmsURL
		}
		clients, err := backend.NewClients(ctx, rules.Region, ep)
		if err != nil {
			return nil, err
		}
		if s3URL != "" {
			b.s3, b.s3Name = clients.S3, s3URL
		}
		if kmsURL != "" {
			b.kms, b.kmsName = clients.KMS, kmsURL
		}
	}
	if b.s3 == nil {
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
		b.s3, b.fakeS3 = s, s
	}
	if b.kms == nil {
		opts := []fakes.KMSOption{fakes.WithKMSAccount(rules.Region, rules.AccountID)}
		if flts != nil {
			opts = append(opts, fakes.WithKMSFaults(flts.EndpointFaults("kms")))
		}
		if c.DataDir != "" {
			opts = append(opts, fakes.WithKMSDataDir(filepath.Join(c.DataDir, "kms")))
		}
		k, err := fakes.NewKMS(opts...)
		if err != nil {
			b.close()
			return nil, fmt.Errorf("embedded kms: %w", err)
		}
		b.kms, b.fakeKMS = k, k
	}
	return b, nil
}

func (b *backends) close() {
	if b.fakeS3 != nil {
		b.fakeS3.Close()
	}
	if b.fakeKMS != nil {
		b.fakeKMS.Close()
	}
}

// checks runs the startup self-check: every bucket's metadata round trip and
// every key's encryption-context binding.
func (b *backends) checks(ctx context.Context, rules *receipt.RuleSet) []backend.Finding {
	var out []backend.Finding
	buckets, keys := backend.Resources(rules)
	for _, bucket := range buckets {
		out = append(out, backend.ProbeMetadata(ctx, b.s3, bucket)...)
	}
	for _, k := range keys {
		out = append(out, backend.CheckKey(ctx, b.kms, rules, k)...)
	}
	return out
}
