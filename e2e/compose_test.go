package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"go.yaml.in/yaml/v3"

	"github.com/sesinbound/sesinbound/receipt"
)

// Docker cannot run where the tests run, so docker-compose.yml and the
// Dockerfile are checked here instead: the compose file through compose-go,
// the loader (interpolation, merge keys, schema validation, profiles) that
// docker compose itself uses, and the Dockerfile as text.

const (
	composeFile     = "docker-compose.yml"
	localstackToken = "dummy-localstack-token"
	sesinboundImage = "sesinbound:dev"
	healthURL       = "http://127.0.0.1:4566/_sesinbound/health"
)

// wantService is what one service of docker-compose.yml must be. Every
// field is compared exactly, so a typo in a name, a port or a variable
// fails.
type wantService struct {
	profiles  []string
	image     string
	ports     []string          // host_ip:published:target/protocol
	env       map[string]string // the whole environment
	dependsOn []string          // each with condition service_healthy
	volumes   []string          // volume:target
}

// composeWant is the whole file, loaded with every profile and with
// LOCALSTACK_AUTH_TOKEN=localstackToken.
var composeWant = map[string]wantService{
	"sesinbound": {
		image:   sesinboundImage,
		ports:   []string{"127.0.0.1:2525:2525/tcp", "127.0.0.1:4566:4566/tcp"},
		env:     map[string]string{},
		volumes: []string{"sesinbound-data:/data"},
	},
	"minio": {
		profiles: []string{"minio"},
		image:    "quay.io/minio/minio:RELEASE.2025-09-07T16-13-09Z",
		ports:    []string{"127.0.0.1:9000:9000/tcp", "127.0.0.1:9001:9001/tcp"},
		env:      map[string]string{"MINIO_ROOT_USER": "minioadmin", "MINIO_ROOT_PASSWORD": "minioadmin"},
		volumes:  []string{"minio-data:/data"},
	},
	"sesinbound-minio": {
		profiles: []string{"minio"},
		image:    sesinboundImage,
		ports:    []string{"127.0.0.1:2526:2525/tcp", "127.0.0.1:4567:4566/tcp"},
		env: map[string]string{
			"AWS_ENDPOINT_URL_S3":   "http://minio:9000",
			"AWS_ACCESS_KEY_ID":     "minioadmin",
			"AWS_SECRET_ACCESS_KEY": "minioadmin",
			"AWS_REGION":            "us-east-1",
		},
		dependsOn: []string{"minio"},
		volumes:   []string{"sesinbound-minio-data:/data"},
	},
	"localstack": {
		profiles: []string{"localstack"},
		image:    "localstack/localstack:2026.09.0",
		ports:    []string{"127.0.0.1:14566:4566/tcp"},
		env:      map[string]string{"LOCALSTACK_AUTH_TOKEN": localstackToken, "SERVICES": "s3,kms"},
	},
	"sesinbound-localstack": {
		profiles: []string{"localstack"},
		image:    sesinboundImage,
		ports:    []string{"127.0.0.1:2527:2525/tcp", "127.0.0.1:4568:4566/tcp"},
		env: map[string]string{
			"AWS_ENDPOINT_URL":      "http://localstack:4566",
			"AWS_ACCESS_KEY_ID":     "test",
			"AWS_SECRET_ACCESS_KEY": "test",
			"AWS_REGION":            "us-east-1",
		},
		dependsOn: []string{"localstack"},
		volumes:   []string{"sesinbound-localstack-data:/data"},
	},
	"versitygw": {
		profiles: []string{"no-account"},
		image:    "versity/versitygw:v1.8.0",
		ports:    []string{"127.0.0.1:7070:7070/tcp"},
		env:      map[string]string{},
		volumes:  []string{"versitygw-data:/data"},
	},
	"local-kms": {
		profiles: []string{"no-account"},
		image:    "nsmithuk/local-kms:3.12.0",
		ports:    []string{"127.0.0.1:8080:8080/tcp"},
		env:      map[string]string{"KMS_ACCOUNT_ID": "000000000000", "KMS_REGION": "us-east-1"},
		volumes:  []string{"local-kms-data:/data"},
	},
	"sesinbound-no-account": {
		profiles: []string{"no-account"},
		image:    sesinboundImage,
		ports:    []string{"127.0.0.1:2528:2525/tcp", "127.0.0.1:4569:4566/tcp"},
		env: map[string]string{
			"AWS_ENDPOINT_URL_S3":   "http://versitygw:7070",
			"AWS_ENDPOINT_URL_KMS":  "http://local-kms:8080",
			"AWS_ACCESS_KEY_ID":     "A",
			"AWS_SECRET_ACCESS_KEY": "S",
			"AWS_REGION":            "us-east-1",
		},
		dependsOn: []string{"versitygw", "local-kms"},
		volumes:   []string{"sesinbound-no-account-data:/data"},
	},
}

// loadCompose loads docker-compose.yml as `docker compose --profile ... `
// would, with env as the only environment (no OS variables, no .env file).
func loadCompose(t *testing.T, env []string, profiles ...string) (*types.Project, error) {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	opts, err := cli.NewProjectOptions([]string{filepath.Join(root, composeFile)},
		cli.WithWorkingDirectory(root),
		cli.WithEnv(env),
		cli.WithProfiles(profiles),
	)
	if err != nil {
		t.Fatal(err)
	}
	return opts.LoadProject(t.Context())
}

func mustLoadCompose(t *testing.T, env []string, profiles ...string) *types.Project {
	t.Helper()
	p, err := loadCompose(t, env, profiles...)
	if err != nil {
		t.Fatalf("load %s with profiles %q: %v", composeFile, profiles, err)
	}
	return p
}

func TestComposeServices(t *testing.T) {
	p := mustLoadCompose(t, []string{"LOCALSTACK_AUTH_TOKEN=" + localstackToken}, "*")
	if got, want := slices.Sorted(maps.Keys(p.Services)), slices.Sorted(maps.Keys(composeWant)); !slices.Equal(got, want) {
		t.Fatalf("services = %q, want %q", got, want)
	}
	root, _ := filepath.Abs("..")
	hostPorts := map[string]string{}
	for _, name := range slices.Sorted(maps.Keys(composeWant)) {
		want, s := composeWant[name], p.Services[name]
		t.Run(name, func(t *testing.T) {
			if !slices.Equal(s.Profiles, want.profiles) {
				t.Errorf("profiles = %q, want %q", s.Profiles, want.profiles)
			}
			if s.Image != want.image {
				t.Errorf("image = %q, want %q", s.Image, want.image)
			}
			if tag := imageTag(s.Image); tag == "" || tag == "latest" {
				t.Errorf("image %q needs an explicit tag other than latest", s.Image)
			}
			if got := portSpecs(s.Ports); !slices.Equal(got, want.ports) {
				t.Errorf("ports = %q, want %q", got, want.ports)
			}
			for _, port := range s.Ports {
				if port.HostIP != "127.0.0.1" {
					t.Errorf("port %d is published on %q, want 127.0.0.1 only", port.Target, port.HostIP)
				}
				if other, dup := hostPorts[port.Published]; dup {
					t.Errorf("host port %s is published by %s too, so the profiles cannot run together", port.Published, other)
				}
				hostPorts[port.Published] = name
			}
			if got := envMap(s.Environment); !maps.Equal(got, want.env) {
				t.Errorf("environment = %v, want %v", got, want.env)
			}
			if got := slices.Sorted(maps.Keys(s.DependsOn)); !slices.Equal(got, slices.Sorted(slices.Values(want.dependsOn))) {
				t.Errorf("depends_on = %q, want %q", got, want.dependsOn)
			}
			for dep, d := range s.DependsOn {
				if d.Condition != types.ServiceConditionHealthy {
					t.Errorf("depends_on %s: condition %q, want %s", dep, d.Condition, types.ServiceConditionHealthy)
				}
				if hc := p.Services[dep].HealthCheck; hc == nil || hc.Disable {
					t.Errorf("depends_on %s, which has no healthcheck to wait for", dep)
				}
			}
			if got := volumeSpecs(s.Volumes); !slices.Equal(got, want.volumes) {
				t.Errorf("volumes = %q, want %q", got, want.volumes)
			}
			for _, v := range s.Volumes {
				if _, ok := p.Volumes[v.Source]; v.Type == types.VolumeTypeVolume && !ok {
					t.Errorf("volume %s is not declared", v.Source)
				}
			}
			hc := s.HealthCheck
			if hc == nil || hc.Disable || len(hc.Test) < 2 || (hc.Test[0] != "CMD" && hc.Test[0] != "CMD-SHELL") {
				t.Errorf("healthcheck = %+v, want a CMD or CMD-SHELL test", hc)
			}
			if s.Restart == "" || s.Restart == types.RestartPolicyNo {
				t.Errorf("restart = %q, want a policy", s.Restart)
			}

			if want.image != sesinboundImage {
				if s.Build != nil {
					t.Errorf("backend %s has a build section", name)
				}
				return
			}
			// The sesinbound services: built from this repository, checked
			// on the health endpoint of the port the image listens on.
			if s.Build == nil || s.Build.Context != root || s.Build.Args["VERSION"] == nil || *s.Build.Args["VERSION"] != "dev" {
				t.Errorf("build = %+v, want context %s and arg VERSION=dev", s.Build, root)
			}
			if want := []string{"CMD", "wget", "-q", "-O", "/dev/null", healthURL}; hc == nil || !slices.Equal(hc.Test, want) {
				t.Errorf("healthcheck test = %q, want %q", testOf(hc), want)
			}
			if len(s.Entrypoint) > 0 || len(s.Command) > 0 {
				t.Errorf("entrypoint %q, command %q: want the image's, which bind 0.0.0.0", s.Entrypoint, s.Command)
			}
		})
	}
}

// TestComposeProfiles checks which services each profile starts, and that
// every profile but localstack loads without LOCALSTACK_AUTH_TOKEN.
func TestComposeProfiles(t *testing.T) {
	for _, tc := range []struct {
		profile string
		want    []string
	}{
		{"", []string{"sesinbound"}},
		{"minio", []string{"minio", "sesinbound", "sesinbound-minio"}},
		{"localstack", []string{"localstack", "sesinbound", "sesinbound-localstack"}},
		{"no-account", []string{"local-kms", "sesinbound", "sesinbound-no-account", "versitygw"}},
	} {
		t.Run("profile="+tc.profile, func(t *testing.T) {
			var profiles []string
			if tc.profile != "" {
				profiles = []string{tc.profile}
			}
			p := mustLoadCompose(t, nil, profiles...)
			if got := slices.Sorted(maps.Keys(p.Services)); !slices.Equal(got, tc.want) {
				t.Errorf("services = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestComposeBackendWiring checks the variants against their backends, so
// that changing one side alone fails: endpoints name a service of the same
// profile on a port it listens on, credentials are the backend's, every
// external backend is waited for, and region and KMS key match the built-in
// rule.
func TestComposeBackendWiring(t *testing.T) {
	// Other credentials than the defaults, to see both sides follow them.
	p := mustLoadCompose(t, []string{
		"LOCALSTACK_AUTH_TOKEN=" + localstackToken,
		"MINIO_ROOT_USER=someone", "MINIO_ROOT_PASSWORD=long-password",
		"VERSITYGW_ACCESS_KEY=gw-access", "VERSITYGW_SECRET_KEY=gw-secret",
	}, "*")
	rules := receipt.DefaultRules()

	for name, s := range p.Services {
		if s.Image != sesinboundImage {
			continue
		}
		env := envMap(s.Environment)
		hosts := map[string]bool{}
		for _, key := range []string{"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_KMS"} {
			v, ok := env[key]
			if !ok {
				continue
			}
			u, err := url.Parse(v)
			if err != nil || u.Scheme != "http" || u.Port() == "" || u.Path != "" {
				t.Errorf("%s: %s=%q is not http://service:port", name, key, v)
				continue
			}
			backend, ok := p.Services[u.Hostname()]
			if !ok {
				t.Errorf("%s: %s=%q names no service", name, key, v)
				continue
			}
			if !slices.Equal(backend.Profiles, s.Profiles) {
				t.Errorf("%s: %s names %s, of profiles %q, not %q", name, key, u.Hostname(), backend.Profiles, s.Profiles)
			}
			if !listensOn(backend, u.Port()) {
				t.Errorf("%s: %s=%q, but %s does not listen on %s", name, key, v, u.Hostname(), u.Port())
			}
			hosts[u.Hostname()] = true
		}
		for h := range hosts {
			if _, ok := s.DependsOn[h]; !ok {
				t.Errorf("%s uses %s but does not wait for it", name, h)
			}
		}
		if len(hosts) > 0 && env["AWS_REGION"] != rules.Region {
			t.Errorf("%s: AWS_REGION=%q, want the built-in rule's %q", name, env["AWS_REGION"], rules.Region)
		}
	}

	credentials := func(name string) (string, string) {
		env := envMap(p.Services[name].Environment)
		return env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]
	}
	minio := envMap(p.Services["minio"].Environment)
	if id, secret := credentials("sesinbound-minio"); id != "someone" || secret != "long-password" ||
		id != minio["MINIO_ROOT_USER"] || secret != minio["MINIO_ROOT_PASSWORD"] {
		t.Errorf("sesinbound-minio uses %s/%s, MinIO's root is %s/%s", id, secret, minio["MINIO_ROOT_USER"], minio["MINIO_ROOT_PASSWORD"])
	}
	gw := p.Services["versitygw"].Command
	if id, secret := credentials("sesinbound-no-account"); id != "gw-access" || secret != "gw-secret" ||
		flagValue(gw, "--access") != id || flagValue(gw, "--secret") != secret {
		t.Errorf("sesinbound-no-account uses %s/%s, versitygw runs %q", id, secret, gw)
	}
	if got := gw[len(gw)-2:]; !slices.Equal(got, []string{"posix", "/data"}) {
		t.Errorf("versitygw command ends %q, want posix /data", got)
	}
	// versitygw's health check asks the path and port it serves.
	if hc := strings.Join(testOf(p.Services["versitygw"].HealthCheck), " "); !strings.Contains(hc, "http://127.0.0.1"+flagValue(gw, "--port")+flagValue(gw, "--health")) {
		t.Errorf("versitygw healthcheck %q does not ask --port %s --health %s", hc, flagValue(gw, "--port"), flagValue(gw, "--health"))
	}
	if hc := testOf(p.Services["minio"].HealthCheck); !slices.Equal(hc, []string{"CMD", "mc", "ready", "local"}) {
		t.Errorf("minio healthcheck = %q", hc)
	}

	t.Run("local-kms", func(t *testing.T) { checkLocalKMS(t, p, rules) })
}

// checkLocalKMS checks that local-kms holds the built-in rule's key: the
// same account and region, and alias/aws/ses seeded (CreateAlias refuses the
// alias/aws/ prefix, so sesinbound could not create it).
func checkLocalKMS(t *testing.T, p *types.Project, rules *receipt.RuleSet) {
	arn := rules.Rules[0].Actions[0].S3Action.KmsKeyArn
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || !strings.HasPrefix(parts[5], "alias/") {
		t.Fatalf("built-in KmsKeyArn %q is not an alias ARN", arn)
	}
	region, account, alias := parts[3], parts[4], parts[5]
	s := p.Services["local-kms"]
	env := envMap(s.Environment)
	if env["KMS_REGION"] != region || env["KMS_ACCOUNT_ID"] != account {
		t.Errorf("local-kms runs as %s/%s, the built-in rule's key %s is in %s/%s", env["KMS_REGION"], env["KMS_ACCOUNT_ID"], arn, region, account)
	}
	if len(s.Configs) != 1 || s.Configs[0].Target != "/init/seed.yaml" {
		t.Fatalf("local-kms configs = %+v, want one at /init/seed.yaml", s.Configs)
	}
	cfg, ok := p.Configs[s.Configs[0].Source]
	if !ok || cfg.Content == "" {
		t.Fatalf("config %s has no content", s.Configs[0].Source)
	}
	var seed struct {
		Keys struct {
			Symmetric struct {
				Aes []struct {
					Metadata struct {
						KeyID string `yaml:"KeyId"`
					} `yaml:"Metadata"`
					BackingKeys []string `yaml:"BackingKeys"`
				} `yaml:"Aes"`
			} `yaml:"Symmetric"`
		} `yaml:"Keys"`
		Aliases []struct {
			AliasName   string `yaml:"AliasName"`
			TargetKeyID string `yaml:"TargetKeyId"`
		} `yaml:"Aliases"`
	}
	if err := yaml.Unmarshal([]byte(cfg.Content), &seed); err != nil {
		t.Fatalf("seed: %v", err)
	}
	keys := map[string]bool{}
	for _, k := range seed.Keys.Symmetric.Aes {
		if len(k.BackingKeys) == 0 || len(k.BackingKeys[0]) != 64 {
			t.Errorf("seed key %s: backing keys %q, want 256-bit hex", k.Metadata.KeyID, k.BackingKeys)
		}
		keys[k.Metadata.KeyID] = true
	}
	found := false
	for _, a := range seed.Aliases {
		if a.AliasName == alias {
			found = true
			if !keys[a.TargetKeyID] {
				t.Errorf("seed alias %s targets %s, which the seed does not define", alias, a.TargetKeyID)
			}
		}
	}
	if !found {
		t.Errorf("the seed does not define %s", alias)
	}
	hc := strings.Join(testOf(s.HealthCheck), " ")
	for _, want := range []string{"X-Amz-Target: TrentService.DescribeKey", `{"KeyId":"` + alias + `"}`, "http://127.0.0.1:8080/"} {
		if !strings.Contains(hc, want) {
			t.Errorf("local-kms healthcheck %q lacks %q", hc, want)
		}
	}
}

// TestComposeLocalStackToken checks that LocalStack's token comes from the
// environment only, and that a missing one stops LocalStack with the
// message of the ${LOCALSTACK_AUTH_TOKEN:?...} guard in its entrypoint.
func TestComposeLocalStackToken(t *testing.T) {
	with := mustLoadCompose(t, []string{"LOCALSTACK_AUTH_TOKEN=" + localstackToken}, "localstack")
	if got := envMap(with.Services["localstack"].Environment)["LOCALSTACK_AUTH_TOKEN"]; got != localstackToken {
		t.Errorf("with the variable set, LOCALSTACK_AUTH_TOKEN = %q, want %q", got, localstackToken)
	}
	without := mustLoadCompose(t, nil, "localstack")
	if got := envMap(without.Services["localstack"].Environment)["LOCALSTACK_AUTH_TOKEN"]; got != "" {
		t.Errorf("without the variable, LOCALSTACK_AUTH_TOKEN = %q: the file holds a token", got)
	}

	ls := with.Services["localstack"]
	if len(ls.Entrypoint) != 3 || ls.Entrypoint[0] != "/bin/sh" || ls.Entrypoint[1] != "-c" {
		t.Fatalf("localstack entrypoint = %q, want /bin/sh -c <guard>", ls.Entrypoint)
	}
	script := ls.Entrypoint[2]
	const guard = "${LOCALSTACK_AUTH_TOKEN:?set LOCALSTACK_AUTH_TOKEN"
	if !strings.Contains(script, guard) || !strings.HasSuffix(script, "exec docker-entrypoint.sh") {
		t.Fatalf("localstack entrypoint script %q: want the %s...} guard, then exec docker-entrypoint.sh", script, guard)
	}
	if _, err := os.Stat("/bin/sh"); err != nil {
		t.Skip("no /bin/sh to run the guard with")
	}
	// Run the guard as the container would, with a PATH in which
	// docker-entrypoint.sh does not exist.
	run := func(env ...string) (int, string) {
		cmd := exec.Command("/bin/sh", "-c", script)
		cmd.Env = append([]string{"PATH=" + t.TempDir()}, env...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
		return cmd.ProcessState.ExitCode(), stderr.String()
	}
	for _, env := range [][]string{nil, {"LOCALSTACK_AUTH_TOKEN="}} {
		code, stderr := run(env...)
		if code == 0 || !strings.Contains(stderr, "set LOCALSTACK_AUTH_TOKEN") {
			t.Errorf("env %q: exit %d, stderr %q; want a failure naming LOCALSTACK_AUTH_TOKEN", env, code, stderr)
		}
	}
	// With a token the guard passes and the shell goes on to exec
	// LocalStack's entrypoint (missing here: 127).
	if code, stderr := run("LOCALSTACK_AUTH_TOKEN=" + localstackToken); code != 127 || strings.Contains(stderr, "set LOCALSTACK_AUTH_TOKEN") {
		t.Errorf("with a token: exit %d, stderr %q; want 127 from exec docker-entrypoint.sh", code, stderr)
	}
}

// TestComposeRequiredVariableIsGlobal records why the token is checked in
// LocalStack's entrypoint: compose interpolates the whole file before it
// applies profiles, so ${VAR:?...} in a profiled service breaks every
// profile. If this ever fails, compose-go defers that check and the
// environment entry may use ${LOCALSTACK_AUTH_TOKEN:?...} itself.
func TestComposeRequiredVariableIsGlobal(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "compose.yml")
	const doc = `services:
  plain:
    image: busybox:1.37
  gated:
    image: busybox:1.37
    profiles: [gated]
    environment:
      TOKEN: ${TOKEN:?set TOKEN}
`
	if err := os.WriteFile(file, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	opts, err := cli.NewProjectOptions([]string{file}, cli.WithWorkingDirectory(dir), cli.WithName("probe"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = opts.LoadProject(t.Context())
	if err == nil || !strings.Contains(err.Error(), "set TOKEN") {
		t.Errorf("loading with no profile and no TOKEN: %v; want the :? error", err)
	}
}

// TestComposeDockerfile checks the Dockerfile as text: a static, trimmed,
// versioned build and a final stage that runs as a non-root user, exposes
// SMTP and the AWS endpoint, binds them on all interfaces and checks its
// health.
func TestComposeDockerfile(t *testing.T) {
	b, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	instrs := dockerfileInstructions(string(b))
	last := -1
	for i, in := range instrs {
		if in.cmd == "FROM" {
			last = i
		}
	}
	if last < 1 {
		t.Fatalf("want a multi-stage build, found final FROM at instruction %d", last)
	}
	final := instrs[last:]
	base := strings.Fields(final[0].args)[0]
	if tag := imageTag(base); tag == "" || tag == "latest" {
		t.Errorf("final base image %q needs an explicit tag", base)
	}

	var build, user, expose, cmd, healthcheck, volume string
	var versionArg bool
	for _, in := range instrs[:last] {
		switch {
		case in.cmd == "RUN" && strings.Contains(in.args, "go build"):
			build = in.args
		case in.cmd == "ARG" && (in.args == "VERSION" || strings.HasPrefix(in.args, "VERSION=")):
			versionArg = true
		}
	}
	for _, in := range final {
		switch in.cmd {
		case "USER":
			user = in.args
		case "EXPOSE":
			expose += " " + in.args
		case "CMD":
			cmd = in.args
		case "HEALTHCHECK":
			healthcheck = in.args
		case "VOLUME":
			volume = in.args
		}
	}

	for _, flag := range []string{"CGO_ENABLED=0", "-trimpath", `-ldflags "-s -w `, "-X main.version=${VERSION}", "./cmd/sesinbound"} {
		if !strings.Contains(build, flag) {
			t.Errorf("go build step %q lacks %s", build, flag)
		}
	}
	if !versionArg {
		t.Error("no ARG VERSION in the build stage")
	}

	nonroot := user != "" && !slices.Contains([]string{"root", "0"}, strings.SplitN(user, ":", 2)[0])
	if !nonroot && !(strings.Contains(base, "distroless") && strings.Contains(base, "nonroot")) {
		t.Errorf("final stage runs as %q on %s, want a non-root USER", user, base)
	}

	ports := strings.Fields(expose)
	for _, p := range []string{"2525", "4566"} {
		if !slices.Contains(ports, p) {
			t.Errorf("EXPOSE %q lacks %s", ports, p)
		}
	}
	if strings.TrimSpace(volume) != "/data" {
		t.Errorf("VOLUME %q, want /data", volume)
	}

	var args []string
	if err := json.Unmarshal([]byte(cmd), &args); err != nil {
		t.Fatalf("CMD %q is not in exec form: %v", cmd, err)
	}
	for flag, want := range map[string]string{"--smtp-addr": "0.0.0.0:2525", "--aws-addr": "0.0.0.0:4566", "--data-dir": "/data"} {
		if got := flagValue(args, flag); got != want {
			t.Errorf("CMD %s %q, want %q", flag, got, want)
		}
	}
	// The health checks ask the port the image's CMD serves the AWS endpoint on.
	if _, port, _ := strings.Cut(flagValue(args, "--aws-addr"), ":"); !strings.Contains(healthURL, "127.0.0.1:"+port+"/") {
		t.Errorf("compose health URL %s is not on --aws-addr port %s", healthURL, port)
	}
	if !slices.Contains(strings.Fields(healthcheck), healthURL) {
		t.Errorf("HEALTHCHECK %q does not ask %s", healthcheck, healthURL)
	}

	ignore, err := os.ReadFile("../.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{".git", "/sesinbound"} {
		if !slices.Contains(strings.Split(string(ignore), "\n"), want) {
			t.Errorf(".dockerignore does not list %s", want)
		}
	}
}

type dockerInstr struct{ cmd, args string }

// dockerfileInstructions splits a Dockerfile into instructions, joining
// continuation lines and dropping comments.
func dockerfileInstructions(src string) []dockerInstr {
	var out []dockerInstr
	var cur strings.Builder
	for _, line := range strings.Split(src, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") || (trimmed == "" && cur.Len() == 0) {
			continue
		}
		if strings.HasSuffix(trimmed, "\\") {
			cur.WriteString(strings.TrimSuffix(trimmed, "\\") + " ")
			continue
		}
		cur.WriteString(trimmed)
		cmd, args, _ := strings.Cut(strings.TrimSpace(cur.String()), " ")
		out = append(out, dockerInstr{strings.ToUpper(cmd), strings.Join(strings.Fields(args), " ")})
		cur.Reset()
	}
	return out
}

// imageTag returns the tag of an image reference, "" when it has none.
func imageTag(ref string) string {
	ref, _, _ = strings.Cut(ref, "@")
	name := ref[strings.LastIndex(ref, "/")+1:]
	_, tag, _ := strings.Cut(name, ":")
	return tag
}

func portSpecs(ports []types.ServicePortConfig) []string {
	var out []string
	for _, p := range ports {
		out = append(out, fmt.Sprintf("%s:%s:%d/%s", p.HostIP, p.Published, p.Target, p.Protocol))
	}
	return out
}

func volumeSpecs(vols []types.ServiceVolumeConfig) []string {
	var out []string
	for _, v := range vols {
		out = append(out, v.Source+":"+v.Target)
	}
	return out
}

func envMap(env types.MappingWithEquals) map[string]string {
	out := map[string]string{}
	for k, v := range env {
		if v != nil {
			out[k] = *v
		} else {
			out[k] = ""
		}
	}
	return out
}

func testOf(hc *types.HealthCheckConfig) []string {
	if hc == nil {
		return nil
	}
	return hc.Test
}

// flagValue returns the argument after flag in args.
func flagValue(args []string, flag string) string {
	if i := slices.Index(args, flag); i >= 0 && i+1 < len(args) {
		return args[i+1]
	}
	return ""
}

// listensOn reports whether a backend serves port inside its container: one
// of its published ports' targets.
func listensOn(s types.ServiceConfig, port string) bool {
	n, err := strconv.ParseUint(port, 10, 32)
	if err != nil {
		return false
	}
	for _, p := range s.Ports {
		if p.Target == uint32(n) {
			return true
		}
	}
	for _, p := range s.Expose {
		if p == port {
			return true
		}
	}
	return false
}
