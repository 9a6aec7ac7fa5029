/**
 * Browser tests of the ModelOps sidebar: Galata in Debian's Chromium, against a
 * JupyterLab on a temporary store that is linked to a standalone registry.
 *
 * The runner process picks a run folder and two free loopback ports once and puts them
 * in the environment, which the workers and both web servers inherit (workers load this
 * file again and must not pick new ones).
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

const baseConfig = require('@jupyterlab/galata/lib/playwright-config');

const HERE = __dirname;
const REPO = path.resolve(HERE, '..', '..');

function python(): string {
  if (process.env.MODELOPS_PYTHON) {
    return process.env.MODELOPS_PYTHON;
  }
  const venv = path.join(REPO, '.venv', 'bin', 'python');
  return fs.existsSync(venv) ? venv : 'python3';
}

if (!process.env.MODELOPS_UI_RUN) {
  const root = path.join(HERE, '.tmp');
  fs.mkdirSync(root, { recursive: true });
  // Keep the last few runs for post-mortems, drop older ones.
  const old = fs
    .readdirSync(root)
    .filter(name => name.startsWith('run-'))
    .sort();
  for (const name of old.slice(0, Math.max(0, old.length - 2))) {
    fs.rmSync(path.join(root, name), { recursive: true, force: true });
  }
  const run = fs.mkdtempSync(path.join(root, 'run-' + Date.now() + '-'));
  fs.mkdirSync(path.join(run, 'tmp'));
  const ports = execFileSync(
    python(),
    [
      '-c',
      'import socket\n' +
        'socks = [socket.socket() for _ in range(2)]\n' +
        "[s.bind(('127.0.0.1', 0)) for s in socks]\n" +
        "print(' '.join(str(s.getsockname()[1]) for s in socks))"
    ],
    { encoding: 'utf-8' }
  )
    .trim()
    .split(' ');
  process.env.MODELOPS_UI_RUN = run;
  process.env.MODELOPS_UI_REGISTRY_PORT = ports[0];
  process.env.MODELOPS_UI_LAB_PORT = ports[1];
  process.env.MODELOPS_PYTHON = python();
}

const RUN = process.env.MODELOPS_UI_RUN!;
const LAB = `http://127.0.0.1:${process.env.MODELOPS_UI_LAB_PORT}`;
const REGISTRY = `http://127.0.0.1:${process.env.MODELOPS_UI_REGISTRY_PORT}`;
const env = {
  ...(process.env as Record<string, string>),
  TMPDIR: path.join(RUN, 'tmp'),
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: '1'
};

module.exports = {
  ...baseConfig,
  testDir: './tests',
  outputDir: './test-results',
  timeout: 120_000,
  expect: { timeout: 20_000 },
  workers: 1,
  fullyParallel: false,
  retries: 0,
  reporter: [['list'], ['html', { open: 'never' }]],
  use: {
    ...baseConfig.use,
    baseURL: LAB,
    // Galata navigates to the lab; leave its per-test folder on the server.
    video: 'off',
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    viewport: { width: 1400, height: 900 },
    launchOptions: {
      executablePath: '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
        '--disable-sync',
        '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost , EXCLUDE 127.0.0.1'
      ]
    }
  },
  webServer: [
    {
      command: `"${python()}" fixtures.py registry`,
      cwd: HERE,
      url: `${REGISTRY}/modelops/api/v1/openapi.json`,
      env,
      timeout: 60_000,
      reuseExistingServer: false,
      stdout: 'ignore',
      stderr: 'pipe'
    },
    {
      command: `"${python()}" fixtures.py lab`,
      cwd: HERE,
      url: `${LAB}/lab`,
      env,
      timeout: 120_000,
      reuseExistingServer: false,
      stdout: 'ignore',
      stderr: 'pipe'
    }
  ]
};
