package receipt

import (
	"strings"
	"testing"
	"time"
)

var benchTime = time.Date(2026, 11, 23, 5, 0, 0, 0, time.UTC)

// benchHeader is a header block as a mailing list delivers it: 24 fields,
// several folded.
var benchHeader = []byte(strings.Join([]string{
	"Received: from mail-yw1-f171.google.com (mail-yw1-f171.google.com [209.85.128.171])",
	"\tby mx.example.com (Postfix) with ESMTPS id 4Zt1Xw0bVgz9sN6",
	"\tfor <inbox@example.com>; Mon, 23 Nov 2026 05:00:00 +0000 (UTC)",
	"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.org; s=20230601; t=1700000000;",
	" x=1700604800; h=to:subject:message-id:date:from:mime-version:from:to:cc:subject:date:message-id:reply-to;",
	" bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=abcdefghijklmnopqrstuvwxyz0123456789",
	"X-Google-DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=1e100.net; s=20230601; t=1700000000;",
	" bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=abcdefghijklmnopqrstuvwxyz0123456789",
	"X-Gm-Message-State: AOJu0YwAbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefghijklmnop",
	"X-Google-Smtp-Source: AGHT+IHabcdefghijklmnopqrstuvwxyz0123456789",
	"X-Received: by 2002:a05:690c:3:b0:5a7:b8d1:ef65 with SMTP id bb3-20020a05690c000300b005a7b8d1ef65mr1234567ywb.20.1700000000000;",
	"        Mon, 23 Nov 2026 05:00:00 -0800 (PST)",
	"MIME-Version: 1.0",
	"From: Sender Name <sender@example.org>",
	"Date: Mon, 23 Nov 2026 14:00:00 +0100",
	"Message-ID: <CAabcdefghijklmnopqrstuvwxyz0123456789@mail.example.org>",
	"Subject: Re: the plan for next week, with a subject long enough",
	" to be folded",
	"To: Inbox <inbox@example.com>, Other <other@example.com>",
	"Cc: list@example.com",
	"List-Id: <list.example.com>",
	"List-Unsubscribe: <mailto:unsubscribe@example.com>, <https://example.com/unsubscribe>",
	"Precedence: list",
	"Content-Type: multipart/alternative; boundary=\"000000000000abcdef0123456789\"",
	"X-SESInbound-Spam-Verdict: PASS",
	"Reply-To: Sender <sender@example.org>",
	"In-Reply-To: <CAzyxwvutsrqponmlkjihgfedcba@mail.example.com>",
	"References: <CAzyxwvutsrqponmlkjihgfedcba@mail.example.com>",
	"Thread-Index: AQHZabcdefghijklmnop==",
	"Auto-Submitted: no",
	"", "the body",
}, "\r\n"))

// BenchmarkScanHeader is Deliver's one walk of a received header block:
// the control fields, the end of the block and the From domain.
func BenchmarkScanHeader(b *testing.B) {
	b.SetBytes(int64(len(benchHeader)))
	b.ReportAllocs()
	for b.Loop() {
		scanHeader(benchHeader)
	}
}

// BenchmarkMailObject is the notification's mail object built from a
// stored header block.
func BenchmarkMailObject(b *testing.B) {
	hdr := benchHeader[:HeaderEnd(benchHeader)]
	b.SetBytes(int64(len(hdr)))
	b.ReportAllocs()
	for b.Loop() {
		newMailObject("id", benchTime, "sender@example.org", hdr)
	}
}
