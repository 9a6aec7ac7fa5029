/**
 * Text from users stays text (no markup runs in the sidebar), the dark theme renders, and
 * the tabs work from the keyboard.
 */
import { expect, test } from '@jupyterlab/galata';

import {
  openSidebar,
  runsOfExperiment,
  screenshot,
  seed,
  showView,
  uniqueTag,
  XSS
} from './helpers';

test('markup in run names, descriptions and comments shows as text', async ({ page }) => {
  const tag = uniqueTag('xss');
  seed('seed-runs', tag, '2', '--xss-name');
  const requests = seed<any>('seed-requests', tag, '--xss');
  const panelRoot = page.locator('#jp-modelops-panel');

  const runs = await showView(page, 'runs');
  await runsOfExperiment(runs, tag);
  await expect(runs.getByTestId('modelops-runs-row').first()).toContainText('<img src=x');

  const models = await showView(page, 'models');
  const model = models.locator(
    `[data-testid="modelops-model-row"][data-model-name="${requests.alice.model}"]`
  );
  await model.click();
  await expect(models.getByText('<script>window.__xss=2</script>', { exact: false }).first()).toBeVisible();

  const reqs = await showView(page, 'requests');
  await reqs
    .locator(`[data-testid="modelops-request-row"][data-request-id="${requests.alice.request_id}"]`)
    .click();
  await expect(reqs.getByText('onerror="window.__xss=1"', { exact: false }).first()).toBeVisible();

  expect(await page.evaluate(() => (window as any).__xss)).toBeUndefined();
  await expect(panelRoot.locator('img[src="x"]')).toHaveCount(0);
  await expect(panelRoot.locator('script')).toHaveCount(0);
  expect(XSS).toContain('<img');
});

test('dark theme and keyboard navigation of the tabs', async ({ page }, testInfo) => {
  const p = await openSidebar(page);
  await page.evaluate(async () => {
    await window.jupyterapp.commands.execute('apputils:change-theme', {
      theme: 'JupyterLab Dark'
    });
  });
  await expect(page.locator('body')).toHaveAttribute('data-jp-theme-light', 'false');
  await expect(p.locator('[data-view="runs"]')).toBeVisible();
  await screenshot(p, testInfo, 'dark-theme');

  // Arrow keys move focus and selection along the tabs (WAI-ARIA tabs pattern).
  const order = ['runs', 'models', 'requests', 'deployments', 'inventory', 'sync'];
  await p.locator('#jp-ModelOps-tab-runs').focus();
  for (const next of order.slice(1)) {
    await page.keyboard.press('ArrowRight');
    const tab = p.locator(`#jp-ModelOps-tab-${next}`);
    await expect(tab).toBeFocused();
    await expect(tab).toHaveAttribute('aria-selected', 'true');
    await expect(p.locator(`[data-view="${next}"]`)).toBeVisible();
  }
  await page.keyboard.press('ArrowRight');
  await expect(p.locator('#jp-ModelOps-tab-runs')).toBeFocused();
  await page.keyboard.press('End');
  await expect(p.locator('#jp-ModelOps-tab-sync')).toBeFocused();
  await page.keyboard.press('Home');
  await expect(p.locator('#jp-ModelOps-tab-runs')).toHaveAttribute('aria-selected', 'true');
  // Only the selected tab is in the Tab order; Tab moves into the view.
  await expect(p.locator('[role="tab"][tabindex="0"]')).toHaveCount(1);

  await page.evaluate(async () => {
    await window.jupyterapp.commands.execute('apputils:change-theme', {
      theme: 'JupyterLab Light'
    });
  });
});
