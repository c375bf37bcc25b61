import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parser } from '@prometheus-io/lezer-promql';
import { parse as parseYaml } from 'yaml';
import { ROOT } from './processes.ts';

/** A node of a parsed PromQL expression (lezer's `SyntaxNode`). */
type SyntaxNode = ReturnType<typeof parser.parse>['topNode'];

/** The operator pack shipped in `examples/operator/`. */
export const DASHBOARD_PATH = join(ROOT, 'examples/operator/grafana-dashboard.json');
export const ALERTS_PATH = join(ROOT, 'examples/operator/prometheus-alerts.yaml');

/** One PromQL expression of the pack, and where it is. */
export interface PackExpression {
  where: string;
  expr: string;
}

/** A metric an expression selects, with the label names its matchers use. */
export interface Selector {
  metric: string;
  labels: string[];
}

/** What one expression reads: its selectors, the `by`/`without` labels of each aggregation over the metrics under it, its syntax errors. */
export interface ExpressionUse {
  selectors: Selector[];
  groupings: { labels: string[]; metrics: string[] }[];
  errors: string[];
}

export interface DashboardPanel {
  id?: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  gridPos?: { h: number; w: number; x: number; y: number };
  targets?: { expr?: string; datasource?: { type: string; uid: string } }[];
  panels?: DashboardPanel[];
}

export interface Dashboard {
  __inputs?: { name: string; type: string; pluginId: string }[];
  title: string;
  uid: string;
  panels: DashboardPanel[];
  templating?: { list: { name: string; type: string; query?: string | { query: string } }[] };
}

export interface AlertRules {
  groups: { name: string; rules: { alert?: string; record?: string; expr: string; for?: string; labels?: Record<string, string>; annotations?: Record<string, string> }[] }[];
}

export const loadDashboard = (): Dashboard => JSON.parse(readFileSync(DASHBOARD_PATH, 'utf8')) as Dashboard;
export const loadAlertRules = (): AlertRules => parseYaml(readFileSync(ALERTS_PATH, 'utf8')) as AlertRules;

/** Every panel, those inside collapsed rows too. */
export const allPanels = (dashboard: Dashboard): DashboardPanel[] => dashboard.panels.flatMap((panel) => [panel, ...(panel.panels ?? [])]);

/**
 * Every PromQL expression of a dashboard (panel targets; template variables' `label_values(selector,
 * label)` and `query_result(expr)` queries) and of alert rules.
 */
export function packExpressions(dashboard: Dashboard, rules: AlertRules): PackExpression[] {
  const found: PackExpression[] = [];
  for (const panel of allPanels(dashboard)) {
    for (const [index, target] of (panel.targets ?? []).entries()) if (target.expr !== undefined) found.push({ where: `panel "${panel.title}" target ${index}`, expr: target.expr });
  }
  for (const variable of dashboard.templating?.list ?? []) {
    if (variable.type !== 'query') continue;
    const query = typeof variable.query === 'string' ? variable.query : (variable.query?.query ?? '');
    const inner = /^(?:label_values\((.*),\s*[a-zA-Z_][a-zA-Z0-9_]*\)|query_result\((.*)\))$/s.exec(query.trim());
    found.push({ where: `variable $${variable.name}`, expr: inner?.[1] ?? inner?.[2] ?? query });
  }
  for (const group of rules.groups) for (const rule of group.rules) found.push({ where: `rule ${rule.alert ?? rule.record}`, expr: rule.expr });
  return found;
}

/** Grafana's `$__rate_interval`, `$__range`, … are not PromQL: a duration stands in for them. */
const withoutGrafanaVariables = (expr: string): string => expr.replace(/\$__[a-z_]+/gi, '5m');

const childrenOf = (node: SyntaxNode, name: string): SyntaxNode[] => {
  const found: SyntaxNode[] = [];
  for (let child = node.firstChild; child !== null; child = child.nextSibling) if (child.name === name) found.push(child);
  return found;
};

/** Parses an expression with Prometheus's own PromQL grammar (the one its UI uses) and says what it reads. */
export function readExpression(source: string): ExpressionUse {
  const expr = withoutGrafanaVariables(source);
  const text = (node: SyntaxNode): string => expr.slice(node.from, node.to);
  const use: ExpressionUse = { selectors: [], groupings: [], errors: [] };
  const selectorOf = (node: SyntaxNode): Selector => {
    const name = childrenOf(node, 'Identifier')[0];
    const labels: string[] = [];
    for (const matchers of childrenOf(node, 'LabelMatchers')) {
      for (const matcher of [...childrenOf(matchers, 'UnquotedLabelMatcher'), ...childrenOf(matchers, 'QuotedLabelMatcher')]) {
        const label = childrenOf(matcher, 'LabelName')[0];
        if (label !== undefined) labels.push(text(label));
      }
    }
    return { metric: name === undefined ? '' : text(name), labels };
  };
  parser.parse(expr).iterate({
    enter: (ref) => {
      if (ref.type.isError) use.errors.push(`syntax error at ${ref.from}: "${expr.slice(Math.max(0, ref.from - 20), ref.to + 20)}"`);
      if (ref.name === 'VectorSelector') {
        const selector = selectorOf(ref.node);
        if (selector.metric === '') use.errors.push(`a selector without a metric name: ${text(ref.node)}`);
        else use.selectors.push(selector);
      }
      if (ref.name === 'AggregateExpr') {
        const modifier = childrenOf(ref.node, 'AggregateModifier')[0];
        const grouping = modifier === undefined ? undefined : childrenOf(modifier, 'GroupingLabels')[0];
        if (grouping === undefined) return;
        const metrics: string[] = [];
        ref.node.cursor().iterate((inner) => {
          if (inner.name === 'VectorSelector') metrics.push(selectorOf(inner.node).metric);
        });
        use.groupings.push({ labels: childrenOf(grouping, 'LabelName').map(text), metrics });
      }
    },
  });
  return use;
}

/** A metric family in Prometheus text: its type, and the label names of its samples. */
export interface Family {
  type: string;
  labels: Set<string>;
  samples: number;
}

const HISTOGRAM_SERIES = ['_bucket', '_sum', '_count'] as const;

/** The families a `/metrics` answer serves (each from its `# TYPE` line), with their samples' label names. */
export function servedFamilies(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  for (const match of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) families.set(match[1]!, { type: match[2]!, labels: new Set(), samples: 0 });
  for (const line of text.split('\n')) {
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? \S+$/.exec(line);
    if (sample === null) continue;
    const family = families.get(sample[1]!) ?? families.get(sample[1]!.replace(/_(bucket|sum|count)$/, ''));
    if (family === undefined) continue;
    family.samples += 1;
    for (const label of (sample[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="/g)) family.labels.add(label[1]!);
  }
  return families;
}

/** The family a series name belongs to: itself, or the histogram whose `_bucket`/`_sum`/`_count` it is; null when none is served. */
export function familyOf(name: string, families: ReadonlyMap<string, Family>): string | null {
  const own = families.get(name);
  if (own !== undefined && own.type !== 'histogram') return name;
  for (const suffix of HISTOGRAM_SERIES) {
    if (!name.endsWith(suffix)) continue;
    const base = name.slice(0, -suffix.length);
    if (families.get(base)?.type === 'histogram') return base;
  }
  return null;
}

/** The label names a series of a family carries (a histogram's `_bucket` also has `le`). */
function labelsOf(name: string, family: Family, familyName: string): Set<string> {
  const labels = new Set([...family.labels].filter((label) => label !== 'le'));
  if (name === `${familyName}_bucket`) labels.add('le');
  return labels;
}

/**
 * What is wrong with the pack against one `/metrics` answer: a syntax error, a metric it names that
 * is not served, a label a matcher or a grouping uses that the metric's samples do not carry. Labels
 * are checked only on families that have samples (`families` of a run that gave them series).
 */
export function packProblems(expressions: readonly PackExpression[], families: ReadonlyMap<string, Family>): string[] {
  const problems: string[] = [];
  for (const { where, expr } of expressions) {
    const use = readExpression(expr);
    problems.push(...use.errors.map((error) => `${where}: ${error}`));
    const labelsFor = (metric: string): Set<string> | null => {
      const familyName = familyOf(metric, families);
      const family = familyName === null ? undefined : families.get(familyName);
      return familyName === null || family === undefined || family.samples === 0 ? null : labelsOf(metric, family, familyName);
    };
    for (const selector of use.selectors) {
      if (familyOf(selector.metric, families) === null) {
        problems.push(`${where}: ${selector.metric} is not served`);
        continue;
      }
      const labels = labelsFor(selector.metric);
      for (const label of selector.labels) if (labels !== null && !labels.has(label)) problems.push(`${where}: ${selector.metric} has no label "${label}"`);
    }
    for (const grouping of use.groupings) {
      const known = grouping.metrics.map(labelsFor);
      if (known.some((labels) => labels === null)) continue;
      for (const label of grouping.labels) if (!known.some((labels) => labels?.has(label))) problems.push(`${where}: no metric under "by (${grouping.labels.join(', ')})" has a label "${label}"`);
    }
  }
  return problems;
}
