/**
 * The stand-in's minimal line protocol: enough to store what the product
 * sends and to refuse what every InfluxDB refuses (a line without fields,
 * unbalanced quotes, a bad field value or timestamp), with a reason. The
 * syntax is the same in 1.x, 2.x and 3.x
 * (https://docs.influxdata.com/influxdb/v2/reference/syntax/line-protocol/);
 * the reasons are the stand-in's own words except where a route maps them
 * to its server's text.
 */
export interface ParsedLine {
  measurement: string;
  tags: Record<string, string>;
  fields: Record<string, string>;
  timestamp: string | null;
}

/** Minimal line protocol: returns the parsed line or the reason it is refused. */
export function parseLine(line: string): ParsedLine | { error: string } {
  // key: up to the first unescaped space
  let i = 0;
  while (i < line.length && !(line[i] === ' ' && line[i - 1] !== '\\')) i++;
  const key = line.slice(0, i);
  if (key === '') return { error: 'missing measurement' };
  if (i >= line.length) return { error: 'missing fields' };
  // field set: up to the next unescaped space outside a quoted string
  let j = i + 1;
  let quoted = false;
  for (; j < line.length; j++) {
    const c = line[j];
    if (c === '\\') {
      j++;
      continue;
    }
    if (c === '"') quoted = !quoted;
    else if (c === ' ' && !quoted) break;
  }
  const fieldText = line.slice(i + 1, j);
  const timestamp = j < line.length ? line.slice(j + 1).trim() : '';
  if (fieldText === '') return { error: 'missing fields' };
  if (quoted) return { error: 'unbalanced quotes' };
  const keyParts = splitUnescaped(key, ',', false);
  const measurement = keyParts[0];
  if (measurement === '') return { error: 'missing measurement' };
  const tags: Record<string, string> = {};
  for (const part of keyParts.slice(1)) {
    const eq = indexUnescaped(part, '=');
    if (eq <= 0 || eq === part.length - 1) return { error: 'missing tag value' };
    tags[part.slice(0, eq)] = part.slice(eq + 1);
  }
  const fields: Record<string, string> = {};
  for (const part of splitUnescaped(fieldText, ',', true)) {
    const eq = indexUnescaped(part, '=');
    if (eq <= 0) return { error: 'missing fields' };
    const value = part.slice(eq + 1);
    if (value === '') return { error: 'missing field value' };
    if (
      !/^(?:[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[-+]?\d+[iu]|t|T|true|True|TRUE|f|F|false|False|FALSE|"(?:[^"\\]|\\.)*")$/.test(
        value,
      )
    ) {
      return { error: `invalid field format` };
    }
    fields[part.slice(0, eq)] = value;
  }
  if (timestamp !== '' && !/^-?\d+$/.test(timestamp)) return { error: 'bad timestamp' };
  return { measurement, tags, fields, timestamp: timestamp === '' ? null : timestamp };
}

function indexUnescaped(s: string, ch: string): number {
  for (let k = 0; k < s.length; k++) {
    if (s[k] === '\\') k++;
    else if (s[k] === ch) return k;
  }
  return -1;
}

function splitUnescaped(s: string, sep: string, quoteAware: boolean): string[] {
  const out: string[] = [];
  let from = 0;
  let quoted = false;
  for (let k = 0; k < s.length; k++) {
    const c = s[k];
    if (c === '\\') {
      k++;
      continue;
    }
    if (quoteAware && c === '"') quoted = !quoted;
    else if (c === sep && !quoted) {
      out.push(s.slice(from, k));
      from = k + 1;
    }
  }
  out.push(s.slice(from));
  return out;
}

export const NS_PER: Record<string, bigint> = {
  ns: 1n,
  nanosecond: 1n,
  us: 1_000n,
  u: 1_000n,
  microsecond: 1_000n,
  ms: 1_000_000n,
  millisecond: 1_000_000n,
  s: 1_000_000_000n,
  second: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

/** A JSON string literal (as the stand-in's queries quote names) → its value. */
export function jsonString(quoted: string): string {
  return JSON.parse(quoted) as string;
}
