package storage

// MaxInArgs bounds the values of one "IN (…)" query: SQLite allows far
// more, but one statement per few hundred keys keeps each small.
const MaxInArgs = 500

// InChunks calls fn for consecutive chunks of at most MaxInArgs keys,
// with the chunk also as query arguments for dbx.In.
func InChunks(keys []string, fn func(chunk []string, args []any) error) error {
	for len(keys) > 0 {
		chunk := keys[:min(len(keys), MaxInArgs)]
		keys = keys[len(chunk):]
		args := make([]any, len(chunk))
		for i, k := range chunk {
			args[i] = k
		}
		if err := fn(chunk, args); err != nil {
			return err
		}
	}
	return nil
}
