// Package woocommercetest is an httptest double of a WooCommerce shop's REST
// API v3, for the woocommerce importer's tests and the agent's end-to-end
// tests: HTTPS (a TLS httptest server), consumer keys by HTTP Basic or query
// string, GET /wc/v3/orders with its filters (status, modified_after,
// modified_before, after, before, dates_are_gmt), ordering and pagination
// headers (X-WP-Total, X-WP-TotalPages, Link), GMT and site-local date
// fields, GET /wc/v3/orders/{id}/refunds with negative line quantities,
// status changes, trashed orders, item edits that do not bump
// date_modified (as WooCommerce's own bug), the error bodies WordPress
// sends, and faults (permalinks off, WooCommerce missing, a security
// plugin's page, maintenance with Retry-After).
//
// It also computes, from its own data alone, the hourly net sales,
// transactions and items a shop's orders should give, as the ground truth
// tests compare the importer with. It must never import the importer.
package woocommercetest
