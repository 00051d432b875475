package release

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"sort"
)

// DataHash returns the hex SHA-256 of a Secret's data: keys in order, each key
// and value length-prefixed, so no two different maps share an encoding.
func DataHash(data map[string][]byte) string {
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	var n [8]byte
	for _, k := range keys {
		binary.BigEndian.PutUint64(n[:], uint64(len(k)))
		h.Write(n[:])
		h.Write([]byte(k))
		binary.BigEndian.PutUint64(n[:], uint64(len(data[k])))
		h.Write(n[:])
		h.Write(data[k])
	}
	return hex.EncodeToString(h.Sum(nil))
}
