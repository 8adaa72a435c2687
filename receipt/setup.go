package receipt

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/sesinbound/sesinbound/encrypt"
)

// SetupNotificationID is the name of the object SES drops under an S3
// action's prefix when the rule is set up, and the messageId of the matching
// SNS notification.
const SetupNotificationID = "AMAZON_SES_SETUP_NOTIFICATION"

// SetupNotification returns the test mail SES stores when an S3 action is
// saved, dated t, with CRLF line endings.
func SetupNotification(t time.Time) []byte {
	lines := []string{
		"Date: " + t.UTC().Format("Mon, 02 Jan 2006 15:04:05 -0700"),
		"To: recipient@example.com",
		"From: Amazon Web Services <no-reply-aws@amazon.com>",
		"Subject: Amazon SES Setup Notification",
		"",
		"Hello,",
		"",
		"You received this message because you attempted to set up Amazon SES to deliver emails to this S3 bucket.",
		"",
		"Please note that the rule that you configured to deliver emails to this S3 bucket is only valid if the entire setup process is successful. For more information about",
		"setting up email-receiving rules, see the Amazon SES Developer Guide at http://docs.aws.amazon.com/ses/latest/DeveloperGuide/Welcome.html .",
		"",
		"Thank you for using Amazon SES!",
		"",
		"The Amazon SES Team",
		"",
	}
	var b bytes.Buffer
	for i, l := range lines {
		b.WriteString(l)
		if i < len(lines)-1 {
			b.WriteString("\r\n")
		}
	}
	return b.Bytes()
}

// WriteSetupNotifications stores AMAZON_SES_SETUP_NOTIFICATION for every S3
// action of every enabled rule, as SES does when a rule is activated. When
// the action has a KmsKeyArn the object is encrypted like any mail, with
// AMAZON_SES_SETUP_NOTIFICATION as the message ID in the encryption context:
// SES validates the key when the rule is saved, and this is the write that
// would exercise it.
func (p *Processor) WriteSetupNotifications(ctx context.Context) error {
	body := SetupNotification(p.now())
	for _, r := range p.Snapshot().rules.Rules {
		if !r.Enabled {
			continue
		}
		for _, a := range r.Actions {
			s := a.S3Action
			if s == nil {
				continue
			}
			var ar ActionResult
			content := NewFrame(append(make([]byte, 0, len(body)+FrameTailroom), body...), 0)
			if err := p.storeS3(ctx, SetupNotificationID, r.Name, s, content, true, encrypt.VariantSES, &ar); err != nil {
				return fmt.Errorf("setup notification for rule %s: %w", r.Name, err)
			}
		}
	}
	return nil
}

// WriteSetupNotification stores AMAZON_SES_SETUP_NOTIFICATION for one S3
// action of rule, as SES does when the rule is created or updated: the
// write that proves the bucket (and the key, when the action has one) can
// take mail.
func (p *Processor) WriteSetupNotification(ctx context.Context, rule string, s *S3Action) error {
	body := SetupNotification(p.now())
	var ar ActionResult
	content := NewFrame(append(make([]byte, 0, len(body)+FrameTailroom), body...), 0)
	return p.storeS3(ctx, SetupNotificationID, rule, s, content, true, encrypt.VariantSES, &ar)
}
