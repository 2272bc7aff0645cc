/**
 * The API reference (docs/API.md) from the TSDoc of what the package entry
 * point exports, read with the TypeScript compiler API (no other tool). The
 * same walk collects what is missing, so a test can refuse a public prop
 * without a doc comment, an optional prop without `@default`, or a type a
 * user must write (a prop's or a parameter's type) that the entry point does
 * not export.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import * as ts from 'typescript';

export interface ApiDocs {
  /** docs/API.md as it should be. */
  readonly markdown: string;
  /** What the TSDoc lacks, one line each, e.g. "GitHubRunnersProps.prefix: no doc comment". */
  readonly problems: string[];
}

type Kind = 'construct' | 'class' | 'interface' | 'function' | 'constant';

interface Entry {
  readonly name: string;
  readonly kind: Kind;
  readonly declaration: ts.Declaration;
  readonly symbol: ts.Symbol;
}

/** The entry point `exports["."]` names in package.json, mapped back to its TypeScript source under modules/. */
export function entrySource(root: string): string {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { main?: string; exports?: Record<string, { default?: string } | string> };
  const dot = pkg.exports?.['.'];
  const js = (typeof dot === 'string' ? dot : dot?.default) ?? pkg.main;
  if (js === undefined) throw new Error('package.json names no entry point (exports["."] or main)');
  // tsconfig.build.json compiles modules/ to lib/.
  return join(root, js.replace(/^\.\//, '').replace(/^lib\//, 'modules/').replace(/\.js$/, '.ts'));
}

const SECTIONS: { kind: Kind; title: string; intro: string }[] = [
  { kind: 'construct', title: 'Constructs', intro: 'Constructs to add to a `TerraformStack`.' },
  { kind: 'class', title: 'Classes', intro: 'Values to pass in props, and the error that bad props throw.' },
  { kind: 'interface', title: 'Props and other types', intro: 'Every field is `readonly`. "required" marks a field without a default.' },
  { kind: 'function', title: 'Functions', intro: '' },
  { kind: 'constant', title: 'Constants', intro: '' },
];

export function renderApiDocs(root: string): ApiDocs {
  const entry = entrySource(root);
  const tsconfig = join(root, 'tsconfig.build.json');
  const config = existsSync(tsconfig) ? ts.getParsedCommandLineOfConfigFile(tsconfig, { noEmit: true }, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined }) : undefined;
  const program = ts.createProgram([entry], { ...(config?.options ?? {}), noEmit: true });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(entry);
  if (!source) throw new Error(`${entry}: not found`);
  const moduleSymbol = checker.getSymbolAtLocation(source);
  if (!moduleSymbol) throw new Error(`${entry}: not a module`);
  const problems: string[] = [];
  const where = (node: ts.Node) => {
    const file = node.getSourceFile();
    return `${relative(root, file.fileName)}:${file.getLineAndCharacterOfPosition(node.getStart()).line + 1}`;
  };

  // Order: the entry's export statements, then the position in each file.
  const fileOrder = new Map<string, number>();
  for (const statement of source.statements) {
    if (ts.isExportDeclaration(statement) && statement.moduleSpecifier) {
      const target = checker.getSymbolAtLocation(statement.moduleSpecifier)?.valueDeclaration?.getSourceFile().fileName;
      if (target !== undefined && !fileOrder.has(target)) fileOrder.set(target, fileOrder.size);
    }
  }

  const entries: Entry[] = [];
  for (const exported of checker.getExportsOfModule(moduleSymbol)) {
    const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    const declaration = symbol.declarations?.[0];
    if (!declaration) continue;
    const kind = kindOf(declaration, checker);
    if (!kind) {
      problems.push(`${exported.name} (${where(declaration)}): exported, but the generator does not know how to document a ${ts.SyntaxKind[declaration.kind]}`);
      continue;
    }
    entries.push({ name: exported.name, kind, declaration, symbol });
  }
  // A construct's props first among the types, as a reader looks for them first.
  const constructs = new Set(entries.filter((e) => e.kind === 'construct').map((e) => `${e.name}Props`));
  const position = (e: Entry) => [constructs.has(e.name) ? -1 : (fileOrder.get(e.declaration.getSourceFile().fileName) ?? fileOrder.size), e.declaration.getStart()];
  entries.sort((a, b) => {
    const [fa, pa] = position(a);
    const [fb, pb] = position(b);
    return fa - fb || pa - pb;
  });
  const exportedNames = new Set(entries.map((e) => e.name));
  const ownFile = (file: ts.SourceFile) => !program.isSourceFileFromExternalLibrary(file) && !file.isDeclarationFile;

  /** A type a user writes (a prop's or a parameter's) must be importable. */
  const requireExported = (typeNode: ts.TypeNode | undefined, usedBy: string) => {
    if (!typeNode) return;
    const visit = (node: ts.Node) => {
      if (ts.isTypeReferenceNode(node)) {
        let symbol = checker.getSymbolAtLocation(ts.isQualifiedName(node.typeName) ? node.typeName.right : node.typeName);
        if (symbol && symbol.flags & ts.SymbolFlags.Alias) symbol = checker.getAliasedSymbol(symbol);
        const declaration = symbol?.declarations?.[0];
        if (symbol && declaration && ownFile(declaration.getSourceFile()) && !ts.isTypeParameterDeclaration(declaration) && !exportedNames.has(symbol.name)) {
          problems.push(`${usedBy}: its type names ${symbol.name} (${where(declaration)}), which ${relative(root, entry)} does not export`);
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(typeNode);
  };

  const doc = (symbol: ts.Symbol, label: string, node: ts.Node): { text: string; defaultValue?: string } => {
    const text = unescape(ts.displayPartsToString(symbol.getDocumentationComment(checker)).trim());
    if (text === '') problems.push(`${label} (${where(node)}): no doc comment`);
    const tag = symbol.getJsDocTags(checker).find((t) => t.name === 'default');
    const defaultValue = tag ? unescape(ts.displayPartsToString(tag.text).trim()) : undefined;
    if (tag && defaultValue === '') problems.push(`${label} (${where(node)}): @default without a value`);
    return { text, defaultValue };
  };

  const out: string[] = [
    '# API reference',
    '',
    '<!-- Generated by `npm run docs:api` from the TSDoc of the package entry point; do not edit by hand.',
    '     test/docs/api.test.ts fails when this file is stale. -->',
    '',
    `Everything the package \`cdktf-github-runners\` exports (\`${relative(root, entry)}\`), e.g.`,
    "`import { GitHubRunners, RunnerTypes } from 'cdktf-github-runners'`. The Terraform module's inputs",
    'and outputs are in the [README](../README.md#inputs).',
    '',
    '## Contents',
    '',
  ];
  for (const section of SECTIONS) {
    const names = entries.filter((e) => e.kind === section.kind).map((e) => `[${e.name}](#${anchor(e.name)})`);
    if (names.length > 0) out.push(`- **${section.title}**: ${names.join(', ')}`);
  }

  const seeAlso = (typeText: string, self: string) => {
    const names = [...new Set(typeText.match(/[A-Za-z_][A-Za-z0-9_]*/g) ?? [])].filter((n) => n !== self && exportedNames.has(n));
    return names.length === 0 ? '' : ` (see ${names.map((n) => `[${n}](#${anchor(n)})`).join(', ')})`;
  };
  const typeOf = (declaration: ts.Declaration | undefined, symbol: ts.Symbol): string => {
    const node = declaration && (ts.isPropertySignature(declaration) || ts.isPropertyDeclaration(declaration) || ts.isParameter(declaration)) ? declaration.type : undefined;
    return node ? flat(node.getText()) : checker.typeToString(checker.getTypeOfSymbol(symbol));
  };

  for (const section of SECTIONS) {
    const inSection = entries.filter((e) => e.kind === section.kind);
    if (inSection.length === 0) continue;
    out.push('', `## ${section.title}`, '');
    if (section.intro) out.push(section.intro, '');
    for (const e of inSection) {
      const { text } = doc(e.symbol, e.name, e.declaration);
      out.push(`### ${e.name}`, '', ...(text ? [text, ''] : []));
      if (ts.isClassDeclaration(e.declaration)) renderClass(e, e.declaration);
      else if (ts.isInterfaceDeclaration(e.declaration) || ts.isTypeAliasDeclaration(e.declaration)) renderProps(e);
      else if (ts.isFunctionDeclaration(e.declaration)) {
        out.push('```ts', `function ${e.name}${signature(e.declaration)}`, '```', '');
        e.declaration.parameters.forEach((p) => requireExported(p.type, `${e.name}(${p.name.getText()})`));
      } else if (ts.isVariableDeclaration(e.declaration)) {
        const type = e.declaration.type ? flat(e.declaration.type.getText()) : checker.typeToString(checker.getTypeOfSymbol(e.symbol));
        const init = e.declaration.initializer;
        const literal = init && isLiteral(init) && !init.getText().includes('\n') && init.getText().length <= 100 ? ` = ${init.getText()}` : '';
        // `const X = 999`, not `const X: 999 = 999`: a literal without an annotation is its own type.
        const shown = literal && !e.declaration.type ? literal : `: ${type}${literal}`;
        out.push('```ts', `const ${e.name}${shown}`, '```', '');
      }
    }
  }

  function renderClass(e: Entry, declaration: ts.ClassDeclaration) {
    const base = declaration.heritageClauses?.find((h) => h.token === ts.SyntaxKind.ExtendsKeyword)?.types[0]?.getText();
    const abstract = ts.getCombinedModifierFlags(declaration) & ts.ModifierFlags.Abstract;
    const header = `${abstract ? 'abstract ' : ''}class ${e.name}${base ? ` extends ${base}` : ''}`;
    const ctor = declaration.members.find(ts.isConstructorDeclaration);
    out.push('```ts', header, ...(ctor && !isHidden(ctor) ? [`new ${e.name}${signature(ctor, false)}`] : []), '```', '');
    if (ctor && !isHidden(ctor)) ctor.parameters.forEach((p) => requireExported(p.type, `new ${e.name}(${p.name.getText()})`));

    const attributes: string[] = [];
    const methods: string[] = [];
    // Constructor parameter properties (`constructor(readonly x: T)`) are attributes too.
    const members: ts.Node[] = [...(ctor?.parameters.filter((p) => ts.isParameterPropertyDeclaration(p, ctor)) ?? []), ...declaration.members];
    for (const member of members) {
      if (!(ts.isPropertyDeclaration(member) || ts.isMethodDeclaration(member) || ts.isParameter(member)) || isHidden(member)) continue;
      const name = member.name.getText();
      const symbol = checker.getSymbolAtLocation(member.name);
      if (!symbol) continue;
      const isStatic = ts.getCombinedModifierFlags(member as ts.Declaration) & ts.ModifierFlags.Static;
      const label = `${e.name}${isStatic ? '.' : '#'}${name}`;
      const { text } = doc(symbol, label, member);
      if (ts.isMethodDeclaration(member)) {
        member.parameters.forEach((p) => requireExported(p.type, `${label}(${p.name.getText()})`));
        methods.push(`| \`${cell(`${isStatic ? `${e.name}.` : ''}${name}${signature(member)}`)}\` | ${cell(text)} |`);
      } else {
        const type = typeOf(member as ts.Declaration, symbol);
        const optional = (member as ts.PropertyDeclaration).questionToken ? '?' : '';
        attributes.push(`| \`${name}${optional}\` | \`${cell(type)}\` | ${cell(text)}${seeAlso(type, e.name)} |`);
      }
    }
    if (attributes.length > 0) out.push('| Attribute | Type | Description |', '| --- | --- | --- |', ...attributes, '');
    if (methods.length > 0) out.push('| Method | Description |', '| --- | --- |', ...methods, '');
  }

  function renderProps(e: Entry) {
    const type = checker.getDeclaredTypeOfSymbol(e.symbol);
    const rows: string[] = [];
    for (const property of checker.getPropertiesOfType(type)) {
      const declaration = property.declarations?.[0];
      const label = `${e.name}.${property.name}`;
      const { text, defaultValue } = doc(property, label, declaration ?? e.declaration);
      const optional = (property.flags & ts.SymbolFlags.Optional) !== 0;
      if (optional && defaultValue === undefined) problems.push(`${label} (${where(declaration ?? e.declaration)}): optional, but no @default`);
      const typeText = typeOf(declaration, property);
      if (declaration && (ts.isPropertySignature(declaration) || ts.isPropertyDeclaration(declaration))) requireExported(declaration.type, label);
      const dflt = optional ? (defaultValue ?? '') : 'required';
      rows.push(`| \`${property.name}\` | \`${cell(typeText)}\` | ${cell(dflt)} | ${cell(text)}${seeAlso(typeText, e.name)} |`);
    }
    if (rows.length > 0) out.push('| Property | Type | Default | Description |', '| --- | --- | --- | --- |', ...rows, '');
  }

  return { markdown: out.join('\n').replace(/\n{3,}/g, '\n\n').trimEnd() + '\n', problems };
}

function kindOf(declaration: ts.Declaration, checker: ts.TypeChecker): Kind | undefined {
  if (ts.isClassDeclaration(declaration)) return extendsConstruct(checker.getTypeAtLocation(declaration), checker) ? 'construct' : 'class';
  if (ts.isInterfaceDeclaration(declaration) || ts.isTypeAliasDeclaration(declaration)) return 'interface';
  if (ts.isFunctionDeclaration(declaration)) return 'function';
  if (ts.isVariableDeclaration(declaration)) return 'constant';
  return undefined;
}

function extendsConstruct(type: ts.Type, checker: ts.TypeChecker, depth = 0): boolean {
  if (depth > 20 || !type.isClassOrInterface()) return false;
  return (checker.getBaseTypes(type) ?? []).some((base) => {
    const declaration = base.symbol?.declarations?.[0];
    const fromConstructs = declaration !== undefined && dirname(declaration.getSourceFile().fileName).split(/[\\/]/).includes('constructs');
    return (base.symbol?.name === 'Construct' && fromConstructs) || extendsConstruct(base, checker, depth + 1);
  });
}

function isHidden(node: ts.Node): boolean {
  const flags = ts.getCombinedModifierFlags(node as ts.Declaration);
  const name = (node as { name?: ts.Node }).name;
  return (flags & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) !== 0 || (name !== undefined && ts.isPrivateIdentifier(name));
}

function signature(node: ts.SignatureDeclaration, withReturn = true): string {
  const params = node.parameters.map((p) => flat(p.getText().replace(/^(?:readonly|public|private|protected)\s+/, ''))).join(', ');
  return `(${params})${withReturn && node.type ? `: ${flat(node.type.getText())}` : ''}`;
}

function isLiteral(node: ts.Expression): boolean {
  return ts.isStringLiteral(node) || ts.isNumericLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node) || ts.isArrayLiteralExpression(node) || ts.isObjectLiteralExpression(node);
}

/** GitHub's heading anchors for the names used here (letters and digits only). */
function anchor(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9_-]/g, '');
}

const flat = (text: string) => text.replace(/\s+/g, ' ').trim();
/** `*\/` is how a comment writes `*` then `/`; `{@link X}` is shown as `X`. */
const unescape = (text: string) => text.replace(/\*\\\//g, '*/').replace(/\{@link\s+([^}\s|]+)[^}]*\}/g, '`$1`');
/** One table cell: one line, pipes escaped (GitHub honours `\|` inside code spans in tables too). */
const cell = (text: string) => flat(text).replace(/\|/g, '\\|');
