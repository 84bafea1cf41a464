import { expect, type Browser, type Page } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';

export const PASSWORD = 'correct horse battery staple';

/** How long a page may take to show use made elsewhere: every node writes
 * its counts every 5 s and an open page's stream compares them every 5 s. */
export const LIVE = 20_000;

let counter = 0;
/** A fresh address per test, so tests never share an account. */
export function uniqueEmail(tag: string): string {
  counter += 1;
  return `${tag}.${Date.now()}.${counter}@example.com`;
}

/** Waits until the page has hydrated (the app marks <body>).
 *  A rare stall was seen here: the page and its wasm arrived but hydration never began, because
 *  Leptos starts it from `requestIdleCallback` without a deadline and headless Chromium did not
 *  find the page idle. The shell now gives idle callbacks a 1 s deadline (`IDLE_DEADLINE` in
 *  app/src/lib.rs). Should a page still stall, it is reloaded once, loudly, and must hydrate then. */
export async function hydrated(page: Page) {
  const body = page.locator('body');
  try {
    await expect(body).toHaveAttribute('data-hydrated', 'true');
  } catch {
    console.warn(`hydration stalled on ${page.url()}: reloading once`);
    await page.reload();
    await expect(body).toHaveAttribute('data-hydrated', 'true');
  }
}

/** Fails the test on any script error or CSP violation the page reports. */
export function watchForErrors(page: Page): string[] {
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
  });
  return problems;
}

/** Fills and sends the sign-up form; lands on log-in with a notice. */
export async function signUpOnly(page: Page, account: string, email: string, password = PASSWORD) {
  await page.goto('/signup');
  await hydrated(page);
  await page.getByLabel('Organisation name').fill(account);
  await page.getByLabel('Work email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByTestId('submit').click();
  await expect(page).toHaveURL(/\/login\?signed_up=1$/);
  await expect(page.getByTestId('auth-notice')).toContainText('log in with the email and password you chose');
}

/** Signs up, then logs in (sign-up itself starts no session), and waits
 *  on the projects page until it is live: leaving a page while a lazy
 *  island's code is still arriving aborts that download, which Chromium
 *  reports as an error. */
export async function signUp(page: Page, account: string, email: string, password = PASSWORD) {
  await signUpOnly(page, account, email, password);
  await logIn(page, email, password);
  await expect(page).toHaveURL(/\/projects$/);
  await hydrated(page);
}

function base32Decode(text: string): Buffer {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const out: number[] = [];
  for (const c of text.replace(/=+$/, '')) {
    value = (value << 5) | alphabet.indexOf(c);
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** The code an authenticator app shows for `secret` (RFC 6238, SHA-1). */
export function totp(secret: string, at = Date.now()): string {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(at / 1000 / 30)));
  const mac = createHmac('sha1', base32Decode(secret)).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  return ((mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).toString().padStart(6, '0');
}

/** Turns on the second factor from the Security page the browser is on;
 *  the key and the recovery codes shown once. */
export async function setUpSecondFactor(page: Page) {
  await hydrated(page);
  // The password first: a stolen session cannot plant a factor of its own.
  await page.getByTestId('begin-password').fill(PASSWORD);
  await page.getByTestId('second-factor-begin').click();
  await expect(page.locator('img.qr')).toBeVisible();
  const secret = (await page.getByTestId('second-factor-secret').textContent())!.trim();
  await page.getByTestId('second-factor-code').fill(totp(secret));
  await page.getByTestId('second-factor-confirm').click();
  await expect(page.getByTestId('recovery-codes')).toBeVisible();
  const codes = (await page.getByTestId('recovery-code').allTextContents()).map((c) => c.trim());
  await page.getByTestId('codes-done').click();
  await expect(page.getByTestId('second-factor-state')).toContainText('On.');
  return { secret, codes };
}

/** Accepts an invitation link as a new user, then logs in: joining starts
 *  no session (its answer is the same whether or not the email has one). */
export async function join(page: Page, invite: string, email: string, password = PASSWORD) {
  await page.goto(invite);
  await hydrated(page);
  await page.getByLabel('Work email').fill(email);
  await page.getByLabel('Choose a password').fill(password);
  await page.getByTestId('join-submit').click();
  await expect(page).toHaveURL(/\/login\?joined=1$/);
  await expect(page.getByTestId('auth-notice')).toContainText('Log in with the email and password you chose');
  await logIn(page, email, password);
  await expect(page).toHaveURL(/\/projects$/);
}

export async function logIn(page: Page, email: string, password = PASSWORD) {
  await hydrated(page);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByTestId('submit').click();
}

export async function logOut(page: Page) {
  await page.getByTestId('user-menu').click();
  await page.getByTestId('logout').click();
  await expect(page).toHaveURL(/\/login$/);
}

/** Creates a project from the projects page and waits on its page. */
export async function newProject(page: Page, name: string, apiTestId: string) {
  await page.getByTestId('project-name').fill(name);
  await page.getByTestId(apiTestId).check();
  await page.getByTestId('create-project').click();
  await expect(page).toHaveURL(/\/projects\/prj_[0-9a-f]{32}$/);
  await expect(page.getByTestId('page-title')).toContainText(name);
  await hydrated(page);
}

/** Creates a client with `scopes` on the project page; returns the id and
 *  the secret shown once, and dismisses the secret panel. */
export async function newClient(page: Page, scopes: string[]) {
  const form = page.getByTestId('new-client-form');
  for (const scope of scopes) await form.getByTestId(`scope-${scope}`).check();
  await page.getByTestId('create-client').click();
  const id = (await page.getByTestId('new-client-id').textContent())!.trim();
  const secret = (await page.getByTestId('new-client-secret').textContent())!.trim();
  await page.getByTestId('secret-done').click();
  return { id, secret };
}

/** Adds a support staff member with the CLI (the binary under test, on the
 *  tests' database) and signs them in, in a browser context of their own. */
export async function staffSignIn(browser: Browser, tag: string) {
  const email = uniqueEmail(tag);
  execFileSync(process.env.E2E_BIN!, ['staff', 'add', email], {
    input: `${PASSWORD}\n`,
    env: {
      ...process.env,
      DATABASE_URL: `sqlite://${process.env.E2E_DATA_DIR}/e2e.db`,
      PORTCULLIS_MASTER_KEY_FILE: `${process.env.E2E_DATA_DIR}/master.key`,
      RUST_LOG: 'error',
    },
  });
  const staff = await (await browser.newContext()).newPage();
  await staff.goto('/login');
  await logIn(staff, email);
  // Staff set up a second factor before their first staff action.
  await expect(staff).toHaveURL(/\/staff\/security$/);
  await expect(staff.getByTestId('must-set-up')).toBeVisible();
  await setUpSecondFactor(staff);
  await staff.goto('/staff');
  await expect(staff).toHaveURL(/\/staff$/);
  await hydrated(staff);
  return { staff, email };
}
