/**
 * Runs view: the runs of a notebook run in the lab appear, a run leads back to its cell,
 * two runs compare side by side, a bad filter says what is wrong, and the commands track
 * a cell and open its run.
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

  test('a bad filter shows the server\'s one-line message; clearing it brings the rows back', async ({
    page
  }) => {
    const tag = uniqueTag('err');
    seed('seed-runs', tag, '2');
    const view = await showView(page, 'runs');
    await runsOfExperiment(view, tag);
    const rows = view.getByTestId('modelops-runs-row');
    await expect(rows).toHaveCount(2);

    const filter = view.getByTestId('modelops-runs-filter');
    await filter.fill('metrics.x >>> 1');
    await filter.press('Enter');
    const alert = view.getByRole('alert');
    await expect(alert).toHaveCount(1);
    // The server's message, with where in the text it went wrong.
    await expect(alert).toContainText(/bad filter at position \d+/);
    expect((await alert.innerText()).trim().split('\n')).toHaveLength(1);
    await expect(filter).toHaveAttribute('aria-invalid', 'true');

    await filter.fill('');
    await filter.press('Enter');
    await expect(view.getByRole('alert')).toHaveCount(0);
    await expect(rows).toHaveCount(2);
    await expect(rows.filter({ hasText: `${tag}-1` })).toHaveCount(1);
  });

  test('track a cell by command, run it, and open its run from the cell', async ({
    page
  }) => {
    test.setTimeout(120_000);
    const tag = uniqueTag('trk');
    await page.notebook.createNew(`${tag}.ipynb`);
    await page.notebook.setCell(0, 'code', `value = 0.25\nprint("${tag}", value)`);
    await page.notebook.selectCells(0);
    await page.evaluate(async () => {
      await window.jupyterapp.commands.execute('modelops:track-cell');
    });
    const sources = await page.evaluate(() => {
      const nb = window.jupyterapp.shell.currentWidget as any;
      return nb.content.widgets.map((cell: any) => cell.model.sharedModel.getSource());
    });
    // The extension is loaded by a new first cell; the tracked cell follows it.
    expect(sources).toHaveLength(2);
    expect(sources[0]).toBe('%load_ext jupyter_modelops');
    expect(sources[1]).toBe(`%%track\nvalue = 0.25\nprint("${tag}", value)`);

    await page.notebook.run();
    await expect(
      page.locator('.jp-NotebookPanel [data-mime-type="application/vnd.jupyter.error"]')
    ).toHaveCount(0);
    await expect(page.locator('.jp-NotebookPanel .jp-OutputArea-output').last()).toContainText(tag);

    await page.notebook.selectCells(1);
    const cellId = await page.evaluate(() => {
      const nb = window.jupyterapp.shell.currentWidget as any;
      return nb.content.activeCell.model.id as string;
    });
    const answer = await page.request.get('/modelops/api/v1/runs', {
      params: { filter: `tags.mo.cell_id = '${cellId}'` }
    });
    expect(answer.ok()).toBe(true);
    const recorded = (await answer.json()).runs;
    expect(recorded).toHaveLength(1);

    await page.evaluate(async () => {
      await window.jupyterapp.commands.execute('modelops:open-cell-run');
    });
    const p = page.locator('#jp-modelops-panel');
    await expect(p).toBeVisible();
    await expect(p.locator('#jp-ModelOps-tab-runs')).toHaveAttribute('aria-selected', 'true');
    const current = p.locator('[data-testid="modelops-runs-row"][aria-current="true"]');
    await expect(current).toHaveCount(1);
    await expect(current).toHaveAttribute('data-run-id', recorded[0].id);
    await expect(current).toHaveClass(/jp-mod-highlight/);
    await expect(current).toBeInViewport();
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
