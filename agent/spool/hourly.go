package spool

import (
	"bytes"
	"encoding/json"
	"sort"
	"strings"

	"github.com/shopspring/decimal"
	bolt "go.etcd.io/bbolt"

	"github.com/tmas/storeagent/importers/record"
)

// HourTotal is what the agent has imported for one store-local hour: net
// sales, transactions (sales and returns) and items, counting each record key
// at its latest revision.
type HourTotal struct {
	Location     string       `json:"location_id"`
	Hour         string       `json:"hour"` // local start of the hour with its offset, 2026-11-20T09:00-05:00
	NetSales     record.Money `json:"net_sales"`
	Transactions int64        `json:"transactions"`
	Items        int64        `json:"items"`
}

type hourDelta struct {
	net   decimal.Decimal
	txns  int64
	items int64
}

// add counts a new contribution whose net amount is known as a decimal.
func (d *hourDelta) add(k keyState, net decimal.Decimal) *hourDelta {
	if d == nil {
		d = &hourDelta{}
	}
	d.net = d.net.Add(net)
	d.txns += k.txns
	d.items += k.item
	return d
}

// sub removes an earlier contribution, as the key state stored it.
func (d *hourDelta) sub(k keyState) *hourDelta {
	if d == nil {
		d = &hourDelta{}
	}
	if n, err := decimal.NewFromString(k.net); err == nil {
		d.net = d.net.Sub(n)
	}
	d.txns -= k.txns
	d.items -= k.item
	return d
}

type hourValue struct {
	Net   string `json:"net"`
	Txns  int64  `json:"txns"`
	Items int64  `json:"items"`
}

func applyHourly(b *bolt.Bucket, deltas map[string]*hourDelta) error {
	for key, d := range deltas {
		var v hourValue
		if old := b.Get([]byte(key)); old != nil {
			if err := json.Unmarshal(old, &v); err != nil {
				return err
			}
		}
		net := decimal.Zero
		if v.Net != "" {
			net, _ = decimal.NewFromString(v.Net)
		}
		v.Net = net.Add(d.net).String()
		v.Txns += d.txns
		v.Items += d.items
		enc, err := json.Marshal(v)
		if err != nil {
			return err
		}
		if err := b.Put([]byte(key), enc); err != nil {
			return err
		}
	}
	return nil
}

// Hourly returns the totals of one location for the local hours whose label
// starts with day ("2026-11-20"), in time order.
func (s *Spool) Hourly(location, day string) ([]HourTotal, error) {
	var out []HourTotal
	err := s.view(func(tx *bolt.Tx) error {
		prefix := []byte(location + "|" + day)
		c := tx.Bucket(bucketHourly).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			var hv hourValue
			if err := json.Unmarshal(v, &hv); err != nil {
				return err
			}
			net, err := record.ParseMoney(hv.Net)
			if err != nil {
				return err
			}
			_, hour, _ := strings.Cut(string(k), "|")
			out = append(out, HourTotal{Location: location, Hour: hour, NetSales: net.Round2(), Transactions: hv.Txns, Items: hv.Items})
		}
		return nil
	})
	sort.SliceStable(out, func(i, j int) bool { return out[i].Hour < out[j].Hour })
	return out, err
}
