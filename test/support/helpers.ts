import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
/** project root (this file runs from dist/test/support) */
export const projectRoot = resolve(here, '..', '..', '..');
/** ../shared beside the project, when present (CI has it) */
export const sharedDir = resolve(projectRoot, '..', 'shared');
export const hasShared = existsSync(join(sharedDir, 'samples'));
export const sharedSkip = hasShared ? false : `../shared is absent (${sharedDir}): real-sample tests skipped`;
export const cliPath = join(projectRoot, 'bin', 'powerview.js');
