/**
 * Text from users stays text (no markup runs in the sidebar); the sidebar fits JupyterLab's
 * default width and a wider one in the light and dark themes; the tabs work from the
 * keyboard.
 */
import { expect, IJupyterLabPageFixture, test } from '@jupyterlab/galata';
import { Locator } from '@playwright/test';

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

test('the sidebar fits the default width, light and dark; the tabs work from the keyboard', async ({
  page
}, testInfo) => {
  const tag = uniqueTag('lay');
  seed('seed-runs', tag, '3');
  // JupyterLab's default width first, then wider as a user would drag it.
  const p = await openSidebar(page, null);
  const runs = p.locator('[data-view="runs"]');
  await runsOfExperiment(runs, tag);
  await expect(runs.getByTestId('modelops-runs-row')).toHaveCount(3);
  for (const theme of ['light', 'dark']) {
    await setTheme(page, theme);
    await expectFits(p);
    await screenshot(p, testInfo, `sidebar-default-${theme}`);
  }
  await openSidebar(page, 480);
  for (const theme of ['dark', 'light']) {
    await setTheme(page, theme);
    await expectFits(p);
    await screenshot(p, testInfo, `sidebar-480-${theme}`);
  }

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
});

async function setTheme(page: IJupyterLabPageFixture, theme: string): Promise<void> {
  await page.evaluate(async light => {
    await window.jupyterapp.commands.execute('apputils:change-theme', {
      theme: light ? 'JupyterLab Light' : 'JupyterLab Dark'
    });
  }, theme === 'light');
  await expect(page.locator('body')).toHaveAttribute(
    'data-jp-theme-light',
    String(theme === 'light')
  );
}

/**
 * The six tabs share one row inside the panel, each named for screen readers, and the
 * first run's name, status and first metric are in view without scrolling the table.
 */
async function expectFits(p: Locator): Promise<void> {
  const tabs = p.getByRole('tab');
  await expect(tabs).toHaveCount(6);
  for (const name of ['Runs', 'Models', 'Requests', 'Deployments', 'Inventory', 'Sync']) {
    await expect(p.getByRole('tab', { name, exact: true })).toBeVisible();
  }
  const geometry = await p.evaluate(panel => {
    const list = panel.querySelector('[role="tablist"]')!.getBoundingClientRect();
    const tabs = Array.from(panel.querySelectorAll('[role="tab"]')).map(t =>
      t.getBoundingClientRect()
    );
    const scroller = panel.querySelector('.jp-ModelOps-vt')!;
    const box = scroller.getBoundingClientRect();
    const cells = Array.from(
      panel.querySelector('[data-testid="modelops-runs-row"]')!.querySelectorAll('td')
    )
      .slice(2, 5)
      .map(td => td.getBoundingClientRect());
    return {
      tops: tabs.map(t => Math.round(t.top)),
      tabsRight: Math.max(...tabs.map(t => t.right)),
      listRight: list.right,
      panelOverflow: panel.scrollWidth - panel.clientWidth,
      cellsRight: Math.max(...cells.map(c => c.right)),
      viewRight: box.left + scroller.clientLeft + scroller.clientWidth,
      cellCount: cells.length
    };
  });
  expect(new Set(geometry.tops).size).toBe(1);
  expect(geometry.tabsRight).toBeLessThanOrEqual(geometry.listRight + 0.5);
  expect(geometry.panelOverflow).toBeLessThanOrEqual(0);
  expect(geometry.cellCount).toBe(3);
  expect(geometry.cellsRight).toBeLessThanOrEqual(geometry.viewRight + 0.5);
}
