package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// The Java decryptors: the Amazon S3 Encryption Client for Java and the
// AWS SDK for Java v1's AmazonS3EncryptionClientV2, in the Maven project
// e2e/java, which .ci/run builds with `mvn -q -B package`.
var (
	javaOnce   sync.Once
	javaPath   string
	javaCP     string
	javaReason string
)

// java returns the JVM and the classpath of e2e/java's build, or why they
// cannot be used.
func java() (path, classpath, reason string) {
	javaOnce.Do(func() {
		p, err := exec.LookPath("java")
		if err != nil {
			javaReason = "the Java decryptors need a JDK (java not in PATH): " + err.Error()
			return
		}
		dir, err := filepath.Abs(filepath.Join("java", "target"))
		if err != nil {
			javaReason = err.Error()
			return
		}
		jar := filepath.Join(dir, "sesinbound-decrypt.jar")
		if _, err := os.Stat(jar); err != nil {
			javaReason = "the Java decryptors are not built: run `mvn -q -B -f e2e/java/pom.xml package` (.ci/run does): " + err.Error()
			return
		}
		javaPath, javaCP = p, jar+string(os.PathListSeparator)+filepath.Join(dir, "lib", "*")
	})
	return javaPath, javaCP, javaReason
}

func javaReasonOnly() string { _, _, r := java(); return r }

// decryptJava runs e2e/java's Decrypt over keys in one JVM, with client
// "s3ec" (the S3 Encryption Client for Java, legacy wrapping on, commitment
// policy REQUIRE_ENCRYPT_ALLOW_DECRYPT unless policy names another), "v1"
// (AmazonS3EncryptionClientV2 in CryptoMode.AuthenticatedEncryption, the
// object's material description as the materials') or "v1-key-only". It
// gives each key's plaintext or error.
func decryptJava(client, policy, s3URL, kmsURL, accessKey, secret, keyID, bucket string, keys []string) ([][]byte, []error) {
	plain, errs := make([][]byte, len(keys)), make([]error, len(keys))
	fail := func(err error) ([][]byte, []error) {
		for i := range errs {
			errs[i] = err
		}
		return plain, errs
	}
	path, cp, reason := java()
	if reason != "" {
		return fail(fmt.Errorf("%s", reason))
	}
	out, err := os.MkdirTemp("", "sesinbound-java-")
	if err != nil {
		return fail(err)
	}
	defer os.RemoveAll(out)
	// The JVM's start is most of the time here: compile less, collect simply.
	args := []string{"-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-cp", cp, "sesinbound.Decrypt", client, orDefault(policy, "-"), s3URL, kmsURL, keyID, out, bucket}
	cmd := exec.Command(path, append(args, keys...)...)
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID="+orDefault(accessKey, "test"), "AWS_SECRET_ACCESS_KEY="+orDefault(secret, "test"), "AWS_REGION=us-east-1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fail(fmt.Errorf("java Decrypt %s: %v: %s", client, err, strings.TrimSpace(stderr.String())))
	}
	for i := range keys {
		if b, err := os.ReadFile(filepath.Join(out, fmt.Sprintf("%d.out", i))); err == nil {
			plain[i] = b
			continue
		}
		b, err := os.ReadFile(filepath.Join(out, fmt.Sprintf("%d.err", i)))
		if err != nil {
			errs[i] = fmt.Errorf("java Decrypt %s: no output for %s: %s", client, keys[i], strings.TrimSpace(stderr.String()))
			continue
		}
		errs[i] = fmt.Errorf("java %s: %s", client, strings.Join(strings.Split(strings.TrimSpace(string(b)), "\n"), " <- "))
	}
	return plain, errs
}

// The Java clients as they must not be configured for SES mail: the S3
// Encryption Client for Java with its default commitment policy, and
// AmazonS3EncryptionClientV2 with a key-only materials provider, as the
// SDK's own examples have it. Both refuse, naming why.
func TestJavaConfigurationsThatRefuseSESMail(t *testing.T) {
	need(t, javaReasonOnly())
	inst := start(t, nil)
	id, err := sendMail(inst.SMTPAddr, "a@example.org", []string{"b@example.com"}, []byte("Subject: java\r\n\r\nbody\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ client, policy, want string }{
		{"s3ec", "default", "Commitment policy violation, decryption requires a committing algorithm suite"},
		{"s3ec", "REQUIRE_ENCRYPT_REQUIRE_DECRYPT", "Commitment policy violation, decryption requires a committing algorithm suite"},
		{"v1-key-only", "", "Provided encryption materials do not match information retrieved from the encrypted object"},
	} {
		_, errs := decryptJava(tt.client, tt.policy, inst.AWSURL, inst.AWSURL, "", "", defaultKey, "ses-inbound", []string{id})
		t.Logf("%s %s: %v", tt.client, tt.policy, errs[0])
		if errs[0] == nil || !strings.Contains(errs[0].Error(), tt.want) {
			t.Errorf("%s %s: %v, want a refusal mentioning %q", tt.client, tt.policy, errs[0], tt.want)
		}
	}
}
