package sesapi

import (
	"encoding/xml"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// FuzzQueryForm feeds arbitrary form bodies to the query-protocol parser and
// to every operation behind it: nothing panics, every reply is well-formed
// XML with a status of 200, 4xx or (a failed save) 500, and a rule that
// parses has exactly the actions its members number.
func FuzzQueryForm(f *testing.F) {
	for _, seed := range []string{
		"Action=CreateReceiptRuleSet&Version=2010-12-01&RuleSetName=s",
		"Action=CreateReceiptRule&RuleSetName=s&Rule.Name=r&Rule.Enabled=true&Rule.Recipients=&Rule.Actions.member.1.S3Action.BucketName=b&Rule.Actions.member.1.S3Action.ObjectKeyPrefix=p%2F",
		"Action=CreateReceiptRule&RuleSetName=s&After=&Rule.Name=r2&Rule.Actions.member.1.AddHeaderAction.HeaderName=X&Rule.Actions.member.1.AddHeaderAction.HeaderValue=v&Rule.Actions.member.2.StopAction.Scope=RuleSet",
		"Action=CreateReceiptRule&RuleSetName=s&Rule.Name=r3&Rule.Actions.member.0.S3Action.BucketName=b",
		"Action=CreateReceiptRule&RuleSetName=s&Rule.Name=r4&Rule.Actions.member.1.S3Action.BucketName=b&Rule.Actions.member.1.SNSAction.TopicArn=t",
		"Action=ReorderReceiptRuleSet&RuleSetName=s&RuleNames.member.1=r&RuleNames.member.2=r2",
		"Action=SetReceiptRulePosition&RuleSetName=s&RuleName=r&After=r2",
		"Action=SetActiveReceiptRuleSet&RuleSetName=s",
		"Action=SetActiveReceiptRuleSet",
		"Action=DescribeActiveReceiptRuleSet",
		"Action=CreateReceiptFilter&Filter.Name=f&Filter.IpFilter.Policy=Block&Filter.IpFilter.Cidr=10.0.0.0%2F8",
		"Action=GetIdentityVerificationAttributes&Identities.member.1=example.com",
		"Action=VerifyDomainDkim&Domain=example.com",
		"Action=ListIdentities&MaxItems=1&NextToken=1",
		"Action=CloneReceiptRuleSet&RuleSetName=c&OriginalRuleSetName=s",
		"Action=DeleteReceiptRuleSet&RuleSetName=c",
		"Rule.Actions.member.01.S3Action.BucketName=b&Action=UpdateReceiptRule&RuleSetName=s&Rule.Name=r",
		"%zz", "Action=Nope", "",
	} {
		f.Add(seed)
	}
	svc := New(Config{AccountID: "000000000000", Region: "us-east-1", Now: func() time.Time { return time.Unix(0, 0) }, Rand: zeros{}})
	f.Fuzz(func(t *testing.T, body string) {
		fm, perr := parseForm(body)
		if perr != nil {
			return
		}
		if r, err := fm.rule("Rule"); err == nil {
			idx, _ := fm.indices("Rule.Actions")
			if len(r.Actions) != len(idx) {
				t.Fatalf("rule has %d actions, %d numbered", len(r.Actions), len(idx))
			}
			var w xw
			w.rule(&r)
			checkXML(t, "<Rule>"+w.String()+"</Rule>")
		}
		rec := httptest.NewRecorder()
		svc.serveForm(rec, t.Context(), "id", fm)
		if c := rec.Code; c != 200 && (c < 400 || c > 499) && c != 500 {
			t.Fatalf("status %d", c)
		}
		checkXML(t, rec.Body.String())
		if rec.Code != 200 && !strings.Contains(rec.Body.String(), "<Type>Sender</Type>") && rec.Code < 500 {
			t.Fatalf("a %d without Type Sender: %s", rec.Code, rec.Body.String())
		}
	})
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func checkXML(t *testing.T, s string) {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(s))
	depth := 0
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("not XML (%v): %s", err, s)
		}
		switch tok.(type) {
		case xml.StartElement:
			depth++
		case xml.EndElement:
			depth--
		}
	}
	if depth != 0 {
		t.Fatalf("unbalanced XML: %s", s)
	}
}
