/**
 * Shared by the browser suites: Debian's Chromium driven by playwright-core (skipped, with the
 * reason, where none is installed), and an extender on a cluster file.
 */
import { existsSync } from 'node:fs';
import { pino } from 'pino';
import type { Browser } from 'playwright-core';
import { runExtender, type RunningExtender } from '../../src/extender/command.js';

export const chromiumPath = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p)) ?? process.env.CHROMIUM_PATH;
export const skipBrowser = chromiumPath ? undefined : 'no Chromium (apt-get install -y chromium, or set CHROMIUM_PATH)';
if (skipBrowser) console.warn(`skipping the browser tests: ${skipBrowser}`);

export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox', '--disable-gpu'] });
}

export function extenderOn(clusterFile: string): Promise<RunningExtender> {
  return runExtender({ clusterFile, port: '0', host: '127.0.0.1', heartbeatTimeout: '120', bodyLimitMib: '8', logLevel: 'silent' }, pino({ level: 'silent' }));
}
