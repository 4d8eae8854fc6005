package hooks

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"
)

// readJSON decodes a JSON request body of at most max bytes into dst,
// strictly: unknown fields, wrong types, trailing data and malformed JSON
// are answered with a 400 that names the field (413 for a body too large).
func readJSON(e *core.RequestEvent, max int64, dst any) error {
	if e.Request.ContentLength > max {
		return tooLarge(e, max)
	}
	body, err := io.ReadAll(io.LimitReader(e.Request.Body, max+1))
	if err != nil {
		return e.BadRequestError("Failed to read the request body.", err)
	}
	if int64(len(body)) > max {
		return tooLarge(e, max)
	}
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
