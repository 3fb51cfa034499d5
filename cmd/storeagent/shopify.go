package main

import (
	"github.com/tmas/storeagent/agent"
	"github.com/tmas/storeagent/agent/config"
	"github.com/tmas/storeagent/importers/shopify"
)

func shopifySource(c *config.Config, d sourceDeps) (posSource, agent.Source, error) {
	if c.Shopify == nil {
		return nil, agent.Source{}, nil
	}
	imp, err := shopify.New(*c.Shopify, c.Bindings("shopify"), shopify.Options{Logger: d.logger.With("source", "shopify")})
	if err != nil {
		return nil, agent.Source{}, err
	}
	return imp, agent.Source{Name: "shopify", Importer: imp, Schedule: c.Shopify.Schedule, Spread: c.Shopify.Spread.D()}, nil
}
