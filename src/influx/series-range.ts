/** What a count of points asks for: one device's series in [from, to] (epoch seconds, inclusive). */
export interface SeriesRange {
  db: string;
  measurement: string;
  tags: Record<string, string>;
  from: number;
  to: number;
}

/**
 * The WHERE clause of a count, in InfluxQL or SQL: each tag equal to its value (the dialect's quoting), then the
 * time bounds as the dialect writes them.
 */
export function whereClause(
  tags: Record<string, string>,
  ident: (name: string) => string,
  literal: (value: string) => string,
  ...timeBounds: string[]
): string {
  const where = Object.entries(tags).map(([k, v]) => `${ident(k)} = ${literal(v)}`);
  where.push(...timeBounds);
  return where.join(' AND ');
}
