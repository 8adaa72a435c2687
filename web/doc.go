// Package web is sesinbound's page: a live list of the messages received,
// each message's path through SES drawn (the SMTP session, the rules that
// ran and did not, each action's outcome, the S3 objects and the events),
// and the decrypted mail. It is embedded in the binary (plain HTML, CSS
// and JavaScript, no build step, nothing from a CDN) and served under
// /_sesinbound/ on the AWS endpoint.
//
// The page is a client of the same /_sesinbound/ APIs a test uses: the
// record (/messages, /events), the configuration (/config) and the reset.
// This package adds the APIs that read a message's stored objects: the
// decrypted mail through package s3object (the official S3 Encryption
// Client), its MIME parts parsed with go-message, the objects' metadata, and
// the delete of one message. It does not render mail HTML itself: that goes
// only into a sandboxed srcdoc iframe, without scripts.
package web
