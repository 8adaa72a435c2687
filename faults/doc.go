// Package faults injects failures on purpose, so that users can test their
// own error paths: SMTP replies at MAIL, RCPT or DATA; AWS errors from S3
// and KMS calls, made by sesinbound's pipeline or sent to the embedded
// endpoint; and envelope variants that rules write instead of SES's.
//
// Faults come from the rules file's Faults section and, at run time, from
// /_sesinbound/faults (Registry.Handler). Each fires for the next Count
// matching events, with a Probability, or (with neither) every time until
// cleared. An AWS fault's Scope says where it fires:
//
//   - sesinbound: the pipeline's own calls, through the decorators Store
//     and KMS, which wrap any backend, embedded or external;
//   - endpoint: requests from users' tools to the embedded endpoint, through
//     the hook Registry.EndpointFaults hands to fakes.WithS3Faults and
//     fakes.WithKMSFaults. The fakes' routers name the operation and their
//     own error writers answer, so a fault fires on exactly the operation
//     it names;
//   - both.
//
// An injected error carries the HTTP status the service sends with its code
// (fakes.S3Error, fakes.KMSError), so the pipeline retries it exactly as
// aws-sdk-go-v2 would retry the real answer.
//
// It does not decide what a fault means for a message: the pipeline
// (package receipt) classifies the error and package smtpd maps it to a
// reply, as for any other failure.
package faults
