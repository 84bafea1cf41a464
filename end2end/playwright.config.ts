import { defineConfig } from '@playwright/test';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// The Makefile picks a free port; the server gets a throw-away database.
const port = Number(process.env.E2E_PORT ?? 3107);
const baseURL = `http://127.0.0.1:${port}`;
const dataDir = process.env.E2E_DATA_DIR ?? mkdtempSync(join(tmpdir(), 'portcullis-e2e-'));
// Workers inherit this, so tests can reach the same database (staff CLI).
process.env.E2E_DATA_DIR = dataDir;
// The release build `make run` serves: the tests exercise exactly that.
const bin = process.env.E2E_BIN ?? '../target/release/portcullis';
process.env.E2E_BIN = bin;

export default defineConfig({
  testDir: './tests',
  timeout: 30_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  forbidOnly: !!process.env.CI,
  reporter: [['list']],
  use: {
    baseURL,
    testIdAttribute: 'data-test-id',
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      // Root in a container needs --no-sandbox; the rest keeps Chromium off
      // the network this machine does not have.
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    },
  },
  webServer: {
    command: `${bin} serve`,
    url: `${baseURL}/healthz`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: 'pipe',
    stderr: 'pipe',
    env: {
      PORTCULLIS_ADDR: `127.0.0.1:${port}`,
      DATABASE_URL: `sqlite://${dataDir}/e2e.db`,
      // A developer's setting would take the tests' records elsewhere.
      PORTCULLIS_APIS_DATABASE_URL: '',
      PORTCULLIS_MASTER_KEY_FILE: `${dataDir}/master.key`,
      LEPTOS_SITE_ROOT: '../target/site',
      PORTCULLIS_SCOPES: '../scopes.toml',
      // Every test signs up from 127.0.0.1; the per-address limit has its
      // own integration test.
      PORTCULLIS_SIGN_UPS_PER_ADDRESS: '10000',
      // The webhook test's receiver listens on loopback.
      PORTCULLIS_WEBHOOK_PRIVATE_TARGETS: 'true',
      // The key test's JWK Set is served on loopback too.
      PORTCULLIS_KEY_FETCH_PRIVATE_TARGETS: 'true',
      RUST_LOG: 'warn',
    },
  },
});
