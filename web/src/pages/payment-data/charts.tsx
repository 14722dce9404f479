import { Flex, Typography } from 'antd';

// Small SVG charts for the Payment data dashboard (antd has none; a chart library would be most of the bundle).

export interface Series {
  name: string;
  color: string;
  values: number[];
}

const height = 220;
const padding = { top: 12, right: 12, bottom: 28, left: 56 };

/** Round tick steps (1, 2, 5 × 10^n) up to the maximum. */
function ticksFor(max: number): number[] {
  if (max <= 0) return [0, 1];
  const raw = max / 4;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((n) => n * magnitude).find((n) => n >= raw)!;
  const ticks = [];
  for (let value = 0; value <= max + step / 2; value += step) ticks.push(Number(value.toPrecision(12)));
  return ticks;
}

function Legend({ series }: { series: Series[] }) {
  return (
    <Flex gap={16} style={{ marginTop: 4 }}>
      {series.map((item) => (
        <Flex key={item.name} gap={6} align="center">
          <span style={{ width: 12, height: 12, background: item.color, display: 'inline-block', borderRadius: 2 }} />
          <Typography.Text type="secondary">{item.name}</Typography.Text>
        </Flex>
      ))}
    </Flex>
  );
}

interface ChartProps {
  labels: string[];
  series: Series[];
  format?(value: number): string;
  testId?: string;
}

function Axes({
  labels,
  ticks,
  max,
  width,
  format,
}: {
  labels: string[];
  ticks: number[];
  max: number;
  width: number;
  format(value: number): string;
}) {
  const plotHeight = height - padding.top - padding.bottom;
  const every = Math.max(1, Math.ceil(labels.length / 8));
  const slot = (width - padding.left - padding.right) / Math.max(1, labels.length);
  return (
    <g fontSize={11} fill="#8c8c8c">
      {ticks.map((tick) => {
        const y = padding.top + plotHeight - (tick / max) * plotHeight;
        return (
          <g key={tick}>
            <line x1={padding.left} x2={width - padding.right} y1={y} y2={y} stroke="#f0f0f0" />
            <text x={padding.left - 6} y={y + 4} textAnchor="end">
              {format(tick)}
            </text>
          </g>
        );
      })}
      {labels.map((label, index) =>
        index % every === 0 ? (
          <text key={label} x={padding.left + slot * (index + 0.5)} y={height - 8} textAnchor="middle">
            {label}
          </text>
        ) : null,
      )}
    </g>
  );
}

/** Stacked bars, one per label. */
export function StackedBarChart({ labels, series, format = String, testId }: ChartProps) {
  const width = Math.max(480, labels.length * 18 + padding.left + padding.right);
  const totals = labels.map((_, index) => series.reduce((sum, item) => sum + (item.values[index] ?? 0), 0));
  const ticks = ticksFor(Math.max(0, ...totals));
  const max = ticks[ticks.length - 1]!;
  const plotHeight = height - padding.top - padding.bottom;
  const slot = (width - padding.left - padding.right) / Math.max(1, labels.length);
  return (
    <div data-testid={testId}>
      <svg viewBox={`0 0 ${width} ${height}`} width="100%" role="img">
        <Axes labels={labels} ticks={ticks} max={max} width={width} format={format} />
        {labels.map((label, index) => {
          let base = padding.top + plotHeight;
          return (
            <g key={label}>
              {series.map((item) => {
                const value = item.values[index] ?? 0;
                const barHeight = max ? (value / max) * plotHeight : 0;
                base -= barHeight;
                return (
                  <rect
                    key={item.name}
                    x={padding.left + slot * index + slot * 0.15}
                    y={base}
                    width={slot * 0.7}
                    height={barHeight}
                    fill={item.color}
                  >
                    <title>{`${label} ${item.name}: ${format(value)}`}</title>
                  </rect>
                );
              })}
            </g>
          );
        })}
      </svg>
      <Legend series={series} />
    </div>
  );
}

/** Lines, one point per label. */
export function LineChart({ labels, series, format = String, testId }: ChartProps) {
  const width = Math.max(480, labels.length * 18 + padding.left + padding.right);
  const ticks = ticksFor(Math.max(0, ...series.flatMap((item) => item.values)));
  const max = ticks[ticks.length - 1]!;
  const plotHeight = height - padding.top - padding.bottom;
  const slot = (width - padding.left - padding.right) / Math.max(1, labels.length);
  const point = (value: number, index: number) =>
    [padding.left + slot * (index + 0.5), padding.top + plotHeight - (max ? (value / max) * plotHeight : 0)] as const;
  return (
    <div data-testid={testId}>
      <svg viewBox={`0 0 ${width} ${height}`} width="100%" role="img">
        <Axes labels={labels} ticks={ticks} max={max} width={width} format={format} />
        {series.map((item) => (
          <g key={item.name}>
            <polyline
              fill="none"
              stroke={item.color}
              strokeWidth={2}
              points={item.values.map((value, index) => point(value, index).join(',')).join(' ')}
            />
            {item.values.map((value, index) => {
              const [x, y] = point(value, index);
              return (
                <circle key={index} cx={x} cy={y} r={2.5} fill={item.color}>
                  <title>{`${labels[index]} ${item.name}: ${format(value)}`}</title>
                </circle>
              );
            })}
          </g>
        ))}
      </svg>
      <Legend series={series} />
    </div>
  );
}
