// Entry point of kubelab's daemons, started by `up` inside the lab's namespaces:
//   main.ts apiserver --cluster NAME
//   main.ts node --cluster NAME --node NODE
import { runNodeDaemon } from '../node/daemon.ts';
import { runApiServer } from './apiserver.ts';

function arg(name: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? process.argv[i + 1] : undefined;
  if (!v) throw new Error(`missing --${name}`);
  return v;
}

const role = process.argv[2];
const run = role === 'apiserver' ? runApiServer(arg('cluster')) : role === 'node' ? runNodeDaemon(arg('cluster'), arg('node')) : Promise.reject(new Error(`unknown daemon ${role}`));
run.catch((e) => {
  process.stderr.write(`${new Date().toISOString()} fatal: ${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
