package vend

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
)

// API 2.0 sale lines carry the product's id, not its SKU: the SKU (and the
// name, as the line's title) comes from the products feed, read once and
// then followed by version, and cached for the importer's life. A product the
// feed does not hold is asked for by id once; one Lightspeed does not know
// leaves the line without SKU (never the product's UUID in its place).

type apiProduct struct {
	ID      string `json:"id"`
	SKU     string `json:"sku"`
	Name    string `json:"name"`
	Version int64  `json:"version"`
}

type product struct{ sku, name string }

// ensureProducts makes sure every product of the sales is known (or known
// to be unknown). A connection that may not read products (403: made with
// the older scope) gives lines without SKU and one note.
func (i *Importer) ensureProducts(ctx context.Context, sales []apiSale) (string, error) {
	i.mu.Lock()
	if i.products == nil {
		i.products = map[string]product{}
	}
	missing := map[string]bool{}
	for _, s := range sales {
		for _, l := range s.LineItems {
			if _, ok := i.products[l.ProductID]; !ok && l.ProductID != "" && l.SKU == "" {
				missing[l.ProductID] = true
			}
		}
	}
	refused := i.productsRefused
	after := i.productsAfter
	i.mu.Unlock()
	if len(missing) == 0 || refused {
		return "", nil
	}
	found, after, err := i.walkProducts(ctx, after)
	var ae *apiError
	if errors.As(err, &ae) && ae.Status == http.StatusForbidden {
		i.mu.Lock()
		i.productsRefused = true
		i.mu.Unlock()
		return "the connection may not read products (403): sale lines carry no SKU; run `storeagent connect vend` again to grant products:read", nil
	}
	if err != nil {
		return "", err
	}
	i.mu.Lock()
	i.productsAfter = after
	for id, p := range found {
		i.products[id] = p
		delete(missing, id)
	}
	for id := range missing {
		if _, ok := i.products[id]; ok {
			delete(missing, id)
		}
	}
	i.mu.Unlock()
	for id := range missing {
		var one struct {
			Data apiProduct `json:"data"`
		}
		err := i.c.getJSON(ctx, "/api/2.0/products/"+url.PathEscape(id), nil, &one)
		p := product{}
		switch {
		case errors.As(err, &ae) && ae.Status == http.StatusNotFound:
		case err != nil:
			return "", err
		default:
			p = product{one.Data.SKU, one.Data.Name}
		}
		i.mu.Lock()
		i.products[id] = p
		i.mu.Unlock()
	}
	return "", nil
}

// walkProducts reads the products feed past version after.
func (i *Importer) walkProducts(ctx context.Context, after int64) (map[string]product, int64, error) {
	out := map[string]product{}
	for {
		p, err := feed[apiProduct](ctx, i.c, "/api/2.0/products", after, i.cfg.PageSize)
		if err != nil {
			return nil, after, err
		}
		if len(p.Data) == 0 {
			return out, after, nil
		}
		highest := after
		for _, x := range p.Data {
			out[x.ID] = product{x.SKU, x.Name}
			highest = max(highest, x.Version)
		}
		next, ok := p.resume(after, highest)
		if !ok {
			return nil, after, fmt.Errorf("vend: the products feed did not advance past version %d", after)
		}
		after = next
	}
}

// productOf is a cached product ("" fields when unknown).
func (i *Importer) productOf(id string) product {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.products[id]
}
