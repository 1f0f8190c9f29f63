/**
 * Line protocol escaping, the same table as @influxdata/influxdb3-client's
 * util/escape (our bytes must equal its output).
 */
function escaper(chars: string, replacements: string[]): (value: string) => string {
  return (value: string): string => {
    let out = '';
    let from = 0;
    for (let i = 0; i < value.length; i++) {
      const found = chars.indexOf(value[i]);
      if (found >= 0) {
        out += value.substring(from, i) + replacements[found];
        from = i + 1;
      }
    }
    return from === 0 ? value : out + value.substring(from);
  };
}

export const escapeMeasurement = escaper(', \n\r\t', ['\\,', '\\ ', '\\n', '\\r', '\\t']);
/** Tag keys, tag values and field keys. */
export const escapeTag = escaper(', =\n\r\t', ['\\,', '\\ ', '\\=', '\\n', '\\r', '\\t']);

/**
 * A trailing backslash would escape the separator after it: line protocol
 * cannot carry it, so it is dropped (the client library has the same limit).
 */
const noTrailingBackslash = (v: string): string => v.replace(/\\+$/, '');

/**
 * `measurement,k=v,… field=` — everything of a point before its value.
 * Tags are sorted by key (InfluxDB's preferred order) and empty values are
 * left out, since line protocol cannot carry them.
 */
export function seriesPrefix(measurement: string, tags: Record<string, string | undefined>, field: string): string {
  let out = escapeMeasurement(measurement);
  for (const key of Object.keys(tags).sort()) {
    const value = tags[key];
    if (value === undefined || value === '') continue;
    const clean = noTrailingBackslash(value);
    if (clean === '') continue;
    out += `,${escapeTag(key)}=${escapeTag(clean)}`;
  }
  return `${out} ${escapeTag(noTrailingBackslash(field))}=`;
}
