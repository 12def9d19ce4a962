# RusToK — the two commands a new user needs are `make run` and `make test`.
GO       ?= go
PKG      := ./...
BIN      := bin/rustok
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT   ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS  := -X main.version=$(VERSION) -X main.commit=$(COMMIT)

.PHONY: run build test test-short bench lint fmt vet clean

## run: start the server on SQLite in ./data (created and migrated at start), development mode
run: build
	RUSTOK_ENV=development ./$(BIN) serve

## build: compile bin/rustok
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/rustok

## test: every test with the race detector; PostgreSQL suites run when
## RUSTOK_TEST_POSTGRES_URL is set (they skip with a message otherwise)
test:
	$(GO) test -race -count=1 -timeout 20m $(PKG)

## test-short: a quick pass (smaller concurrency tests)
test-short:
	$(GO) test -short -count=1 $(PKG)

## bench: the benchmarks of docs/benchmarks.md (set RUSTOK_TEST_POSTGRES_URL for the PostgreSQL figures)
bench:
	$(GO) test -run '^$$' -bench Foundation -benchtime 1x -timeout 30m ./eventstore/relay/
	$(GO) test -run '^$$' -bench Append -benchtime 3s ./eventstore/
	$(GO) test -run '^$$' -bench . ./transport/graphql/
	$(GO) test -run '^$$' -bench ColdStart -benchtime 5x ./cmd/rustok/

## lint: formatting and vet
lint: vet
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKG)

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf bin data/test.db
