/**
 * Export of a tagged notebook to a pipeline from the notebook toolbar: pick a target, the
 * report lists the steps.
 */
import { expect, test } from '@jupyterlab/galata';

import { screenshot, uploadExample } from './helpers';

const STEPS = ['load', 'split', 'train_logreg', 'train_forest', 'select'];

test('export the notebook to a local pipeline from the toolbar', async ({
  page,
  tmpPath
}, testInfo) => {
  test.setTimeout(180_000);
  const nbPath = await uploadExample(page, tmpPath, 'pipeline.ipynb');
  await page.notebook.openByPath(nbPath);
  await page.notebook.activate('pipeline.ipynb');

  await page
    .locator('.jp-NotebookPanel-toolbar [data-command="modelops:export-pipeline"]')
    .click();
  const dialog = page.getByTestId('modelops-export-dialog');
  await expect(dialog).toBeVisible();
  await dialog.getByTestId('modelops-export-target').selectOption('local');
  await expect(dialog.getByTestId('modelops-export-preview')).toContainText('train_forest');
  await page.getByTestId('modelops-export-submit').click();
  const report = dialog.getByTestId('modelops-export-report');
  await expect(report).toBeVisible({ timeout: 150_000 });
  await expect(dialog.getByTestId('modelops-export-error')).toHaveCount(0);
  for (const step of STEPS) {
    await expect(report).toContainText(step);
  }
  await screenshot(page.locator('.jp-Dialog-content'), testInfo, 'export-report');
});

test('export to Kubeflow from the command palette', async ({ page, tmpPath }) => {
  test.setTimeout(120_000);
  const nbPath = await uploadExample(page, tmpPath, 'pipeline.ipynb');
  await page.notebook.openByPath(nbPath);
  await page.notebook.activate('pipeline.ipynb');

  // The notebook has focus; open the palette and pick the command by its label.
  await page.locator('.jp-NotebookPanel .jp-Notebook').first().click();
  await page.keyboard.press('Control+Shift+C');
  const palette = page.locator('#command-palette .lm-CommandPalette-input');
  await expect(palette).toBeFocused();
  await palette.fill('Export Notebook to Pipeline');
  await expect(
    page.locator('#command-palette .lm-CommandPalette-item.lm-mod-active')
  ).toContainText('Export Notebook to Pipeline');
  await palette.press('Enter');
  const dialog = page.getByTestId('modelops-export-dialog');
  await expect(dialog).toBeVisible();
  await dialog.getByTestId('modelops-export-target').selectOption('kfp');
  await page.getByTestId('modelops-export-submit').click();
  const report = dialog.getByTestId('modelops-export-report');
  await expect(report.or(dialog.getByTestId('modelops-export-error'))).toBeVisible({
    timeout: 100_000
  });
  await expect(dialog.getByTestId('modelops-export-error')).toHaveCount(0);
  for (const step of STEPS) {
    await expect(report).toContainText(step);
  }
});

test('the step-tag editor reads and writes a cell\'s step tags', async ({ page, tmpPath }) => {
  const nbPath = await uploadExample(page, tmpPath, 'pipeline.ipynb');
  await page.notebook.openByPath(nbPath);
  await page.notebook.activate('pipeline.ipynb');
  // Cell 11 is tagged block:train_forest, prev:split.
  await page.notebook.selectCells(11);
  // The command resolves when its dialog closes: start it without waiting.
  await page.evaluate(() => {
    void window.jupyterapp.commands.execute('modelops:edit-step-tags');
  });
  const dialog = page.getByTestId('modelops-celltags-dialog');
  await expect(dialog).toBeVisible();
  const step = dialog.getByTestId('modelops-celltags-step');
  await expect(step).toHaveValue('train_forest');
  await expect(dialog.getByTestId('modelops-celltags-after')).toHaveValue(/split/);
  await step.fill('train_rf');
  await page.locator('.jp-Dialog-footer button', { hasText: 'Save' }).click();
  await expect(dialog).toHaveCount(0);
  const tags = await page.evaluate(() => {
    const panel = window.jupyterapp.shell.currentWidget as any;
    return panel.content.activeCell.model.getMetadata('tags');
  });
  expect(tags).toContain('block:train_rf');
  expect(tags).toContain('prev:split');
});
