/**
 * A real headless Chromium (Debian's, /usr/bin/chromium; scripts/install-host-deps installs
 * it) driven by playwright-core, which never downloads a browser. Each page records what a
 * report must never do: log a console error, throw, open a dialog, or make any request besides
 * loading itself.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/** Flags that keep Chromium off the network and quiet in a container without a GPU or sandbox. */
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** Starts Chromium with a fresh profile; `close` ends it and removes the profile. */
export async function launchBrowser(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run scripts/install-host-deps (Debian package chromium)`);
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    viewport: { width: 1360, height: 900 },
  });
  return {
    context,
    close: async () => {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** A loaded page and everything it did that a self-contained report must not do. */
export interface OpenedReport {
  page: Page;
  url: string;
  consoleErrors: string[];
  pageErrors: string[];
  dialogs: string[];
  /** Every request but the report's own file. */
  requests: string[];
}

/** Opens `file` (file://) and waits until it has loaded. */
export async function openReport(browser: Browser, file: string): Promise<OpenedReport> {
  const page = await browser.context.newPage();
  const url = pathToFileURL(file).href;
  const opened: OpenedReport = { page, url, consoleErrors: [], pageErrors: [], dialogs: [], requests: [] };
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') opened.consoleErrors.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => opened.pageErrors.push(e.message));
  page.on('dialog', (d) => {
    opened.dialogs.push(d.message());
    void d.dismiss();
  });
  page.on('request', (r) => {
    if (r.url() !== url) opened.requests.push(r.url());
  });
  await page.goto(url, { waitUntil: 'load' });
  return opened;
}

/** Where screenshots go (git-ignored). */
export const TEST_OUTPUT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../test-output');
