package smtpd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"

	"github.com/emersion/go-smtp"

	"github.com/sesinbound/sesinbound/receipt"
)

// Replies sesinbound gives. go-smtp matches *smtp.SMTPError by type
// assertion, not errors.As, so these are returned as they are, never wrapped.
var (
	replyNoSuchUser = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "Requested action not taken: mailbox unavailable"}
	replyTryLater   = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Temporary failure, please try again later"}
	replyLongLine   = &smtp.SMTPError{Code: 500, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "Line too long"}
	// SES's words for these two are not on record; the codes are RFC 3207's
	// and RFC 3463's.
	replyTLSRequired = &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Must issue a STARTTLS command first"}
	replyBlocked     = &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "Access denied"}
	replyTooBusy     = &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 7, 0}, Message: "Too many connections, try again later"}
	replyTimeout     = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 4, 2}, Message: "Timeout waiting for data"}
	replyHeaderLarge = &smtp.SMTPError{Code: 552, EnhancedCode: smtp.EnhancedCode{5, 3, 4}, Message: "Message header too large"}
)

// reply converts err into what go-smtp writes to the client. It returns a
// literal nil on success, never a typed nil pointer.
func reply(err error) error {
	var se *smtp.SMTPError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &se):
		return se // e.g. smtp.ErrDataTooLarge (552 5.3.4) from the DATA reader
	case isTimeout(err):
		return replyTimeout
	case errors.Is(err, errHeaderTooLarge):
		return replyHeaderLarge
	case errors.Is(err, smtp.ErrTooLongLine):
		// go-smtp stops reading the connection after this; the message can
		// never be received as it is, so the refusal is permanent.
		return replyLongLine
	case errors.Is(err, receipt.ErrNoMatchingRule):
		return replyNoSuchUser
	case errors.Is(err, receipt.ErrTLSRequired):
		return replyTLSRequired
	case errors.Is(err, receipt.ErrBlocked):
		return replyBlocked
	default: // timeouts, S3 and KMS outages, bugs: the sender should retry
		return replyTryLater
	}
}

// refuse converts err into its reply and logs it: this is the one place a
// failure is logged, once, with what was refused (event), the reply code
// and the whole error. A backend set up wrongly (a missing bucket, a
// disabled key, denied access) is logged as an error, since no message
// can be stored until someone fixes it; anything else at level.
func (s *Server) refuse(ctx context.Context, level slog.Level, event string, err error, attrs ...slog.Attr) error {
	rep := reply(err)
	if receipt.IsConfigError(err) {
		level, event = slog.LevelError, event+": backend configuration problem: the S3 action cannot store mail until it is fixed"
	}
	s.log.LogAttrs(ctx, level, event, append(attrs, slog.Int("code", code(rep)), slog.Any("err", err))...)
	return rep
}

// errHeaderTooLarge is returned for a header section over the limits.
var errHeaderTooLarge = errors.New("message header too large")

// isTimeout reports a network read timeout, such as DataTimeout expiring.
func isTimeout(err error) bool {
	var ne net.Error
	// context.DeadlineExceeded is a net.Error too; it means the backend was
	// slow, which is not the client's timeout.
	return errors.As(err, &ne) && ne.Timeout() && !errors.Is(err, context.DeadlineExceeded)
}

// replyStored is the reply to a message that has been stored, in SES's
// words: "250 OK <message id>", upper case, with no enhanced status code,
// as postfix logs record it from inbound-smtp.<region>.amazonaws.com.
func replyStored(messageID string) error {
	return &smtp.SMTPError{Code: 250, EnhancedCode: smtp.NoEnhancedCode, Message: "OK " + messageID}
}

// replyLine formats a reply as go-smtp would write it, for the few replies
// written outside go-smtp.
func replyLine(err error) string {
	se := err.(*smtp.SMTPError)
	return fmt.Sprintf("%d %d.%d.%d %s\r\n", se.Code, se.EnhancedCode[0], se.EnhancedCode[1], se.EnhancedCode[2], se.Message)
}

// replyText is a reply's text after the code, for the record.
func replyText(err error) string {
	var se *smtp.SMTPError
	if !errors.As(err, &se) {
		return ""
	}
	if se.EnhancedCode == smtp.EnhancedCodeNotSet || se.EnhancedCode == smtp.NoEnhancedCode {
		return se.Message
	}
	return fmt.Sprintf("%d.%d.%d %s", se.EnhancedCode[0], se.EnhancedCode[1], se.EnhancedCode[2], se.Message)
}

// code returns the SMTP reply code that reply(err) produces, for logs.
func code(err error) int {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return se.Code
	}
	if err == nil {
		return 250
	}
	return 0
}
