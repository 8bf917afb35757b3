// The risk heat map (ECharts heatmap on a category grid, canvas renderer, only the parts used),
// loaded on demand like chart.ts. Each cell is coloured by its risk level through a piecewise
// visual map, which also draws the legend naming the levels (the colour is never alone); the
// cell's label is its count. Tooltips are rich text (HTML tooltips would need inline styles the
// CSP forbids); the page shows the same figures in a table.

import { HeatmapChart } from 'echarts/charts';
import { GridComponent, TooltipComponent, VisualMapPiecewiseComponent } from 'echarts/components';
import * as echarts from 'echarts/core';
import { CanvasRenderer } from 'echarts/renderers';

import { chartText, token } from './chart-style';

echarts.use([HeatmapChart, GridComponent, TooltipComponent, VisualMapPiecewiseComponent, CanvasRenderer]);

export interface HeatCell {
  /** Index into `columns` (impact) and `rows` (likelihood). */
  column: number;
  row: number;
  /** Index into `levels`. */
  level: number;
  count: number;
  /** The tooltip's text (plain text, one or more lines). */
  text: string;
}

export interface HeatMap {
  /** Horizontal axis, lowest first (left to right). */
  columns: string[];
  /** Vertical axis, lowest first (drawn from the bottom up). */
  rows: string[];
  columnName: string;
  rowName: string;
  levels: { name: string; color: string }[];
  cells: HeatCell[];
}

/** Draws `map` into `el`; returns a function that disposes of it. */
export function drawHeatMap(el: HTMLElement, map: HeatMap): () => void {
  el.style.height = `${Math.max(280, map.rows.length * 56 + 140)}px`;
  const chart = echarts.init(el, undefined, { renderer: 'canvas' });
  const { color: text, font } = chartText();
  const line = token('--color-neutral-white', '#fff');
  chart.setOption({
    animation: false,
    textStyle: { fontFamily: font, color: text },
    tooltip: { trigger: 'item', renderMode: 'richText', formatter: (p: { dataIndex: number }) => map.cells[p.dataIndex]?.text ?? '' },
    grid: { left: 8, right: 16, top: 32, bottom: 72, containLabel: true },
    xAxis: {
      type: 'category',
      data: map.columns,
      name: map.columnName,
      nameLocation: 'middle',
      nameGap: 28,
      splitArea: { show: false },
      axisLabel: { color: text, interval: 0, fontSize: 12, width: 80, overflow: 'break' },
    },
    yAxis: {
      type: 'category',
      data: map.rows,
      name: map.rowName,
      nameLocation: 'end',
      nameTextStyle: { align: 'left', fontWeight: 'bold' },
      axisLabel: { color: text, interval: 0, fontSize: 12 },
    },
    visualMap: {
      type: 'piecewise',
      dimension: 2,
      orient: 'horizontal',
      left: 'center',
      bottom: 0,
      selectedMode: false,
      textStyle: { color: text },
      pieces: map.levels.map((l, i) => ({ value: i, label: l.name, color: l.color })),
    },
    series: [
      {
        type: 'heatmap',
        data: map.cells.map((c) => ({ value: [c.column, c.row, c.level], count: c.count })),
        label: {
          show: true,
          color: text,
          fontSize: 16,
          fontWeight: 'bold',
          formatter: (p: { dataIndex: number }) => {
            const n = map.cells[p.dataIndex]?.count ?? 0;
            return n ? String(n) : '';
          },
        },
        itemStyle: { borderColor: line, borderWidth: 2 },
        emphasis: { itemStyle: { borderColor: text } },
      },
    ],
  });
  const onResize = () => chart.resize();
  window.addEventListener('resize', onResize);
  return () => {
    window.removeEventListener('resize', onResize);
    chart.dispose();
  };
}
