/**
 * Shared steps of the sidebar specs: seeding data through fixtures.py, opening the panel
 * and its tabs, and saving screenshots as test outputs.
 */
import { IJupyterLabPageFixture } from '@jupyterlab/galata';
import { expect, Locator, TestInfo } from '@playwright/test';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

export const UI_TESTS = path.resolve(__dirname, '..');
export const EXAMPLES = path.resolve(UI_TESTS, '..', '..', 'examples');

/** Markup that must show as text: if it ever runs, it sets window.__xss. */
export const XSS =
  '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>';

export type ViewId =
  | 'runs'
  | 'models'
  | 'requests'
  | 'deployments'
  | 'inventory'
  | 'sync';

/** Runs `fixtures.py <args>` with the run's environment and returns its JSON output. */
export function seed<T = any>(...args: string[]): T {
  const out = execFileSync(
    process.env.MODELOPS_PYTHON || 'python3',
    [path.join(UI_TESTS, 'fixtures.py'), ...args],
    { encoding: 'utf-8', env: process.env, timeout: 90_000 }
  );
  return JSON.parse(out.trim().split('\n').pop()!);
}

/** A short unique tag so the data of one test never matches another's. */
export function uniqueTag(prefix: string): string {
  return `${prefix}${Date.now().toString(36)}${Math.floor(Math.random() * 1296)
    .toString(36)
    .padStart(2, '0')}`;
}

export function panel(page: IJupyterLabPageFixture): Locator {
  return page.locator('#jp-modelops-panel');
}

/**
 * Opens the ModelOps sidebar (its tab in the left area) and waits for the tab list; widens
 * the sidebar to `width` px unless null (JupyterLab's default width).
 */
export async function openSidebar(
  page: IJupyterLabPageFixture,
  width: number | null = 480
): Promise<Locator> {
  // The plugin adds its tab when it activates, which may be just after the app is ready.
  await expect(
    page.locator('.jp-SideBar.jp-mod-left [data-id="jp-modelops-panel"]')
  ).toBeVisible();
  if (!(await page.sidebar.isTabOpen('jp-modelops-panel'))) {
    await page.sidebar.openTab('jp-modelops-panel');
  }
  const p = panel(page);
  await expect(p.getByRole('tablist')).toBeVisible();
  if (width !== null) {
    await widenSidebar(page, p, width);
  }
  return p;
}

/** Drags the sidebar's edge so tables and screenshots have room (a user would). */
async function widenSidebar(
  page: IJupyterLabPageFixture,
  p: Locator,
  width = 480
): Promise<void> {
  const box = await p.boundingBox();
  const handle = page.locator('#jp-main-split-panel > .lm-SplitPanel-handle:not(.lm-mod-hidden)').first();
  const grip = await handle.boundingBox();
  if (!box || !grip || box.width >= width - 20) {
    return;
  }
  const y = grip.y + grip.height / 2;
  await page.mouse.move(grip.x + grip.width / 2, y);
  await page.mouse.down();
  await page.mouse.move(grip.x + grip.width / 2 + (width - box.width), y, { steps: 4 });
  await page.mouse.up();
}

/** Opens the sidebar on one view and returns that view's container. */
export async function showView(
  page: IJupyterLabPageFixture,
  view: ViewId
): Promise<Locator> {
  const p = await openSidebar(page);
  await p.locator(`#jp-ModelOps-tab-${view}`).click();
  await expect(p.locator(`#jp-ModelOps-tab-${view}`)).toHaveAttribute(
    'aria-selected',
    'true'
  );
  const container = p.locator(`[data-view="${view}"]`);
  await expect(container).toBeVisible();
  return container;
}

/** Copies a notebook of examples/ into the test's folder on the server; returns its path. */
export async function uploadExample(
  page: IJupyterLabPageFixture,
  tmpPath: string,
  name: string
): Promise<string> {
  const target = `${tmpPath}/${name}`;
  await page.contents.uploadFile(path.join(EXAMPLES, name), target);
  return target;
}

/**
 * Saves a screenshot as a test output, and a copy under test-results/screenshots/ so all
 * views can be looked at side by side after a run.
 */
export async function screenshot(
  target: Locator,
  testInfo: TestInfo,
  name: string
): Promise<void> {
  const file = testInfo.outputPath(`${name}.png`);
  await target.screenshot({ path: file, animations: 'disabled' });
  const gallery = path.join(UI_TESTS, 'test-results', 'screenshots');
  fs.mkdirSync(gallery, { recursive: true });
  fs.copyFileSync(file, path.join(gallery, `${name}.png`));
  await testInfo.attach(name, { path: file, contentType: 'image/png' });
}

/** Shows every run of an experiment in the Runs view (not only the current notebook's). */
export async function runsOfExperiment(
  view: Locator,
  experiment: string
): Promise<void> {
  const scope = view.getByTestId('modelops-runs-scope');
  await selectByLabel(scope, /all/i);
  const picker = view.getByTestId('modelops-runs-experiment');
  await expect(picker).toBeVisible();
  await selectByLabel(picker, experiment);
}

/**
 * Chooses an option of a <select>, or of a radio group / button group, whose label matches.
 */
export async function selectByLabel(
  control: Locator,
  label: string | RegExp
): Promise<void> {
  await expect(control).toBeVisible();
  // A user opens the control first; views refresh their choices on focus.
  await control.focus();
  const tag = await control.evaluate(el => el.tagName.toLowerCase());
  if (tag === 'select') {
    await expect
      .poll(async () =>
        (await control.locator('option').allTextContents()).some(text =>
          typeof label === 'string' ? text.includes(label) : label.test(text)
        )
      )
      .toBe(true);
    const options = await control.locator('option').evaluateAll(els =>
      els.map(el => ({
        value: (el as HTMLOptionElement).value,
        text: el.textContent || ''
      }))
    );
    const match = options.find(o =>
      typeof label === 'string' ? o.text.includes(label) : label.test(o.text)
    )!;
    await control.selectOption(match.value);
    return;
  }
  const choice = control
    .locator('button, [role="radio"], [role="tab"], label, [role="option"]')
    .filter({ hasText: label })
    .first();
  await choice.click();
}
