# storeagent: common tasks. Packaging details are in installer/packaging/.
GO      ?= go
VERSION ?= $(shell git describe --tags --exact-match 2>/dev/null || echo 0.0.0-dev)
LDFLAGS := -s -w -X main.version=$(VERSION)

.PHONY: build test packages package-test windows-check clean

# A static binary for this machine in bin/.
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/storeagent ./cmd/storeagent

test:
	$(GO) test -race ./...

# Linux binaries, .deb and .rpm (amd64, arm64) and the Windows zip in dist/.
packages:
	VERSION=$(VERSION) installer/packaging/build.sh dist

# Builds the packages in a temporary copy and checks them (installs the .deb
# when run as root).
package-test:
	STOREAGENT_PACKAGE_TEST=1 $(GO) test -run TestPackages -v ./installer

windows-check:
	GOOS=windows $(GO) build ./...
	GOOS=windows $(GO) vet ./...

clean:
	rm -rf bin dist
