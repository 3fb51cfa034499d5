// Package woocommerce imports a WooCommerce shop's web orders as TMAS
// transactions, through the WooCommerce REST API v3, the way POS vendors'
// WooCommerce sync modules do: a mapping of order statuses to "counts as a
// sale", an order prefix on receipts, and every web order attributed to one
// configured TMAS location (or to one per order meta value).
//
// Each Fetch reads one page of orders modified in a window (re-reading an
// overlap, trashed orders, and recently created orders, because item edits
// do not bump date_modified), turns each counted order into a `sale`, each of
// its refunds into a `return` at the refund's own time, and an order that
// left the counted statuses into a `void` of the same keys, and returns them
// with an opaque cursor that resumes after a crash without loss.
//
// It must never import the agent or its buffer, never keep a context or
// write anything to disk, never log or return a consumer key or secret (nor
// a URL that carries them), never send credentials over plain HTTP to a
// host other than loopback, and never guess a location for an order.
package woocommerce
