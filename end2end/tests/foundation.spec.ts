import { expect, test } from '@playwright/test';
import { ADMIN, DeliveriesPage, LoginPage, MEMBER, SAME_ORIGIN, apiKey } from './pages/portal';

test('an anonymous visitor is sent to the sign-in page', async ({ page }) => {
  await page.goto('/admin/webhook-deliveries');
  await expect(page).toHaveURL(/\/login\?next=%2Fadmin%2Fwebhook-deliveries|\/login\?next=\/admin\/webhook-deliveries/);
  await expect(page.getByRole('heading', { name: 'Sign in to the admin portal' })).toBeVisible();
});

test('a wrong password is refused with one neutral message', async ({ page }) => {
  const login = new LoginPage(page);
  await login.goto();
  await new DeliveriesPage(page).waitForHydration();
  await login.signIn({ email: ADMIN.email, password: 'not-the-password' });
  await expect(page.getByRole('alert')).toHaveText('Invalid email or password');
  // A fresh page, so the second answer cannot be the first one's alert still showing.
  await login.goto();
  await new DeliveriesPage(page).waitForHydration();
  await expect(page.getByRole('alert')).toHaveCount(0);
  await login.signIn({ email: 'nobody@e2e.test', password: 'not-the-password' });
  await expect(page.getByRole('alert')).toHaveText('Invalid email or password');
});

test('an admin signs in and sees real deliveries; the page is interactive after hydration', async ({ page }) => {
  const login = new LoginPage(page);
  await login.goto();
  await login.signIn(ADMIN);
  await expect(page).toHaveURL(/\/admin\/webhook-deliveries$/);
  await expect(page.getByRole('heading', { name: 'Webhook deliveries' })).toBeVisible();

  const log = new DeliveriesPage(page);
  await expect(log.rows().first()).toBeVisible();
  expect(await log.rows().count()).toBeGreaterThan(10);
  await expect(page.getByTestId('current-user')).toHaveText(ADMIN.email);
  // Demo data covers every status.
  await expect(page.locator('[data-testid=delivery-row][data-status=failed]').first()).toBeVisible();
  await expect(page.locator('[data-testid=delivery-row][data-status=succeeded]').first()).toBeVisible();

  // Changing a filter navigates inside the page once the wasm has hydrated it: a marker set
  // on window survives, which a full page load would wipe.
  await log.waitForHydration();
  await page.evaluate(() => ((window as any).__stillHere = true));
  await log.filter('Status').selectOption('failed');
  await expect(page).toHaveURL(/status=failed/);
  await expect(log.rows().first()).toHaveAttribute('data-status', 'failed');
  expect(await page.evaluate(() => (window as any).__stillHere)).toBe(true);
});

test('the page renders on the server before any wasm runs', async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto('/login');
  await new LoginPage(page).signIn(ADMIN);
  await expect(page.getByRole('heading', { name: 'Webhook deliveries' })).toBeVisible();
  await expect(page.getByTestId('delivery-row').first()).toBeVisible();

  // The filter form is an ordinary GET form, and a row's Retry an ordinary POST that comes
  // back to the same view.
  await page.getByRole('combobox', { name: 'Status' }).selectOption('failed');
  await page.getByRole('button', { name: 'Apply' }).click();
  await expect(page).toHaveURL(/\?status=failed$/);
  const statuses = await page.getByTestId('delivery-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-status')));
  expect(statuses.length).toBeGreaterThan(0);
  statuses.forEach((s) => expect(s).toBe('failed'));
  // Retry the first failed row: the browser comes back to the same view, and the delivery
  // gets a new attempt (read through the REST API, not from the page).
  const first = page.getByTestId('delivery-row').first();
  const id = (await first.getAttribute('data-id'))!;
  const attempts = async () => {
    const response = await page.request.get(`/api/v1/deliveries/${id}`, { headers: { authorization: `Bearer ${apiKey()}` } });
    return (await response.json()).attempts.length as number;
  };
  const before = await attempts();
  await first.getByRole('button', { name: 'Retry' }).click();
  await expect(page).toHaveURL(/\/admin\/webhook-deliveries\?status=failed$/);
  await expect.poll(attempts, { timeout: 15_000 }).toBe(before + 1);
  await context.close();
});

test('a member is refused the admin pages and their server functions', async ({ page }) => {
  const login = new LoginPage(page);
  await login.goto();
  await login.signIn(MEMBER);
  await expect(page.getByTestId('access-refused').getByText('Admin or higher role required')).toBeVisible();
  await expect(page.getByTestId('delivery-row')).toHaveCount(0);

  const direct = await page.request.post('/api/delivery_log', { headers: { ...SAME_ORIGIN, 'content-type': 'application/x-www-form-urlencoded' }, data: 'view=' });
  expect(direct.status()).toBe(403);
});

test('a sign-out ends the session', async ({ page }) => {
  const login = new LoginPage(page);
  await login.goto();
  await login.signIn(ADMIN);
  await expect(page.getByRole('heading', { name: 'Webhook deliveries' })).toBeVisible();
  await new DeliveriesPage(page).waitForHydration();
  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await expect(page).toHaveURL(/\/login/);
  await page.goto('/admin/webhook-deliveries');
  await expect(page).toHaveURL(/\/login/);
});

test('"Sign out elsewhere" ends the session in another browser and keeps this one', async ({ browser }) => {
  const elsewhere = await browser.newContext();
  const other = await elsewhere.newPage();
  await new LoginPage(other).goto();
  await new LoginPage(other).signIn(ADMIN);
  await expect(other.getByTestId('current-user')).toHaveText(ADMIN.email);

  const here = await (await browser.newContext()).newPage();
  await new LoginPage(here).goto();
  await new LoginPage(here).signIn(ADMIN);
  await here.getByRole('button', { name: 'Sign out elsewhere' }).click();
  await expect(here).toHaveURL(/\/admin\/webhook-deliveries$/);

  await other.reload();
  await expect(other).toHaveURL(/\/login/);
  await here.reload();
  await expect(here.getByTestId('current-user')).toHaveText(ADMIN.email);
  await elsewhere.close();
});
