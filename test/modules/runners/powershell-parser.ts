/**
 * A PowerShell syntax check for tests: the tree-sitter PowerShell grammar
 * (tree-sitter-powershell's wasm build) run by web-tree-sitter, both
 * devDependencies. Returns one line per ERROR or MISSING node, empty when the
 * source parses cleanly.
 */
import { readFileSync } from 'node:fs';
import { Language, Node, Parser } from 'web-tree-sitter';

let parser: Promise<Parser> | undefined;

function load(): Promise<Parser> {
  parser ??= (async () => {
    await Parser.init();
    // The bytes, not a path: loading a path makes web-tree-sitter import('fs/promises'), which jest's CommonJS runtime refuses.
    const language = await Language.load(readFileSync(require.resolve('tree-sitter-powershell/tree-sitter-powershell.wasm')));
    const p = new Parser();
    p.setLanguage(language);
    return p;
  })();
  return parser;
}

/** Syntax problems in `source`, as `line:column kind text`. */
export async function parsePowerShell(source: string): Promise<string[]> {
  const tree = (await load()).parse(source);
  if (!tree) throw new Error('tree-sitter returned no tree');
  const problems: string[] = [];
  const visit = (node: Node) => {
    if (node.isError || node.isMissing) {
      problems.push(`${node.startPosition.row + 1}:${node.startPosition.column + 1} ${node.isMissing ? 'missing' : 'error'} ${JSON.stringify(node.text.slice(0, 60))}`);
    }
    if (node.hasError) for (const child of node.children) if (child) visit(child);
  };
  visit(tree.rootNode);
  if (tree.rootNode.hasError && problems.length === 0) problems.push('the tree has an error the walk did not find');
  return problems;
}
