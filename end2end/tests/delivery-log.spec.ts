import { expect, test } from '@playwright/test';
import { DeliveriesPage, LoginPage, MEMBER, publish, receiverAnswers, signInAsAdmin } from './pages/portal';

// The demo data has ~150 deliveries across four endpoints; the "Local receiver" endpoint points
// at the receiver Herald mounts at /demo/receiver in demo mode, which the tests steer.

test.beforeEach(async ({ page }) => {
  page.on('console', (m) => {
    if (m.type() === 'error') console.log('BROWSER', m.text().slice(0, 600));
  });
});

test.afterEach(async ({ request }) => {
  await receiverAnswers(request, { mode: 'ok' });
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

test('members and anonymous callers cannot call the log functions', async ({ page, playwright }) => {
  const anonymous = await playwright.request.newContext({ baseURL: 'http://127.0.0.1:3100' });
  const form = { headers: { 'content-type': 'application/x-www-form-urlencoded' }, data: 'view=' };
  expect((await anonymous.post('/api/delivery_log', form)).status()).toBe(401);
  expect((await anonymous.post('/api/bulk_retry_count', form)).status()).toBe(401);
  await anonymous.dispose();

  const login = new LoginPage(page);
  await login.goto();
  await login.signIn(MEMBER);
  await expect(page.getByText('Admin or higher role required')).toBeVisible();
  for (const fn of ['delivery_log', 'bulk_retry_count', 'start_bulk_retry', 'filter_choices']) {
    const response = await page.request.post(`/api/${fn}`, form);
    expect(response.status(), fn).toBe(403);
  }
  await page.goto('/admin/webhook-deliveries/00000000-0000-7000-8000-000000000000');
  await expect(page.getByText('Admin or higher role required')).toBeVisible();
});
