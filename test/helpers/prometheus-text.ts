/**
 * A strict reader of Prometheus's text exposition format 0.0.4 (prom-client writes it but has no parser):
 * every line must be a HELP, a TYPE or a sample, every sample must belong to a family with a TYPE, and
 * anything else throws, so a malformed answer fails the test that reads it.
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  samples: Sample[];
  help: Map<string, string>;
  types: Map<string, string>;
}

const metricName = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const helpLine = new RegExp(`^# HELP (${metricName}) (.*)$`);
const typeLine = new RegExp(`^# TYPE (${metricName}) (counter|gauge|histogram|summary|untyped)$`);
const labelPair = '[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"';
const sampleLine = new RegExp(`^(${metricName})(?:\\{((?:${labelPair})(?:,${labelPair})*,?)?\\})? (\\S+)(?: -?\\d+)?$`);
const numberText = /^(?:[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]?Inf|NaN|Nan)$/;

/** The family a sample belongs to (a histogram's _bucket, _sum and _count lines belong to it). */
const familyOf = (name: string, types: Map<string, string>) => {
  for (const suffix of ['_bucket', '_sum', '_count', '_created']) {
    if (name.endsWith(suffix) && types.has(name.slice(0, -suffix.length))) return name.slice(0, -suffix.length);
  }
  return name;
};

export function parsePrometheusText(text: string): Exposition {
  const exposition: Exposition = { samples: [], help: new Map(), types: new Map() };
  for (const [index, line] of text.split('\n').entries()) {
    if (line === '') continue;
    const where = `line ${index + 1}: ${line.slice(0, 200)}`;
    if (line.startsWith('#')) {
      const help = helpLine.exec(line);
      const type = typeLine.exec(line);
      if (help) exposition.help.set(help[1]!, help[2]!);
      else if (type) exposition.types.set(type[1]!, type[2]!);
      else throw new Error(`not a HELP or TYPE line, ${where}`);
      continue;
    }
    const sample = sampleLine.exec(line);
    if (!sample || !numberText.test(sample[3]!)) throw new Error(`not a sample, ${where}`);
    const labels: Record<string, string> = {};
    for (const pair of (sample[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[pair[1]!] = pair[2]!.replace(/\\(.)/g, (_all, c: string) => (c === 'n' ? '\n' : c));
    const raw = sample[3]!;
    const value = /^[+]?Inf$/.test(raw) ? Infinity : raw === '-Inf' ? -Infinity : /^Na[Nn]$/.test(raw) ? NaN : Number(raw);
    if (!exposition.types.has(familyOf(sample[1]!, exposition.types))) throw new Error(`a sample without a TYPE, ${where}`);
    exposition.samples.push({ name: sample[1]!, labels, value });
  }
  return exposition;
}

/** The value of the one sample with this name whose labels include `labels`; undefined when there is none. */
export function sampleValue(exposition: Exposition, name: string, labels: Record<string, string> = {}): number | undefined {
  const found = exposition.samples.filter(
    (sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value),
  );
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(labels)}`);
  return found[0]?.value;
}
