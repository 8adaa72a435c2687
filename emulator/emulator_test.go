package emulator_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/emersion/go-smtp"

	"github.com/sesinbound/sesinbound/emulator"
)

// TestStartSendRead starts two emulators in one process on free ports,
// sends each a mail over SMTP, and reads each object back through its own
// S3 endpoint: nothing is shared between them.
func TestStartSendRead(t *testing.T) {
	for _, name := range []string{"first", "second"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := emulator.DefaultConfig()
			c.SMTPAddr, c.AWSAddr = "127.0.0.1:0", "127.0.0.1:0"
			em, err := emulator.Start(t.Context(), c)
			if err != nil {
				t.Fatal(err)
			}
			defer em.Close()

			resp, err := http.Get(em.URL() + "/_sesinbound/health")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("health: %d", resp.StatusCode)
			}

			msg := "Subject: " + name + "\r\n\r\nbody of " + name + "\r\n"
			sc, err := smtp.Dial(em.SMTPAddr())
			if err != nil {
				t.Fatal(err)
			}
			if err := sc.SendMail("sender@example.org", []string{"inbox@example.com"}, strings.NewReader(msg)); err != nil {
				t.Fatal(err)
			}
			sc.Quit()
			cl := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(em.URL()), UsePathStyle: true,
				Credentials: aws.AnonymousCredentials{}})
			list, err := cl.ListObjectsV2(t.Context(), &s3.ListObjectsV2Input{Bucket: aws.String("ses-inbound")})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, o := range list.Contents {
				if !strings.HasSuffix(*o.Key, "AMAZON_SES_SETUP_NOTIFICATION") {
					got = append(got, *o.Key)
				}
			}
			if len(got) != 1 {
				t.Fatalf("objects: %v, want exactly one message", got)
			}
			obj, err := cl.GetObject(t.Context(), &s3.GetObjectInput{Bucket: aws.String("ses-inbound"), Key: aws.String(got[0])})
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(obj.Body)
			obj.Body.Close()
			if len(obj.Metadata["x-amz-iv"]) == 0 || strings.Contains(string(b), "body of "+name) {
				t.Fatalf("object %s is not the SES envelope (metadata %v)", got[0], obj.Metadata)
			}
			if err := em.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
			if _, err := http.Get(em.URL() + "/_sesinbound/health"); err == nil {
				t.Fatal("endpoint still serves after Shutdown")
			}
		})
	}
}
