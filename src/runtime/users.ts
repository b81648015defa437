// Turns a container's user (numbers or names, from runAsUser/runAsGroup or the image's User) into the
// uid, gid and supplementary groups the process gets, reading the image's /etc/passwd and /etc/group
// as runc does. Names that the image does not know are an error, as in Docker.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ProcessUser } from './spec/command.ts';

export interface Credentials {
  uid: number;
  gid: number;
  groups: number[];
}

interface PasswdEntry { name: string; uid: number; gid: number }
interface GroupEntry { name: string; gid: number; members: string[] }

export function parsePasswd(text: string): PasswdEntry[] {
  return text.split('\n').flatMap((line) => {
    const f = line.split(':');
    if (f.length < 4 || line.startsWith('#')) return [];
    return [{ name: f[0]!, uid: Number(f[2]), gid: Number(f[3]) }];
  });
}

export function parseGroup(text: string): GroupEntry[] {
  return text.split('\n').flatMap((line) => {
    const f = line.split(':');
    if (f.length < 3 || line.startsWith('#')) return [];
    return [{ name: f[0]!, gid: Number(f[2]), members: (f[3] ?? '').split(',').filter(Boolean) }];
  });
}

export class UserError extends Error {}

/** Pure: the credentials of `user` given the image's passwd and group files (empty when absent). */
export function resolveCredentials(user: ProcessUser, passwdText: string, groupText: string): Credentials {
  const passwd = parsePasswd(passwdText);
  const groups = parseGroup(groupText);
  let uid: number;
  let name: string | undefined;
  let primary = 0;
  if (typeof user.user === 'number') {
    uid = user.user;
    const e = passwd.find((p) => p.uid === uid);
    name = e?.name;
    primary = e?.gid ?? 0;
  } else {
    const e = passwd.find((p) => p.name === user.user);
    if (!e) throw new UserError(`unable to find user ${user.user}: no matching entries in passwd file`);
    uid = e.uid;
    name = e.name;
    primary = e.gid;
  }
  let gid = primary;
  if (typeof user.group === 'number') gid = user.group;
  else if (typeof user.group === 'string') {
    const g = groups.find((x) => x.name === user.group);
    if (!g) throw new UserError(`unable to find group ${user.group}: no matching entries in group file`);
    gid = g.gid;
  }
  // Supplementary groups: those listing the user by name, as initgroups(3) would find them.
  const extra = name ? groups.filter((g) => g.members.includes(name!)).map((g) => g.gid) : [];
  return { uid, gid, groups: [...new Set([gid, ...extra])] };
}

/** The first of `rel` found in the layer dirs, top-most first (what the overlay would show). */
export function readFromLayers(layerDirs: readonly string[], rel: string): string {
  for (const dir of layerDirs) {
    try {
      return readFileSync(path.join(dir, rel), 'utf8');
    } catch {
      /* not in this layer */
    }
  }
  return '';
}
