package hooks

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"
)

// readJSON decodes a JSON request body of at most max bytes into dst,
// strictly: unknown fields, wrong types, trailing data and malformed JSON
// are answered with a 400 that names the field (413 for a body too large).
func readJSON(e *core.RequestEvent, max int64, dst any) error {
	body, err := readBody(e, max)
	if err != nil {
		return err
	}
	return decodeJSON(e, body, dst)
}

// decodeJSON is readJSON's decode of a body already read.
func decodeJSON(e *core.RequestEvent, body []byte, dst any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return e.BadRequestError("The request body is empty: send a JSON object.", nil)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonError(e, err)
	}
	if dec.More() {
		return e.BadRequestError("The request body holds more than one JSON value.", nil)
	}
	return nil
}

// readBody reads a request body of at most max bytes (413 beyond).
func readBody(e *core.RequestEvent, max int64) ([]byte, error) {
	if e.Request.ContentLength > max {
		return nil, tooLarge(e, max)
	}
	body, err := readAll(io.LimitReader(e.Request.Body, max+1), e.Request.ContentLength)
	if err != nil {
		return nil, e.BadRequestError("Failed to read the request body.", err)
	}
	if int64(len(body)) > max {
		return nil, tooLarge(e, max)
	}
	return body, nil
}

// readAll is io.ReadAll with a first buffer of the announced length (up
// to readAhead: a client that announces 8 MB and sends nothing holds no
// more), grown by doubling where io.ReadAll grows by a quarter: a
// 1,000-fingerprint lookup's 3.7 MB were copied over and over.
func readAll(r io.Reader, length int64) ([]byte, error) {
	b := make([]byte, 0, min(max(length+1, 512), readAhead))
	for {
		if len(b) == cap(b) {
			b = slices.Grow(b, cap(b))
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

// readAhead is the largest buffer readAll takes before the bytes arrive.
const readAhead = 1 << 20

func tooLarge(e *core.RequestEvent, max int64) error {
	return e.Error(http.StatusRequestEntityTooLarge,
		fmt.Sprintf("The request body is too large: at most %d KiB here.", max>>10), nil)
}

// jsonError turns a json decoding error into a 400 naming the field.
func jsonError(e *core.RequestEvent, err error) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			field = "body"
		}
		return e.BadRequestError("Invalid request data.", validation.Errors{
			field: validation.NewError("validation_invalid_type",
				fmt.Sprintf("%s must be %s, not a JSON %s", field, jsonTypeName(typeErr.Type.Kind().String()), typeErr.Value)),
		})
	case errors.As(err, &syntaxErr):
		return e.BadRequestError(fmt.Sprintf("The request body is not valid JSON (at byte %d): %s.", syntaxErr.Offset, syntaxErr.Error()), nil)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return e.BadRequestError("Invalid request data.", validation.Errors{
			name: validation.NewError("validation_unknown_field", fmt.Sprintf("unknown field %q", name)),
		})
	case errors.Is(err, io.ErrUnexpectedEOF):
		return e.BadRequestError("The request body is not valid JSON: it ends too early.", nil)
	}
	return e.BadRequestError("The request body is not valid JSON: "+err.Error()+".", nil)
}

func jsonTypeName(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "slice", "array":
		return "an array"
	case "map", "struct", "ptr":
		return "an object"
	case "bool":
		return "true or false"
	case "float64", "float32", "int", "int64":
		return "a number"
	}
	return "of another type"
}

func fieldErr(field, code, msg string) validation.Errors {
	return validation.Errors{field: validation.NewError(code, msg)}
}

// checkCount answers 400 when a list field is empty or longer than max.
func checkCount(e *core.RequestEvent, field string, n, max int) error {
	if n == 0 {
		return e.BadRequestError("Invalid request data.", fieldErr(field, "validation_required",
			fmt.Sprintf("%s is required: a list of up to %d entries", field, max)))
	}
	if n > max {
		return e.BadRequestError("Invalid request data.", fieldErr(field, "validation_too_many",
			fmt.Sprintf("%s has %d entries; at most %d per request", field, n, max)))
	}
	return nil
}

// SlowBodyMessage starts the answer to a request whose body came too slowly.
const SlowBodyMessage = "The request body arrived too slowly"

// bodyDeadlinePriority puts the body deadline after the auth token (a
// superuser's uploads, such as a backup, are not bounded) and before any
// handler or guard reads a body.
const bodyDeadlinePriority = apis.DefaultBodyLimitMiddlewarePriority - 1

// bodyDeadline is the router middleware that makes every request body
// (but a superuser's) arrive in time: within timeout, and within timeout
// more for every MiB received, as the connection's read deadline. A
// slower client is answered 408 with a JSON message, and its connection
// is closed. Slots are taken only once a body is read (bodyGuard, and
// PocketBase's record and batch handlers read theirs before the request
// hooks that admit them), so a slow client holds none meanwhile.
func bodyDeadline(timeout time.Duration) *hook.Handler[*core.RequestEvent] {
	return &hook.Handler[*core.RequestEvent]{
		Id:       "songcommonsBodyDeadline",
		Priority: bodyDeadlinePriority,
		Func: func(e *core.RequestEvent) error {
			r := e.Request
			if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 || e.HasSuperuserAuth() {
				return e.Next()
			}
			rc := http.NewResponseController(e.Response)
			body := &deadlineBody{ReadCloser: r.Body, rc: rc, start: time.Now(), timeout: timeout}
			if err := body.setDeadline(); err != nil {
				return e.Next() // not a real connection (tests' recorders)
			}
			r.Body = body
			err := e.Next()
			if body.slow {
				return e.Error(http.StatusRequestTimeout, fmt.Sprintf(
					"%s: %d bytes in %s. Send the whole body within %s (and %s more per MiB), or send less per request. Nothing of this request was stored.",
					SlowBodyMessage, body.n, time.Since(body.start).Round(time.Second), timeout, timeout), nil)
			}
			return err
		},
	}
}

// deadlineBody moves the connection's read deadline on as a body arrives.
type deadlineBody struct {
	io.ReadCloser
	rc      *http.ResponseController
	start   time.Time
	timeout time.Duration
	n       int64 // bytes read
	eof     bool  // the server then reads the connection without a deadline
	slow    bool  // the deadline passed
}

func (b *deadlineBody) setDeadline() error {
	allowed := b.timeout + time.Duration(float64(b.timeout)*float64(b.n)/(1<<20))
	return b.rc.SetReadDeadline(b.start.Add(allowed))
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	if !b.eof {
		_ = b.setDeadline()
	}
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	switch {
	case errors.Is(err, io.EOF):
		b.eof = true
	case errors.Is(err, os.ErrDeadlineExceeded):
		b.slow = true
	}
	return n, err
}

// bodyGuard reads a route's JSON body, at most max bytes, before its
// admission guard: the body arrives under bodyDeadline's deadline while
// the request holds no slot, and the handler decodes it from memory.
// Larger bodies get 413 at once when their Content-Length says so.
func bodyGuard(max int64) *hook.Handler[*core.RequestEvent] {
	return &hook.Handler[*core.RequestEvent]{
		Id:       "songcommonsBody",
		Priority: AdmissionPriority - 1,
		Func: func(e *core.RequestEvent) error {
			body, err := readBody(e, max)
			if err != nil {
				return err
			}
			e.Request.Body = io.NopCloser(bytes.NewReader(body))
			e.Request.ContentLength = int64(len(body))
			return e.Next()
		},
	}
}
