import { expect, test } from '@playwright/test';
import { LIVE, hydrated, newClient, newProject, signUp, uniqueEmail, watchForErrors } from './helpers';

test('a rate limit set in the console turns API calls into 429s, and the chart shows them', async ({ page, request }) => {
  const problems = watchForErrors(page);
  await signUp(page, 'Throttle Ltd', uniqueEmail('rl'));
  await expect(page.getByTestId('page-title')).toHaveText('Projects');
  await hydrated(page);
  await newProject(page, 'Busy integration', 'api-partner');

  await expect(page.getByTestId('rate-limit-current')).toContainText('25 requests per second, bursts of 50');
  const { id, secret } = await newClient(page, ['applications:read']);

  await page.getByTestId('rate-per-sec').fill('1');
  await page.getByTestId('rate-burst').fill('3');
  await page.getByTestId('save-rate-limit').click();
  await expect(page.getByTestId('rate-limit-current')).toContainText('1 request per second, bursts of 3');

  const minted = await request.post('/oauth/token', {
    headers: { authorization: 'Basic ' + Buffer.from(`${id}:${secret}`).toString('base64') },
    form: { grant_type: 'client_credentials', scope: 'applications:read' },
  });
  expect(minted.status()).toBe(200);
  const token = (await minted.json()).access_token;

  const statuses: number[] = [];
  let limited = null;
  for (let i = 0; i < 6; i++) {
    const res = await request.get('/partner/v1/applications', { headers: { authorization: `Bearer ${token}` } });
    statuses.push(res.status());
    if (res.status() === 429) limited = res;
  }
  expect(statuses).toContain(200);
  expect(statuses).toContain(429);
  expect(limited!.headers()['retry-after']).toMatch(/^\d+$/);
  expect(limited!.headers()['ratelimit-policy']).toBe('"project";q=3;w=3');

  // The chart and the totals show this minute's refusals.
  // The chart follows the traffic while the page is open (no reload).
  // It may show some of them first, as they are counted.
  const refusals = String(statuses.filter((s) => s === 429).length);
  await expect(page.getByTestId('traffic-limited')).toHaveText(refusals, { timeout: LIVE });
  const bars = page.getByTestId('traffic-chart').locator('rect.limited');
  await expect(bars).toHaveCount(60);
  const heights = await bars.evaluateAll((els) => els.map((e) => Number(e.getAttribute('height'))));
  expect(heights.some((h) => h > 0)).toBe(true);
  // Each bar names its numbers on hover.
  await expect(page.getByTestId('traffic-chart').locator('g.bar title').last()).toContainText('limited');

  expect(problems).toEqual([]);
});
