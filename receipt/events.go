package receipt

import (
	"context"
	"encoding/json"
)

// Events is where SES's notifications and Lambda invocations go. Package
// events routes them to HTTP receivers, to SNS and Lambda, or nowhere; with
// a nil Events the Processor only records them.
type Events interface {
	// Publish delivers an SES notification (the JSON an SNS topic carries as
	// its Message) to a topic. It returns how it was delivered, e.g. the URL
	// or "sns", or "recorded" when the topic leads nowhere.
	Publish(ctx context.Context, topicArn string, notification []byte) (delivery string, err error)
	// Invoke calls a function with an SES event. For RequestResponse it
	// returns the function's reply.
	Invoke(ctx context.Context, functionArn, invocationType string, event []byte) (delivery string, reply []byte, err error)
}

// Bouncer mails the DSNs of BounceActions, from the null sender to the
// message's envelope sender.
type Bouncer interface {
	Bounce(ctx context.Context, to string, dsn []byte) (delivery string, err error)
}

// Journal keeps the record of what happened to each message.
type Journal interface {
	Record(res *Result)
}

// Delivery values for events that went nowhere.
const DeliveryRecorded = "recorded"

// EventRecord is one notification or invocation as it was emitted.
type EventRecord struct {
	Target   string          `json:"target"`             // topic or function ARN
	Delivery string          `json:"delivery,omitempty"` // a URL, "sns", "lambda" or "recorded"
	Error    string          `json:"error,omitempty"`
	Payload  json.RawMessage `json:"payload"`         // exactly what was sent
	Reply    json.RawMessage `json:"reply,omitempty"` // a RequestResponse function's answer
}
