package emulator

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"go.yaml.in/yaml/v3"

	"github.com/sesinbound/sesinbound/backend"
	"github.com/sesinbound/sesinbound/receipt"
	"github.com/sesinbound/sesinbound/sesapi"
)

// ConfigView is what GET /_sesinbound/status returns: the configuration
// in use, read-only. Changes go through the rules file or the SES API.
type ConfigView struct {
	// RuleSet is the active rule set in the rules file's shape (YAML keys,
	// as `aws ses describe-active-receipt-rule-set` prints them).
	RuleSet  map[string]any `json:"ruleSet"`
	Source   string         `json:"source"` // a path, or "built-in"
	Backends struct {
		S3  string `json:"s3"`  // "embedded", "aws" or the endpoint URL
		KMS string `json:"kms"` // likewise
	} `json:"backends"`
	DataDir    string    `json:"dataDir,omitempty"`
	Findings   []Finding `json:"findings"` // the startup self-check, as `sesinbound doctor` reports it
	SMTPAddr   string    `json:"smtpAddr"`
	URL        string    `json:"url"`
	Version    string    `json:"version"`
	AdminToken bool      `json:"adminToken"` // whether /_sesinbound/ needs the token
}

// Finding is one result of the startup self-check.
type Finding struct {
	Check    string `json:"check"`
	Severity string `json:"severity"` // ok, warn or FAIL
	Detail   string `json:"detail"`
}

// Config returns the configuration in use.
func (e *Emulator) Config() ConfigView {
	rs := e.SES.RuleSet() // the live configuration, as the SES API leaves it
	v := ConfigView{RuleSet: ruleSetShape(rs), Source: rs.Source, DataDir: e.cfg.DataDir,
		SMTPAddr: e.SMTPAddr(), URL: e.URL(), Version: e.cfg.Version, AdminToken: e.cfg.AdminToken != "",
		Findings: []Finding{}}
	v.Backends.S3, v.Backends.KMS = e.Backends.S3Name, e.Backends.KMSName
	for _, f := range e.Findings {
		v.Findings = append(v.Findings, Finding{Check: f.Check, Severity: string(f.Severity), Detail: f.Detail})
	}
	return v
}

func (e *Emulator) statusHandler(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	enc.Encode(e.Config())
}

// ruleSetShape renders a rule set with the rules file's keys, as
// `sesinbound rules export` and GET /_sesinbound/config write it.
func ruleSetShape(rs *receipt.RuleSet) map[string]any {
	b, err := sesapi.Export(rs)
	if err != nil {
		return map[string]any{"error": err.Error()}
	}
	var m map[string]any
	if err := yaml.Unmarshal(b, &m); err != nil {
		return map[string]any{"error": err.Error()}
	}
	return dropEmpty(m).(map[string]any)
}

func dropEmpty(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if x == nil {
				delete(v, k)
				continue
			}
			v[k] = dropEmpty(x)
		}
		return v
	case []any:
		for i := range v {
			v[i] = dropEmpty(v[i])
		}
		return v
	}
	return v
}

// readClients builds the SDK clients the page reads stored objects with,
// pointed where `sesinbound decrypt` would point them: an external
// service's endpoint, else this emulator's own.
func (e *Emulator) readClients(ctx context.Context, c Config) (*s3.Client, error) {
	ep := backend.Endpoints{PathStyle: true, Attempts: 1}
	switch n := e.Backends.S3Name; n {
	case EndpointEmbedded:
		ep.S3 = e.URL()
	case EndpointAWS:
		ep.PathStyle = c.PathStyle
	default:
		ep.S3, ep.PathStyle = n, c.PathStyle
	}
	clients, err := backend.NewClients(ctx, e.Processor.Rules().Region, ep)
	if err != nil {
		return nil, err
	}
	return clients.S3, nil
}
