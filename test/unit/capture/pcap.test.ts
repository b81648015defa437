import test from 'ava';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PcapError, parsePcap, readPcap } from '../../../src/capture/index.ts';
import { ethernet, pcapFile, type PcapRecord, type PcapSpec } from './helpers/build.ts';

const frameA = ethernet({ dst: 'ff:ff:ff:ff:ff:ff', src: '02:00:00:00:00:01', type: 0x0806 }, Buffer.alloc(28, 1));
const frameB = ethernet({ dst: '02:00:00:00:00:01', src: '02:00:00:00:00:02', type: 0x0800 }, Buffer.alloc(46, 2));

async function withTempDir(t: { teardown: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'kltest-pcap-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

for (const endianness of ['LE', 'BE'] as const) {
  test(`reads a ${endianness} microsecond file record by record`, async (t) => {
    const dir = await withTempDir(t);
    const file = join(dir, 'ok.pcap');
    await writeFile(file, pcapFile({ endianness, snapLen: 65535 }, [
      { tsSec: 1_700_000_000, tsFrac: 123_456, data: frameA },
      { tsSec: 1_700_000_001, tsFrac: 999_999, data: frameB.subarray(0, 40), origLen: frameB.length },
    ]));
    const pcap = await readPcap(file);
    t.is(pcap.linkType, 1);
    t.is(pcap.snapLen, 65535);
    t.false(pcap.nanosecond);
    t.is(pcap.packets.length, 2);
    const [a, b] = pcap.packets;
    t.is(a!.index, 0);
    t.is(a!.tsSec, 1_700_000_000);
    t.is(a!.tsUsec, 123_456);
    t.is(a!.ts, 1_700_000_000.123456);
    t.is(a!.capLen, frameA.length);
    t.is(a!.origLen, frameA.length);
    t.deepEqual(a!.data, frameA);
    t.is(b!.index, 1);
    t.is(b!.capLen, 40);
    t.is(b!.origLen, frameB.length);
    t.deepEqual(b!.data, frameB.subarray(0, 40));
  });

  test(`reads a ${endianness} nanosecond file, keeping microseconds in tsUsec`, async (t) => {
    const pcap = await parsePcap(pcapFile({ endianness, nanosecond: true }, [{ tsSec: 10, tsFrac: 123_456_789, data: frameA }]));
    t.true(pcap.nanosecond);
    t.is(pcap.packets[0]!.tsNsec, 123_456_789);
    t.is(pcap.packets[0]!.tsUsec, 123_456);
    t.is(pcap.packets[0]!.ts, 10.123456);
  });
}

for (const linkType of [113, 276]) {
  test(`accepts Linux cooked link type ${linkType}`, async (t) => {
    const pcap = await parsePcap(pcapFile({ linkType }, [{ tsSec: 1, tsFrac: 0, data: Buffer.alloc(30) }]));
    t.is(pcap.linkType, linkType);
    t.is(pcap.packets.length, 1);
  });
}

test('a file with a global header and no records has no packets', async (t) => {
  const pcap = await parsePcap(pcapFile({}, []));
  t.deepEqual(pcap.packets, []);
});

interface BadCase {
  name: string;
  bytes: () => Buffer;
  message: RegExp;
  offset: number;
  record?: number;
}

const good: PcapRecord = { tsSec: 1, tsFrac: 2, data: frameA };
const header = (spec: PcapSpec = {}): Buffer => pcapFile(spec, []);
// Byte offsets below follow the layout: 24-byte global header, 16-byte record headers
// (ts_sec at +0, ts_usec at +4, incl_len at +8, orig_len at +12).
const secondRecordAt = 24 + 16 + frameA.length;

const badCases: BadCase[] = [
  { name: 'empty file', bytes: () => Buffer.alloc(0), message: /empty file/, offset: 0 },
  { name: 'truncated global header', bytes: () => header().subarray(0, 10), message: /truncated global header: need 24 bytes, file has 10/, offset: 0 },
  { name: 'bad magic', bytes: () => Buffer.concat([Buffer.from('deadbeef', 'hex'), header().subarray(4)]), message: /bad magic number 0xdeadbeef/, offset: 0 },
  { name: 'pcapng file', bytes: () => Buffer.concat([Buffer.from('0a0d0d0a', 'hex'), Buffer.alloc(40)]), message: /pcapng/, offset: 0 },
  { name: 'unsupported version', bytes: () => header({ versionMajor: 3, versionMinor: 0 }), message: /version 3\.0/, offset: 4 },
  { name: 'unsupported link type', bytes: () => header({ linkType: 105 }), message: /unsupported link type 105/, offset: 20 },
  {
    name: 'truncated record header',
    bytes: () => Buffer.concat([pcapFile({}, [good]), Buffer.alloc(7)]),
    message: /truncated record header: need 16 bytes, 7 remain/, offset: secondRecordAt, record: 1,
  },
  {
    name: 'truncated record body',
    bytes: () => pcapFile({}, [{ ...good, capLen: 100, origLen: 100, data: Buffer.alloc(40) }]),
    message: /truncated record body: incl_len 100 but 40 bytes remain/, offset: 40, record: 0,
  },
  {
    name: 'incl_len beyond the snapshot length',
    bytes: () => pcapFile({ snapLen: 128 }, [{ ...good, data: Buffer.alloc(200) }]),
    message: /incl_len 200 exceeds the file's snapshot length 128/, offset: 32, record: 0,
  },
  {
    name: 'incl_len beyond 256 KiB',
    bytes: () => pcapFile({ snapLen: 0 }, [good, { ...good, capLen: 0x7fffffff, origLen: 0x7fffffff }]),
    message: /incl_len 2147483647 exceeds the 262144-byte limit/, offset: secondRecordAt + 8, record: 1,
  },
  {
    name: 'orig_len beyond 256 KiB',
    bytes: () => pcapFile({}, [{ ...good, origLen: 300_000 }]),
    message: /orig_len 300000 exceeds the 262144-byte limit/, offset: 36, record: 0,
  },
  {
    name: 'orig_len smaller than incl_len',
    bytes: () => pcapFile({}, [{ ...good, origLen: 10 }]),
    message: /orig_len 10 is smaller than incl_len/, offset: 36, record: 0,
  },
];

for (const c of badCases) {
  test(`bad file: ${c.name} is a PcapError naming file, offset and record`, async (t) => {
    const dir = await withTempDir(t);
    const file = join(dir, `${c.name.replace(/\W+/g, '-')}.pcap`);
    await writeFile(file, c.bytes());
    const error = await t.throwsAsync(readPcap(file), { instanceOf: PcapError });
    t.regex(error!.message, c.message);
    t.true(error!.message.startsWith(`${file}: `), error!.message);
    t.is(error!.file, file);
    t.is(error!.offset, c.offset);
    t.is(error!.record, c.record);
    if (c.record !== undefined) t.regex(error!.message, new RegExp(`record ${c.record} at byte ${c.offset}`));
  });
}

test('a missing file is a PcapError, not a raw fs error', async (t) => {
  const dir = await withTempDir(t);
  const file = join(dir, 'nope.pcap');
  const error = await t.throwsAsync(readPcap(file), { instanceOf: PcapError });
  t.regex(error!.message, /cannot read file/);
});
