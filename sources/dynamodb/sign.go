package dynamodb

// This file signs requests with AWS Signature Version 4, through the AWS SDK's own signer.

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// signer signs each attempt of a request (fetch.Config.Auth): the signature covers the time, so a
// retry is signed again.
type signer struct {
	creds   aws.Credentials
	region  string
	service string
	v4      *v4.Signer
	now     func() time.Time
}

func newSigner(accessKeyID, secretAccessKey, sessionToken, region string) *signer {
	return &signer{
		creds:   aws.Credentials{AccessKeyID: accessKeyID, SecretAccessKey: secretAccessKey, SessionToken: sessionToken},
		region:  region,
		service: service,
		v4:      v4.NewSigner(),
		now:     time.Now,
	}
}

// sign sets X-Amz-Date, X-Amz-Security-Token (temporary credentials) and Authorization. The payload
// hash is the SHA-256 of the body, read again from the request (GetBody).
func (s *signer) sign(r *http.Request) error {
	body, err := readBody(r)
	if err != nil {
		return fmt.Errorf("signing: %w", err)
	}
	sum := sha256.Sum256(body)
	if err := s.v4.SignHTTP(r.Context(), s.creds, r, hex.EncodeToString(sum[:]), s.service, s.region, s.now().UTC()); err != nil {
		return fmt.Errorf("signing: %w", err)
	}
	return nil
}

// readBody reads a request body for signing, leaving the request able to send it.
func readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	if r.GetBody == nil {
		return nil, fmt.Errorf("the request body cannot be read twice")
	}
	rc, err := r.GetBody()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	var b bytes.Buffer
	_, err = io.Copy(&b, rc)
	return b.Bytes(), err
}
