/**
 * Browser half of benchmarks/bench_sidebar.py: opens JupyterLab in Debian's Chromium and
 * times, inside the page, from the click on the ModelOps sidebar tab until the first row
 * of the Runs view is laid out and painted. Each repeat loads a fresh workspace (`?reset`),
 * so the sidebar starts closed and nothing is cached in the page.
 *
 *   node bench-sidebar.js <lab url> <repeats>   → one JSON line {"seconds": [...], ...}
 */
const { chromium } = require('@playwright/test');

const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
  '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost , EXCLUDE 127.0.0.1'
];
const TAB = '.jp-SideBar.jp-mod-left [data-id="jp-modelops-panel"]';
const ROW = '#jp-modelops-panel [data-testid="modelops-runs-row"]';

async function once(page, url) {
  await page.goto(url, { waitUntil: 'domcontentloaded' });
  await page.waitForFunction(() => window.jupyterapp && window.jupyterapp.started);
  await page.evaluate(() => window.jupyterapp.restored);
  await page.waitForSelector(TAB);
  // Arm the clock and the watcher in the page, then click like a user.
  await page.evaluate(
    ({ tab, row }) => {
      window.__bench = new Promise(resolve => {
        let t0 = 0;
        document.querySelector(tab).addEventListener(
          'pointerdown',
          () => {
            t0 = performance.now();
          },
          { capture: true, once: true }
        );
        const visible = () => {
          const el = document.querySelector(row);
          return !!el && el.getBoundingClientRect().height > 0;
        };
        const done = () =>
          requestAnimationFrame(() => resolve(performance.now() - t0));
        const observer = new MutationObserver(() => {
          if (t0 && visible()) {
            observer.disconnect();
            done();
          }
        });
        observer.observe(document.body, { childList: true, subtree: true });
      });
    },
    { tab: TAB, row: ROW }
  );
  await page.click(TAB);
  const ms = await page.evaluate(() => window.__bench);
  // The exact count comes after the first page ("100+ runs" until then): report it too.
  const counted = await page
    .waitForFunction(
      sel => {
        const text = document.querySelector(sel)?.textContent || '';
        return /\d/.test(text) && !text.includes('+');
      },
      '#jp-modelops-panel [data-testid="modelops-runs-count"]',
      { timeout: 15_000 }
    )
    .then(() => true)
    .catch(() => false);
  const count = await page
    .locator('#jp-modelops-panel [data-testid="modelops-runs-count"]')
    .textContent();
  const rows = await page.locator(ROW).count();
  return { seconds: ms / 1000, count: (count || '').trim() + (counted ? '' : ' (no exact count within 15 s)'), rows };
}

async function main() {
  const [base, repeats = '5'] = process.argv.slice(2);
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ARGS });
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const out = { seconds: [], count: '', rows: 0 };
  try {
    // One warm-up load so the browser's HTTP cache holds JupyterLab's bundles, as it
    // would for a user who opened the lab before.
    await page.goto(`${base}/lab/workspaces/bench-warmup?reset`);
    await page.waitForFunction(() => window.jupyterapp && window.jupyterapp.started);
    for (let i = 0; i < Number(repeats); i++) {
      const r = await once(page, `${base}/lab/workspaces/bench-${i}?reset`);
      out.seconds.push(r.seconds);
      out.count = r.count;
      out.rows = r.rows;
    }
  } finally {
    await browser.close();
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch(err => {
  console.error(err);
  process.exit(1);
});
