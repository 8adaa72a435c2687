package e2e

import (
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
	path, cp, reason := java()
	if reason != "" {
		return failAll(len(keys), fmt.Errorf("%s", reason))
	}
	// The JVM's start is most of the time here: compile less, collect simply.
	return runBatch("java "+client, accessKey, secret, keys, func(out string) *exec.Cmd {
		args := []string{"-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-cp", cp, "sesinbound.Decrypt", client, orDefault(policy, "-"), s3URL, kmsURL, keyID, out, bucket}
		return exec.Command(path, append(args, keys...)...)
	})
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
