// Package container runs the sesinbound image for tests through
// testcontainers-go, in the shape of testcontainers-go's modules: Run,
// options that customize the request, and a Container with its endpoints
// and a sesinboundtest.Client for the same message API as the in-process
// server.
//
// It needs a Docker engine. sesinboundtest.Start needs none and is the
// path to prefer; this package is for testing the image itself, or code
// that must reach sesinbound over a container network.
package container

import (
	"context"
	"fmt"
	"net"
	"net/url"

	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/sesinbound/sesinbound/sesinboundtest"
)

// The ports of the image (Dockerfile: EXPOSE 2525 4566).
const (
	SMTPPort = "2525/tcp"
	AWSPort  = "4566/tcp"
)

// rulesPath is where WithRules puts the rules file in the container.
const rulesPath = "/etc/sesinbound/rules.yaml"

// Container is a running sesinbound container.
type Container struct {
	testcontainers.Container
	adminToken string
}

// Option is an option of Run that also sets state of the Container.
type Option struct {
	customize func(*testcontainers.GenericContainerRequest) error
	token     string
}

// Customize implements testcontainers.ContainerCustomizer.
func (o Option) Customize(req *testcontainers.GenericContainerRequest) error {
	return o.customize(req)
}

// WithRules copies a rules file (YAML or JSON) into the container and runs
// it.
func WithRules(path string) testcontainers.CustomizeRequestOption {
	return func(req *testcontainers.GenericContainerRequest) error {
		req.Files = append(req.Files, testcontainers.ContainerFile{HostFilePath: path, ContainerFilePath: rulesPath, FileMode: 0o644})
		return testcontainers.WithEnv(map[string]string{"SESINBOUND_CONFIG": rulesPath})(req)
	}
}

// WithEnv sets SESINBOUND_* (or AWS_*) variables in the container, e.g.
// SESINBOUND_MAX_MESSAGE_SIZE or SESINBOUND_WEBHOOK.
func WithEnv(env map[string]string) testcontainers.CustomizeRequestOption {
	return testcontainers.WithEnv(env)
}

// WithAdminToken sets --admin-token; the Container's Client sends it.
func WithAdminToken(token string) Option {
	return Option{token: token, customize: testcontainers.WithEnv(map[string]string{"SESINBOUND_ADMIN_TOKEN": token})}
}

// Run starts img (e.g. "sesinbound:dev") with SMTP and the AWS endpoint
// exposed, and returns once GET /_sesinbound/health answers 200. As in
// testcontainers-go's modules, a container that started is returned even
// with an error, so that the caller's cleanup can terminate it.
func Run(ctx context.Context, img string, opts ...testcontainers.ContainerCustomizer) (*Container, error) {
	moduleOpts := []testcontainers.ContainerCustomizer{
		testcontainers.WithExposedPorts(SMTPPort, AWSPort),
		testcontainers.WithWaitStrategy(wait.ForHTTP("/_sesinbound/health").WithPort(AWSPort).WithStatusCodeMatcher(func(status int) bool { return status == 200 })),
	}
	moduleOpts = append(moduleOpts, opts...)
	var token string
	for _, o := range opts {
		if o, ok := o.(Option); ok && o.token != "" {
			token = o.token
		}
	}
	ctr, err := testcontainers.Run(ctx, img, moduleOpts...)
	var c *Container
	if ctr != nil {
		c = &Container{Container: ctr, adminToken: token}
	}
	if err != nil {
		return c, fmt.Errorf("run sesinbound: %w", err)
	}
	return c, nil
}

// SMTPEndpoint is the host:port of the container's SMTP listener.
func (c *Container) SMTPEndpoint(ctx context.Context) (string, error) {
	ep, err := c.PortEndpoint(ctx, SMTPPort, "")
	if err != nil {
		return "", err
	}
	host, port, err := net.SplitHostPort(ep)
	if err != nil {
		return "", err
	}
	return net.JoinHostPort(loopback(host), port), nil
}

// AWSEndpoint is the URL of the embedded S3 and KMS and /_sesinbound/,
// for AWS_ENDPOINT_URL.
func (c *Container) AWSEndpoint(ctx context.Context) (string, error) {
	ep, err := c.PortEndpoint(ctx, AWSPort, "http")
	if err != nil {
		return "", err
	}
	u, err := url.Parse(ep)
	if err != nil {
		return "", err
	}
	u.Host = net.JoinHostPort(loopback(u.Hostname()), u.Port())
	return u.String(), nil
}

// loopback turns "localhost" into 127.0.0.1, so that S3 clients address
// buckets path-style by themselves (an IP cannot take a bucket subdomain).
func loopback(host string) string {
	if host == "localhost" {
		return "127.0.0.1"
	}
	return host
}

// Client returns a sesinboundtest.Client for the container: Send, WaitFor,
// Reset and AWSConfig, as for an in-process server.
func (c *Container) Client(ctx context.Context) (*sesinboundtest.Client, error) {
	aws, err := c.AWSEndpoint(ctx)
	if err != nil {
		return nil, err
	}
	smtp, err := c.SMTPEndpoint(ctx)
	if err != nil {
		return nil, err
	}
	opts := []sesinboundtest.ConnectOption{sesinboundtest.WithSMTPAddr(smtp)}
	if c.adminToken != "" {
		opts = append(opts, sesinboundtest.WithAdminToken(c.adminToken))
	}
	return sesinboundtest.Connect(aws, opts...)
}
