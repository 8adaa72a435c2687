package receipt

import (
	"mime"
	"net/mail"
	"strings"
	"time"

	"github.com/emersion/go-message/charset"
)

// The JSON SES publishes about a received message, to SNS (Notification)
// and to Lambda (Event). Field order and types follow real SES output, not
// the developer guide where the two differ: notificationType, mail, receipt
// and content in that order; processingTimeMillis a number; objectKeyPrefix
// present in S3 actions even when empty.
// https://docs.aws.amazon.com/ses/latest/dg/receiving-email-notifications-contents.html

// Notification is what an SNS topic receives (as the SNS Message).
type Notification struct {
	NotificationType string        `json:"notificationType"`
	Mail             MailObject    `json:"mail"`
	Receipt          ReceiptObject `json:"receipt"`
	Content          *string       `json:"content,omitempty"`
}

// Event is what a Lambda function receives.
type Event struct {
	Records []EventRecordSES `json:"Records"`
}

// EventRecordSES is the one record of an Event.
type EventRecordSES struct {
	EventSource  string   `json:"eventSource"`
	EventVersion string   `json:"eventVersion"`
	SES          EventSES `json:"ses"`
}

// EventSES holds the mail and receipt objects of a Lambda event.
type EventSES struct {
	Mail    MailObject    `json:"mail"`
	Receipt ReceiptObject `json:"receipt"`
}

// MailObject describes the message.
type MailObject struct {
	Timestamp        string        `json:"timestamp"`
	Source           string        `json:"source"`
	MessageID        string        `json:"messageId"`
	Destination      []string      `json:"destination"`
	HeadersTruncated bool          `json:"headersTruncated"`
	Headers          []HeaderEntry `json:"headers"`
	CommonHeaders    CommonHeaders `json:"commonHeaders"`
}

// HeaderEntry is one header of mail.headers.
type HeaderEntry struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// CommonHeaders are the headers SES picks out; a key is present only when
// the message has that header. sender is a string, the lists are arrays.
type CommonHeaders struct {
	ReturnPath *string  `json:"returnPath,omitempty"`
	From       []string `json:"from,omitempty"`
	Sender     *string  `json:"sender,omitempty"`
	ReplyTo    []string `json:"replyTo,omitempty"`
	Date       *string  `json:"date,omitempty"`
	To         []string `json:"to,omitempty"`
	Cc         []string `json:"cc,omitempty"`
	Bcc        []string `json:"bcc,omitempty"`
	MessageID  *string  `json:"messageId,omitempty"`
	Subject    *string  `json:"subject,omitempty"`
}

// ReceiptObject describes what SES did with the message.
type ReceiptObject struct {
	Timestamp            string        `json:"timestamp"`
	ProcessingTimeMillis int64         `json:"processingTimeMillis"`
	Recipients           []string      `json:"recipients"`
	SpamVerdict          VerdictObject `json:"spamVerdict"`
	VirusVerdict         VerdictObject `json:"virusVerdict"`
	SPFVerdict           VerdictObject `json:"spfVerdict"`
	DKIMVerdict          VerdictObject `json:"dkimVerdict"`
	DMARCVerdict         VerdictObject `json:"dmarcVerdict"`
	DMARCPolicy          string        `json:"dmarcPolicy,omitempty"`
	Action               ActionObject  `json:"action"`
}

// VerdictObject is one check's result.
type VerdictObject struct {
	Status string `json:"status"`
}

// ActionObject is the action that published the notification. Which fields
// appear depends on Type.
type ActionObject struct {
	Type            string  `json:"type"`
	TopicArn        string  `json:"topicArn,omitempty"`
	BucketName      string  `json:"bucketName,omitempty"`
	ObjectKeyPrefix *string `json:"objectKeyPrefix,omitempty"`
	ObjectKey       string  `json:"objectKey,omitempty"`
	SMTPReplyCode   string  `json:"smtpReplyCode,omitempty"`
	StatusCode      string  `json:"statusCode,omitempty"`
	Message         string  `json:"message,omitempty"`
	Sender          string  `json:"sender,omitempty"`
	FunctionArn     string  `json:"functionArn,omitempty"`
	InvocationType  string  `json:"invocationType,omitempty"`
	OrganizationArn string  `json:"organizationArn,omitempty"`
	Encoding        string  `json:"encoding,omitempty"`
}

// maxHeadersBytes is the size of headers SES puts in mail.headers before it
// sets headersTruncated.
const maxHeadersBytes = 10 << 10

// timestampFormat is SES's: ISO 8601 in UTC with milliseconds.
const timestampFormat = "2006-01-02T15:04:05.000Z"

// newMailObject builds mail from the header block of the message as stored
// (SES's headers included) and the envelope sender.
func newMailObject(id string, at time.Time, from string, header []byte) MailObject {
	fields := ParseHeader(header)
	m := MailObject{
		Timestamp:   at.UTC().Format(timestampFormat),
		Source:      from,
		MessageID:   id,
		Destination: []string{},
		Headers:     []HeaderEntry{},
	}
	size := 0
	for _, f := range fields {
		size += len(f.Name) + len(f.Value)
		if size > maxHeadersBytes {
			// Whole headers are dropped past the limit rather than cut in
			// the middle of a value.
			m.HeadersTruncated = true
			break
		}
		m.Headers = append(m.Headers, HeaderEntry{Name: f.Name, Value: f.Value})
	}
	// commonHeaders carry decoded text: SES decodes RFC 2047 encoded words
	// in address lists (README, "not documented"), and so in the subject.
	// mail.headers keep the fields as written.
	dec := &mime.WordDecoder{CharsetReader: charset.Reader}
	ch := &m.CommonHeaders
	for _, f := range fields {
		v := f.Value
		switch strings.ToLower(f.Name) {
		case "return-path":
			first(&ch.ReturnPath, strings.Trim(v, "<> "))
		case "from":
			ch.From = append(ch.From, decodeAddresses(dec, v)...)
		case "sender":
			first(&ch.Sender, v)
		case "reply-to":
			ch.ReplyTo = append(ch.ReplyTo, decodeAddresses(dec, v)...)
		case "date":
			first(&ch.Date, v)
		case "to":
			ch.To = append(ch.To, decodeAddresses(dec, v)...)
			m.Destination = append(m.Destination, addrSpecs(v)...)
		case "cc":
			ch.Cc = append(ch.Cc, decodeAddresses(dec, v)...)
			m.Destination = append(m.Destination, addrSpecs(v)...)
		case "bcc":
			ch.Bcc = append(ch.Bcc, decodeAddresses(dec, v)...)
		case "message-id":
			first(&ch.MessageID, v)
		case "subject":
			first(&ch.Subject, decodeWords(dec, v))
		}
	}
	return m
}

// decodeWords decodes the RFC 2047 encoded words in v, in any charset
// go-message/charset knows; v is kept as it is when it has none, or when
// they do not decode.
func decodeWords(dec *mime.WordDecoder, v string) string {
	if !strings.Contains(v, "=?") {
		return v
	}
	d, err := dec.DecodeHeader(v)
	if err != nil {
		return v
	}
	return d
}

// decodeAddresses splits an address list as splitAddressList does and
// rewrites each address with an encoded display name as SES does: the name
// decoded, unquoted, then the address in angle brackets. Encoded words in
// quotes are decoded too, as SES decodes them. Others stay as written.
func decodeAddresses(dec *mime.WordDecoder, v string) []string {
	list := splitAddressList(v)
	for i, a := range list {
		if !strings.Contains(a, "=?") {
			continue
		}
		p := mail.AddressParser{WordDecoder: dec}
		if addr, err := p.Parse(a); err == nil && addr.Name != "" {
			list[i] = decodeWords(dec, addr.Name) + " <" + addr.Address + ">"
		} else {
			list[i] = decodeWords(dec, a)
		}
	}
	return list
}

// first sets *dst to v unless an earlier field set it: SES's commonHeaders
// keep the first of a single-valued header.
func first(dst **string, v string) {
	if *dst == nil {
		*dst = &v
	}
}

// splitAddressList splits an address-list header at the commas that
// separate addresses, keeping each address as written ("Peter
// <peter@example.com>"), as SES does in commonHeaders.
func splitAddressList(v string) []string {
	var out []string
	depthAngle, depthParen, quoted, start := 0, 0, false, 0
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case quoted:
			if c == '\\' {
				i++
			} else if c == '"' {
				quoted = false
			}
		case c == '"':
			quoted = true
		case c == '(':
			depthParen++
		case c == ')' && depthParen > 0:
			depthParen--
		case c == '<':
			depthAngle++
		case c == '>' && depthAngle > 0:
			depthAngle--
		case c == ',' && depthAngle == 0 && depthParen == 0:
			if s := strings.TrimSpace(v[start:i]); s != "" {
				out = append(out, s)
			}
			start = i + 1
		}
	}
	if s := strings.TrimSpace(v[start:]); s != "" {
		out = append(out, s)
	}
	return out
}

// addrSpecs returns the bare addresses of an address-list header.
func addrSpecs(v string) []string {
	var out []string
	for _, a := range splitAddressList(v) {
		if p, err := mail.ParseAddress(a); err == nil {
			out = append(out, p.Address)
		} else if at := strings.LastIndexByte(a, '@'); at > 0 {
			out = append(out, strings.Trim(a[strings.LastIndexAny(a[:at], " <")+1:], "<> "))
		}
	}
	return out
}
