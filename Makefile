# Portcullis: `make run` serves the console, `make test` checks everything.
# Both install what is missing first (see README.md for timings).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

# Debian's binaryen (108) produces a wasm that breaks hydration: use npm's.
BINARYEN_VERSION := 123.0.0
# Minifies the bundle's JS glue and the style sheet (scripts/build-site).
ESBUILD_VERSION := 0.28.2
TOOLS := $(CURDIR)/.tools

# Optional local settings (see .env.sample), passed to the server.
ifneq (,$(wildcard .env))
include .env
export $(shell sed -n 's/^\([A-Z_][A-Z0-9_]*\)=.*/\1/p' .env)
endif

# A CI run builds once from clean: incremental caches would only cost disk.
ifdef CI
export CARGO_INCREMENTAL := 0
endif

export PATH := $(TOOLS)/node_modules/.bin:$(HOME)/.cargo/bin:$(PATH)

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_UPDATED := $(TOOLS)/.apt-updated

say = @printf '\n\033[1m==> %s\033[0m\n' "$(1)"

.PHONY: help run test bench page-weight deps rust-deps node-deps e2e-deps release-deps build-release \
        pg-deps oauth-libs-deps fmt-check clippy gate-standalone unit unit-postgres e2e clean

help:
	@echo "make run    install what is missing, build, migrate data/portcullis.db, serve http://127.0.0.1:3000"
	@echo "make test   install what is missing, then fmt, clippy, the release build, unit + integration tests,"
	@echo "            browser tests against the release build"
	@echo "make bench  release build, then measure the first page load, /oauth/token and the gate on loopback"
	@echo "make clean  remove build output (keeps data/ and installed tools)"

# ---------------------------------------------------------------- installs --

$(APT_UPDATED):
	@mkdir -p $(TOOLS)
	$(SUDO) apt-get update -qq
	@touch $@

define apt_install
	@if ! command -v $(1) >/dev/null 2>&1; then \
	  $(MAKE) $(APT_UPDATED); \
	  echo "Installing Debian package $(2)"; \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(2); \
	fi
endef

# rust-toolchain.toml pins the release CI builds with. rustup installs it on
# first use, or here when RUSTUP_AUTO_INSTALL=0 says it may not; where it
# cannot (no route to static.rust-lang.org), the installed stable toolchain
# builds instead, with a warning.
ifeq ($(shell rustc -V >/dev/null 2>&1 || { echo "Installing the Rust release rust-toolchain.toml names" >&2; \
  rustup toolchain install >/dev/null 2>&1; } && echo pinned),)
export RUSTUP_TOOLCHAIN := stable
$(warning rust-toolchain.toml's Rust could not be installed: building with stable, $(shell RUSTUP_TOOLCHAIN=stable rustc -V))
endif

# A C compiler for the crates that build C (ring, SQLite), the toolchain's
# parts the build and the checks use, and the compiler's version for the log.
rust-deps:
	$(call apt_install,cc,build-essential)
	@rustup component list --installed | grep -q '^rustfmt' || rustup component add rustfmt
	@rustup component list --installed | grep -q '^clippy' || rustup component add clippy
	@rustup target list --installed | grep -q '^wasm32-unknown-unknown$$' \
	  || rustup target add wasm32-unknown-unknown
	@rustc -V

node-deps:
	$(call apt_install,npm,nodejs npm)

release-deps: rust-deps node-deps
	@if [ ! -x $(TOOLS)/node_modules/.bin/wasm-opt ]; then \
	  echo "Installing binaryen $(BINARYEN_VERSION) (wasm-opt) from npm"; \
	  mkdir -p $(TOOLS); \
	  npm install --prefix $(TOOLS) --no-audit --no-fund --silent binaryen@$(BINARYEN_VERSION); \
	fi
	@if ! esbuild --version 2>/dev/null | grep -qx '$(ESBUILD_VERSION)'; then \
	  echo "Installing esbuild $(ESBUILD_VERSION) from npm"; \
	  mkdir -p $(TOOLS); \
	  npm install --prefix $(TOOLS) --no-audit --no-fund --silent esbuild@$(ESBUILD_VERSION); \
	fi

# Reinstalled whenever the lock file changes. Playwright is pinned to 1.61,
# the last release that runs on Debian 12's Node 18.
end2end/node_modules/.installed: end2end/package-lock.json
	@echo "Installing Playwright (no browser download: Debian's Chromium is used)"
	cd end2end && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --silent
	@touch $@

e2e-deps: node-deps
	$(call apt_install,chromium,chromium)
	@$(MAKE) end2end/node_modules/.installed

# PostgreSQL from Debian's packages, for the second run of the integration
# suite and the multi-node tests. Only the binaries are used: each run makes
# its own throw-away cluster (scripts/pg-cluster); no system service runs.
# Redis likewise (scripts/redis-tmp), for the limits shared across nodes,
# and nginx, which the forward-auth test starts in front of a gate.
pg-deps:
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
	  $(MAKE) $(APT_UPDATED); \
	  echo "Installing Debian package postgresql"; \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends postgresql; \
	  $(SUDO) service postgresql stop >/dev/null 2>&1 || true; \
	fi
	@if ! command -v redis-server >/dev/null 2>&1; then \
	  $(MAKE) $(APT_UPDATED); \
	  echo "Installing Debian package redis-server"; \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends redis-server; \
	  $(SUDO) service redis-server stop >/dev/null 2>&1 || true; \
	fi
	@if ! [ -x /usr/sbin/nginx ]; then \
	  $(MAKE) $(APT_UPDATED); \
	  echo "Installing Debian package nginx"; \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends nginx; \
	  $(SUDO) service nginx stop >/dev/null 2>&1 || true; \
	fi

# A third-party OAuth client for the private_key_jwt tests: Debian's
# authlib (with requests) for Debian's python3, whatever else is on PATH.
oauth-libs-deps:
	@if ! /usr/bin/python3 -c 'import authlib, requests' >/dev/null 2>&1; then \
	  $(MAKE) $(APT_UPDATED); \
	  echo "Installing Debian packages python3-authlib python3-requests"; \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends python3 python3-authlib python3-requests; \
	fi

deps: rust-deps release-deps e2e-deps pg-deps oauth-libs-deps

# --------------------------------------------------------------------- run --

# scripts/build-site regenerates the wasm bundle on every call (seconds of
# work), so the release build is skipped while no source has changed. Every crate
# the served binary or bundle is built from is listed: one left out would
# let `make test` exercise a stale release build.
SOURCES := $(shell find allocator calendar contract core gate reference-apis/src reference-apis/migrations app frontend server/src style migrations public tools -type f 2>/dev/null) \
           reference-apis/Cargo.toml server/Cargo.toml \
           Cargo.toml Cargo.lock .cargo/config.toml rust-toolchain.toml scripts/build-site
RELEASE_STAMP := target/site/.release-build

$(RELEASE_STAMP): $(SOURCES) | release-deps
	$(call say,Building the release server and console bundle)
	scripts/build-site
	@touch $@

build-release: release-deps $(RELEASE_STAMP)

run: build-release
	$(call say,Migrating the database)
	./target/release/portcullis migrate
	@metrics=$${PORTCULLIS_METRICS_ADDR:-127.0.0.1:9464}; \
	if [ "$$metrics" = off ]; then metrics=; else metrics="; metrics on http://$$metrics/metrics"; fi; \
	printf '\n\033[1m==> %s\033[0m\n' "Serving the console on http://$${PORTCULLIS_ADDR:-127.0.0.1:3000}$$metrics (Ctrl-C stops)"
	PORTCULLIS_METRICS_ADDR=$${PORTCULLIS_METRICS_ADDR:-127.0.0.1:9464} exec ./target/release/portcullis serve

# -------------------------------------------------------------------- test --

fmt-check: rust-deps
	$(call say,cargo fmt --check)
	cargo fmt --all -- --check

# `app` is built once for the server (ssr) and once for the browser
# (hydrate); the two must not be unified, so the wasm side is linted apart.
clippy: rust-deps
	$(call say,clippy (server side))
	cargo clippy --workspace --exclude frontend --all-targets -- -D warnings
	$(call say,clippy (browser side))
	cargo clippy -p frontend --target wasm32-unknown-unknown -- -D warnings

unit: rust-deps pg-deps oauth-libs-deps
	$(call say,Rust unit and integration tests (SQLite))
	cargo test --workspace --exclude frontend

# The gate is for other services too: it must not pull in the server's
# domain, a database driver or Leptos. The reference APIs prove that a
# resource server needs only the gate: no issuer domain under them either.
gate-standalone: rust-deps
	$(call say,portcullis-gate stands alone)
	@if cargo tree -p portcullis-gate --all-features -e normal --prefix none \
	    | grep -E '^(portcullis-core|portcullis-server|app|sqlx[a-z-]*|argon2|leptos[a-z_-]*) '; then \
	  echo "portcullis-gate depends on the crates above: it must stand alone"; exit 1; \
	fi
	@echo "no portcullis-core, sqlx, argon2 or leptos under portcullis-gate"
	@if cargo tree -p portcullis-reference-apis -p portcullis-contract --all-features -e normal --prefix none \
	    | grep -E '^(portcullis-core|portcullis-server|app|argon2|leptos[a-z_-]*) '; then \
	  echo "the reference APIs (or the contract crate) depend on the crates above: a resource server needs only the gate"; exit 1; \
	fi
	@echo "no portcullis-core, argon2 or leptos under portcullis-reference-apis"

# The same integration suite again, each test on a new database in a
# throw-away PostgreSQL cluster, plus the multi-node tests (real processes
# on one database, and a throw-away Redis); both are stopped and deleted
# afterwards. One file alone: see README.md, "Tests".
unit-postgres: rust-deps pg-deps oauth-libs-deps
	$(call say,Integration and multi-node tests on PostgreSQL and Redis (throw-away servers))
	@dir=$$(mktemp -d /tmp/portcullis-pg.XXXXXX); \
	trap 'scripts/pg-cluster stop "$$dir/cluster"; scripts/redis-tmp stop "$$dir/redis"; rm -rf "$$dir"' EXIT; \
	url=$$(scripts/pg-cluster start "$$dir/cluster"); \
	redis=$$(scripts/redis-tmp start "$$dir/redis"); \
	PORTCULLIS_TEST_POSTGRES=$$url PORTCULLIS_TEST_REDIS=$$redis cargo test -p portcullis-server --test it

# README.md's page-weight table is the built bundle's (scripts/page-weight).
page-weight: build-release
	$(call say,Page weight: README.md against the built bundle)
	scripts/page-weight --check

# The browser tests run against the release server and bundle: exactly what
# `make run` serves, so a release-only build failure fails the tests too.
e2e: e2e-deps build-release
	$(call say,Browser tests in Chromium (release build))
	@port=$$(node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"); \
	data=$$(mktemp -d); \
	trap 'rm -rf "$$data"' EXIT; \
	cd end2end && E2E_PORT=$$port E2E_DATA_DIR=$$data npx playwright test

# The release build comes before the slower test suites: a build that would
# break `make run` fails here first.
test: fmt-check clippy gate-standalone build-release page-weight unit unit-postgres e2e
	$(call say,All checks passed)

# ------------------------------------------------------------------- bench --

# The release server in-process on free loopback ports with a throw-away
# database, and a one-thread load generator beside it. Figures vary with
# the machine's load: compare numbers from one run.
bench: build-release pg-deps
	$(call say,Building the release server and the load generator)
	cargo build --release -p portcullis-bench
	@if [ ! -d bench/oidc-provider/node_modules/oidc-provider ]; then \
	  echo "Installing oidc-provider (the token endpoint's comparison) from npm"; \
	  npm ci --prefix bench/oidc-provider --no-audit --no-fund --silent; \
	fi
	$(call say,Measuring on loopback (throw-away PostgreSQL and Redis for the multi-node benches))
	@dir=$$(mktemp -d /tmp/portcullis-bench.XXXXXX); \
	trap 'scripts/pg-cluster stop "$$dir/cluster"; scripts/redis-tmp stop "$$dir/redis"; rm -rf "$$dir"' EXIT; \
	PORTCULLIS_BENCH_POSTGRES=$$(scripts/pg-cluster start "$$dir/cluster") \
	PORTCULLIS_BENCH_REDIS=$$(scripts/redis-tmp start "$$dir/redis") \
	./target/release/portcullis-bench --write-readme

clean:
	cargo clean
	rm -rf end2end/test-results end2end/playwright-report
