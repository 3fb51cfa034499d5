package spool

import (
	"bytes"
	"time"

	bolt "go.etcd.io/bbolt"
)

// PruneKeys forgets record keys whose content last changed before cutoff,
// at most batch keys per transaction, so the memory of delivered keys does
// not grow forever. A key seen again after that is queued again: its
// revision hint (a POS version or update time) keeps its rev above the
// delivered one, so headquarters takes it as the same record or a newer one.
func (s *Spool) PruneKeys(cutoff time.Time, batch int) (int, error) {
	total := 0
	limit := cutoff.Unix()
	for {
		n := 0
		err := s.update(func(tx *bolt.Tx) error {
			n = 0
			keys := tx.Bucket(bucketKeys)
			var old [][]byte
			c := keys.Cursor()
			for k, v := c.First(); k != nil && len(old) < batch; k, v = c.Next() {
				if ks, ok := decodeKeyState(v); ok && ks.at < limit {
					old = append(old, bytes.Clone(k))
				}
			}
			for _, k := range old {
				if err := keys.Delete(k); err != nil {
					return err
				}
			}
			n = len(old)
			return nil
		})
		total += n
		if err != nil || n < batch {
			return total, err
		}
	}
}
