package events

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/sesinbound/sesinbound/receipt"
)

// Subject is the subject of every SES receipt notification.
const Subject = "Amazon SES Email Receipt Notification"

// Deliveries through the SDKs, as recorded.
const (
	DeliverySNS    = "sns"
	DeliveryLambda = "lambda"
)

// SNSPublisher is the part of SNS that Router uses; *sns.Client satisfies
// it.
type SNSPublisher interface {
	Publish(ctx context.Context, in *sns.PublishInput, optFns ...func(*sns.Options)) (*sns.PublishOutput, error)
}

// LambdaInvoker is the part of Lambda that Router uses; *lambda.Client
// satisfies it.
type LambdaInvoker interface {
	Invoke(ctx context.Context, in *lambda.InvokeInput, optFns ...func(*lambda.Options)) (*lambda.InvokeOutput, error)
}

// Router delivers notifications and invocations; it implements
// receipt.Events.
type Router struct {
	// Topics and Functions map ARNs to HTTP URLs (the rules file's Topics
	// and Functions).
	Topics, Functions map[string]string
	// SNS and Lambda, when set, receive what no URL is mapped for.
	SNS    SNSPublisher
	Lambda LambdaInvoker
	// Signer signs the SNS messages posted to URLs. It is required when
	// Topics maps any topic: Publish to a mapped topic fails without it.
	Signer *Signer
	// HTTP posts to URLs; nil means a client with a 30-second timeout.
	HTTP *http.Client
	// Now stamps SNS messages; nil means time.Now.
	Now func() time.Time
}

var _ receipt.Events = (*Router)(nil)

func (r *Router) client() *http.Client {
	if r.HTTP != nil {
		return r.HTTP
	}
	return &http.Client{Timeout: 30 * time.Second}
}

func (r *Router) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// Publish implements receipt.Events.
func (r *Router) Publish(ctx context.Context, topicArn string, notification []byte) (string, error) {
	if url, ok := r.Topics[topicArn]; ok {
		if r.Signer == nil {
			return url, fmt.Errorf("sns publish %s: Topics maps it to %s but the Router has no Signer", topicArn, url)
		}
		msg, err := r.Signer.Message(topicArn, Subject, string(notification), r.now())
		if err != nil {
			return url, err
		}
		return url, r.postSNS(ctx, url, msg)
	}
	if r.SNS != nil {
		_, err := r.SNS.Publish(ctx, &sns.PublishInput{TopicArn: aws.String(topicArn), Subject: aws.String(Subject), Message: aws.String(string(notification))})
		if err != nil {
			return DeliverySNS, fmt.Errorf("sns publish %s: %w", topicArn, err)
		}
		return DeliverySNS, nil
	}
	return receipt.DeliveryRecorded, nil
}

// postSNS posts a message as SNS posts to an HTTP subscription.
func (r *Router) postSNS(ctx context.Context, url string, m *Message) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(m.JSON()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "text/plain; charset=UTF-8")
	req.Header.Set("User-Agent", "Amazon Simple Notification Service Agent")
	req.Header.Set("x-amz-sns-message-type", m.Type)
	req.Header.Set("x-amz-sns-message-id", m.MessageID)
	req.Header.Set("x-amz-sns-topic-arn", m.TopicArn)
	req.Header.Set("x-amz-sns-subscription-arn", m.TopicArn+":"+m.subscription)
	_, err = r.do(req)
	return err
}

// Invoke implements receipt.Events.
func (r *Router) Invoke(ctx context.Context, functionArn, invocationType string, event []byte) (string, []byte, error) {
	if url, ok := r.Functions[functionArn]; ok {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(event))
		if err != nil {
			return url, nil, err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Amz-Invocation-Type", invocationType)
		req.Header.Set("X-Amz-Function-Arn", functionArn)
		reply, err := r.do(req)
		if invocationType != receipt.InvocationRequestResponse {
			reply = nil
		}
		return url, reply, err
	}
	if r.Lambda != nil {
		out, err := r.Lambda.Invoke(ctx, &lambda.InvokeInput{
			FunctionName:   aws.String(functionArn),
			InvocationType: lambdatypes.InvocationType(invocationType),
			Payload:        event,
		})
		if err != nil {
			return DeliveryLambda, nil, fmt.Errorf("lambda invoke %s: %w", functionArn, err)
		}
		if fe := aws.ToString(out.FunctionError); fe != "" {
			return DeliveryLambda, nil, fmt.Errorf("lambda invoke %s: function error %s: %s", functionArn, fe, truncate(out.Payload))
		}
		return DeliveryLambda, out.Payload, nil
	}
	return receipt.DeliveryRecorded, nil, nil
}

// do sends a request and returns the response body of a 2xx answer.
func (r *Router) do(req *http.Request) ([]byte, error) {
	resp, err := r.client().Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 6<<20)) // Lambda's response limit
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("POST %s: %s: %s", req.URL.Redacted(), resp.Status, truncate(body))
	}
	return body, err
}

func truncate(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}
