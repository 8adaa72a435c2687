package e2e

import (
	"os"
	"strconv"
	"testing"
)

// Tools outside Go (Ruby, Node, strace, ...) are installed by .ci/run.
// Where one is missing, a test that needs it skips and says why; in CI
// (CI=true) it fails instead, since there a missing tool means the check
// did not run.

// inCI reports whether the tests run in CI.
func inCI() bool {
	ci, _ := strconv.ParseBool(os.Getenv("CI"))
	return ci
}

// need skips t, or fails it in CI, when reason (why a tool cannot be used)
// is not empty.
func need(t *testing.T, reason string) {
	t.Helper()
	if reason == "" {
		return
	}
	if inCI() {
		t.Fatalf("CI=true and a tool this test needs is missing: %s", reason)
	}
	t.Skip(reason)
}

// have is need for one check inside a larger test: it reports whether the
// tool can be used and, when not, logs why (or, in CI, marks the test
// failed) so that the check is never dropped without a word.
func have(t *testing.T, reason string) bool {
	t.Helper()
	if reason == "" {
		return true
	}
	if inCI() {
		t.Errorf("CI=true and a tool this check needs is missing: %s", reason)
	} else {
		t.Logf("check skipped: %s", reason)
	}
	return false
}
