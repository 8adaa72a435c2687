// Package events delivers what SES emits besides stored mail: the Received
// notifications it publishes to SNS topics, the events it invokes Lambda
// functions with, and the DSNs of BounceActions.
//
// For a topic or function ARN, Router uses the first of these that applies:
// an HTTP URL mapped to the ARN in the rules file (Topics, Functions), where
// a topic gets a POST in SNS's HTTP-subscription format, signed with the
// emulator's own key (its certificate is served for verification), and a
// function gets a POST of the event; an SNS or Lambda endpoint from the
// standard AWS configuration, reached through aws-sdk-go-v2 (LocalStack, sam
// local start-lambda); or nothing, in which case the event is only recorded
// by the caller.
//
// References:
//   - https://docs.aws.amazon.com/sns/latest/dg/sns-message-and-json-formats.html
//   - https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html
//   - RFC 3464 (DSNs), RFC 5321 §4.5.5 (bounces come from the null sender)
package events
