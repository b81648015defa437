// The repository root, found from any module, whether it runs from src/ through tsx or bundled in
// dist/: the nearest directory above that holds kubelab's package.json.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

export function repoRoot(): string {
  if (cached) return cached;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (existsSync(pkg) && JSON.parse(readFileSync(pkg, 'utf8')).name === 'kubelab') return (cached = dir);
    const up = path.dirname(dir);
    if (up === dir) throw new Error('cannot find the kubelab repository root');
    dir = up;
  }
}
