/**
 * Runs view: the runs of a notebook run in the lab appear, a run leads back to its cell,
 * and two runs compare side by side.
 */
import { expect, test } from '@jupyterlab/galata';

import {
  openSidebar,
  runsOfExperiment,
  screenshot,
  seed,
  showView,
  uniqueTag,
  uploadExample
} from './helpers';

test.describe('Runs view', () => {
  test('quickstart runs appear and lead back to their cell', async ({
    page,
    tmpPath
  }, testInfo) => {
    test.setTimeout(180_000);
    const nbPath = await uploadExample(page, tmpPath, 'quickstart.ipynb');
    await page.notebook.openByPath(nbPath);
    await page.notebook.activate('quickstart.ipynb');
    await page.notebook.run();
    // Every cell ran without an error output.
    await expect(
      page.locator('.jp-NotebookPanel .jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"] .jp-RenderedText:has-text("Traceback")')
    ).toHaveCount(0);
    await expect(
      page.locator('.jp-NotebookPanel [data-mime-type="application/vnd.jupyter.error"]')
    ).toHaveCount(0);

    const view = await showView(page, 'runs');
    const rows = view.getByTestId('modelops-runs-row');
    for (const name of ['logreg', 'forest', 'boosting']) {
      await expect(rows.filter({ hasText: name })).toHaveCount(1);
    }
    await screenshot(page.locator('#jp-modelops-panel'), testInfo, 'runs');

    // Put the first cell in focus and scroll to the top, then jump to the forest run's cell.
    await page.notebook.selectCells(0);
    await page.locator('.jp-NotebookPanel .jp-WindowedPanel-outer').evaluate(el => {
      el.scrollTop = 0;
    });
    const forest = rows.filter({ hasText: 'forest' });
    await forest.getByTestId('modelops-runs-open-cell').click();
    const active = page.locator('.jp-NotebookPanel .jp-Notebook .jp-Cell.jp-mod-active');
    await expect(active).toContainText('%%track --name forest');
    await expect(active).toBeInViewport();
  });

  test('two runs compare with a chart and a params diff', async ({ page }, testInfo) => {
    const tag = uniqueTag('cmp');
    const seeded = seed<{ experiment: string; run_ids: string[] }>('seed-runs', tag, '3');
    const view = await showView(page, 'runs');
    await runsOfExperiment(view, seeded.experiment);
    const rows = view.getByTestId('modelops-runs-row');
    await expect(rows).toHaveCount(3);
    await expect(view.getByTestId('modelops-runs-count')).toContainText('3');

    for (const id of seeded.run_ids.slice(0, 2)) {
      await selectRow(view.locator(`[data-testid="modelops-runs-row"][data-run-id="${id}"]`));
    }
    const compare = view.getByTestId('modelops-runs-compare');
    await expect(compare).toBeEnabled();
    await compare.click();

    const panelRoot = page.locator('#jp-modelops-panel');
    const compareView = panelRoot.getByTestId('modelops-compare-view');
    await expect(compareView).toBeVisible();
    await expect(compareView.getByTestId('modelops-compare-chart').first()).toBeVisible();
    const params = compareView.getByTestId('modelops-compare-params');
    await expect(params).toBeVisible();
    // lr and seed differ between the two runs (0.1 vs 0.2, 0 vs 1); depth does not.
    await expect(params).toContainText('lr');
    await expect(params).toContainText('0.1');
    await expect(params).toContainText('0.2');
    await screenshot(panelRoot, testInfo, 'compare');
  });

  test('the filter narrows the table', async ({ page }) => {
    const tag = uniqueTag('flt');
    seed('seed-runs', tag, '3');
    const view = await showView(page, 'runs');
    await runsOfExperiment(view, tag);
    await expect(view.getByTestId('modelops-runs-row')).toHaveCount(3);
    const filter = view.getByTestId('modelops-runs-filter');
    await filter.fill("params.seed = '1'");
    await filter.press('Enter');
    await expect(view.getByTestId('modelops-runs-row')).toHaveCount(1);
    await expect(view.getByTestId('modelops-runs-row')).toContainText(`${tag}-1`);
  });
});

/** Selects a row for comparison: its checkbox when it has one, else a Ctrl+click. */
async function selectRow(row: import('@playwright/test').Locator): Promise<void> {
  const box = row.locator('input[type="checkbox"]');
  if (await box.count()) {
    await box.first().check();
  } else {
    await row.click({ modifiers: ['ControlOrMeta'] });
  }
}

test('the sidebar opens on the Runs view', async ({ page }) => {
  const p = await openSidebar(page);
  await expect(p.locator('#jp-ModelOps-tab-runs')).toHaveAttribute('aria-selected', 'true');
});
