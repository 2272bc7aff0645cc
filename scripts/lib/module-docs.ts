/**
 * The README's inputs and outputs tables, generated from the synthesized
 * Terraform module so they cannot drift from the code.
 */
import { readFileSync } from 'node:fs';

interface ModuleJson {
  variable?: Record<string, { type?: string; default?: unknown; description?: string }>;
  output?: Record<string, { description?: string }>;
}

export const BEGIN = '<!-- BEGIN GENERATED: module inputs and outputs (npm run docs) -->';
export const END = '<!-- END GENERATED -->';

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');

function typeCell(type: string | undefined): string {
  if (!type) return '';
  return type.includes('\n') ? type.replace(/\(\{[\s\S]*$/, '({…}))') : type;
}

export function renderModuleDocs(moduleJsonPath: string): string {
  const mod = JSON.parse(readFileSync(moduleJsonPath, 'utf8')) as ModuleJson;
  const vars = Object.entries(mod.variable ?? {}).sort(([a], [b]) => a.localeCompare(b));
  const required = vars.filter(([, v]) => !('default' in v));
  const optional = vars.filter(([, v]) => 'default' in v);
  const row = ([name, v]: [string, { type?: string; default?: unknown; description?: string }]) =>
    `| \`${name}\` | \`${cell(typeCell(v.type))}\` | ${'default' in v ? `\`${cell(JSON.stringify(v.default))}\`` : 'required'} | ${cell(v.description ?? '')} |`;
  const outputs = Object.entries(mod.output ?? {}).sort(([a], [b]) => a.localeCompare(b));
  const structured = vars.filter(([, v]) => (v.type ?? '').includes('\n'));
  return [
    BEGIN,
    '',
    '### Inputs',
    '',
    '| name | type | default | description |',
    '| --- | --- | --- | --- |',
    ...required.map(row),
    ...optional.map(row),
    '',
    ...structured.flatMap(([name, v]) => [`Full type of \`${name}\`:`, '', '```hcl', v.type ?? '', '```', '']),
    '### Outputs',
    '',
    '| name | description |',
    '| --- | --- |',
    ...outputs.map(([name, o]) => `| \`${name}\` | ${cell(o.description ?? '')} |`),
    '',
    END,
  ].join('\n');
}

/** The README with its generated section replaced. */
export function updateReadme(readme: string, generated: string): string {
  const start = readme.indexOf(BEGIN);
  const end = readme.indexOf(END);
  if (start < 0 || end < start) throw new Error(`README.md lacks the markers ${BEGIN} … ${END}`);
  return readme.slice(0, start) + generated + readme.slice(end + END.length);
}
