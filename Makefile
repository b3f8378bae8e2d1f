# Kiln's tasks. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
BIN := bin/kiln
GO_FILES := $(shell git ls-files '*.go' 2>/dev/null | grep -v '_templ.go$$')

.PHONY: help
help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  \033[1m%-16s\033[0m %s\n", $$1, $$2}'

.PHONY: run
run: build ## build and serve on http://127.0.0.1:8080 with SQLite at data/kiln.db
	./$(BIN)

.PHONY: demo
demo: build ## like run, after creating 10 demo tasks due 5 minutes apart
	./$(BIN) --demo

.PHONY: build
build: ## build one binary, with every asset embedded, at bin/kiln
	CGO_ENABLED=1 go build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) .

.PHONY: generate
generate: ## regenerate the templ views (*_templ.go)
	go tool templ generate

.PHONY: check-generated
check-generated: ## fail when the committed *_templ.go are not what templ generates
	@before=$$(cat $$(find views -name '*_templ.go' | sort) | sha256sum); \
	go tool templ generate >/dev/null; \
	after=$$(cat $$(find views -name '*_templ.go' | sort) | sha256sum); \
	if [ "$$before" != "$$after" ]; then \
		echo "templ output was stale: 'go tool templ generate' changed *_templ.go; commit the result"; exit 1; \
	fi; echo "templ output is fresh"

.PHONY: check-files
check-files: ## fail when a tracked file is an executable binary or larger than 1 MB
	@.ci/check-files

.PHONY: test
test: check-files check-generated ## check tracked files and templ output, gofmt, go vet, all tests with the race detector, then each fuzz target for about 10s
	@unformatted=$$(gofmt -l $(GO_FILES)); if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	go vet ./...
	go test -race -count=1 -timeout 30m ./...
	@$(MAKE) --no-print-directory fuzz

# The fuzz targets, as package:Target:budget. The budget is a count of executions, about 10 s
# of each on CI's machine: a timed run (-fuzztime 10s) can end in a spurious "context deadline
# exceeded" on Go before 1.27 (golang/go#75804), a count cannot. FUZZTIME=10m overrides it.
FUZZ_TARGETS := web:FuzzTaskForm:30000x web:FuzzForms:7000x web:FuzzAPIBodies:20000x web:FuzzQueries:10000x web:FuzzIndentJSON:60000x \
	web:FuzzRedirectTargets:12000x jobs:FuzzSchedule:80000x jobs/builtin:FuzzBuiltinArgs:80000x jobs:FuzzNestsDeeper:50000x jobs/builtin:FuzzMask:40000x
FUZZTIME ?=

.PHONY: fuzz
fuzz: ## run every fuzz target from its seeds: for its budget (about 10 s each), or for FUZZTIME (e.g. make fuzz FUZZTIME=10m)
	@listed=$$(for t in $(FUZZ_TARGETS); do r=$${t#*:}; echo $${r%%:*}; done | sort); \
	found=$$(grep -rhoE '^func Fuzz[A-Za-z0-9_]+' --include='*_test.go' . | sed 's/^func //' | sort); \
	if [ "$$listed" != "$$found" ]; then echo "FUZZ_TARGETS lists:" $$listed; echo "the tests have:" $$found; exit 1; fi
	@for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; rest=$${t#*:}; name=$${rest%%:*}; budget=$${rest#*:}; if [ -n "$(FUZZTIME)" ]; then budget="$(FUZZTIME)"; fi; \
		echo "== fuzz $$name ./$$pkg/ for $$budget"; \
		out=$$(go test -run '^$$' -fuzz "^$$name\$$" -fuzztime $$budget ./$$pkg/ 2>&1); code=$$?; \
		if [ $$code -ne 0 ]; then echo "$$out"; exit 1; fi; echo "$$out" | tail -3; \
	done

.PHONY: lint
lint: ## gofmt, go vet and staticcheck
	@unformatted=$$(gofmt -l $(GO_FILES)); if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	go vet ./...
	go tool staticcheck ./...

.PHONY: bench
bench: build ## kiln bench: insert rate, burn-down jobs/s, pickup latency, memory (ARGS=--json ...)
	./$(BIN) bench $(ARGS)

.PHONY: gobench
gobench: ## run the Go benchmarks of the hot paths, with allocation counts
	go test -run '^$$' -bench . -benchmem ./...

.PHONY: docker
docker: ## build the container image kiln:$(VERSION)
	docker build --build-arg VERSION=$(VERSION) -t kiln:$(VERSION) .

.PHONY: zones
zones: ## regenerate the time zone suggestions from the system's tz database
	@{ echo "// Code generated from the IANA tz database's zone1970.tab; DO NOT EDIT."; \
	   echo "// Regenerate with: make zones"; echo; echo "package components"; echo; \
	   echo "// ZoneNames lists the canonical IANA time zones, for the time zone field's suggestions. The"; \
	   echo "// field accepts any name time.LoadLocation knows, including ones not listed here."; \
	   echo "var ZoneNames = []string{"; \
	   ( echo UTC; grep -v '^#' /usr/share/zoneinfo/zone1970.tab | cut -f3 | sort -u ) | sed 's/.*/\t"&",/'; \
	   echo "}"; } > views/components/zones.go
	gofmt -l views/components/zones.go

.PHONY: clean
clean: ## remove the built binary
	rm -rf bin
