// The docker-archive's shape, as data (what `docker load` and skopeo's docker-archive reader expect):
// manifest.json entries, the legacy repositories file, one directory per layer named by chain ID.
import test from 'ava';
import { chainIDs, dockerArchivePlan } from '../../../src/image/export.ts';
import { sha256 } from '../../../src/image/store.ts';

const d = (c: string) => `sha256:${c.repeat(64)}`;

test('chain IDs: the first is the diffID, each next hashes the one before with its diffID', (t) => {
  const ids = chainIDs([d('a'), d('b'), d('c')]);
  t.is(ids[0], d('a'));
  t.is(ids[1], sha256(`${d('a')} ${d('b')}`));
  t.is(ids[2], sha256(`${ids[1]} ${d('c')}`));
  t.deepEqual(chainIDs([]), []);
});

test('one image: Config, RepoTags and Layers as docker save writes them', (t) => {
  const plan = dockerArchivePlan([{ configDigest: d('f'), repoTags: ['busybox:latest', 'localhost:5000/lab/busybox:1'], diffIDs: [d('a'), d('b')] }]);
  const [id1, id2] = chainIDs([d('a'), d('b')]).map((x) => x.slice('sha256:'.length));
  t.deepEqual(plan.manifest, [{ Config: `${'f'.repeat(64)}.json`, RepoTags: ['busybox:latest', 'localhost:5000/lab/busybox:1'], Layers: [`${id1}/layer.tar`, `${id2}/layer.tar`] }]);
  t.deepEqual(plan.repositories, { busybox: { latest: id2 }, 'localhost:5000/lab/busybox': { '1': id2 } });
  t.deepEqual(plan.layers, [
    { id: id1, diffID: d('a') },
    { id: id2, diffID: d('b'), parent: id1 },
  ]);
});

test('two images sharing a base layer share its directory; untagged images have null RepoTags', (t) => {
  const plan = dockerArchivePlan([
    { configDigest: d('e'), repoTags: ['a:1'], diffIDs: [d('a'), d('b')] },
    { configDigest: d('f'), repoTags: [], diffIDs: [d('a'), d('c')] },
  ]);
  t.is(plan.layers.length, 3);
  t.is(plan.manifest[0]!.Layers[0], plan.manifest[1]!.Layers[0]);
  t.not(plan.manifest[0]!.Layers[1], plan.manifest[1]!.Layers[1]);
  t.is(plan.manifest[1]!.RepoTags, null);
  t.deepEqual(Object.keys(plan.repositories), ['a']);
});

test('the same diffID at another depth is another layer directory (its chain differs)', (t) => {
  const plan = dockerArchivePlan([
    { configDigest: d('e'), repoTags: ['x:1'], diffIDs: [d('a')] },
    { configDigest: d('f'), repoTags: ['y:1'], diffIDs: [d('b'), d('a')] },
  ]);
  t.is(plan.layers.length, 3);
  t.not(plan.manifest[0]!.Layers[0], plan.manifest[1]!.Layers[1]);
});
