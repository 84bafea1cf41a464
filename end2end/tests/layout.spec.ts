import { expect, test, type Page } from '@playwright/test';
import { hydrated, newClient, newProject, signUp, staffSignIn, uniqueEmail } from './helpers';

const WIDTHS = [1280, 390];

/** What sticks out: the page itself scrolling sideways, or any element
 *  reaching past the card (or client, panel, auth card) it sits in. */
async function overflow(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const problems: string[] = [];
    const doc = document.documentElement;
    if (doc.scrollWidth > doc.clientWidth) {
      problems.push(`the page scrolls sideways: ${doc.scrollWidth} > ${doc.clientWidth}`);
    }
    const name = (el: Element) => {
      const test = el.getAttribute('data-test-id');
      const cls = el.getAttribute('class');
      return `<${el.tagName.toLowerCase()}${test ? ` data-test-id=${test}` : ''}${cls ? ` class="${cls}"` : ''}>`;
    };
    const boxes = document.querySelectorAll('.card, .client, .panel, .auth-card, .empty-state');
    for (const box of boxes) {
      const b = box.getBoundingClientRect();
      for (const el of box.querySelectorAll('*')) {
        const r = el.getBoundingClientRect();
        if (r.width === 0 && r.height === 0) continue; // not rendered
        if (r.right > b.right + 1 || r.left < b.left - 1) {
          problems.push(`${name(el)} overflows ${name(box)} by ${Math.round(Math.max(r.right - b.right, b.left - r.left))}px`);
        }
      }
    }
    return problems;
  });
}

async function check(page: Page, path: string, width: number) {
  await page.setViewportSize({ width, height: 900 });
  await page.goto(path);
  await hydrated(page);
  expect(await overflow(page), `${path} at ${width}px`).toEqual([]);
}

test('no console page scrolls sideways or spills out of a card, at 1280 px and 390 px', async ({ page, browser }) => {
  test.setTimeout(120_000);
  // An account with something on every page: long ids in the audit log, two
  // clients mid-rotation, a pending invitation.
  const ownerEmail = uniqueEmail('layout.owner.with.a.rather.long.address');
  await signUp(page, 'Layout Checking Organisation With A Long Name', ownerEmail);
  await expect(page.getByTestId('page-title')).toHaveText('Projects');
  await hydrated(page);
  await newProject(page, 'Reconciliation export for the finance warehouse', 'api-caas');
  const projectPath = new URL(page.url()).pathname;
  const { id } = await newClient(page, ['caas:transactions:read', 'caas:users:delete']);
  await page.locator(`[data-client-id="${id}"]`).getByTestId('rotate').click();
  await page.getByTestId('secret-done').click();
  await page.goto('/team');
  await hydrated(page);
  await page.getByTestId('create-invite').click();
  await expect(page.getByTestId('invite-link')).toBeVisible();

  for (const width of WIDTHS) {
    for (const path of ['/projects', projectPath, '/audit', '/audit?action=client.rotate', '/team', '/webhooks', '/settings', '/no-such-page']) {
      await check(page, path, width);
    }
    // The open panels of a client card.
    await page.setViewportSize({ width, height: 900 });
    await page.goto(projectPath);
    await hydrated(page);
    const card = page.locator(`[data-client-id="${id}"]`);
    await card.getByTestId('open-mint').click();
    await card.getByTestId('mint-form').getByTestId('scope-caas:transactions:read').check();
    await card.getByTestId('mint-submit').click();
    await expect(card.getByTestId('minted-claims')).toBeVisible();
    expect(await overflow(page), `test token at ${width}px`).toEqual([]);
    await card.getByTestId('open-retire').click();
    await expect(card.getByTestId('retire-form')).toBeVisible();
    expect(await overflow(page), `retire panel at ${width}px`).toEqual([]);
  }

  // Signed out.
  const visitor = await (await browser.newContext()).newPage();
  for (const width of WIDTHS) {
    for (const path of ['/login', '/signup', '/join#not-a-real-invitation']) {
      await check(visitor, path, width);
    }
  }

  // Support staff: the search, its results and an account's log.
  const { staff } = await staffSignIn(browser, 'layout.support');
  for (const width of WIDTHS) {
    await check(staff, '/staff', width);
    await check(staff, `/staff?q=${encodeURIComponent('Layout Checking')}`, width);
    await staff.getByTestId('open-account-log').first().click();
    await expect(staff.getByTestId('account-log').first()).toBeVisible();
    expect(await overflow(staff), `staff account log at ${width}px`).toEqual([]);
  }
});
