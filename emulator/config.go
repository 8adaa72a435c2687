package emulator

import (
	"log/slog"
	"time"

	"github.com/sesinbound/sesinbound/receipt"
	"github.com/sesinbound/sesinbound/smtpd"
)

// Config is everything the emulator needs. The zero value of a field means
// its default, except where DefaultConfig says otherwise (start from it).
type Config struct {
	// ConfigPath is a rules file, YAML or JSON. Rules, when set, wins over
	// it; with neither, the built-in catch-all rule is used.
	ConfigPath string
	Rules      *receipt.RuleSet

	SMTPAddr string // "127.0.0.1:0" picks a free port
	AWSAddr  string
	DataDir  string // "" keeps everything in memory

	// S3Endpoint and KMSEndpoint choose each backend: "" leaves it to
	// AWS_ENDPOINT_URL_<SERVICE> and AWS_ENDPOINT_URL (embedded when they
	// are unset), "embedded" forces the fake, "aws" means real AWS, and
	// anything else is an endpoint URL.
	S3Endpoint  string
	KMSEndpoint string
	// PathStyle addresses an external S3 path-style (/bucket/key), as local
	// servers need.
	PathStyle bool
	// NoCreate makes startup fail, naming them, when buckets or keys the
	// rules name are missing, instead of creating them.
	NoCreate bool
	// RelayAddr is the SMTP relay that BounceAction DSNs go through; ""
	// records them only.
	RelayAddr string
	// TLSCert and TLSKey are the STARTTLS certificate; without them a
	// self-signed one is made (and kept in DataDir).
	TLSCert, TLSKey string
	// AdminToken, when set, must be sent as "Authorization: Bearer <token>"
	// (or the page's cookie) with every call under /_sesinbound/ but the
	// health check, the SNS certificates and the page's own files.
	AdminToken string
	// Webhook, when set, is a URL that each processed record is POSTed to
	// as JSON, in the background (journal.Webhook).
	Webhook string
	// WebhookBatch is the most records one webhook POST carries (as a
	// page of the list); 0 or 1 means one record per POST.
	WebhookBatch int

	// Limits.
	MaxMessageBytes int64
	MaxRecipients   int
	MaxLineLength   int
	MaxHeaderBytes  int64
	MaxHeaderFields int
	MaxConns        int
	CommandTimeout  time.Duration
	DataTimeout     time.Duration
	DeliverTimeout  time.Duration

	// Log receives the emulator's log; nil discards it.
	Log *slog.Logger
	// Getenv reads the AWS_* environment (endpoints, credentials); nil
	// reads nothing, so a test's emulator ignores the process environment.
	Getenv func(string) string
	// Version is reported by the health check and the startup line.
	Version string
}

// DefaultConfig returns the settings used when nothing is given.
func DefaultConfig() Config {
	return Config{
		SMTPAddr:        "127.0.0.1:2525",
		AWSAddr:         "127.0.0.1:4566",
		PathStyle:       true,
		MaxMessageBytes: smtpd.DefaultMaxMessageBytes,
		MaxRecipients:   smtpd.DefaultMaxRecipients,
		MaxLineLength:   smtpd.DefaultMaxLineLength,
		MaxHeaderBytes:  smtpd.DefaultMaxHeaderBytes,
		MaxHeaderFields: smtpd.DefaultMaxHeaderFields,
		MaxConns:        smtpd.DefaultMaxConns,
		CommandTimeout:  smtpd.DefaultReadTimeout,
		DataTimeout:     smtpd.DefaultDataTimeout,
		DeliverTimeout:  smtpd.DefaultDeliverTimeout,
		WebhookBatch:    1,
		Version:         "dev",
	}
}
