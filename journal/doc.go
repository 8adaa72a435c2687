// Package journal keeps the record of the messages sesinbound received, for
// tests to assert on: each message's envelope, SMTP reply, the rules that
// ran and what each action did, with the exact notification JSON emitted.
// It serves the record as JSON under /_sesinbound/messages.
//
// It keeps the newest entries only (Max), in memory; it is a test aid, not
// storage, and it does not survive a restart.
package journal
