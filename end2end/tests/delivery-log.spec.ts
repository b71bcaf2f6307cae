import { expect, test } from '@playwright/test';
import { DeliveriesPage, LoginPage, MEMBER, SAME_ORIGIN, publish, receiverAnswers, signInAsAdmin } from './pages/portal';

// The demo data has ~150 deliveries across four endpoints; the "Local receiver" endpoint points
// at the demo's test receiver (its own port, 3101 in these runs), which the tests steer.

test.beforeEach(async ({ page }) => {
  page.on('console', (m) => {
    if (m.type() === 'error') console.log('BROWSER', m.text().slice(0, 600));
  });
});

test.afterEach(async ({ request }) => {
  await receiverAnswers(request, { mode: 'ok' });
});

test('an admin filters, searches, sorts and pages through the log', async ({ page }) => {
  await signInAsAdmin(page);
  const log = new DeliveriesPage(page);
  await log.waitForHydration();

  // Every visible row satisfies `check` (retried until the new page has replaced the old one).
  const allRows = async (cell: string, check: (text: string) => void) => {
    await expect(async () => {
      const texts = await log.rows().locator(cell).allTextContents();
      expect(texts.length).toBeGreaterThan(0);
      texts.forEach(check);
    }).toPass({ timeout: 10_000 });
  };

  await page.evaluate(() => ((window as any).__stillHere = true));
  await log.filter('Status').selectOption('failed');
  await expect(page).toHaveURL(/status=failed/);
  await expect(async () => {
    const statuses = await log.rows().evaluateAll((rows) => rows.map((r) => r.getAttribute('data-status')));
    expect(statuses.length).toBeGreaterThan(0);
    statuses.forEach((s) => expect(s).toBe('failed'));
  }).toPass({ timeout: 10_000 });

  await log.filter('Event type').selectOption('payment.*');
  await expect(page).toHaveURL(/event=payment\.\*/);
  await allRows('td:nth-child(2) div:first-child', (text) => expect(text).toMatch(/^payment\./));

  // Back shows the previous view again, its filters included, still without a page load.
  await page.goBack();
  await expect(page).toHaveURL(/\?status=failed$/);
  await expect(log.filter('Event type')).toHaveValue('');
  await expect(log.filter('Status')).toHaveValue('failed');
  await allRows('td:nth-child(3)', (text) => expect(text).toContain('Failed'));
  expect(await page.evaluate(() => (window as any).__stillHere)).toBe(true);

  // Search by webhook name.
  await log.goto();
  await log.search('License server');
  await expect(page).toHaveURL(/q=License/);
  await allRows('td:first-child div:first-child', (name) => expect(name).toBe('License server'));

  // Search by event id: exactly the deliveries of that event.
  const eventId = (await log.rows().first().locator('td:nth-child(2) div:nth-child(2)').textContent())!.trim();
  await log.search(eventId);
  await expect(page).toHaveURL(new RegExp(`q=${eventId}`));
  await allRows('td:nth-child(2)', (text) => expect(text).toContain(eventId));

  // Sort by response code, both ways.
  await log.goto();
  await page.getByTestId('sort-code').click();
  await expect(page).toHaveURL(/sort=code/);
  await expect(log.rows().first()).toBeVisible();
  const descending = (await log.rows().getByTestId('response').allTextContents()).map((t) => parseInt(t, 10) || 0);
  expect(descending).toEqual([...descending].sort((a, b) => b - a));
  await page.getByTestId('sort-code').click();
  await expect(page).toHaveURL(/dir=asc/);
  await expect(async () => {
    const ascending = (await log.rows().getByTestId('response').allTextContents()).map((t) => parseInt(t, 10) || 0);
    expect(ascending).toEqual([...ascending].sort((a, b) => a - b));
  }).toPass();

  // Page forward twice and back: keyset pages, each its own URL.
  await log.goto();
  const firstPage = await log.rows().evaluateAll((rows) => rows.map((r) => r.getAttribute('data-id')));
  expect(firstPage.length).toBe(50);
  await page.getByRole('link', { name: 'Older →' }).click();
  await expect(page).toHaveURL(/cursor=a\./);
  await expect(log.rows().first()).not.toHaveAttribute('data-id', firstPage[0]!);
  const secondPage = await log.rows().evaluateAll((rows) => rows.map((r) => r.getAttribute('data-id')));
  expect(secondPage.filter((id) => firstPage.includes(id))).toEqual([]);
  await page.getByRole('link', { name: '← Newer' }).click();
  await expect(log.rows().first()).toHaveAttribute('data-id', firstPage[0]!);
  // The URL is the view: a reload shows the same page.
  await page.goBack();
  await expect(log.rows().first()).toHaveAttribute('data-id', secondPage[0]!);
  await page.reload();
  await expect(log.rows().first()).toHaveAttribute('data-id', secondPage[0]!);
});

test('a failed delivery shows what was sent and received; Retry makes it succeed', async ({ page, request }) => {
  await receiverAnswers(request, { mode: 'status', status: 500, body: '<script>window.__pwned = true</script>{"error":"down"}' });
  const eventId = await publish(request, 'user.created', { user_id: 'usr_e2e', email: 'e2e@example.com' });

  await signInAsAdmin(page);
  const log = new DeliveriesPage(page);
  await log.goto(`?q=${eventId}`);
  const row = log.rows().filter({ hasText: 'Local receiver' });
  await expect(row).toHaveAttribute('data-status', 'failed', { timeout: 20_000 });
  await row.getByRole('link', { name: 'View' }).click();
  await expect(page).toHaveURL(/\/admin\/webhook-deliveries\/[0-9a-f-]{36}$/);

  await expect(page.getByTestId('request-headers')).toContainText('webhook-signature');
  await expect(page.getByTestId('request-headers')).toContainText('v1,');
  await expect(page.getByTestId('request-headers')).toContainText('x-webhook-signature');
  await expect(page.getByTestId('payload')).toContainText('"email": "e2e@example.com"');
  await expect(page.getByTestId('response-status')).toHaveText('500');
  // The body is shown as text: the script tag is visible and never ran.
  await expect(page.getByTestId('response-body')).toContainText('<script>window.__pwned = true</script>');
  expect(await page.evaluate(() => (window as any).__pwned)).toBeUndefined();
  await expect(page.getByTestId('attempt')).toHaveCount(2); // first try + one retry (schedule 1s)

  await receiverAnswers(request, { mode: 'ok' });
  await new DeliveriesPage(page).waitForHydration();
  await page.getByRole('button', { name: 'Retry', exact: true }).click();
  await expect(page.getByTestId('attempt')).toHaveCount(3, { timeout: 15_000 });
  await expect(page.getByTestId('attempt').first()).toHaveAttribute('data-result', 'success');
  await expect(page.getByTestId('attempt').first().getByTestId('trigger')).toHaveText('manual by admin@e2e.test');
  await expect(page.getByTestId('delivery-status')).toHaveText('Success');
});

test('Retry on a failed row of the log runs in place', async ({ page, request }) => {
  await receiverAnswers(request, { mode: 'status', status: 502 });
  const eventId = await publish(request, 'user.created', { user_id: 'usr_row_retry' });
  await signInAsAdmin(page);
  const log = new DeliveriesPage(page);
  await log.goto(`?q=${eventId}`);
  const row = log.rows().filter({ hasText: 'Local receiver' });
  await expect(async () => {
    await log.goto(`?q=${eventId}`);
    await expect(row).toHaveAttribute('data-status', 'failed', { timeout: 1000 });
  }).toPass({ timeout: 20_000 });

  await page.evaluate(() => ((window as any).__stillHere = true));
  await receiverAnswers(request, { mode: 'ok' });
  await row.getByRole('button', { name: 'Retry' }).click();
  await expect(row).toHaveAttribute('data-status', 'succeeded', { timeout: 15_000 });
  await expect(row.getByTestId('response')).toHaveText('200');
  expect(await page.evaluate(() => (window as any).__stillHere)).toBe(true);
});

test('bulk retry shows its count, asks, and retries every failed match', async ({ page, request }) => {
  await receiverAnswers(request, { mode: 'status', status: 503 });
  const ids = [];
  for (let n = 0; n < 3; n++) ids.push(await publish(request, 'invoice.purchase', { invoice_id: `inv_bulk_${n}` }));

  await signInAsAdmin(page);
  const log = new DeliveriesPage(page);
  const endpoint = await page.evaluate(async () => {
    const options = Array.from(document.querySelectorAll('select[name=endpoint] option'));
    return (options.find((o) => o.textContent === 'Local receiver') as HTMLOptionElement).value;
  });
  const view = `?status=failed&event=invoice.purchase&endpoint=${endpoint}`;
  await expect(async () => {
    await log.goto(view);
    await expect(log.rows()).toHaveCount(3, { timeout: 1000 });
  }).toPass({ timeout: 20_000 });

  await receiverAnswers(request, { mode: 'ok' });
  await page.getByRole('button', { name: 'Retry all failed matching this filter' }).click();
  await expect(page.getByText('Retry 3 failed deliveries?')).toBeVisible();
  await page.getByRole('button', { name: 'Retry all', exact: true }).click();
  await expect(page.getByTestId('bulk-retry')).toContainText('3 of 3 queued', { timeout: 15_000 });
  await expect(async () => {
    await log.goto(`?event=invoice.purchase&endpoint=${endpoint}&status=success`);
    await expect(log.rows()).toHaveCount(3, { timeout: 1000 });
  }).toPass({ timeout: 20_000 });
});

test('new deliveries are offered above the rows being read, without moving them', async ({ page, request }) => {
  await signInAsAdmin(page);
  const log = new DeliveriesPage(page);
  await log.goto();
  const reading = await log.rows().evaluateAll((rows) => rows.slice(0, 5).map((r) => r.getAttribute('data-id')));

  // The server pushes word of changed deliveries; the page listens once it is hydrated.
  await expect(page.locator('[data-push="open"]')).toHaveCount(1);
  await publish(request, 'user.created', { user_id: 'usr_live' });
  // Within a second the new deliveries are announced, not inserted.
  const banner = page.getByTestId('newer-deliveries');
  await expect(banner).toBeVisible({ timeout: 1_000 });
  await expect(banner).toHaveText(/^\d+\+? newer deliver(y|ies) — show$/);
  expect(await log.rows().evaluateAll((rows) => rows.slice(0, 5).map((r) => r.getAttribute('data-id')))).toEqual(reading);

  await banner.click();
  await expect(banner).toBeHidden();
  await expect(log.rows().first()).not.toHaveAttribute('data-id', reading[0]!);
  await expect(log.rows().filter({ hasText: 'user.created' }).first()).toBeVisible();
});

test('members and anonymous callers cannot call the log functions', async ({ page, playwright }) => {
  const anonymous = await playwright.request.newContext({ baseURL: 'http://127.0.0.1:3100' });
  const form = { headers: { ...SAME_ORIGIN, 'content-type': 'application/x-www-form-urlencoded' }, data: 'view=' };
  expect((await anonymous.post('/api/delivery_log', form)).status()).toBe(401);
  expect((await anonymous.post('/api/bulk_retry_count', form)).status()).toBe(401);
  await anonymous.dispose();

  const login = new LoginPage(page);
  await login.goto();
  await login.signIn(MEMBER);
  await expect(page.getByTestId('access-refused').getByText('Admin or higher role required')).toBeVisible();
  for (const fn of ['delivery_log', 'bulk_retry_count', 'start_bulk_retry', 'filter_choices']) {
    const response = await page.request.post(`/api/${fn}`, form);
    expect(response.status(), fn).toBe(403);
  }
  await page.goto('/admin/webhook-deliveries/00000000-0000-7000-8000-000000000000');
  await expect(page.getByTestId('access-refused').getByText('Admin or higher role required')).toBeVisible();
});
