/**
 * The PDF report's charts, rendered on the server without a browser or a
 * canvas: a Vega-Lite spec is compiled to Vega, run by a headless `View`
 * (renderer `none`), serialised with `toSVG()` and drawn into the PDFKit
 * document as vectors by svg-to-pdfkit, with the report's embedded font.
 */
import SVGtoPDF from 'svg-to-pdfkit';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { DailyPoint, ProfilePoint } from './pdf-chart-data.js';
import { CHART_FONT_FAMILY, chartFont, useFontMetrics } from './pdf-fonts.js';

/** Tableau 10, then the grey of "Other channels" */
const PALETTE = [
  '#4e79a7',
  '#f28e2b',
  '#e15759',
  '#76b7b2',
  '#59a14f',
  '#edc948',
  '#b07aa1',
  '#ff9da7',
  '#9c755f',
  '#bab0ac',
];

export interface ChartBox {
  readonly width: number;
  readonly height: number;
}

function colorScale(order: readonly string[]): { domain: string[]; range: string[] } {
  return { domain: [...order], range: order.map((s, i) => (s === 'Other channels' ? '#9e9e9e' : PALETTE[i % 10])) };
}

const CONFIG = {
  font: CHART_FONT_FAMILY,
  background: 'white',
  view: { stroke: null },
  axis: { labelFontSize: 8, titleFontSize: 9, gridColor: '#e3e3e3' },
  legend: { labelFontSize: 8, titleFontSize: 9, orient: 'bottom', columns: 3, labelLimit: 150 },
  title: { fontSize: 11, anchor: 'start' },
} as const;

function base(box: ChartBox, title: string): Record<string, unknown> {
  return {
    width: box.width,
    height: box.height,
    autosize: { type: 'fit', contains: 'padding' },
    title,
    config: CONFIG,
  };
}

/** stacked bars: energy per local day, one colour per series */
export function dailyEnergySpec(
  points: readonly DailyPoint[],
  order: readonly string[],
  timeZone: string,
  box: ChartBox,
): TopLevelSpec {
  const days = new Set(points.map((p) => p.day)).size;
  // MM-DD reads best, unless the period spans years
  const oneYear = new Set(points.map((p) => p.day.slice(0, 4))).size <= 1;
  return {
    ...base(box, 'Daily energy per channel (kWh)'),
    data: { values: points.map((p) => ({ ...p })) },
    mark: { type: 'bar' },
    encoding: {
      x: {
        field: 'day',
        type: 'ordinal',
        title: `Local day (${timeZone})`,
        axis: {
          labelAngle: days > 12 ? -60 : 0,
          labelOverlap: 'greedy',
          ...(oneYear ? { labelExpr: 'slice(datum.value, 5)' } : {}),
        },
      },
      y: { field: 'kwh', type: 'quantitative', title: 'kWh', stack: 'zero' },
      color: { field: 'series', type: 'nominal', title: 'Channel', scale: colorScale(order) },
    },
  };
}

/** one line per series: mean power per local hour of day */
export function powerProfileSpec(
  points: readonly ProfilePoint[],
  order: readonly string[],
  timeZone: string,
  box: ChartBox,
): TopLevelSpec {
  return {
    ...base(box, 'Mean power by hour of day (W)'),
    data: { values: points.map((p) => ({ ...p })) },
    mark: { type: 'line', point: { size: 12 }, strokeWidth: 1.5 },
    encoding: {
      x: {
        field: 'hour',
        type: 'quantitative',
        title: `Hour of day (${timeZone})`,
        scale: { domain: [0, 23], nice: false },
        axis: { tickCount: 12, values: [0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22] },
      },
      y: { field: 'watts', type: 'quantitative', title: 'W' },
      color: { field: 'series', type: 'nominal', title: 'Channel', scale: colorScale(order) },
    },
  };
}

/** the spec's SVG, rendered headless (no canvas: text is measured with the embedded font) */
export async function chartSvg(spec: TopLevelSpec): Promise<string> {
  useFontMetrics();
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** draws `svg` at (x, y) scaled to fit `box`; returns svg-to-pdfkit's warnings */
export function drawSvg(doc: PDFKit.PDFDocument, svg: string, x: number, y: number, box: ChartBox): string[] {
  const warnings: string[] = [];
  SVGtoPDF(doc, svg, x, y, {
    width: box.width,
    height: box.height,
    assumePt: true,
    preserveAspectRatio: 'xMinYMin meet',
    fontCallback: chartFont,
    warningCallback: (w) => warnings.push(w),
  });
  return warnings;
}
