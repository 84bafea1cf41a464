import { expect, test } from '@playwright/test';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hydrated, newClient, newProject, signUp, uniqueEmail, watchForErrors } from './helpers';

type Got = { headers: IncomingHttpHeaders; body: string };

/** A receiver on loopback that records each POST and answers `status`. */
async function receiver() {
  const got: Got[] = [];
  const state = { status: 500 };
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      got.push({ headers: req.headers, body });
      res.statusCode = state.status;
      res.end();
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
  return { got, state, url, close: () => server.close() };
}

/** Standard Webhooks verification, written here from the specification. */
function verify(secret: string, g: Got) {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const signed = `${g.headers['webhook-id']}.${g.headers['webhook-timestamp']}.${g.body}`;
  const expected = createHmac('sha256', key).update(signed).digest();
  const offered = String(g.headers['webhook-signature'])
    .split(' ')
    .filter((s) => s.startsWith('v1,'))
    .map((s) => Buffer.from(s.slice(3), 'base64'));
  expect(offered.some((o) => o.length === expected.length && timingSafeEqual(o, expected))).toBe(true);
  const age = Math.abs(Date.now() / 1000 - Number(g.headers['webhook-timestamp']));
  expect(age).toBeLessThan(300);
}

test('an owner registers a webhook, sees its secret once, reads the delivery log and sends a failed delivery again', async ({
  page,
}) => {
  const problems = watchForErrors(page);
  const r = await receiver();
  try {
    const email = uniqueEmail('hooks');
    await signUp(page, 'Hooked Ltd', email);
    await page.getByRole('link', { name: 'Webhooks' }).click();
    await expect(page).toHaveURL(/\/webhooks$/);
    await hydrated(page);
    await expect(page.getByTestId('webhook-none')).toBeVisible();

    await page.getByTestId('webhook-url-input').fill(r.url);
    // Every event is ticked at first; this endpoint wants new clients only.
    const events = page.getByTestId('webhook-event');
    await expect(events).toHaveCount(12);
    for (const box of await events.all()) {
      if ((await box.getAttribute('value')) !== 'client.created') await box.uncheck();
    }
    await page.getByTestId('webhook-description').fill('ops pager');
    await page.getByTestId('webhook-create').click();
    const secret = (await page.getByTestId('webhook-secret').textContent())!.trim();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    await page.getByTestId('webhook-secret-done').click();
    const row = page.getByTestId('webhook-row');
    await expect(row.getByTestId('webhook-url')).toHaveText(r.url);
    await expect(row.getByTestId('webhook-state')).toHaveText('On');
    await page.reload();
    await hydrated(page);
    await expect(page.getByText(secret)).toHaveCount(0);

    // A new client is told to the receiver, which fails at first.
    await page.goto('/projects');
    await hydrated(page);
    await newProject(page, 'Nightly export', 'api-partner');
    const { id } = await newClient(page, ['applications:read']);
    await expect.poll(() => r.got.length, { timeout: 15_000 }).toBeGreaterThanOrEqual(1);
    const first = r.got[0];
    verify(secret, first);
    const event = JSON.parse(first.body);
    expect(event.type).toBe('client.created');
    expect(event.data.client_id).toBe(id);

    await page.goto('/webhooks');
    await hydrated(page);
    // The log as it is when opened (the node records the attempt just after the receiver answers).
    const answerInLog = async () => {
      await page.getByTestId('webhook-show-log').click();
      await page.getByTestId('webhook-show-log').click();
      return page.getByTestId('delivery-answer').textContent();
    };
    await page.getByTestId('webhook-show-log').click();
    const delivery = page.getByTestId('delivery-row');
    await expect(delivery).toHaveCount(1);
    await expect.poll(answerInLog, { timeout: 15_000 }).toBe('HTTP 500');
    await expect(delivery.getByTestId('delivery-status')).toHaveText('pending');

    // The receiver is mended; "Send again" delivers the same message now.
    r.state.status = 200;
    await delivery.getByTestId('delivery-resend').click();
    await expect.poll(() => r.got.length, { timeout: 15_000 }).toBeGreaterThanOrEqual(2);
    const again = r.got[r.got.length - 1];
    verify(secret, again);
    expect(again.headers['webhook-id']).toBe(first.headers['webhook-id']);
    await expect
      .poll(
        async () => {
          await page.getByTestId('webhook-show-log').click();
          await page.getByTestId('webhook-show-log').click();
          return page.getByTestId('delivery-status').textContent();
        },
        { timeout: 15_000 },
      )
      .toBe('delivered');
    await expect(page.getByTestId('delivery-answer')).toHaveText('HTTP 200');

    // Turned off, it says so and by whom.
    await page.getByTestId('webhook-toggle').click();
    await expect(page.getByTestId('webhook-state')).toHaveText(`Off: Turned off by ${email}.`);
    expect(problems).toEqual([]);
  } finally {
    r.close();
  }
});

test('an owner moves an endpoint to a new URL and other events; its secret stays', async ({ page }) => {
  const problems = watchForErrors(page);
  const [old, moved] = [await receiver(), await receiver()];
  moved.state.status = 200;
  try {
    await signUp(page, 'Moving Hooks Ltd', uniqueEmail('hooks-edit'));
    await expect(page.getByTestId('page-title')).toHaveText('Projects');
    await page.goto('/webhooks');
    await hydrated(page);
    await page.getByTestId('webhook-url-input').fill(old.url);
    await page.getByTestId('webhook-create').click();
    const secret = (await page.getByTestId('webhook-secret').textContent())!.trim();
    await page.getByTestId('webhook-secret-done').click();
    const row = page.getByTestId('webhook-row');
    await expect(row.getByTestId('webhook-url')).toHaveText(old.url);

    await row.getByTestId('webhook-edit').click();
    const edit = row.getByTestId('webhook-edit-form');
    // The form starts from what the endpoint has: every event ticked.
    await expect(edit.getByTestId('webhook-url-input')).toHaveValue(old.url);
    for (const box of await edit.getByTestId('webhook-event').all()) {
      await expect(box).toBeChecked();
      if ((await box.getAttribute('value')) !== 'client.created') await box.uncheck();
    }
    // A URL the server refuses changes nothing.
    await edit.getByTestId('webhook-url-input').fill('ftp://example.com/hooks');
    await edit.getByTestId('webhook-save').click();
    await expect(row.getByTestId('form-error')).toContainText('http');
    await expect(row.getByTestId('webhook-url')).toHaveText(old.url);

    await edit.getByTestId('webhook-url-input').fill(moved.url);
    await edit.getByTestId('webhook-description').fill('moved to the new pager');
    await edit.getByTestId('webhook-save').click();
    await expect(row.getByTestId('webhook-edit-form')).toHaveCount(0);
    await expect(row.getByTestId('webhook-url')).toHaveText(moved.url);
    await expect(row).toContainText('Events: client.created ·');
    await expect(row).toContainText('moved to the new pager');
    await page.reload();
    await hydrated(page);
    await expect(page.getByTestId('webhook-url')).toHaveText(moved.url);

    // Deliveries go to the new URL, signed with the secret shown at registration.
    await page.goto('/projects');
    await hydrated(page);
    await newProject(page, 'Moved hooks', 'api-partner');
    const { id } = await newClient(page, ['applications:read']);
    await expect.poll(() => moved.got.length, { timeout: 15_000 }).toBeGreaterThanOrEqual(1);
    verify(secret, moved.got[0]);
    expect(JSON.parse(moved.got[0].body).data.client_id).toBe(id);
    expect(old.got).toEqual([]);
    // The refused edit is logged by Chromium as a failed load; nothing else.
    expect(problems.filter((p) => !p.includes('status of 422'))).toEqual([]);
  } finally {
    old.close();
    moved.close();
  }
});
