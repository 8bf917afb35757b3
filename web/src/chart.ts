// The dashboard's bar chart (ECharts, canvas renderer, only the parts used). Loaded on demand
// so the rest of the UI does not carry ECharts. The chart is drawn on a canvas (no HTML
// tooltips, which would need inline styles the CSP forbids); the page shows the same figures
// in a table for screen readers and keyboard users.

import { BarChart } from 'echarts/charts';
import { GridComponent, LegendComponent, TooltipComponent } from 'echarts/components';
import * as echarts from 'echarts/core';
import { CanvasRenderer } from 'echarts/renderers';

import { token } from './chart-style';

echarts.use([BarChart, GridComponent, LegendComponent, TooltipComponent, CanvasRenderer]);

export interface Bar {
  label: string;
  value: number;
}

/** Draws a horizontal bar chart into `el`; returns a function that disposes of it. */
export function drawBarChart(el: HTMLElement, bars: Bar[]): () => void {
  el.style.height = `${Math.max(160, bars.length * 32 + 48)}px`;
  const chart = echarts.init(el, undefined, { renderer: 'canvas' });
  const text = token('--color-neutral-solid-gray-800', '#333');
  const font = token('--font-family-sans', 'sans-serif');
  chart.setOption({
    animation: false,
    textStyle: { fontFamily: font, color: text },
    grid: { left: 8, right: 32, top: 8, bottom: 24 },
    tooltip: { trigger: 'axis', renderMode: 'richText', axisPointer: { type: 'shadow' } },
    xAxis: {
      type: 'value',
      minInterval: 1,
      axisLabel: { color: text },
      splitLine: { lineStyle: { color: token('--color-neutral-solid-gray-200', '#ccc') } },
    },
    yAxis: {
      type: 'category',
      inverse: true,
      data: bars.map((b) => b.label),
      axisLabel: { color: text, width: 260, overflow: 'truncate', fontSize: 13 },
    },
    series: [
      {
        type: 'bar',
        data: bars.map((b) => b.value),
        barMaxWidth: 20,
        itemStyle: { color: token('--color-primitive-blue-900', '#0017c1') },
        label: { show: true, position: 'right', color: text },
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

export interface Stack {
  name: string;
  values: number[]; // one per category
}

/**
 * Draws horizontal stacked bars (one bar per category, one segment per stack) into `el`;
 * `colors` per stack, else shades of blue from dark to light.
 */
export function drawStackedBarChart(el: HTMLElement, categories: string[], stacks: Stack[], colors?: string[]): () => void {
  el.style.height = `${Math.max(160, categories.length * 40 + 80)}px`;
  const chart = echarts.init(el, undefined, { renderer: 'canvas' });
  const text = token('--color-neutral-solid-gray-800', '#333');
  const font = token('--font-family-sans', 'sans-serif');
  // Darker for the first (highest) level, as the levels are listed highest first.
  const palette = colors ?? ['#00118f', '#264af4', '#7096f8', '#c5d7fb', '#e8f1fe'];
  chart.setOption({
    animation: false,
    textStyle: { fontFamily: font, color: text },
    legend: { top: 0, textStyle: { color: text } },
    grid: { left: 8, right: 32, top: 32, bottom: 24, containLabel: true },
    tooltip: { trigger: 'axis', renderMode: 'richText', axisPointer: { type: 'shadow' } },
    xAxis: { type: 'value', minInterval: 1, axisLabel: { color: text } },
    yAxis: { type: 'category', inverse: true, data: categories, axisLabel: { color: text, fontSize: 13 } },
    series: stacks.map((s, i) => ({
      type: 'bar',
      name: s.name,
      stack: 'total',
      data: s.values,
      barMaxWidth: 24,
      itemStyle: { color: palette[i % palette.length] },
    })),
  });
  const onResize = () => chart.resize();
  window.addEventListener('resize', onResize);
  return () => {
    window.removeEventListener('resize', onResize);
    chart.dispose();
  };
}
