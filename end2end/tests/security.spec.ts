import { expect, test } from '@playwright/test';
import {
  PASSWORD,
  hydrated,
  join,
  logIn,
  logOut,
  setUpSecondFactor,
  totp,
  signUp,
  uniqueEmail,
  watchForErrors,
} from './helpers';

test('a second factor: set up from a QR code, then needed at log-in', async ({ page }) => {
  const problems = watchForErrors(page);
  const email = uniqueEmail('totp');
  await signUp(page, 'Two Step Ltd', email);
  await page.getByRole('link', { name: 'Security' }).click();
  await expect(page).toHaveURL(/\/security$/);
  await expect(page.getByTestId('second-factor-state')).toContainText('Off.');
  const { secret, codes } = await setUpSecondFactor(page);
  expect(codes).toHaveLength(10);
  await expect(page.getByTestId('second-factor-state')).toContainText('10 unused recovery codes');

  await logOut(page);
  await logIn(page, email);
  await expect(page).toHaveURL(/\/login\/code$/);
  await hydrated(page);
  await page.getByLabel('Code').fill('000000');
  await page.getByTestId('submit').click();
  await expect(page.getByRole('alert')).toContainText('That code is not right');
  // The phone is lost: a recovery code gets in, once.
  await page.getByLabel('Code').fill(codes[0]);
  await page.getByTestId('submit').click();
  await expect(page).toHaveURL(/\/projects$/);
  // Leaving while the page's lazy islands load aborts their fetch, which
  // the loader reports as an error: let them arrive first.
  await hydrated(page);
  await page.goto('/security');
  await expect(page.getByTestId('second-factor-state')).toContainText('9 unused recovery codes');
  // New recovery codes take the password and a code from the app (the
  // next step's: this step's was spent setting the factor up).
  await hydrated(page);
  await page.getByTestId('renew-password').fill(PASSWORD);
  await page.getByTestId('renew-code').fill(totp(secret, Date.now() + 30_000));
  await page.getByTestId('renew-codes').click();
  await expect(page.getByTestId('recovery-codes')).toBeVisible();
  const fresh = (await page.getByTestId('recovery-code').allTextContents()).map((c) => c.trim());
  expect(fresh).toHaveLength(10);
  await page.getByTestId('codes-done').click();
  // Turning it off takes the password and a code: here, a recovery code.
  await page.getByTestId('off-password').fill(PASSWORD);
  await page.getByTestId('off-code').fill(fresh[0]);
  await page.getByTestId('second-factor-off').click();
  await expect(page.getByTestId('second-factor-state')).toContainText('Off.');
  // The one refusal above is the wrong code's 422; nothing else went wrong.
  expect(problems.filter((p) => !p.includes('status of 422'))).toEqual([]);
});

test('an owner resets a member password with a one-time link; the member is signed out', async ({ browser, page }) => {
  await signUp(page, 'Reset Co', uniqueEmail('owner'));
  await page.getByRole('link', { name: 'Team' }).click();
  await hydrated(page);
  await page.getByTestId('invite-role').selectOption('developer');
  await page.getByTestId('create-invite').click();
  const invite = (await page.getByTestId('invite-link').textContent())!.trim();

  const member = await (await browser.newContext()).newPage();
  const memberEmail = uniqueEmail('member');
  await join(member, invite, memberEmail);

  await page.reload();
  await hydrated(page);
  await page.getByTestId('reset-member-password').click();
  const link = (await page.getByTestId('reset-link').textContent())!.trim();
  expect(link).toMatch(/\/reset#[A-Za-z0-9_-]{43}$/);

  const holder = await (await browser.newContext()).newPage();
  await holder.goto(link);
  await hydrated(holder);
  await expect(holder.getByTestId('reset-preview')).toContainText(memberEmail);
  await holder.getByLabel('New password').fill('a brand new passphrase');
  await holder.getByTestId('reset-submit').click();
  await expect(holder).toHaveURL(/\/login\?reset=1$/);
  await expect(holder.getByTestId('auth-notice')).toContainText('Your password is set');

  await member.goto('/projects');
  await expect(member).toHaveURL(/\/login/);
  await logIn(holder, memberEmail, 'a brand new passphrase');
  await expect(holder).toHaveURL(/\/projects$/);

  // Spent.
  const again = await (await browser.newContext()).newPage();
  await again.goto(link);
  await hydrated(again);
  await expect(again.getByTestId('reset-invalid')).toBeVisible();
});

test('changing a password keeps this session and ends the others', async ({ browser, page }) => {
  const email = uniqueEmail('change');
  await signUp(page, 'Change Co', email);
  const other = await (await browser.newContext()).newPage();
  await other.goto('/login');
  await logIn(other, email);
  await expect(other).toHaveURL(/\/projects$/);

  await page.goto('/security');
  await hydrated(page);
  await page.getByLabel('Current password').fill(PASSWORD);
  await page.getByLabel('New password').fill('another long passphrase');
  await page.getByTestId('change-password').click();
  await expect(page.getByTestId('password-changed')).toBeVisible();
  await page.goto('/projects');
  await expect(page).toHaveURL(/\/projects$/);
  await other.goto('/projects');
  await expect(other).toHaveURL(/\/login/);
});
