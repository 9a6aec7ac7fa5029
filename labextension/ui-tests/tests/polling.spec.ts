/**
 * Live updates without hammering the server: a new experiment joins the Runs view's
 * picker with the poll; an idle Runs view polls at most every 5 s, stands by while the
 * left sidebar is collapsed, and catches up as soon as it is shown.
 */
import { expect, test } from '@jupyterlab/galata';

import { runsOfExperiment, seed, showView, uniqueTag } from './helpers';

const WINDOW_MS = 12_000;
/** A 5 s interval fits at most 3 ticks in 12 s; one more for a tick on the boundary. */
const MAX_TICKS = 4;

test('new experiments appear; polling stays slow, stands by while the sidebar is collapsed, resumes when shown', async ({
  page
}) => {
  test.setTimeout(90_000);
  // The view reads the experiments once its rows are in; a new one created after that
  // joins the picker with the poll, without the user focusing the picker.
  const experimentsRead = page.waitForResponse(r =>
    r.url().includes('/modelops/api/v1/experiments')
  );
  const view = await showView(page, 'runs');
  await experimentsRead;
  const tag = uniqueTag('pol');
  seed('seed-runs', tag, '2');
  const picker = view.getByTestId('modelops-runs-experiment');
  await expect(picker).not.toBeFocused();
  await expect(picker.locator('option', { hasText: tag })).toHaveCount(1, { timeout: 15_000 });
  await runsOfExperiment(view, tag);
  await expect(view.getByTestId('modelops-runs-row')).toHaveCount(2);

  const seen: string[] = [];
  page.on('request', request => {
    const path = new URL(request.url()).pathname;
    if (path.startsWith('/modelops/')) {
      seen.push(path);
    }
  });
  const runsPolls = (paths: string[]) => paths.filter(p => p === '/modelops/api/v1/runs');
  const toggleLeft = () =>
    page.evaluate(async () => {
      await window.jupyterapp.commands.execute('application:toggle-left-area');
    });

  // Open and idle: one view polls, every 5 s at most.
  await page.waitForTimeout(WINDOW_MS);
  const open = [...seen];
  expect(runsPolls(open).length).toBeGreaterThanOrEqual(1);
  expect(runsPolls(open).length).toBeLessThanOrEqual(MAX_TICKS);
  // Per tick the head of the list, its count when it has more pages, and the odd
  // look-up (experiments, sparklines): never more than a few requests per tick.
  expect(open.length, open.join('\n')).toBeLessThanOrEqual(MAX_TICKS * 2 + 1);

  // Collapsed: the panel stands by.
  await toggleLeft();
  await expect(page.locator('#jp-modelops-panel')).toBeHidden();
  const hiddenFrom = seen.length;
  await page.waitForTimeout(WINDOW_MS);
  expect(runsPolls(seen.slice(hiddenFrom))).toHaveLength(0);

  // Shown again: fresh data at once, not at the next tick.
  const shownFrom = seen.length;
  await toggleLeft();
  await expect(page.locator('#jp-modelops-panel')).toBeVisible();
  await expect
    .poll(() => runsPolls(seen.slice(shownFrom)).length, { timeout: 2_000 })
    .toBeGreaterThanOrEqual(1);
  await expect(view.getByTestId('modelops-runs-row')).toHaveCount(2);
});
