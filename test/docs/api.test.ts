/**
 * docs/API.md is generated from the TSDoc of the package entry point
 * (scripts/lib/api-docs.ts): it must be what the sources give now, and the
 * TSDoc must be complete (a doc comment on every export and every public
 * prop, an @default on every optional one, every prop type importable).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { entrySource, renderApiDocs } from '../../scripts/lib/api-docs';

const root = join(__dirname, '..', '..');
const apiPath = join(root, 'docs', 'API.md');

describe('the API reference', () => {
  const generated = renderApiDocs(root);

  it('should be up to date with the TSDoc (run `npm run docs:api` and commit docs/API.md)', () => {
    const committed = readFileSync(apiPath, 'utf8');
    if (committed !== generated.markdown) {
      const a = committed.split('\n');
      const b = generated.markdown.split('\n');
      const line = a.findIndex((l, i) => l !== b[i]);
      throw new Error(
        `docs/API.md is stale: run \`npm run docs:api\` and commit docs/API.md.\n` +
          `first difference at line ${line + 1}:\n  committed: ${a[line] ?? '(end of file)'}\n  generated: ${b[line] ?? '(end of file)'}`,
      );
    }
  });

  it('should find no gap in the TSDoc of the public API', () => {
    expect(generated.problems).toEqual([]);
  });

  it('should document the entry point package.json names, and every value it exports at run time', () => {
    expect(entrySource(root)).toBe(join(root, 'modules', 'index.ts'));
    const runtime = Object.keys(require('../../modules') as object).filter((k) => k !== '__esModule');
    expect(runtime.length).toBeGreaterThan(10);
    for (const name of runtime) expect(generated.markdown).toContain(`\n### ${name}\n`);
    // The types users write in props are documented too, though they vanish at run time.
    for (const name of ['GitHubRunnersProps', 'RunnerTypeProps', 'ObservabilitySettings', 'RoleSettings', 'EgressRule', 'LambdaVpcConfig']) {
      expect(generated.markdown).toContain(`\n### ${name}\n`);
    }
  });

  it('should show each prop with its type, default and description', () => {
    expect(generated.markdown).toContain('| `prefix` | `string` | required | Prefix for every resource name');
    expect(generated.markdown).toContain('| `enableOrganizationRunners` | `boolean \\| IResolvable` | false |');
    // `*\/` in a comment is shown as the `*/` it stands for.
    expect(generated.markdown).toContain('| `scheduleExpression` | `string` | "cron(*/5 * * * ? *)" | When scale-down runs. |');
  });

  it('should refuse, in a package with each gap, a missing doc comment, a missing @default and a prop type that is not exported', () => {
    const fixture = join(__dirname, 'fixtures', 'api-gaps');
    const { problems, markdown } = renderApiDocs(fixture);
    expect(problems.map((p) => p.replace(/ \(modules\/[a-z]+\.ts:\d+\)/, ''))).toEqual([
      'Widget#attribute: no doc comment',
      'WidgetProps.undocumented: no doc comment',
      'WidgetProps.noDefault: optional, but no @default',
      'WidgetProps.hidden: its type names HiddenSettings, which modules/index.ts does not export',
      'UNDOCUMENTED: no doc comment',
    ]);
    expect(markdown).toContain('### Widget\n');
    expect(markdown).toContain('| `name` | `string` | required | Documented and required. |');
  });
});
