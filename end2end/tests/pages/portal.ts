import { expect, type Page } from '@playwright/test';

export const ADMIN = { email: 'admin@e2e.test', password: 'admin-password' };
export const MEMBER = { email: 'member@e2e.test', password: 'member-password' };

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

/** The delivery log at /admin/webhook-deliveries. */
export class DeliveriesPage {
  constructor(private readonly page: Page) {}

  rows() {
    return this.page.getByTestId('delivery-row');
  }

  async waitForHydration() {
    await expect(this.page.locator('body[data-hydrated="true"]')).toHaveCount(1);
  }
}
