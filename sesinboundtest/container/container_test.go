package container_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/testcontainers/testcontainers-go"

	"github.com/sesinbound/sesinbound/sesinboundtest"
	"github.com/sesinbound/sesinbound/sesinboundtest/container"
)

// TestRun needs a Docker engine; without one it skips with
// testcontainers' own reason. The image is $SESINBOUND_IMAGE, or built
// from the repository's Dockerfile.
func TestRun(t *testing.T) {
	testcontainers.SkipIfProviderIsNotHealthy(t)
	ctx := t.Context()
	rules := filepath.Join(t.TempDir(), "rules.yaml")
	os.WriteFile(rules, []byte(`
Rules:
  - Name: inbox
    Enabled: true
    Recipients: [example.com]
    Actions:
      - S3Action: {BucketName: inbound, KmsKeyArn: "arn:aws:kms:us-east-1:000000000000:alias/aws/ses"}
`), 0o644)
	opts := []testcontainers.ContainerCustomizer{container.WithRules(rules), container.WithAdminToken("t0ken"),
		container.WithEnv(map[string]string{"SESINBOUND_LOG_LEVEL": "debug"})}
	img := os.Getenv("SESINBOUND_IMAGE")
	if img == "" {
		opts = append(opts, testcontainers.WithDockerfile(testcontainers.FromDockerfile{Context: "../..", Dockerfile: "Dockerfile"}))
	}
	ctr, err := container.Run(ctx, img, opts...)
	testcontainers.CleanupContainer(t, ctr)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ctr.Client(ctx)
	if err != nil {
		t.Fatal(err)
	}
	id, err := c.Send(ctx, "a@example.org", []string{"inbox@example.com"}, []byte("Subject: hi\r\n\r\nfrom a container\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := c.WaitFor(ctx, sesinboundtest.Filter{ID: id, Rule: "inbox"})
	if err != nil {
		t.Fatal(err)
	}
	body, err := m.Decrypted(ctx)
	if err != nil || !strings.Contains(string(body), "from a container") {
		t.Fatalf("decrypted %q, %v", body, err)
	}
	if err := c.Reset(ctx); err != nil {
		t.Fatal(err)
	}
}
