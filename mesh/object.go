package mesh

import (
	"encoding/json"
	"strconv"
)

// Object builds a JSON object for Node.Fields without map round trips. Keys may be set in any order
// (the engine sorts them); setting a key again replaces its value. The zero value is ready to use.
type Object struct {
	buf  []byte
	keys map[string]bool
}

// NewObject returns an empty Object.
func NewObject() *Object { return &Object{} }

func (o *Object) key(k string) {
	if o.keys == nil {
		o.keys = map[string]bool{}
	}
	o.keys[k] = true
	if len(o.buf) == 0 {
		o.buf = append(o.buf, '{')
	} else {
		o.buf = append(o.buf, ',')
	}
	o.buf = AppendString(o.buf, k)
	o.buf = append(o.buf, ':')
}

// Set sets key to a raw JSON value, which must be valid JSON (the engine rejects the node otherwise).
// An empty raw value sets null.
func (o *Object) Set(key string, raw []byte) *Object {
	o.key(key)
	if len(raw) == 0 {
		raw = []byte("null")
	}
	o.buf = append(o.buf, raw...)
	return o
}

// SetString sets key to a JSON string.
func (o *Object) SetString(key, v string) *Object {
	o.key(key)
	o.buf = AppendString(o.buf, v)
	return o
}

// SetInt sets key to a JSON integer.
func (o *Object) SetInt(key string, v int64) *Object {
	o.key(key)
	o.buf = strconv.AppendInt(o.buf, v, 10)
	return o
}

// SetBool sets key to true or false.
func (o *Object) SetBool(key string, v bool) *Object {
	o.key(key)
	o.buf = strconv.AppendBool(o.buf, v)
	return o
}

// SetNull sets key to null.
func (o *Object) SetNull(key string) *Object { return o.Set(key, nil) }

// SetRef sets key to a reference {"$ref": id}.
func (o *Object) SetRef(key, id string) *Object {
	o.key(key)
	o.buf = AppendRef(o.buf, id)
	return o
}

// SetRefs sets key to an array of references (an empty array when ids is empty).
func (o *Object) SetRefs(key string, ids []string) *Object {
	o.key(key)
	o.buf = append(o.buf, '[')
	for i, id := range ids {
		if i > 0 {
			o.buf = append(o.buf, ',')
		}
		o.buf = AppendRef(o.buf, id)
	}
	o.buf = append(o.buf, ']')
	return o
}

// SetValue sets key to v encoded with encoding/json.
func (o *Object) SetValue(key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	o.Set(key, b)
	return nil
}

// Has reports whether key was set.
func (o *Object) Has(key string) bool { return o.keys[key] }

// JSON returns the object's JSON text ({} when empty). The Object can still be added to afterwards.
func (o *Object) JSON() json.RawMessage {
	if len(o.buf) == 0 {
		return json.RawMessage("{}")
	}
	out := make([]byte, len(o.buf)+1)
	copy(out, o.buf)
	out[len(o.buf)] = '}'
	return out
}

// AppendRef appends the reference object {"$ref": id}.
func AppendRef(dst []byte, id string) []byte {
	dst = append(dst, `{"$ref":`...)
	dst = AppendString(dst, id)
	return append(dst, '}')
}

// RefJSON returns the reference object {"$ref": id}.
func RefJSON(id string) json.RawMessage { return AppendRef(nil, id) }
