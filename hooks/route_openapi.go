package hooks

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/pocketbase/pocketbase/core"

	"songcommons/config"
	"songcommons/songdata"
)

// The OpenAPI 3.1 document of the service routes is made from the route
// table: each route's path, method and guards (who may ask, body bound,
// admission, compaction guard, journal) give its security and its error
// answers, and its apiDoc the summary, parameters and body schemas. Schemas
// of Go answer types are read from their JSON field tags; the contributed
// song's from songdata's schema. The document is served at
// /api/songcommons/openapi.json and rendered by the web UI's API page.

// schema is a JSON Schema (2020-12, as OpenAPI 3.1 uses it).
type schema = map[string]any

// param is a query parameter of a route.
type param struct {
	name, description string
	schema            schema
	required          bool
}

// apiDoc is what the API documentation says of a route, besides what its
// guards say.
type apiDoc struct {
	summary     string
	description string
	params      []param
	request     schema            // the JSON request body (nil: none)
	status      int               // the success status (0: 200)
	result      schema            // the success answer (nil: no body)
	download    bool              // the success answer is a file to save
	files       map[string]string // the success answer is a file of these media types (not JSON), each described
	errors      map[int]string
}

// Schema builders.

func str(desc string) schema     { return described(schema{"type": "string"}, desc) }
func num(desc string) schema     { return described(schema{"type": "number"}, desc) }
func intg(desc string) schema    { return described(schema{"type": "integer"}, desc) }
func boolean(desc string) schema { return described(schema{"type": "boolean"}, desc) }
func arr(items schema, desc string) schema {
	return described(schema{"type": "array", "items": items}, desc)
}

// described is s with a description, unless desc is "".
func described(s schema, desc string) schema {
	if desc != "" {
		s["description"] = desc
	}
	return s
}
func ref(name string) schema { return schema{"$ref": "#/components/schemas/" + name} }

// obj is an object with the given properties (name, schema, name, schema,
// …), of which required are always present; no others.
func obj(required []string, props ...any) schema {
	p := schema{}
	for i := 0; i < len(props); i += 2 {
		p[props[i].(string)] = props[i+1]
	}
	s := schema{"type": "object", "properties": p, "additionalProperties": false}
	if len(required) > 0 {
		s["required"] = required
	}
	return s
}

// with returns s with more keywords.
func with(s schema, kv ...any) schema {
	out := schema{}
	for k, v := range s {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

// components collects the named schemas of a document.
type components struct {
	schemas map[string]schema
}

// of is the schema of a Go answer type, read from its JSON field tags: a
// field without omitempty is always present; named structs become
// components.
func (c *components) of(t reflect.Type) schema {
	switch t.Kind() {
	case reflect.Pointer:
		return c.of(t.Elem())
	case reflect.String:
		return schema{"type": "string"}
	case reflect.Bool:
		return schema{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return schema{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return schema{"type": "number"}
	case reflect.Slice, reflect.Array:
		return schema{"type": "array", "items": c.of(t.Elem())}
	case reflect.Map:
		return schema{"type": "object", "additionalProperties": c.of(t.Elem())}
	case reflect.Interface:
		return schema{}
	case reflect.Struct:
		name := t.Name()
		if _, done := c.schemas[name]; !done {
			c.schemas[name] = nil // a recursive type refers to itself
			props, required := schema{}, []string{}
			c.fields(t, props, &required)
			s := schema{"type": "object", "properties": props, "additionalProperties": false}
			if len(required) > 0 {
				s["required"] = required
			}
			c.schemas[name] = s
		}
		return ref(name)
	}
	panic("openapi: no schema for " + t.String())
}

func (c *components) fields(t reflect.Type, props schema, required *[]string) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if f.Anonymous && tag == "" {
			c.fields(f.Type, props, required)
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		props[name] = c.of(f.Type)
		if !strings.Contains(opts, "omitempty") {
			*required = append(*required, name)
		}
	}
}

// songSchema is a /contribute song (and a dump line): songdata's fields,
// with their limits, and the embeddings by model.
func songSchema() schema {
	props := []any{}
	fields := append(append(songdata.IdentityFields(), songdata.AnalysisFields()...), songdata.AudioFields()...)
	for _, f := range fields {
		s := schema{"type": "string"}
		if f.Kind == songdata.Number {
			s = schema{"type": "number", "maximum": f.Max}
			if f.MinExclusive {
				s["exclusiveMinimum"] = f.Min
			} else {
				s["minimum"] = f.Min
			}
		} else if f.Max > 0 {
			s["maxLength"] = int(f.Max)
		}
		s["description"] = f.Doc + "; stored " + f.Canonical
		props = append(props, f.Name, s)
	}
	props = append(props, songdata.RawPrintField, with(arr(schema{"type": "integer"}, ""), "description",
		"the fingerprint as the integers fpcalc -raw prints (signed or unsigned), instead of fingerprint; stored compressed"))
	props = append(props, songdata.SongKeyField, str("ignored: dump lines carry the song a row was filed under; the server decides each song"))
	var models []string
	for _, m := range songdata.Models() {
		models = append(models, m.Name+" ("+strconv.Itoa(m.Dim)+" numbers)")
	}
	vector := schema{"anyOf": []any{arr(schema{"type": "number"}, ""), str("the array as a JSON string")}}
	props = append(props, "embeddings", with(schema{"type": "object", "additionalProperties": vector},
		"description", "vectors by model: "+strings.Join(models, ", ")))
	var required []string
	for _, f := range songdata.IdentityFields() {
		if f.Required {
			required = append(required, f.Name)
		}
	}
	return with(obj(required, props...), "description",
		"A song's analysis (tempo, key and scale required together) and/or its embeddings.")
}

// errorSchema is PocketBase's error answer.
var errorSchema = obj([]string{"status", "message", "data"},
	"status", intg("the HTTP status"),
	"message", str("what went wrong, for a person"),
	"data", with(schema{"type": "object", "additionalProperties": obj([]string{"code", "message"},
		"code", str("a machine-readable error code"), "message", str("what is wrong with the field"))},
		"description", "the problems of each field, by field name (\"songs.3.tempo\")"))

// guardErrors are the error answers a route's guards may give.
func (r route) guardErrors() map[int]string {
	out := map[int]string{}
	switch r.who {
	case reader:
		out[http.StatusUnauthorized] = "The server lets only signed-in users read the dataset (SONGCOMMONS_PUBLIC_READ=false)."
	case contributor, accountUser:
		out[http.StatusUnauthorized] = "Not signed in."
		out[http.StatusForbidden] = "Not a contributor account (or, for uploads, consent not given)."
	}
	if r.body > 0 || r.doc.params != nil {
		out[http.StatusBadRequest] = "The request is invalid: each bad field is named in data."
	}
	if r.body > 0 {
		out[http.StatusRequestEntityTooLarge] = "The body is larger than " + config.FormatBytes(r.body) + "."
		out[http.StatusRequestTimeout] = "The body arrived too slowly."
	}
	if r.gate != nil {
		out[http.StatusTooManyRequests] = "The server is busy, or this address holds its share of slots: retry after Retry-After seconds."
	}
	if r.writes {
		out[http.StatusServiceUnavailable] = "The database is being compacted (nightly) or, for account changes, busy: retry after Retry-After seconds; nothing was changed."
	}
	for code, what := range r.doc.errors {
		out[code] = what
	}
	return out
}

// openAPIDocument is the OpenAPI 3.1 document of the routes.
func openAPIDocument(routes []route) map[string]any {
	c := &components{schemas: map[string]schema{"Error": errorSchema, "Song": songSchema()}}
	paths := map[string]map[string]any{}
	for _, r := range routes {
		op := map[string]any{"operationId": operationID(r), "summary": r.doc.summary}
		if r.doc.description != "" {
			op["description"] = r.doc.description
		}
		switch r.who {
		case contributor, accountUser:
			op["security"] = []any{map[string]any{"pocketbaseAuth": []any{}}}
		default:
			op["security"] = []any{map[string]any{}, map[string]any{"pocketbaseAuth": []any{}}}
		}
		if len(r.doc.params) > 0 {
			var ps []any
			for _, p := range r.doc.params {
				ps = append(ps, map[string]any{"name": p.name, "in": "query", "required": p.required,
					"description": p.description, "schema": p.schema})
			}
			op["parameters"] = ps
		}
		if r.doc.request != nil {
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{
				"application/json": map[string]any{"schema": resolve(c, r.doc.request)}}}
		}
		status := r.doc.status
		if status == 0 {
			status = http.StatusOK
		}
		ok := map[string]any{"description": http.StatusText(status)}
		if r.doc.result != nil {
			ok["content"] = map[string]any{"application/json": map[string]any{"schema": resolve(c, r.doc.result)}}
		}
		if r.doc.files != nil {
			content := map[string]any{}
			for media, what := range r.doc.files {
				content[media] = map[string]any{"schema": str(what)}
			}
			ok["content"] = content
		}
		if r.doc.download {
			ok["headers"] = map[string]any{"Content-Disposition": map[string]any{
				"description": "attachment: the answer is a file to save", "schema": schema{"type": "string"}}}
		}
		responses := map[string]any{strconv.Itoa(status): ok,
			"default": map[string]any{"description": "An error.", "content": errorContent}}
		for code, what := range r.guardErrors() {
			responses[strconv.Itoa(code)] = map[string]any{"description": what, "content": errorContent}
		}
		op["responses"] = responses
		path := servicePrefix + r.path
		if paths[path] == nil {
			paths[path] = map[string]any{}
		}
		paths[path][strings.ToLower(r.method)] = op
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{"title": "songcommons", "version": config.Version,
			"description": "The service routes of songcommons, an anonymous, community-built dataset of song analysis. " +
				"PocketBase's own REST API (/api/collections/score|embedding|songs/records, /api/batch) works as PocketBase documents it."},
		"paths": paths,
		"components": map[string]any{
			"schemas": c.schemas,
			"securitySchemes": map[string]any{"pocketbaseAuth": map[string]any{"type": "apiKey", "in": "header", "name": "Authorization",
				"description": "A PocketBase auth token of a contributor account (GitHub sign-in), sent as it is."}},
		},
	}
}

var errorContent = map[string]any{"application/json": map[string]any{"schema": ref("Error")}}

// resolve turns the Go types in a doc's schema (typeOf) into schemas,
// registering their components.
func resolve(c *components, s any) any {
	switch v := s.(type) {
	case schema:
		if t, ok := v[goType].(reflect.Type); ok {
			return c.of(t)
		}
		out := schema{}
		for k, x := range v {
			out[k] = resolve(c, x)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = resolve(c, x)
		}
		return out
	}
	return s
}

// operationID names an operation: its method and path ("postLookup",
// "getMe", "postMeConsent").
func operationID(r route) string {
	id := strings.ToLower(r.method)
	for _, part := range strings.FieldsFunc(r.path, func(c rune) bool { return c == '/' || c == '-' || c == '.' }) {
		id += strings.ToUpper(part[:1]) + part[1:]
	}
	return id
}

// openAPIHandler serves the document (built once, from the route table).
func (s *service) openAPIHandler(e *core.RequestEvent) error {
	s.openAPIOnce.Do(func() {
		s.openAPI, _ = json.Marshal(openAPIDocument(s.serviceRoutes()))
	})
	e.Response.Header().Set("Content-Type", "application/json")
	e.Response.Header().Set("Cache-Control", "no-cache")
	return e.Blob(http.StatusOK, "application/json", s.openAPI)
}

// typeOf stands for the schema of the Go type T in a doc's schemas, until
// resolve reads it from T's fields.
func typeOf[T any]() schema { return schema{goType: reflect.TypeFor[T]()} }

const goType = "goType"
