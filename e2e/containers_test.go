package e2e

import (
	"os"
	"testing"
	"time"

	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"
)

// Images pinned to the tags docker-compose.yml uses.
const (
	minioImage      = "quay.io/minio/minio:RELEASE.2025-09-07T16-13-09Z"
	localstackImage = "localstack/localstack:2026.09.0"
)

// TestContainers runs the backend scenario suite against MinIO for S3 and
// LocalStack for KMS in containers. It needs a Docker engine and a
// LocalStack auth token, and skips, saying which is missing, without them;
// the same suite runs against MinIO, versitygw and local-kms as plain
// processes in TestBackendCombinations either way.
func TestContainers(t *testing.T) {
	testcontainers.SkipIfProviderIsNotHealthy(t)
	token := os.Getenv("LOCALSTACK_AUTH_TOKEN")
	if token == "" {
		t.Skip("LOCALSTACK_AUTH_TOKEN is not set: LocalStack's image has needed an auth token since March 2026")
	}
	ctx := t.Context()
	minio, err := testcontainers.GenericContainer(ctx, testcontainers.GenericContainerRequest{
		ContainerRequest: testcontainers.ContainerRequest{
			Image:        minioImage,
			Cmd:          []string{"server", "/data"},
			Env:          map[string]string{"MINIO_ROOT_USER": "minioaccess", "MINIO_ROOT_PASSWORD": "miniosecret"},
			ExposedPorts: []string{"9000/tcp"},
			WaitingFor:   wait.ForHTTP("/minio/health/live").WithPort("9000/tcp").WithStartupTimeout(2 * time.Minute),
		},
		Started: true,
	})
	testcontainers.CleanupContainer(t, minio)
	if err != nil {
		t.Fatalf("start MinIO: %v", err)
	}
	localstack, err := testcontainers.GenericContainer(ctx, testcontainers.GenericContainerRequest{
		ContainerRequest: testcontainers.ContainerRequest{
			Image:        localstackImage,
			Env:          map[string]string{"LOCALSTACK_AUTH_TOKEN": token, "SERVICES": "kms"},
			ExposedPorts: []string{"4566/tcp"},
			WaitingFor:   wait.ForHTTP("/_localstack/health").WithPort("4566/tcp").WithStartupTimeout(3 * time.Minute),
		},
		Started: true,
	})
	testcontainers.CleanupContainer(t, localstack)
	if err != nil {
		t.Fatalf("start LocalStack: %v", err)
	}
	s3URL, err := minio.PortEndpoint(ctx, "9000/tcp", "http")
	if err != nil {
		t.Fatal(err)
	}
	kmsURL, err := localstack.PortEndpoint(ctx, "4566/tcp", "http")
	if err != nil {
		t.Fatal(err)
	}
	runScenario(t, backendSet{name: "minio+localstack (containers)", s3URL: s3URL, kmsURL: kmsURL, accessKey: "minioaccess", secret: "miniosecret"})
}
