import { expect, type APIRequestContext, type Page } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const ADMIN = { email: 'admin@e2e.test', password: 'admin-password' };
export const MEMBER = { email: 'member@e2e.test', password: 'member-password' };
export const OWNER = { email: 'owner@e2e.test', password: 'owner-password' };

/** The API key scripts/e2e-server.sh created for this run. */
export function apiKey(): string {
  return readFileSync(join(__dirname, '..', '..', '.state', 'api-key'), 'utf8').trim();
}

/** Publishes an event through the REST API; returns its id (evt_…). */
export async function publish(request: APIRequestContext, type: string, data: unknown): Promise<string> {
  const response = await request.post('/api/v1/events', {
    headers: { authorization: `Bearer ${apiKey()}` },
    data: { type, data },
  });
  expect(response.status()).toBe(201);
  return (await response.json()).id;
}

/** The header a portal page's own form posts carry (the server refuses writes without it). */
export const SAME_ORIGIN = { origin: 'http://127.0.0.1:3100' };

/** The demo's test receiver: its own port, its control API behind a token. */
export const RECEIVER = 'http://127.0.0.1:3101';

function receiverAuth() {
  const token = readFileSync(join(__dirname, '..', '..', '.state', 'receiver-token'), 'utf8').trim();
  return { authorization: `Bearer ${token}` };
}

/** Tells the demo's local receiver how to answer. */
export async function receiverAnswers(request: APIRequestContext, mode: Record<string, unknown>) {
  const response = await request.put(`${RECEIVER}/_mode`, { data: mode, headers: receiverAuth() });
  expect(response.status()).toBe(204);
}

/** What the demo receiver recorded at `path`. */
export async function receivedAt(request: APIRequestContext, path: string) {
  const all = await (await request.get(`${RECEIVER}/_requests`, { headers: receiverAuth() })).json();
  return all.filter((r: any) => r.path === path).map((r: any) => ({ headers: Object.fromEntries(r.headers), body: r.body }));
}

/**
 * Waits until the page's islands are live. Pages are rendered on the server and only their
 * interactive parts (islands) hydrate, after every full page load; before that a form falls
 * back to an ordinary POST.
 */
export async function waitForHydration(page: Page) {
  await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(1);
}

/** The sign-in page. */
export class LoginPage {
  constructor(private readonly page: Page) {}

  async goto() {
    await this.page.goto('/login');
  }

  async signIn(user: { email: string; password: string }) {
    await this.page.getByLabel('Email').fill(user.email);
    await this.page.getByLabel('Password').fill(user.password);
    await this.page.getByRole('button', { name: 'Sign in' }).click();
  }
}

export async function signInAs(page: Page, user: { email: string; password: string }) {
  const login = new LoginPage(page);
  await login.goto();
  await login.signIn(user);
  await expect(page.getByRole('heading', { name: 'Webhook deliveries' })).toBeVisible();
}

export async function signInAsAdmin(page: Page) {
  await signInAs(page, ADMIN);
}

/** The delivery log at /admin/webhook-deliveries. */
export class DeliveriesPage {
  constructor(private readonly page: Page) {}

  async goto(query = '') {
    await this.page.goto(`/admin/webhook-deliveries${query}`);
    await this.waitForHydration();
  }

  rows() {
    return this.page.getByTestId('delivery-row');
  }

  async waitForHydration() {
    await waitForHydration(this.page);
  }

  filter(label: string) {
    return this.page.getByRole('combobox', { name: label });
  }

  async search(text: string) {
    await this.page.getByRole('searchbox', { name: 'Search' }).fill(text);
    await this.page.getByRole('button', { name: 'Apply' }).click();
  }
}
