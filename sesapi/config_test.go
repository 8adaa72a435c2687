package sesapi_test

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ses"
	"github.com/aws/aws-sdk-go-v2/service/ses/types"

	"github.com/sesinbound/sesinbound/emulator"
)

const fileRules = `AccountId: "000000000000"
Region: us-east-1
VerifiedDomains: [example.com]
Filters:
  - Name: blocked
    IpFilter: {Policy: Block, Cidr: 192.0.2.0/24}
Metadata: {Name: from-file}
Rules:
  - Name: keep
    Enabled: true
    Recipients: [inbox@example.com]
    Actions:
      - S3Action: {BucketName: file-mail, ObjectKeyPrefix: kept/, KmsKeyArn: "arn:aws:kms:us-east-1:000000000000:alias/aws/ses"}
  - Name: drop
    Actions:
      - StopAction: {Scope: RuleSet}
`

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func export(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url + "/_sesinbound/config")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("export: %d %v", resp.StatusCode, err)
	}
	return string(b)
}

// TestConfigFile: --config becomes the active rule set named by its
// Metadata, its filters receipt filters and its verified domains domain
// identities; export, load, export gives the same bytes.
func TestConfigFile(t *testing.T) {
	path := writeFile(t, "rules.yaml", fileRules)
	em := startEmulator(t, func(c *emulator.Config) { c.ConfigPath = path })
	c := sesClient(em.URL(), region)
	ctx := t.Context()

	act := must[*ses.DescribeActiveReceiptRuleSetOutput](t, "DescribeActive")(c.DescribeActiveReceiptRuleSet(ctx, &ses.DescribeActiveReceiptRuleSetInput{}))
	if aws.ToString(act.Metadata.Name) != "from-file" || len(act.Rules) != 2 {
		t.Fatalf("active = %+v", act)
	}
	keep, drop := act.Rules[0], act.Rules[1]
	if *keep.Name != "keep" || !keep.Enabled || keep.TlsPolicy != types.TlsPolicyOptional || !slices.Equal(keep.Recipients, []string{"inbox@example.com"}) ||
		*keep.Actions[0].S3Action.ObjectKeyPrefix != "kept/" || *drop.Name != "drop" || drop.Enabled || drop.Actions[0].StopAction == nil {
		t.Fatalf("rules = %+v, %+v", keep, drop)
	}
	filters := must[*ses.ListReceiptFiltersOutput](t, "ListReceiptFilters")(c.ListReceiptFilters(ctx, &ses.ListReceiptFiltersInput{}))
	if len(filters.Filters) != 1 || *filters.Filters[0].Name != "blocked" || *filters.Filters[0].IpFilter.Cidr != "192.0.2.0/24" {
		t.Fatalf("filters = %+v", filters.Filters)
	}
	ids := must[*ses.ListIdentitiesOutput](t, "ListIdentities")(c.ListIdentities(ctx, &ses.ListIdentitiesInput{}))
	if !slices.Equal(ids.Identities, []string{"example.com"}) {
		t.Fatalf("identities = %v", ids.Identities)
	}

	// A domain identity limits receiving as VerifiedDomains does.
	must[*ses.CreateReceiptRuleOutput](t, "catch-all")(c.CreateReceiptRule(ctx, &ses.CreateReceiptRuleInput{RuleSetName: aws.String("from-file"), After: aws.String("drop"),
		Rule: &types.ReceiptRule{Name: aws.String("all"), Enabled: true, Actions: []types.ReceiptAction{{StopAction: &types.StopAction{Scope: types.StopScopeRuleSet}}}}}))
	if _, err := openMail(t, em.SMTPAddr(), "x@sub.example.com"); err != nil {
		t.Fatalf("subdomain of a verified domain: %v", err)
	}
	if _, err := openMail(t, em.SMTPAddr(), "x@example.net"); err == nil {
		t.Fatal("a domain not verified is accepted")
	}
	must[*ses.VerifyDomainIdentityOutput](t, "Verify")(c.VerifyDomainIdentity(ctx, &ses.VerifyDomainIdentityInput{Domain: aws.String("example.net")}))
	if _, err := openMail(t, em.SMTPAddr(), "x@example.net"); err != nil {
		t.Fatalf("a newly verified domain: %v", err)
	}

	first := export(t, em.URL())
	em2 := startEmulator(t, func(c *emulator.Config) { c.ConfigPath = writeFile(t, "exported.yaml", first) })
	if second := export(t, em2.URL()); second != first {
		t.Fatalf("export, load, export differs:\n%s\n---\n%s", first, second)
	}
	t.Logf("export:\n%s", first)
}

// TestConfigAndDataDir: with both, the file replaces only its own named set
// at startup (and makes it active); rule sets, filters and identities made
// through the API stay.
func TestConfigAndDataDir(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, "rules.yaml", fileRules)
	em := startEmulator(t, func(c *emulator.Config) { c.ConfigPath, c.DataDir = path, dir })
	c := sesClient(em.URL(), region)
	ctx := t.Context()
	must[*ses.CreateReceiptRuleSetOutput](t, "Create")(c.CreateReceiptRuleSet(ctx, &ses.CreateReceiptRuleSetInput{RuleSetName: aws.String("api")}))
	must[*ses.DeleteReceiptRuleOutput](t, "DeleteRule")(c.DeleteReceiptRule(ctx, &ses.DeleteReceiptRuleInput{RuleSetName: aws.String("from-file"), RuleName: aws.String("drop")}))
	must[*ses.VerifyEmailIdentityOutput](t, "Verify")(c.VerifyEmailIdentity(ctx, &ses.VerifyEmailIdentityInput{EmailAddress: aws.String("me@example.org")}))
	must[*ses.SetActiveReceiptRuleSetOutput](t, "SetActive")(c.SetActiveReceiptRuleSet(ctx, &ses.SetActiveReceiptRuleSetInput{RuleSetName: aws.String("api")}))
	em.Close()

	// Without --config, what was saved comes back as it was.
	em = startEmulator(t, func(c *emulator.Config) { c.DataDir = dir })
	c = sesClient(em.URL(), region)
	act := must[*ses.DescribeActiveReceiptRuleSetOutput](t, "DescribeActive")(c.DescribeActiveReceiptRuleSet(ctx, &ses.DescribeActiveReceiptRuleSetInput{}))
	if aws.ToString(act.Metadata.Name) != "api" {
		t.Fatalf("active after restart = %v", aws.ToString(act.Metadata.Name))
	}
	if got := ruleNames(t, c, "from-file"); !slices.Equal(got, []string{"keep"}) {
		t.Fatalf("from-file after restart = %v", got)
	}
	em.Close()

	// With --config, the file's set is the file again and active; the rest stays.
	em = startEmulator(t, func(c *emulator.Config) { c.ConfigPath, c.DataDir = path, dir })
	c = sesClient(em.URL(), region)
	act = must[*ses.DescribeActiveReceiptRuleSetOutput](t, "DescribeActive")(c.DescribeActiveReceiptRuleSet(ctx, &ses.DescribeActiveReceiptRuleSetInput{}))
	if aws.ToString(act.Metadata.Name) != "from-file" || len(act.Rules) != 2 {
		t.Fatalf("active with --config = %v (%d rules)", aws.ToString(act.Metadata.Name), len(act.Rules))
	}
	if got := ruleNames(t, c, "api"); got != nil {
		t.Fatalf("api = %v", got)
	}
	ids := must[*ses.ListIdentitiesOutput](t, "ListIdentities")(c.ListIdentities(ctx, &ses.ListIdentitiesInput{}))
	if !slices.Equal(ids.Identities, []string{"example.com", "me@example.org"}) {
		t.Fatalf("identities = %v", ids.Identities)
	}
}

// TestDataDirOtherAccount: a --data-dir saved for one account and region is
// refused, naming both, by an instance of another.
func TestDataDirOtherAccount(t *testing.T) {
	dir := t.TempDir()
	startEmulator(t, func(c *emulator.Config) { c.DataDir = dir }).Close()
	other := strings.Replace(fileRules, `AccountId: "000000000000"`, `AccountId: "111122223333"`, 1)
	other = strings.ReplaceAll(other, "000000000000", "111122223333")
	c := emulator.DefaultConfig()
	c.SMTPAddr, c.AWSAddr, c.DataDir, c.ConfigPath = "127.0.0.1:0", "127.0.0.1:0", dir, writeFile(t, "other.yaml", other)
	em, err := emulator.Start(t.Context(), c)
	if err == nil {
		em.Close()
		t.Fatal("an instance of another account took the saved configuration")
	}
	if !strings.Contains(err.Error(), "111122223333") || !strings.Contains(err.Error(), "000000000000") {
		t.Fatalf("the error does not name both accounts: %v", err)
	}
}
