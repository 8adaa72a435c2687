package web

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // decode the usual non-UTF-8 charsets

	"github.com/sesinbound/sesinbound/encrypt"
	"github.com/sesinbound/sesinbound/receipt"
	"github.com/sesinbound/sesinbound/s3object"
)

// Mail is a stored message as the page shows it: GET
// /_sesinbound/messages/{id}/mail?object=N.
type Mail struct {
	Objects []ObjectInfo `json:"objects"` // every object the message's S3 actions wrote
	Object  int          `json:"object"`  // the one decrypted below
	Size    int          `json:"size"`    // of the decrypted message
	Headers []Header     `json:"headers"`
	Text    string       `json:"text"`
	HTML    string       `json:"html"` // cid: references inlined as data: URLs
	// Remote says whether the HTML refers to remote content (http, https).
	Remote      bool         `json:"remote"`
	Attachments []Attachment `json:"attachments"`
	Error       string       `json:"error,omitempty"` // why the object could not be read
}

// ObjectInfo is one stored object with its S3 metadata.
type ObjectInfo struct {
	StoredObject
	Encrypted bool              `json:"encrypted"`
	Metadata  map[string]string `json:"metadata,omitempty"` // without the x-amz-meta- prefix
	// EncryptionContext is the material description (x-amz-matdesc),
	// the context KMS bound the data key to.
	EncryptionContext map[string]string `json:"encryptionContext,omitempty"`
	Length            int64             `json:"length"` // the stored (encrypted) size
	HeadError         string            `json:"headError,omitempty"`
}

// Header is one header field of the stored message.
type Header struct {
	Name  string `json:"name"`
	Value string `json:"value"`
	// By says who added it: "ses" for the headers SES prepends,
	// "AddHeaderAction" for a rule's added header, "" for the sender's.
	By string `json:"by,omitempty"`
}

// Attachment is one MIME part other than the text and HTML bodies.
type Attachment struct {
	Part        int    `json:"part"` // for /parts/{part}
	Filename    string `json:"filename"`
	ContentType string `json:"contentType"`
	ContentID   string `json:"contentId,omitempty"`
	Inline      bool   `json:"inline"`
	Size        int    `json:"size"`
}

// sesHeaders are the fields SES prepends, in lower case.
var sesHeaders = map[string]bool{
	"return-path": true, "received": true, "x-ses-spam-verdict": true, "x-ses-virus-verdict": true,
	"received-spf": true, "authentication-results": true, "x-ses-receipt": true, "x-ses-dkim-signature": true,
}

func (s *Server) mail(w http.ResponseWriter, r *http.Request) {
	res, ok := s.record(w, r)
	if !ok {
		return
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	m := Mail{Headers: []Header{}, Attachments: []Attachment{}}
	for _, o := range Objects(res) {
		info := ObjectInfo{StoredObject: o}
		if o.Error == "" {
			head, err := s.S3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(o.Bucket), Key: aws.String(o.Key)})
			if err != nil {
				info.HeadError = err.Error()
			} else {
				info.Metadata = head.Metadata
				info.Encrypted = encrypt.IsEnvelope(head.Metadata)
				info.Length = aws.ToInt64(head.ContentLength)
				if md := metaGet(head.Metadata, encrypt.MetaMatDesc); md != "" {
					decodeJSON(md, &info.EncryptionContext)
				}
			}
		}
		m.Objects = append(m.Objects, info)
	}
	if m.Objects == nil {
		m.Objects = []ObjectInfo{}
	}
	if len(m.Objects) == 0 {
		m.Error = "no S3 action stored this message: there is no mail to show"
		writeJSON(w, m)
		return
	}
	if o := m.Objects[0]; r.URL.Query().Get("object") == "" && o.Error != "" {
		m.Error = "the S3 action failed, nothing was stored: " + o.Error
		writeJSON(w, m)
		return
	}
	o, n, ok := object(w, r, res)
	if !ok {
		return
	}
	m.Object = n
	_, raw, err := s3object.ReadAll(ctx, s.S3, s.KMS, o.Bucket, o.Key)
	if err != nil {
		m.Error = err.Error()
		writeJSON(w, m)
		return
	}
	m.Size = len(raw)
	added := map[string]bool{}
	for _, rr := range res.Rules {
		for _, a := range rr.Actions {
			if a.Header != "" {
				added[strings.ToLower(a.Header)] = true
			}
		}
	}
	leading := true
	for _, f := range receipt.ParseHeader(raw[:receipt.HeaderEnd(raw)]) {
		h := Header{Name: f.Name, Value: f.Value}
		if leading && sesHeaders[strings.ToLower(f.Name)] {
			h.By = "ses"
		} else {
			leading = false
			if added[strings.ToLower(f.Name+": "+f.Value)] {
				h.By = "AddHeaderAction"
			}
		}
		m.Headers = append(m.Headers, h)
	}
	parseParts(raw, &m)
	writeJSON(w, m)
}

func metaGet(md map[string]string, key string) string {
	for k, v := range md {
		if strings.EqualFold(k, key) {
			return v
		}
	}
	return ""
}

// remoteRef finds references that would load something from the network.
var remoteRef = regexp.MustCompile(`(?i)(?:src|href|background|srcset|poster|data)\s*=\s*["']?\s*(?:https?:)?//|url\(\s*["']?\s*(?:https?:)?//|@import`)

// part is a leaf of the MIME tree.
type leaf struct {
	header message.Header
	body   []byte
}

// leaves walks the message's MIME tree in order, decoding transfer
// encodings and charsets.
func leaves(raw []byte) ([]leaf, error) {
	e, err := message.Read(bytes.NewReader(raw))
	if err != nil && e == nil {
		return nil, err
	}
	var out []leaf
	err = e.Walk(func(path []int, part *message.Entity, err error) error {
		if err != nil && !message.IsUnknownCharset(err) && !message.IsUnknownEncoding(err) {
			return err
		}
		if part.MultipartReader() != nil {
			return nil
		}
		b, rerr := io.ReadAll(io.LimitReader(part.Body, 64<<20))
		if rerr != nil && len(b) == 0 {
			return nil
		}
		out = append(out, leaf{header: part.Header, body: b})
		return nil
	})
	return out, err
}

func parseParts(raw []byte, m *Mail) {
	parts, err := leaves(raw)
	if err != nil && len(parts) == 0 {
		m.Text = string(raw[receipt.HeaderEnd(raw):])
		return
	}
	cids := map[string]string{}
	for i, p := range parts {
		ct, _, _ := p.header.ContentType()
		disp, dparams, _ := p.header.ContentDisposition()
		_, tparams, _ := p.header.ContentType()
		filename := dparams["filename"]
		if filename == "" {
			filename = tparams["name"]
		}
		isBody := disp != "attachment" && filename == ""
		switch {
		case isBody && ct == "text/plain" && m.Text == "":
			m.Text = string(p.body)
			continue
		case isBody && ct == "text/html" && m.HTML == "":
			m.HTML = string(p.body)
			continue
		}
		cid := strings.Trim(p.header.Get("Content-Id"), "<> ")
		if cid != "" && strings.HasPrefix(ct, "image/") && len(p.body) <= 2<<20 {
			cids[cid] = "data:" + ct + ";base64," + base64.StdEncoding.EncodeToString(p.body)
		}
		if filename == "" {
			ext, _ := mime.ExtensionsByType(ct)
			filename = "part-" + strconv.Itoa(i)
			if len(ext) > 0 {
				filename += ext[0]
			}
		}
		m.Attachments = append(m.Attachments, Attachment{Part: i, Filename: filename, ContentType: ct,
			ContentID: cid, Inline: disp == "inline" || (disp == "" && cid != ""), Size: len(p.body)})
	}
	if m.HTML != "" {
		for cid, url := range cids {
			m.HTML = strings.ReplaceAll(m.HTML, "cid:"+cid, url)
		}
		m.Remote = remoteRef.MatchString(m.HTML)
	}
}

func (s *Server) raw(w http.ResponseWriter, r *http.Request) {
	res, o, ok := s.recordObject(w, r)
	if !ok {
		return
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	obj, err := s3object.Open(ctx, s.S3, s.KMS, o.Bucket, o.Key)
	if err != nil {
		writeError(w, http.StatusBadGateway, err.Error())
		return
	}
	defer obj.Body.Close()
	// Read it all first: GCM authenticates at the end, and a tampered
	// object must be an error, not a truncated download.
	b, err := io.ReadAll(obj.Body)
	if err != nil {
		writeError(w, http.StatusBadGateway, fmt.Sprintf("decrypt s3://%s/%s: %v", o.Bucket, o.Key, err))
		return
	}
	if r.URL.Query().Has("download") {
		w.Header().Set("Content-Type", "message/rfc822")
		w.Header().Set("Content-Disposition", attachment(res.MessageID+".eml"))
	} else {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Write(b)
}

func (s *Server) part(w http.ResponseWriter, r *http.Request) {
	_, o, ok := s.recordObject(w, r)
	if !ok {
		return
	}
	n, err := strconv.Atoi(r.PathValue("part"))
	if err != nil {
		writeError(w, http.StatusBadRequest, "part must be a number")
		return
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	_, raw, err := s3object.ReadAll(ctx, s.S3, s.KMS, o.Bucket, o.Key)
	if err != nil {
		writeError(w, http.StatusBadGateway, err.Error())
		return
	}
	parts, _ := leaves(raw)
	if n < 0 || n >= len(parts) {
		writeError(w, http.StatusNotFound, "no such part")
		return
	}
	p := parts[n]
	disp, dparams, _ := p.header.ContentDisposition()
	_, tparams, _ := p.header.ContentType()
	name := dparams["filename"]
	if name == "" {
		name = tparams["name"]
	}
	if name == "" || disp == "" {
		name = "part-" + strconv.Itoa(n)
	}
	// Always a download, never rendered on the page's origin.
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", attachment(name))
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Write(p.body)
}

func attachment(name string) string {
	return mime.FormatMediaType("attachment", map[string]string{"filename": name})
}

func copyBody(w io.Writer, r io.Reader) { io.Copy(w, r) }

func decodeJSON(s string, v any) {
	dec := jsonDecoder(strings.NewReader(s))
	dec.Decode(v)
}
