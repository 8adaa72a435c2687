package sesinboundtest_test

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/sesinbound/sesinbound/sesinboundtest"
)

// A test starts its own sesinbound, sends a message over SMTP, waits until
// it is processed, and reads it back decrypted from the embedded S3.
func Example() {
	// In a test, srv := sesinboundtest.Start(t, ...) stops it at the end.
	srv, err := sesinboundtest.New(sesinboundtest.WithRules([]byte(`
Rules:
  - Name: inbox
    Enabled: true
    Recipients: [example.com]
    Actions:
      - S3Action:
          BucketName: inbound
          ObjectKeyPrefix: mail/
          KmsKeyArn: arn:aws:kms:us-east-1:000000000000:alias/aws/ses
`)))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = srv.Send(ctx, "sender@example.org", []string{"inbox@example.com"},
		[]byte("From: sender@example.org\r\nTo: inbox@example.com\r\nSubject: Your code\r\n\r\nIt is 123456.\r\n"))
	if err != nil {
		fmt.Println(err)
		return
	}
	msg, err := srv.WaitFor(ctx, sesinboundtest.Filter{To: "inbox@example.com", Subject: "your code"})
	if err != nil {
		fmt.Println(err)
		return
	}
	body, err := msg.Decrypted(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(msg.Reply.Code, msg.Objects[0].Bucket, strings.HasPrefix(msg.Objects[0].Key, "mail/"+msg.ID))
	fmt.Println(strings.Contains(string(body), "It is 123456."))
	// Output:
	// 250 inbound true
	// true
}
