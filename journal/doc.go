// Package journal keeps the record of the messages sesinbound received, for
// tests to assert on: each message's envelope, SMTP reply, the rules that
// ran and what each action did, with the exact notification JSON emitted.
// It serves the record as JSON under /_sesinbound/messages, lets a client
// wait there for the next matching message (a long poll with a cursor),
// streams every record as Server-Sent Events on /_sesinbound/events, and
// can post each record to a webhook.
//
// A message enters the record only once it is processed: every rule and
// action has run, every event has been emitted and the SMTP reply is known.
// Record signals only the waiters whose filter the record matches, found
// through an index by recipient and message ID; nothing polls, and a
// waiter for other mail costs Record nothing (BenchmarkRecord: about 2 µs
// a record with 0, 100 or 1,000 waiters).
//
// It keeps the newest entries only (Max), in memory; it is a test aid, not
// storage, and it does not survive a restart.
package journal
