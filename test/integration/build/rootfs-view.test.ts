// The builder reads images through RootfsView, which must answer as overlayfs does. Checked against
// the kernel itself: the same layers are mounted as a real overlay and every path compared.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { execa } from 'execa';
import { RootfsView } from '../../../src/image/rootfs-view.ts';
import { rootOrSkip } from '../helpers.ts';

test.serial('RootfsView gives overlayfs\'s answers: shadowing, whiteouts, opaque directories, symlinks inside the root', async (t) => {
  if (!rootOrSkip(t)) return;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kltest-view-'));
  const [bottom, middle, top, merged] = ['bottom', 'middle', 'top', 'merged'].map((d) => path.join(dir, d));
  t.teardown(async () => {
    await execa('umount', [merged!], { reject: false });
    rmSync(dir, { recursive: true, force: true });
  });
  for (const d of [bottom, middle, top, merged]) mkdirSync(d!);
  const file = (root: string, rel: string, text: string) => {
    mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    writeFileSync(path.join(root, rel), text);
  };
  file(bottom!, 'etc/passwd', 'bottom passwd\n');
  file(bottom!, 'etc/gone', 'deleted above\n');
  file(bottom!, 'opt/app/old.txt', 'hidden by an opaque dir\n');
  file(bottom!, 'opt/app/kept-not', 'hidden too\n');
  file(bottom!, 'opt/app/sub/below', 'hidden by the opaque parent\n');
  file(bottom!, 'usr/bin/tool', 'the tool\n');
  file(bottom!, 'var/lib/data', 'data\n');
  symlinkSync('usr/bin', path.join(bottom!, 'bin'));
  file(middle!, 'etc/passwd', 'middle passwd\n');
  await execa('mknod', [path.join(middle!, 'etc/gone'), 'c', '0', '0']);
  mkdirSync(path.join(middle!, 'opt/app'), { recursive: true });
  await execa('setfattr', ['-n', 'trusted.overlay.opaque', '-v', 'y', path.join(middle!, 'opt/app')]);
  file(middle!, 'opt/app/new.txt', 'new\n');
  file(middle!, 'opt/app/sub/above', 'in a plain directory under the opaque one\n');
  // A symlink that tries to leave the root: resolved inside it.
  symlinkSync('../../../../../var/lib', path.join(middle!, 'escape'));
  file(top!, 'var/lib/data', 'top data\n');
  file(top!, 'usr/local/only-top', 'x\n');

  const layers = [top!, middle!, bottom!];
  await execa('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${layers.join(':')}`, merged!]);
  const view = await new RootfsView(layers).load();

  for (const p of ['etc', 'opt/app', 'opt/app/sub', 'usr', 'usr/bin', 'var/lib', '']) {
    t.deepEqual(view.readdir(p), readdirSync(path.join(merged!, p)).sort(), `readdir ${p || '/'}`);
  }
  // What the view finds must be what the mounted overlay shows at the same path.
  const text = (p: string) => {
    const e = view.stat(p);
    const viaView = e?.stat.isFile() ? readFileSync(e.abs, 'utf8').trim() : undefined;
    const viaKernel = existsSync(path.join(merged!, p)) ? readFileSync(path.join(merged!, p), 'utf8').trim() : undefined;
    t.is(viaView, viaKernel, p);
    return viaView;
  };
  t.is(text('etc/passwd'), 'middle passwd');
  t.is(view.stat('etc/gone'), undefined, 'a whiteout deletes');
  t.is(view.stat('opt/app/old.txt'), undefined, 'an opaque directory hides what is below');
  t.is(view.stat('opt/app/sub/below'), undefined, 'and below its subdirectories too');
  t.is(text('opt/app/new.txt'), 'new');
  t.is(text('var/lib/data'), 'top data');
  t.is(text('bin/tool'), 'the tool', 'a symlinked directory is followed');
  t.deepEqual(view.resolve('/escape/data'), ['var', 'lib', 'data'], '.. stops at the root');
  // (The host would follow that link out of the mount; the view, like a chroot, stays inside.)
  t.is(readFileSync(view.stat('escape/data')!.abs, 'utf8'), 'top data\n');
  t.is(view.readText('/etc/passwd'), 'middle passwd\n');
  t.is(view.readText('/nope'), '');
});
