package sesapi

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/sesinbound/sesinbound/endpoint"
)

// v2Prefix is where the SES v2 identity operations live.
const v2Prefix = "/v2/email/identities"

// checkRegion refuses a request signed for another region than the
// instance's: each instance is one account in one region, as on AWS, where
// a request signed for eu-west-1 cannot reach us-east-1.
func (s *Service) checkRegion(r *http.Request) *Error {
	sc, ok := endpoint.CredentialScope(r)
	if !ok || sc.Region == s.cfg.Region {
		return nil
	}
	return &Error{Status: http.StatusForbidden, Code: CodeSignatureDoesNotMatch,
		Message: "Credential should be scoped to a valid region, not '" + sc.Region + "'. This sesinbound serves " +
			s.cfg.Region + " only (account " + s.cfg.AccountID + "); sign for " + s.cfg.Region +
			" (AWS_REGION) or run another instance with Region: " + sc.Region + " in its rules file."}
}

// v2Error writes a REST-JSON error: the code in X-Amzn-ErrorType, the
// message in the body.
func v2Error(w http.ResponseWriter, reqID string, e *Error) {
	w.Header().Set("X-Amzn-ErrorType", e.Code)
	v2Write(w, reqID, e.Status, map[string]string{"message": e.Message})
}

func v2Write(w http.ResponseWriter, reqID string, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("x-amzn-RequestId", reqID)
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// v2Err is an SES v2 error: code is the exception's name.
func v2Err(status int, code, msg string) *Error {
	return &Error{Status: status, Code: code, Message: msg}
}

func badRequest(msg string) *Error { return v2Err(http.StatusBadRequest, "BadRequestException", msg) }

func errNoEmailIdentity(name string) *Error {
	return v2Err(http.StatusNotFound, "NotFoundException", "Email identity "+name+" does not exist.")
}

// decodeJSON reads a request body; an empty body is the zero value when
// emptyOK.
func decodeJSON(r *http.Request, v any, emptyOK bool) *Error {
	err := json.NewDecoder(io.LimitReader(r.Body, maxFormBytes)).Decode(v)
	if err != nil && !(emptyOK && err == io.EOF) {
		return badRequest("the body is not JSON: " + err.Error())
	}
	return nil
}

func v2Type(name string) string {
	if identityType(name) == IdentityEmail {
		return "EMAIL_ADDRESS"
	}
	return "DOMAIN"
}

type v2Dkim struct {
	SigningEnabled          bool     `json:"SigningEnabled"`
	Status                  string   `json:"Status"`
	Tokens                  []string `json:"Tokens,omitempty"`
	SigningAttributesOrigin string   `json:"SigningAttributesOrigin,omitempty"`
}

func v2DkimOf(name string) *v2Dkim {
	if identityType(name) != IdentityDomain {
		return &v2Dkim{Status: "NOT_STARTED"}
	}
	return &v2Dkim{SigningEnabled: true, Status: "SUCCESS", Tokens: DKIMTokens(name), SigningAttributesOrigin: "AWS_SES"}
}

// serveV2 serves CreateEmailIdentity, GetEmailIdentity,
// ListEmailIdentities and DeleteEmailIdentity.
func (s *Service) serveV2(w http.ResponseWriter, r *http.Request) {
	reqID := s.requestID()
	out, err := s.routeV2(r)
	if err != nil {
		v2Error(w, reqID, err)
		return
	}
	v2Write(w, reqID, http.StatusOK, out)
}

func (s *Service) routeV2(r *http.Request) (any, *Error) {
	if err := s.checkRegion(r); err != nil {
		return nil, v2Err(err.Status, "AccessDeniedException", err.Message)
	}
	path := r.URL.EscapedPath()
	if path == "/v2/email/list-identities" && r.Method == http.MethodPost {
		// Newer SDKs list with a POST and a JSON body.
		var in struct {
			NextToken string `json:"NextToken"`
			PageSize  int    `json:"PageSize"`
		}
		if err := decodeJSON(r, &in, true); err != nil {
			return nil, err
		}
		size := ""
		if in.PageSize != 0 {
			size = strconv.Itoa(in.PageSize)
		}
		return s.listEmailIdentities(in.NextToken, size)
	}
	rest, ok := strings.CutPrefix(path, v2Prefix)
	if !ok || (rest != "" && rest[0] != '/') {
		return nil, v2Err(http.StatusNotFound, "NotFoundException", "sesinbound serves SES v2 identities only, under "+v2Prefix)
	}
	rest = strings.TrimPrefix(rest, "/")
	switch {
	case rest == "" && r.Method == http.MethodPost:
		return s.createEmailIdentity(r)
	case rest == "" && r.Method == http.MethodGet:
		return s.listEmailIdentities(r.URL.Query().Get("NextToken"), r.URL.Query().Get("PageSize"))
	case rest != "" && !strings.Contains(rest, "/"):
		name, err := url.PathUnescape(rest)
		if err != nil {
			return nil, badRequest("bad identity in path: " + err.Error())
		}
		switch r.Method {
		case http.MethodGet:
			return s.getEmailIdentity(name)
		case http.MethodDelete:
			return s.deleteEmailIdentity(name)
		}
		return nil, v2Err(http.StatusMethodNotAllowed, "BadRequestException", r.Method+" is not served on an identity")
	}
	return nil, v2Err(http.StatusNotFound, "NotFoundException", "sesinbound serves CreateEmailIdentity, GetEmailIdentity, ListEmailIdentities and DeleteEmailIdentity")
}

func (s *Service) createEmailIdentity(r *http.Request) (any, *Error) {
	var in struct {
		EmailIdentity string `json:"EmailIdentity"`
	}
	if err := decodeJSON(r, &in, false); err != nil {
		return nil, err
	}
	name := strings.TrimSuffix(in.EmailIdentity, ".")
	if name == "" {
		return nil, badRequest("EmailIdentity is required")
	}
	if err := s.checkIdentity(name); err != nil {
		return nil, badRequest(err.Message)
	}
	err := s.update(func(st *state) *Error {
		if st.identity(name) >= 0 {
			return v2Err(http.StatusBadRequest, "AlreadyExistsException", "Email identity "+name+" already exist.")
		}
		st.identities = append(st.identities, identity{name: name, typ: identityType(name), dkim: identityType(name) == IdentityDomain})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{
		"IdentityType":             v2Type(name),
		"VerifiedForSendingStatus": true,
		"DkimAttributes":           v2DkimOf(name),
	}, nil
}

func (s *Service) getEmailIdentity(name string) (any, *Error) {
	if s.snapshot().identity(name) < 0 {
		return nil, errNoEmailIdentity(name)
	}
	return map[string]any{
		"IdentityType":             v2Type(name),
		"FeedbackForwardingStatus": true,
		"VerifiedForSendingStatus": true,
		"VerificationStatus":       "SUCCESS",
		"DkimAttributes":           v2DkimOf(name),
		"Policies":                 map[string]string{},
		"Tags":                     []any{},
	}, nil
}

func (s *Service) listEmailIdentities(token, size string) (any, *Error) {
	n, ok := pageSizeOf(size)
	if !ok {
		return nil, badRequest("PageSize must be between 1 and 1000")
	}
	ids := s.snapshot().identities
	start, end, ok := page(token, len(ids), n)
	if !ok {
		return nil, badRequest("Invalid NextToken")
	}
	type entry struct {
		IdentityType       string `json:"IdentityType"`
		IdentityName       string `json:"IdentityName"`
		SendingEnabled     bool   `json:"SendingEnabled"`
		VerificationStatus string `json:"VerificationStatus"`
	}
	out := struct {
		EmailIdentities []entry `json:"EmailIdentities"`
		NextToken       string  `json:"NextToken,omitempty"`
	}{EmailIdentities: []entry{}}
	for _, id := range ids[start:end] {
		out.EmailIdentities = append(out.EmailIdentities, entry{IdentityType: v2Type(id.name), IdentityName: id.name, SendingEnabled: true, VerificationStatus: "SUCCESS"})
	}
	if end < len(ids) {
		out.NextToken = strconv.Itoa(end)
	}
	return out, nil
}

func (s *Service) deleteEmailIdentity(name string) (any, *Error) {
	err := s.update(func(st *state) *Error {
		i := st.identity(name)
		if i < 0 {
			return errNoEmailIdentity(name)
		}
		st.identities = deleteAt(st.identities, i)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return struct{}{}, nil
}
