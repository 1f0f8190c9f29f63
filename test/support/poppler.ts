/**
 * Reading a PDF back with Debian's poppler-utils (`pdftotext`, `pdftoppm`,
 * `pdffonts`, `pdfinfo`; installed by `ops/services.sh install`): its text per
 * page, its fonts, and how much of a rendered page is ink or colour.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function popplerMissing(): string | null {
  try {
    execFileSync('pdftotext', ['-v'], { stdio: 'ignore' });
    return null;
  } catch {
    return 'pdftotext not found: install poppler-utils (ops/services.sh install does)';
  }
}

/** writes `pdf` to a fresh tmp dir; returns its path */
export function pdfFile(pdf: Buffer): string {
  const file = join(mkdtempSync(join(tmpdir(), 'pv-pdf-')), 'report.pdf');
  writeFileSync(file, pdf);
  return file;
}

/** the text of each page (pdftotext separates pages with form feeds) */
export function pagesText(file: string): string[] {
  const text = execFileSync('pdftotext', ['-enc', 'UTF-8', file, '-'], { encoding: 'utf8' });
  return text.split('\f').slice(0, -1);
}

/** whitespace (line breaks of wrapped cells) folded to single spaces */
export const flat = (text: string): string => text.replace(/\s+/g, ' ');

export interface FontRow {
  readonly name: string;
  readonly type: string;
  readonly embedded: boolean;
}

export function fonts(file: string): FontRow[] {
  const out = execFileSync('pdffonts', [file], { encoding: 'utf8' });
  return out
    .split('\n')
    .slice(2)
    .filter((l) => l.trim() !== '')
    .map((l) => {
      // name, type (may have spaces), encoding, emb, sub, uni, object, ID
      const m = /^(\S+)\s+(.+?)\s{2,}(\S+)\s+(yes|no)\s+(yes|no)\s+(yes|no)\s+\d+\s+\d+\s*$/.exec(l);
      if (m === null) throw new Error(`unexpected pdffonts line: ${l}`);
      return { name: m[1], type: m[2], embedded: m[4] === 'yes' };
    });
}

export function info(file: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of execFileSync('pdfinfo', [file], { encoding: 'utf8', env: { ...process.env, TZ: 'UTC' } }).split(
    '\n',
  )) {
    const i = line.indexOf(':');
    if (i > 0) out[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  return out;
}

export interface Raster {
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 3;
  readonly pixels: Buffer;
}

/** parses a binary PGM (P5) or PPM (P6) with maxval 255 */
export function parseNetpbm(data: Buffer): Raster {
  const fields: string[] = [];
  let i = 0;
  while (fields.length < 4) {
    while (/\s/.test(String.fromCharCode(data[i]))) i++;
    if (data[i] === 0x23) {
      while (data[i] !== 0x0a) i++;
      continue;
    }
    let token = '';
    while (!/\s/.test(String.fromCharCode(data[i]))) token += String.fromCharCode(data[i++]);
    fields.push(token);
  }
  const [magic, w, h, max] = fields;
  if ((magic !== 'P5' && magic !== 'P6') || max !== '255') throw new Error(`not an 8-bit PGM/PPM: ${magic} ${max}`);
  const channels = magic === 'P5' ? 1 : 3;
  const width = Number(w);
  const height = Number(h);
  return { width, height, channels, pixels: data.subarray(i + 1, i + 1 + width * height * channels) };
}

/** renders page `page` (1-based) at `dpi`: gray PGM or colour PPM, plus a PNG written to `png` when given */
export function rasterize(file: string, page: number, dpi: number, colour: boolean, png?: string): Raster {
  const dir = mkdtempSync(join(tmpdir(), 'pv-ppm-'));
  const args = ['-f', String(page), '-l', String(page), '-r', String(dpi), '-singlefile'];
  execFileSync('pdftoppm', [...args, ...(colour ? [] : ['-gray']), file, join(dir, 'page')]);
  if (png !== undefined) execFileSync('pdftoppm', [...args, '-png', file, png.replace(/\.png$/, '')]);
  return parseNetpbm(readFileSync(join(dir, colour ? 'page.ppm' : 'page.pgm')));
}

/** the share of pixels that are not (near) white */
export function inkRatio(r: Raster): number {
  let ink = 0;
  const n = r.width * r.height;
  for (let p = 0; p < n; p++) {
    const o = p * r.channels;
    const min = r.channels === 1 ? r.pixels[o] : Math.min(r.pixels[o], r.pixels[o + 1], r.pixels[o + 2]);
    if (min < 240) ink++;
  }
  return ink / n;
}

/** the share of pixels that are clearly coloured (not gray): chart bars and lines */
export function colourRatio(r: Raster): number {
  if (r.channels !== 3) throw new Error('colourRatio needs a PPM');
  let coloured = 0;
  const n = r.width * r.height;
  for (let p = 0; p < n; p++) {
    const o = p * 3;
    const c = [r.pixels[o], r.pixels[o + 1], r.pixels[o + 2]];
    if (Math.max(...c) - Math.min(...c) > 60) coloured++;
  }
  return coloured / n;
}
