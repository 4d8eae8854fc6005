package hooks_test

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"songcommons/internal/testsupport"
)

// jsonSchema checks JSON values against the subset of JSON Schema
// (2020-12) the OpenAPI document uses: $ref (to its components), type,
// enum, properties, required, additionalProperties, items, anyOf,
// minimum, exclusiveMinimum, maximum, minLength, maxLength, maxItems.
// Other keywords (description, …) say nothing about validity; an unknown
// keyword that would fails the check, so the document cannot outgrow the
// validator unnoticed.
type jsonSchema struct{ doc map[string]any }

var annotations = []string{"description", "title", "examples", "format"}

func (v jsonSchema) check(s map[string]any, x any, at string) []string {
	var errs []string
	fail := func(format string, args ...any) { errs = append(errs, at+": "+fmt.Sprintf(format, args...)) }
	for k := range s {
		switch k {
		case "$ref", "type", "enum", "properties", "required", "additionalProperties", "items", "anyOf",
			"minimum", "exclusiveMinimum", "maximum", "minLength", "maxLength", "maxItems":
		default:
			if !slices.Contains(annotations, k) {
				fail("the schema uses %q, which this validator does not know", k)
			}
		}
	}
	if r, ok := s["$ref"].(string); ok {
		name, found := strings.CutPrefix(r, "#/components/schemas/")
		target, _ := v.doc["components"].(map[string]any)["schemas"].(map[string]any)[name].(map[string]any)
		if !found || target == nil {
			fail("unresolved $ref %s", r)
			return errs
		}
		errs = append(errs, v.check(target, x, at)...)
	}
	if t, ok := s["type"]; ok {
		types := []string{}
		switch tt := t.(type) {
		case string:
			types = append(types, tt)
		case []any:
			for _, e := range tt {
				types = append(types, e.(string))
			}
		}
		if !slices.ContainsFunc(types, func(t string) bool { return isType(x, t) }) {
			fail("%s is not of type %v", clip(x), types)
			return errs
		}
	}
	if e, ok := s["enum"].([]any); ok && !slices.ContainsFunc(e, func(y any) bool { return fmt.Sprint(y) == fmt.Sprint(x) }) {
		fail("%v is not one of %v", x, e)
	}
	if alts, ok := s["anyOf"].([]any); ok {
		matched := false
		for _, alt := range alts {
			if len(v.check(alt.(map[string]any), x, at)) == 0 {
				matched = true
				break
			}
		}
		if !matched {
			fail("%s matches none of anyOf", clip(x))
		}
	}
	switch val := x.(type) {
	case map[string]any:
		props, _ := s["properties"].(map[string]any)
		for _, r := range asStrings(s["required"]) {
			if _, ok := val[r]; !ok {
				fail("required property %q is missing", r)
			}
		}
		keys := make([]string, 0, len(val))
		for k := range val {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if ps, ok := props[k].(map[string]any); ok {
				errs = append(errs, v.check(ps, val[k], at+"."+k)...)
				continue
			}
			switch ap := s["additionalProperties"].(type) {
			case bool:
				if !ap {
					fail("property %q is not in the document", k)
				}
			case map[string]any:
				errs = append(errs, v.check(ap, val[k], at+"."+k)...)
			}
		}
	case []any:
		if items, ok := s["items"].(map[string]any); ok {
			for i, e := range val {
				errs = append(errs, v.check(items, e, at+"["+strconv.Itoa(i)+"]")...)
			}
		}
		if m, ok := s["maxItems"].(float64); ok && float64(len(val)) > m {
			fail("%d items, at most %g", len(val), m)
		}
	case float64:
		if m, ok := s["minimum"].(float64); ok && val < m {
			fail("%g < minimum %g", val, m)
		}
		if m, ok := s["exclusiveMinimum"].(float64); ok && val <= m {
			fail("%g <= exclusiveMinimum %g", val, m)
		}
		if m, ok := s["maximum"].(float64); ok && val > m {
			fail("%g > maximum %g", val, m)
		}
	case string:
		n := float64(utf8.RuneCountInString(val))
		if m, ok := s["maxLength"].(float64); ok && n > m {
			fail("%g characters, at most %g", n, m)
		}
		if m, ok := s["minLength"].(float64); ok && n < m {
			fail("%g characters, at least %g", n, m)
		}
	}
	return errs
}

func isType(x any, t string) bool {
	switch t {
	case "object":
		_, ok := x.(map[string]any)
		return ok
	case "array":
		_, ok := x.([]any)
		return ok
	case "string":
		_, ok := x.(string)
		return ok
	case "number":
		_, ok := x.(float64)
		return ok
	case "integer":
		f, ok := x.(float64)
		return ok && f == math.Trunc(f)
	case "boolean":
		_, ok := x.(bool)
		return ok
	case "null":
		return x == nil
	}
	return false
}

func asStrings(v any) []string {
	var out []string
	for _, e := range asSlice(v) {
		out = append(out, e.(string))
	}
	return out
}

func asSlice(v any) []any { s, _ := v.([]any); return s }

func clip(x any) string {
	b, _ := json.Marshal(x)
	if len(b) > 80 {
		return string(b[:80]) + "…"
	}
	return string(b)
}

// The validator itself: it accepts what a schema allows and refuses what
// it does not.
func TestJSONSchemaSubset(t *testing.T) {
	t.Parallel()
	doc := map[string]any{"components": map[string]any{"schemas": map[string]any{
		"Pair": map[string]any{"type": "object", "required": []any{"a"}, "additionalProperties": false,
			"properties": map[string]any{"a": map[string]any{"type": "integer", "minimum": 1.0},
				"b": map[string]any{"anyOf": []any{map[string]any{"type": "string", "maxLength": 2.0}, map[string]any{"type": "null"}}}}},
	}}}
	v := jsonSchema{doc}
	s := map[string]any{"type": "array", "maxItems": 2.0, "items": map[string]any{"$ref": "#/components/schemas/Pair"}}
	for _, c := range []struct {
		json string
		ok   bool
	}{
		{`[{"a":1},{"a":2,"b":"xy"}]`, true}, {`[{"a":1,"b":null}]`, true}, {`[]`, true},
		{`[{"a":0}]`, false}, {`[{"a":1.5}]`, false}, {`[{"b":"x"}]`, false}, {`[{"a":1,"c":1}]`, false},
		{`[{"a":1,"b":"xyz"}]`, false}, {`[{"a":1,"b":3}]`, false}, {`[{"a":1},{"a":1},{"a":1}]`, false}, {`{}`, false},
	} {
		var x any
		if err := json.Unmarshal([]byte(c.json), &x); err != nil {
			t.Fatal(err)
		}
		if errs := v.check(s, x, "$"); (len(errs) == 0) != c.ok {
			t.Errorf("%s: valid %v, want %v (%v)", c.json, len(errs) == 0, c.ok, errs)
		}
	}
	if errs := v.check(map[string]any{"pattern": "x"}, "x", "$"); len(errs) == 0 {
		t.Error("an unknown keyword passed unnoticed")
	}
}

// apiCall is one request of the API test and the status it must get.
type apiCall struct {
	method, path, token string
	body                any
	status              int
}

// Every route of the OpenAPI document is called for real, and each
// answer is checked against the document: its status must be documented
// for the operation and its body must fit the schema of that status. The
// document lists exactly the service routes the router serves.
func TestOpenAPIDocument(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	defer app.Cleanup()
	srv := serve(t, app)
	var doc map[string]any
	code, body, _ := testsupport.Request(t, srv, http.MethodGet, "/api/songcommons/openapi.json", "", nil)
	if code != 200 || json.Unmarshal(body, &doc) != nil || doc["openapi"] != "3.1.0" {
		t.Fatalf("openapi.json: %d %.200s", code, body)
	}
	v := jsonSchema{doc}

	// the document's operations are the router's service routes
	var documented []string
	for path, ops := range doc["paths"].(map[string]any) {
		for method := range ops.(map[string]any) {
			documented = append(documented, strings.ToUpper(method)+" "+path)
		}
	}
	var served []string
	for pattern := range routeGuards(t, app) {
		if strings.Contains(pattern, " /api/songcommons/") {
			served = append(served, pattern)
		}
	}
	sort.Strings(documented)
	sort.Strings(served)
	if !slices.Equal(documented, served) {
		t.Errorf("the document has\n%v\nthe router serves\n%v", documented, served)
	}

	alice, bob := tokenFor(t, aliceID), tokenFor(t, bobID)
	secret := "openapi-test-receipt-secret-0123"
	songs := []map[string]any{
		{"artist": "Daft Punk", "title": "One More Time", "tempo": 122.9, "key": "F#", "scale": "minor", "mood_vector": "house:0.7",
			"embeddings": map[string]any{"musicnn": testVector(200, 1)}},
		{"artist": "Air", "title": "La Femme d'Argent", "tempo": 92, "key": "A", "scale": "minor",
			"embeddings": map[string]any{"musicnn": testVector(200, 2)}},
	}
	var receiptRows []any
	calls := []apiCall{
		{http.MethodGet, "/api/songcommons/status", "", nil, 200},
		{http.MethodPost, "/api/songcommons/contribute", alice, map[string]any{"songs": songs, "receipt_secret": secret}, 200},
		{http.MethodPost, "/api/songcommons/contribute", "", map[string]any{"songs": songs}, 401},
		{http.MethodPost, "/api/songcommons/contribute", alice, map[string]any{"songs": []any{map[string]any{"artist": "A"}}}, 400},
		{http.MethodPost, "/api/songcommons/lookup", "", map[string]any{"songs": []any{
			map[string]any{"artist": "Daft Punk", "title": "One More Time"}, map[string]any{"isrc": "USRC17607839"}}, "embeddings": true}, 200},
		{http.MethodPost, "/api/songcommons/lookup", "", map[string]any{"songs": []any{}}, 400},
		{http.MethodGet, "/api/songcommons/similar?song=" + "daft%20punk%7Cone%20more%20time&k=5", "", nil, 200},
		{http.MethodGet, "/api/songcommons/similar?song=daft%20punk%7Cone%20more%20time&model=clap", "", nil, 404},
		{http.MethodPost, "/api/songcommons/similar", "", map[string]any{"vector": testVector(200, 3), "k": 3}, 200},
		{http.MethodGet, "/api/songcommons/stats", "", nil, 200},
		{http.MethodGet, "/api/songcommons/search?q=daft&perPage=5", "", nil, 200},
		{http.MethodGet, "/api/songcommons/search?q=", "", nil, 400},
		{http.MethodGet, "/api/songcommons/me", alice, nil, 200},
		{http.MethodGet, "/api/songcommons/me", "", nil, 401},
		{http.MethodPost, "/api/songcommons/me/consent", alice, map[string]any{"accept": true, "version": 1}, 200},
		{http.MethodPost, "/api/songcommons/privacy-requests", "", map[string]any{"text": "What do you hold about me?"}, 201},
		{http.MethodPost, "/api/songcommons/receipts/delete", "", nil, 200}, // body set below, from the receipt
		{http.MethodDelete, "/api/songcommons/me", bob, nil, 204},
		{http.MethodGet, "/api/songcommons/openapi.json", "", nil, 200},
		{http.MethodGet, "/api/songcommons/export", "", nil, 200},
		{http.MethodGet, "/api/songcommons/export?format=csv&gzip=true", "", nil, 200},
		{http.MethodGet, "/api/songcommons/export?format=xml", "", nil, 400},
	}
	called := map[string]bool{}
	for _, c := range calls {
		if c.path == "/api/songcommons/receipts/delete" {
			c.body = map[string]any{"secret": secret, "rows": receiptRows}
		}
		code, body, header := testsupport.Request(t, srv, c.method, c.path, c.token, c.body)
		ctype := header.Get("Content-Type")
		name := c.method + " " + c.path
		if code != c.status {
			t.Errorf("%s: %d %.300s, want %d", name, code, body, c.status)
			continue
		}
		pattern := c.method + " " + strings.SplitN(c.path, "?", 2)[0]
		op, _ := doc["paths"].(map[string]any)[strings.SplitN(c.path, "?", 2)[0]].(map[string]any)[strings.ToLower(c.method)].(map[string]any)
		if op == nil {
			t.Errorf("%s: not in the document", name)
			continue
		}
		responses := op["responses"].(map[string]any)
		res, documentedStatus := responses[strconv.Itoa(code)].(map[string]any)
		if !documentedStatus {
			if code < 400 {
				t.Errorf("%s: status %d is not documented", name, code)
				continue
			}
			res = responses["default"].(map[string]any)
		}
		if code < 300 {
			called[pattern] = true
		}
		content, _ := res["content"].(map[string]any)
		if content == nil {
			if len(body) > 0 {
				t.Errorf("%s: a body, but the document gives none for %d", name, code)
			}
			continue
		}
		media, _, _ := strings.Cut(ctype, ";")
		if _, ok := content[media]; !ok {
			t.Errorf("%s: Content-Type %q is not documented", name, ctype)
			continue
		}
		if media != "application/json" {
			continue // a file: its format is the dump's (dataset's tests)
		}
		var x any
		if err := json.Unmarshal(body, &x); err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		s := content["application/json"].(map[string]any)["schema"].(map[string]any)
		for _, e := range v.check(s, x, name) {
			t.Error(e)
		}
		if c.path == "/api/songcommons/contribute" && code == 200 {
			receiptRows = asSlice(x.(map[string]any)["receipt"].(map[string]any)["rows"])
		}
	}
	for _, pattern := range documented {
		if !called[pattern] {
			t.Errorf("%s was not called successfully by this test", pattern)
		}
	}
}
