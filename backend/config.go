package backend

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Placeholder credentials for endpoints that accept any, used when the
// standard chain finds none.
const (
	PlaceholderAccessKey = "sesinbound"
	PlaceholderSecretKey = "sesinbound"
)

// Endpoints says where S3 and KMS are. An empty field leaves the choice to
// the standard AWS configuration (AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL,
// profiles), which falls back to AWS itself.
type Endpoints struct {
	S3, KMS string
	// PathStyle forces path-style S3 addressing. Local servers need it.
	PathStyle bool
	// Attempts caps the SDK's own attempts per call; 0 keeps its default
	// (3). serve sets 1: the pipeline retries within each message's
	// deadline itself, and two retry loops would multiply.
	Attempts int
}

// Clients holds SDK clients for one configuration.
type Clients struct {
	Config aws.Config
	S3     *s3.Client
	KMS    *kms.Client
}

// LoadConfig loads the standard AWS configuration, with region as the
// fallback region. When local is set (an endpoint override is in use) and no
// credentials are configured, it uses placeholder credentials rather than
// failing: local emulators accept anything.
func LoadConfig(ctx context.Context, region string, local bool) (aws.Config, error) {
	opts := []func(*config.LoadOptions) error{}
	local = local || hasEndpointEnv()
	if local {
		// The instance metadata service does not exist on a laptop; asking it
		// for credentials only adds seconds of timeouts.
		opts = append(opts, config.WithEC2IMDSClientEnableState(imds.ClientDisabled))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return cfg, fmt.Errorf("load aws config: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = region
	}
	if local && !haveCredentials(ctx, cfg) {
		cfg.Credentials = credentials.NewStaticCredentialsProvider(PlaceholderAccessKey, PlaceholderSecretKey, "")
	}
	return cfg, nil
}

// NewClients returns S3 and KMS clients for ep, configured the standard way
// (see LoadConfig).
func NewClients(ctx context.Context, region string, ep Endpoints) (*Clients, error) {
	cfg, err := LoadConfig(ctx, region, ep.S3 != "" || ep.KMS != "")
	if err != nil {
		return nil, err
	}
	c := &Clients{Config: cfg}
	c.S3 = s3.NewFromConfig(cfg, func(o *s3.Options) {
		if ep.S3 != "" {
			o.BaseEndpoint = aws.String(ep.S3)
		}
		o.UsePathStyle = ep.PathStyle
		// SES sends no checksums when it writes, and its objects carry none,
		// so the SDK's checksum validation would only warn on every read.
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		o.RetryMaxAttempts = ep.Attempts
	})
	c.KMS = kms.NewFromConfig(cfg, func(o *kms.Options) {
		if ep.KMS != "" {
			o.BaseEndpoint = aws.String(ep.KMS)
		}
		o.RetryMaxAttempts = ep.Attempts
	})
	return c, nil
}

func haveCredentials(ctx context.Context, cfg aws.Config) bool {
	if cfg.Credentials == nil {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, err := cfg.Credentials.Retrieve(ctx)
	return err == nil
}

// hasEndpointEnv reports whether a standard variable points the SDK
// elsewhere.
func hasEndpointEnv() bool {
	for _, k := range [...]string{"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_KMS", "AWS_ENDPOINT_URL_SNS", "AWS_ENDPOINT_URL_LAMBDA"} {
		if os.Getenv(k) != "" {
			return true
		}
	}
	return false
}

// ErrMissing is returned by Bootstrap, wrapped, when resources are missing
// and creating them was not allowed.
var ErrMissing = errors.New("missing resources")
