package emulator

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/smithy-go"

	"github.com/sesinbound/sesinbound/backend"
	"github.com/sesinbound/sesinbound/events"
	"github.com/sesinbound/sesinbound/receipt"
	"github.com/sesinbound/sesinbound/sesapi"
)

// targetCheckTimeout bounds the checks of one CreateReceiptRule or
// UpdateReceiptRule.
const targetCheckTimeout = 15 * time.Second

// targets makes SES's checks of action targets against the backends in use.
type targets struct {
	e      *Emulator
	router *events.Router
}

func (t *targets) CheckS3(ctx context.Context, rule string, a *receipt.S3Action) error {
	ctx, cancel := context.WithTimeout(ctx, targetCheckTimeout)
	defer cancel()
	be := t.e.Backends
	ok, err := backend.BucketExists(ctx, be.S3, a.BucketName)
	if err != nil {
		return fmt.Errorf("cannot reach S3 (%s) to check bucket %s: %s", be.S3Name, a.BucketName, backend.Explain(err))
	}
	if !ok {
		return fmt.Errorf("Bucket %s does not exist in sesinbound's S3 (%s). Create it first, e.g. `aws --endpoint-url %s s3 mb s3://%s`, then create or update the rule again",
			a.BucketName, be.S3Name, t.e.URL(), a.BucketName)
	}
	if k := a.KmsKeyArn; k != "" {
		rs := t.e.Processor.Rules()
		if k == receipt.DefaultKMSKeyARN(rs.Region, rs.AccountID) {
			// The AWS-managed key: AWS creates it on first use, so do we.
			one := &receipt.RuleSet{Rules: []receipt.Rule{{Actions: []receipt.Action{{S3Action: a}}}}}
			if _, err := backend.Bootstrap(ctx, be.S3, be.KMS, one, true); err != nil {
				return fmt.Errorf("KMS key %s cannot be created in sesinbound's KMS (%s): %v", k, be.KMSName, err)
			}
		} else if ok, err := backend.KeyExists(ctx, be.KMS, k); err != nil {
			return fmt.Errorf("cannot reach KMS (%s) to check key %s: %s", be.KMSName, k, backend.Explain(err))
		} else if !ok {
			return fmt.Errorf("KMS key %s does not exist in sesinbound's KMS (%s). Create it first (aws kms create-key, and aws kms create-alias for an alias ARN), then create or update the rule again",
				k, be.KMSName)
		}
	}
	if err := t.e.Processor.WriteSetupNotification(ctx, rule, a); err != nil {
		return fmt.Errorf("Bucket %s did not take SES's test object %s (written under the prefix %q%s): %s",
			a.BucketName, receipt.SetupNotificationID, a.ObjectKeyPrefix, encrypted(a), backend.Explain(err))
	}
	return nil
}

func encrypted(a *receipt.S3Action) string {
	if a.KmsKeyArn == "" {
		return ""
	}
	return ", encrypted under " + a.KmsKeyArn
}

func (t *targets) CheckTopic(ctx context.Context, arn string) error {
	if _, ok := t.router.Topics[arn]; ok {
		return nil
	}
	c, ok := t.router.SNS.(*sns.Client)
	if !ok {
		return sesapi.ErrUnknown
	}
	return checkTarget(ctx, "SNS", func(ctx context.Context) error {
		_, err := c.GetTopicAttributes(ctx, &sns.GetTopicAttributesInput{TopicArn: aws.String(arn)})
		return err
	}, "no such topic in the configured SNS; create it (aws sns create-topic) or map it to a URL under Topics in the rules file")
}

func (t *targets) CheckFunction(ctx context.Context, arn string) error {
	if _, ok := t.router.Functions[arn]; ok {
		return nil
	}
	c, ok := t.router.Lambda.(*lambda.Client)
	if !ok {
		return sesapi.ErrUnknown
	}
	return checkTarget(ctx, "Lambda", func(ctx context.Context) error {
		_, err := c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(arn)})
		return err
	}, "no such function in the configured Lambda; create it or map it to a URL under Functions in the rules file")
}

// checkTarget asks the configured service, within targetCheckTimeout,
// whether a target exists: missing is the error when it does not.
func checkTarget(ctx context.Context, service string, ask func(context.Context) error, missing string) error {
	ctx, cancel := context.WithTimeout(ctx, targetCheckTimeout)
	defer cancel()
	if err := ask(ctx); err != nil {
		if notFound(err) {
			return errors.New(missing)
		}
		return fmt.Errorf("the configured %s cannot be asked: %s", service, backend.Explain(err))
	}
	return nil
}

func notFound(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "NotFound", "NotFoundException", "ResourceNotFoundException":
			return true
		}
	}
	return false
}

// configHandler serves GET /_sesinbound/config: the live configuration in
// the rules file's shape (what `sesinbound rules export` prints).
func configHandler(svc *sesapi.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "GET the configuration; change it through the SES API", http.StatusMethodNotAllowed)
			return
		}
		data, err := sesapi.Export(svc.RuleSet())
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/yaml")
		w.Write(data)
	})
}
