/** Line plots with uPlot: a vector's values by index, and f with f′ over a range of one input. */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export function linePlot(
  x: number[],
  series: { label: string; values: number[]; colour: string; dash?: number[] }[],
  options: { title: string; xLabel: string; width: number; height: number },
): HTMLElement {
  const host = document.createElement('div');
  host.className = 'lineplot';
  host.setAttribute('role', 'img');
  host.setAttribute('aria-label', `${options.title}: ${series.map((s) => s.label).join(', ')} against ${options.xLabel}`);
  new uPlot(
    {
      title: options.title,
      width: options.width,
      height: options.height,
      scales: { x: { time: false } },
      axes: [{ label: options.xLabel }, {}],
      series: [
        { label: options.xLabel },
        ...series.map((s) => ({ label: s.label, stroke: s.colour, width: 2, ...(s.dash ? { dash: s.dash } : {}) })),
      ],
    },
    [x, ...series.map((s) => s.values.map((v) => (Number.isFinite(v) ? v : null)))] as uPlot.AlignedData,
    host,
  );
  return host;
}
