import t from 'tap';
import { buildChannels, splitNameUnit, headerCells } from '../../src/tsv/channels.js';
import { parseHeader, timeBasisOf, type HeaderOptions } from '../../src/tsv/header.js';
import { ErrorCodes, FileFormatError } from '../../src/errors.js';
import { TimeZoneRules } from '../../src/tsv/timezone.js';

const OPTS: HeaderOptions = { v002TimeZone: 'Europe/Paris', isValidZone: (z) => TimeZoneRules.isValid(z) };
const M = '02000800';
const S = '04001002';
const S2 = '04001013';

const v002 = (serials: string[], labels: string[], rows: string[] = ['05/01/26 10:00:00\t1']): string =>
  [serials.join('\t'), ['MV_T302_V002', ...labels].join('\t'), ...rows].join('\n') + '\n';

const meta = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    DataZoneCode: 3,
    DataTypeCode: 2,
    DataTimeSettings: 'UTC',
    TimeZone: 'CET-1CEST,M3.5.0,M10.5.0/3',
    TimeZoneName: 'Europe/Paris',
    FileVersion: 3,
    MasterType: 'Tri',
    ...extra,
  });

const v003 = (serials: string[], labels: string[], json = meta(), rows: string[] = []): string =>
  [
    'START_HEADER',
    json,
    'END_HEADER',
    'START_DATA',
    serials.join('\t'),
    ['MV_T302_V003', ...labels].join('\t'),
    ...rows,
    'END_DATA',
  ].join('\n') + '\n';

const parse = (text: string | Buffer, eof = true) =>
  parseHeader(Buffer.isBuffer(text) ? text : Buffer.from(text, 'utf8'), eof);

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof FileFormatError) return err.code;
    return `not a FileFormatError: ${String(err)}`;
  }
  return undefined;
}

t.test('splitNameUnit: the unit is the last space-separated token', async (t) => {
  t.same(splitNameUnit('Ph 1 V'), { name: 'Ph 1', unit: 'V' });
  t.same(splitNameUnit('Voie1 W'), { name: 'Voie1', unit: 'W' });
  t.same(splitNameUnit('minipince W'), { name: 'minipince', unit: 'W' });
  t.same(splitNameUnit('Courant neutre A'), { name: 'Courant neutre', unit: 'A' });
  t.same(
    splitNameUnit('  Ph 2   V '),
    { name: 'Ph 2', unit: 'V' },
    'outer and repeated spaces do not leak into name or unit',
  );
  t.same(splitNameUnit('Energie kWh'), { name: 'Energie', unit: 'kWh' });
  t.same(splitNameUnit('Temp'), { name: 'Temp', unit: '' }, 'a single token has no unit');
});

t.test('headerCells drops trailing empty cells and trims', async (t) => {
  t.same(headerCells('a\tb \t c\t\t'), ['a', 'b', 'c']);
  t.same(headerCells('a\t\tb'), ['a', '', 'b'], 'an empty cell in the middle stays');
});

t.test('buildChannels: master tri from Ph 1/2/3, slave channels Ch1..', async (t) => {
  const serials = [M, M, M, M, M, M, M, S, S];
  const labels = [
    'MV_T302_V002',
    'Ph 1 V',
    'Ph 2 V',
    'Ph 3 V',
    'Voie1 W',
    'Voie2 W',
    'Voie3 W',
    'minipince W',
    'Voie2 W',
  ];
  const { masterSn, masterType, channels } = buildChannels(serials, labels, undefined);
  t.equal(masterSn, M);
  t.equal(masterType, 'tri');
  t.same(
    channels.map((c) => c.label),
    ['U1', 'U2', 'U3', 'Ch1', 'Ch2', 'Ch3', 'Ch1', 'Ch2'],
  );
  t.same(
    channels.map((c) => c.channelId),
    [`M${M}_U1`, `M${M}_U2`, `M${M}_U3`, `M${M}_Ch1`, `M${M}_Ch2`, `M${M}_Ch3`, `M${M}_S${S}_Ch1`, `M${M}_S${S}_Ch2`],
  );
  t.same(
    channels.map((c) => c.fieldKey),
    channels.map((c) => `${c.channelId}_${c.unit}`),
  );
  t.same(
    channels.map((c) => c.column),
    [1, 2, 3, 4, 5, 6, 7, 8],
  );
  t.same(channels[0], {
    column: 1,
    deviceSn: M,
    deviceType: 'master',
    deviceSubtype: 'tri',
    label: 'U1',
    name: 'Ph 1',
    unit: 'V',
    channelId: `M${M}_U1`,
    fieldKey: `M${M}_U1_V`,
  });
  t.equal(channels[6].deviceType, 'slave');
  t.equal(channels[6].deviceSn, S);
  t.notOk('deviceSubtype' in channels[6], 'a slave channel has no subtype');
  t.equal(channels[6].name, 'minipince');
});

t.test('buildChannels: mono when a Ph label is missing; U1 then Ch1..', async (t) => {
  const { masterType, channels } = buildChannels(
    [M, M, M, M],
    ['MV_T302_V002', 'Ph 1 V', 'Ph 2 V', 'Voie1 W'],
    undefined,
  );
  t.equal(masterType, 'mono');
  t.same(
    channels.map((c) => c.label),
    ['U1', 'Ch1', 'Ch2'],
  );
  t.ok(channels.every((c) => c.deviceSubtype === 'mono'));
});

t.test('buildChannels: Ph 1/2/3 on a slave do not make the master tri', async (t) => {
  const { masterType, channels } = buildChannels(
    [M, M, S, S, S],
    ['MV_T302_V002', 'Voie1 W', 'Ph 1 V', 'Ph 2 V', 'Ph 3 V'],
    undefined,
  );
  t.equal(masterType, 'mono');
  t.same(
    channels.map((c) => c.channelId),
    [`M${M}_U1`, `M${M}_S${S}_Ch1`, `M${M}_S${S}_Ch2`, `M${M}_S${S}_Ch3`],
  );
});

t.test('buildChannels: Ph labels in any order still mean tri; labels follow column order', async (t) => {
  const { masterType, channels } = buildChannels(
    [M, M, M, M, M],
    ['MV_T302_V002', 'Voie1 W', 'Ph 3 V', 'Ph 1 V', 'Ph 2 V'],
    undefined,
  );
  t.equal(masterType, 'tri');
  t.same(
    channels.map((c) => [c.name, c.label]),
    [
      ['Voie1', 'U1'],
      ['Ph 3', 'U2'],
      ['Ph 1', 'U3'],
      ['Ph 2', 'Ch1'],
    ],
  );
});

t.test('buildChannels: declared MasterType wins over the labels', async (t) => {
  const serials = [M, M, M, M, M];
  const labels = ['MV_T302_V003', 'Ph 1 V', 'Ph 2 V', 'Ph 3 V', 'Voie1 W'];
  const mono = buildChannels(serials, labels, 'Mono');
  t.equal(mono.masterType, 'mono', 'header says Mono although Ph 1/2/3 exist');
  t.same(
    mono.channels.map((c) => c.label),
    ['U1', 'Ch1', 'Ch2', 'Ch3'],
  );
  t.ok(mono.channels.every((c) => c.deviceSubtype === 'mono'));
  const tri = buildChannels([M, M, M], ['MV_T302_V003', 'Voie1 W', 'Voie2 W'], 'Tri');
  t.equal(tri.masterType, 'tri', 'header says Tri without Ph labels');
  t.same(
    tri.channels.map((c) => c.label),
    ['U1', 'U2'],
  );
  t.equal(buildChannels(serials, labels, 'TRI').masterType, 'tri', 'case-insensitive');
  t.equal(buildChannels([M, M], ['MV_T302_V003', 'Voie1 W'], ' tri ').masterType, 'tri', 'trimmed');
  t.equal(buildChannels(serials, labels, 'Bogus').masterType, 'tri', 'an unknown MasterType falls back to the labels');
});

t.test('buildChannels: several slaves, interleaved columns count per device', async (t) => {
  const { channels } = buildChannels(
    [M, M, S, S2, S, S2, M],
    ['MV_T302_V002', 'Ph 1 V', 'a W', 'b W', 'c W', 'd W', 'e W'],
    undefined,
  );
  t.same(
    channels.map((c) => c.channelId),
    [`M${M}_U1`, `M${M}_S${S}_Ch1`, `M${M}_S${S2}_Ch1`, `M${M}_S${S}_Ch2`, `M${M}_S${S2}_Ch2`, `M${M}_Ch1`],
  );
});

t.test('parseHeader: V002', async (t) => {
  const text = v002([M, M, M, M, M, S], ['Ph 1 V', 'Ph 2 V', 'Ph 3 V', 'Voie1 W', 'Voie1 W']);
  const h = parse(text)!;
  t.ok(h);
  t.equal(h.format, 'V002');
  t.equal(h.formatId, 'MV_T302_V002');
  t.equal(h.masterSn, M);
  t.equal(h.masterType, 'tri');
  t.equal(h.expectsEndData, false);
  t.equal(h.meta, null);
  t.equal(h.channels.length, 5);
  t.equal(h.dataLine, 3);
  const lines = text.split('\n');
  t.equal(h.dataOffset, lines[0].length + lines[1].length + 2);
  t.same(h.warnings, []);
  t.same(timeBasisOf(h, OPTS), { kind: 'local', zone: 'Europe/Paris', source: 'config' });
  t.same(timeBasisOf(h, { ...OPTS, v002TimeZone: 'UTC' }), { kind: 'utc', source: 'config' });
});

t.test('parseHeader: V003 with meta kept', async (t) => {
  const json = meta({ MasterType: 'Mono', Extra: [1, 2] });
  const text = v003([M, M, M, M, M], ['Ph 1 V', 'Ph 2 V', 'Ph 3 V', 'Voie1 W'], json, [
    '05/01/26 10:00:00\t1\t2\t3\t4',
  ]);
  const h = parse(text)!;
  t.equal(h.format, 'V003');
  t.equal(h.formatId, 'MV_T302_V003');
  t.equal(h.expectsEndData, true);
  t.same(h.meta, JSON.parse(json), 'the header JSON is kept whole');
  t.equal(h.masterType, 'mono', 'MasterType Mono wins over Ph 1/2/3');
  t.same(
    h.channels.map((c) => c.label),
    ['U1', 'Ch1', 'Ch2', 'Ch3'],
  );
  t.equal(h.dataLine, 7);
  t.equal(text.slice(h.dataOffset, h.dataOffset + 17), '05/01/26 10:00:00');
  t.same(timeBasisOf(h, OPTS), { kind: 'utc', source: 'header' });
});

t.test('parseHeader: V003 local time basis from TimeZoneName', async (t) => {
  const h = parse(v003([M, M], ['Voie1 W'], meta({ DataTimeSettings: 'Local', TimeZoneName: 'America/New_York' })))!;
  t.same(timeBasisOf(h, OPTS), { kind: 'local', zone: 'America/New_York', source: 'header' });
  const h2 = parse(v003([M, M], ['Voie1 W'], meta({ DataTimeSettings: 'Local', TimeZoneName: 'Not/AZone' })))!;
  t.same(timeBasisOf(h2, OPTS), { kind: 'local', zone: 'Europe/Paris', source: 'config' });
  t.match(h2.warnings.join('\n'), /TimeZoneName/);
});

t.test('parseHeader: the format comes from the content', async (t) => {
  const a = parse(v002([M, M], ['Voie1 W']))!;
  t.equal(a.format, 'V002');
  const b = parse(v003([M, M], ['Voie1 W']))!;
  t.equal(b.format, 'V003');
  // a V002 table inside a V003 container and vice versa: format from the id, with a warning
  const mixed = ['START_HEADER', meta(), 'END_HEADER', 'START_DATA', `${M}\t${M}`, 'MV_T302_V002\tVoie1 W', ''].join(
    '\n',
  );
  const c = parse(mixed)!;
  t.equal(c.formatId, 'MV_T302_V002');
  t.equal(c.expectsEndData, true, 'the container asks for END_DATA');
  t.match(c.warnings.join('\n'), /MV_T302_V002 in a V003 container/);
  const d = parse(`${M}\t${M}\nMV_T302_V003\tVoie1 W\n`)!;
  t.equal(d.expectsEndData, false);
  t.match(d.warnings.join('\n'), /MV_T302_V003 in a V002 container/);
});

t.test('parseHeader: unknown format id is refused by name', async (t) => {
  for (const id of ['MV_T202_V002', 'MV_T302_V004', 'XY_T1_V1']) {
    const text = `${M}\t${M}\n${id}\tVoie1 W\n05/01/26 10:00:00\t1\n`;
    try {
      parse(text);
      t.fail(`${id} accepted`);
    } catch (err) {
      t.ok(err instanceof FileFormatError, `${id}: FileFormatError`);
      t.equal((err as FileFormatError).code, ErrorCodes.UNKNOWN_FORMAT, `${id}: code`);
      t.match((err as Error).message, id, `${id}: message names the id`);
      t.equal((err as FileFormatError).line, 2, `${id}: line of the format id`);
    }
  }
  t.equal(
    codeOf(() => parse(`${M}\t${M}\nhello\tVoie1 W\n`)),
    ErrorCodes.NO_HEADER,
    'text that is no format id at all: no header',
  );
});

t.test('parseHeader: files that cannot be read as a whole', async (t) => {
  t.equal(
    codeOf(() => parse('')),
    ErrorCodes.EMPTY_FILE,
    'empty',
  );
  t.equal(
    codeOf(() => parse('\n\n  \n\t\r\n')),
    ErrorCodes.EMPTY_FILE,
    'blank lines only',
  );
  t.equal(
    codeOf(() => parse(Buffer.from([0xef, 0xbb, 0xbf]))),
    ErrorCodes.EMPTY_FILE,
    'BOM only',
  );
  t.equal(
    codeOf(() => parse(Buffer.from([1, 2, 0, 4, 10, 65, 10]))),
    ErrorCodes.BINARY_FILE,
    'NUL bytes',
  );
  const withNul = Buffer.from(v002([M, M], ['Voie1 W']));
  withNul[3] = 0;
  t.equal(
    codeOf(() => parse(withNul)),
    ErrorCodes.BINARY_FILE,
    'a NUL in the header',
  );
  t.equal(
    codeOf(() => parse(`${M}\t${M}\t${M}\nMV_T302_V002\tVoie1 W\n`)),
    ErrorCodes.BAD_HEADER,
    'more serials than labels',
  );
  t.equal(
    codeOf(() => parse(`${M}\t${M}\nMV_T302_V002\tVoie1 W\tVoie2 W\n`)),
    ErrorCodes.BAD_HEADER,
    'more labels than serials',
  );
  t.equal(
    codeOf(() => parse(`${M}\nMV_T302_V002\n`)),
    ErrorCodes.BAD_HEADER,
    'no channel column',
  );
  const twice = parse(`${M}\t${M}\t${M}\nMV_T302_V002\tVoie1 W\tVoie1 W\n`)!;
  t.same(
    twice.channels.map((c) => c.fieldKey),
    [`M${M}_U1_W`, `M${M}_Ch1_W`],
    'the same label twice: two channels, told apart by position',
  );
  t.equal(
    codeOf(() => parse(`${M}\nMV_T302_V002\tVoie1 W\n`.replace(M, 'bad serial!'))),
    ErrorCodes.BAD_HEADER,
    'bad serial',
  );
  t.equal(
    codeOf(() => parse(`${M}\t${M}\n`)),
    ErrorCodes.NO_HEADER,
    'label line missing',
  );
  t.equal(
    codeOf(() => parse('START_HEADER\n{"a":1}\n')),
    ErrorCodes.NO_HEADER,
    'START_HEADER without END_HEADER',
  );
  t.equal(
    codeOf(() => parse('START_HEADER\n{"a":1}\nEND_HEADER\n')),
    ErrorCodes.NO_HEADER,
    'no START_DATA at eof',
  );
  t.equal(
    codeOf(() => parse(`START_HEADER\n{"a":1}\nEND_HEADER\n${M}\t${M}\nMV_T302_V003\tVoie1 W\n`)),
    ErrorCodes.BAD_HEADER,
    'END_HEADER followed by something else than START_DATA',
  );
  for (const bad of ['{"a":', '[1,2]', 'null', '"text"', '{"a":1} x']) {
    const text = `START_HEADER\n${bad}\nEND_HEADER\nSTART_DATA\n${M}\t${M}\nMV_T302_V003\tVoie1 W\n`;
    let err: unknown;
    try {
      parse(text);
    } catch (e) {
      err = e;
    }
    t.ok(err instanceof FileFormatError, `JSON ${bad}: FileFormatError`);
    t.equal((err as FileFormatError)?.code, ErrorCodes.BAD_HEADER, `JSON ${bad}: bad header`);
    t.equal((err as FileFormatError)?.line, 2, `JSON ${bad}: line of the JSON`);
  }
});

t.test('parseHeader: CRLF, BOM, trailing tabs, blank lines before the header', async (t) => {
  const plain = v002([M, M, M, M, S], ['Ph 1 V', 'Ph 2 V', 'Ph 3 V', 'Voie1 W']);
  const ref = parse(plain)!;
  const variants: Record<string, Buffer> = {
    crlf: Buffer.from(plain.replace(/\n/g, '\r\n')),
    bom: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(plain)]),
    'trailing tabs': Buffer.from(plain.replace(/\n/g, '\t\t\n')),
    'all three': Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(plain.replace(/\n/g, '\t\r\n'))]),
  };
  for (const [name, buf] of Object.entries(variants)) {
    const h = parse(buf)!;
    t.same(h.channels, ref.channels, `${name}: same channels`);
    t.equal(h.masterSn, M, `${name}: master`);
    t.equal(h.format, 'V002', `${name}: format`);
    t.equal(h.layout, ref.layout, `${name}: layout`);
    t.equal(buf.toString('utf8', h.dataOffset, h.dataOffset + 17), '05/01/26 10:00:00', `${name}: data offset`);
    t.equal(h.dataLine, 3, `${name}: data line`);
  }
  const v3 = v003([M, M, S], ['Voie1 W', 'Voie1 W'], meta({ MasterType: 'Mono' }), ['05/01/26 10:00:00\t1\t2']);
  const h3 = parse(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(v3.replace(/\n/g, '\t\r\n'))]))!;
  t.equal(h3.format, 'V003', 'V003 with BOM, CRLF and trailing tabs');
  t.equal(h3.meta?.MasterType, 'Mono');
  t.same(
    h3.channels.map((c) => c.channelId),
    [`M${M}_U1`, `M${M}_S${S}_Ch1`],
  );
  const blanks = parse('\n  \n' + plain)!;
  t.equal(blanks.dataLine, 5, 'blank lines before the header count as lines');
  t.equal(blanks.channels.length, 4);
});

t.test('parseHeader: incomplete head with eof=false returns null', async (t) => {
  const text = v003([M, M, M], ['Voie1 W', 'Voie2 W'], meta(), ['05/01/26 10:00:00\t1\t2']);
  const full = Buffer.from(text);
  const labelEnd = text.indexOf('Voie2 W\n') + 'Voie2 W\n'.length;
  for (let n = 0; n < labelEnd; n++) {
    const r = parse(full.subarray(0, n), false);
    if (r !== null) {
      t.fail(`a head of ${n} bytes (of ${labelEnd}) gave a header`);
      return;
    }
  }
  t.pass('every strict prefix of the header gives null');
  const h = parse(full.subarray(0, labelEnd), false);
  t.ok(h, 'the complete header without data is a header');
  t.equal(h?.channels.length, 2);
  // the label line without its newline may be cut
  t.equal(parse(full.subarray(0, labelEnd - 1), false), null, 'label line without newline: null while more may come');
  t.equal(parse(full.subarray(0, labelEnd - 1), true)?.channels.length, 2, '… and a header at eof');
  const v2 = Buffer.from(v002([M, M], ['Voie1 W']));
  t.equal(parse(v2.subarray(0, 5), false), null);
  t.equal(parse(Buffer.alloc(0), false), null, 'nothing yet');
  t.equal(
    codeOf(() => parse(v2.subarray(0, 5), true)),
    ErrorCodes.NO_HEADER,
    'the same prefix at eof is an error',
  );
});

t.test('parseHeader: layout signature tracks the header layout', async (t) => {
  const mono = parse(v002([M, M, M], ['Ph 1 V', 'Voie1 W']))!;
  const tri = parse(v002([M, M, M, M, M], ['Ph 1 V', 'Ph 2 V', 'Ph 3 V', 'Voie1 W']))!;
  const mono2 = parse(v002([M, M, M], ['Ph 1 V', 'Voie1 W'], ['05/01/26 10:00:00\t5\t6', '05/01/26 10:10:00\t5\t6']))!;
  t.not(mono.layout, tri.layout);
  t.equal(mono.layout, mono2.layout);
});
