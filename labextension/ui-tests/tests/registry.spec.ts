/**
 * Registry views against a standalone registry: the lab under test is linked to it as bob
 * (approver, data scientist); alice (data scientist) asks for deployments through the
 * Python client. bob approves hers in the sidebar and cannot approve his own.
 */
import { expect, test } from '@jupyterlab/galata';

import { screenshot, seed, showView, uniqueTag } from './helpers';

interface ISeeded {
  alice: { model: string; request_id: string; state: string };
  bob: { model: string; request_id: string; state: string };
}

test.describe('Registry views', () => {
  test('bob approves alice\'s request with a comment; his own stays disabled', async ({
    page
  }, testInfo) => {
    const tag = uniqueTag('apr');
    const seeded = seed<ISeeded>('seed-requests', tag);
    const view = await showView(page, 'requests');
    const list = view.getByTestId('modelops-requests-list');
    await expect(list).toBeVisible();

    // His own request: approve is disabled and says why.
    const own = view.locator(
      `[data-testid="modelops-request-row"][data-request-id="${seeded.bob.request_id}"]`
    );
    await expect(own).toBeVisible();
    await own.click();
    const ownApprove = view.getByTestId('modelops-request-approve');
    await expect(ownApprove).toBeVisible();
    await expect(ownApprove).toBeDisabled();
    await expect(ownApprove).toHaveAttribute('title', /requested this|another person|own request|separation/i);

    // Alice's request: evidence shown, approve with a comment.
    const hers = view.locator(
      `[data-testid="modelops-request-row"][data-request-id="${seeded.alice.request_id}"]`
    );
    await expect(hers).toContainText(seeded.alice.model);
    await hers.click();
    await expect(view.getByTestId('modelops-request-evidence')).toBeVisible();
    await screenshot(page.locator('#jp-modelops-panel'), testInfo, 'requests');
    const approve = view.getByTestId('modelops-request-approve');
    await expect(approve).toBeEnabled();
    await view.getByTestId('modelops-request-comment').fill('evidence checked, fine');
    await approve.click();
    await expect(view.getByTestId('modelops-request-state')).toContainText(/approved/i);

    // The registry recorded bob's decision.
    const answer = await page.request.post(
      '/modelops/registry/api/v1/ops/get_request',
      { data: { request_id: seeded.alice.request_id } }
    );
    expect(answer.ok()).toBe(true);
    const fields = (await answer.json()).result.fields;
    expect(fields.status).toBe('APPROVED');
    expect(fields.decided_by).toBe('bob');
    expect(fields.decision_comment).toBe('evidence checked, fine');
  });

  test('bob rejects alice\'s request: reject waits for a comment, the registry keeps it', async ({
    page
  }) => {
    const seeded = seed<ISeeded>('seed-requests', uniqueTag('rej'));
    const view = await showView(page, 'requests');
    const hers = view.locator(
      `[data-testid="modelops-request-row"][data-request-id="${seeded.alice.request_id}"]`
    );
    await expect(hers).toContainText(seeded.alice.model);
    await hers.click();

    // No comment, no rejection: the button is disabled and says why.
    const reject = view.getByTestId('modelops-request-reject');
    await expect(reject).toBeDisabled();
    await expect(reject).toHaveAttribute('aria-disabled', 'true');
    await expect(reject).toHaveAttribute('title', /comment/i);
    const comment = view.getByTestId('modelops-request-comment');
    await comment.fill('   ');
    await expect(reject).toBeDisabled();
    await comment.fill('no fairness evidence for the new segment');
    await expect(reject).toBeEnabled();
    await reject.click();
    await expect(view.getByTestId('modelops-request-state')).toContainText(/rejected/i);
    // A decided request offers no more decisions.
    await expect(view.getByTestId('modelops-request-approve')).toHaveCount(0);
    await expect(view).toContainText('no fairness evidence for the new segment');

    const answer = await page.request.post('/modelops/registry/api/v1/ops/get_request', {
      data: { request_id: seeded.alice.request_id }
    });
    expect(answer.ok()).toBe(true);
    const fields = (await answer.json()).result.fields;
    expect(fields.status).toBe('REJECTED');
    expect(fields.decided_by).toBe('bob');
    expect(fields.decision_comment).toBe('no fairness evidence for the new segment');
  });

  test('models, deployments, inventory and sync views show registry data', async ({
    page
  }, testInfo) => {
    const tag = uniqueTag('mdl');
    const seeded = seed<ISeeded>('seed-requests', tag);
    const panelRoot = page.locator('#jp-modelops-panel');

    const models = await showView(page, 'models');
    await expect(models.getByTestId('modelops-models-list')).toBeVisible();
    const row = models.locator(
      `[data-testid="modelops-model-row"][data-model-name="${seeded.alice.model}"]`
    );
    await expect(row).toBeVisible();
    await row.click();
    await expect(models.getByTestId('modelops-model-versions')).toBeVisible();
    await screenshot(panelRoot, testInfo, 'models');

    const inventory = await showView(page, 'inventory');
    await expect(inventory.getByTestId('modelops-inventory-table')).toBeVisible();
    await expect(
      inventory.getByTestId('modelops-inventory-row').filter({ hasText: seeded.alice.model })
    ).toHaveCount(1);
    await screenshot(panelRoot, testInfo, 'inventory');

    const sync = await showView(page, 'sync');
    await expect(sync.getByTestId('modelops-sync-status')).toBeVisible();
    await expect(sync.getByTestId('modelops-sync-pending')).toBeVisible();
    const syncNow = sync.getByTestId('modelops-sync-now');
    await expect(syncNow).toBeEnabled({ timeout: 60_000 });
    await syncNow.click();
    // The push and pull finish against the live registry without an error.
    await expect(syncNow).toBeEnabled({ timeout: 60_000 });
    await expect(sync.getByTestId('modelops-sync-error')).toHaveCount(0);
    await expect(sync.getByTestId('modelops-sync-pending')).toContainText('0');
    await screenshot(panelRoot, testInfo, 'sync');
  });

  test('a deployment shows its target and health; rollback needs the deployer role', async ({
    page
  }, testInfo) => {
    const seeded = seed<{ model: string; deployment_id: string; target: string }>(
      'seed-deployment',
      uniqueTag('dep')
    );
    const view = await showView(page, 'deployments');
    await expect(view.getByTestId('modelops-deployments-list')).toBeVisible();
    const row = view.locator(
      `[data-testid="modelops-deployment-row"][data-deployment-id="${seeded.deployment_id}"]`
    );
    await expect(row).toContainText(seeded.model);
    await expect(row).toContainText('kserve');
    await expect(row.getByTestId('modelops-deployment-health')).toBeVisible();
    await row.click();
    // bob approves but does not deploy: the button says so instead of failing on click.
    const rollback = view.getByTestId('modelops-deployment-rollback');
    await expect(rollback).toBeDisabled();
    await expect(rollback).toHaveAttribute('title', /deployer/);
    await screenshot(page.locator('#jp-modelops-panel'), testInfo, 'deployments');
  });
});
