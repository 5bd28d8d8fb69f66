import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PROGRESS_MIN_BYTES, TransferMeter, type TransferProgress } from './transfer-meter.js';

describe('TransferMeter', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('counts and hashes every byte', () => {
    const meter = new TransferMeter('upload', 'u', 6, undefined, 0);
    meter.update(Buffer.from('abc'));
    meter.count(Buffer.from('def'));
    expect(meter.bytes).toBe(6);
    expect(meter.finish()).toBe(createHash('sha256').update('abcdef').digest('hex'));
  });

  it('reports a large transfer at most once per interval, then once done', () => {
    const reports: TransferProgress[] = [];
    const total = PROGRESS_MIN_BYTES * 2;
    const meter = new TransferMeter('download', 's3://b/k', total, (p) => reports.push(p), 1000);
    const chunk = Buffer.alloc(PROGRESS_MIN_BYTES / 2);
    meter.update(chunk); // t=0: within the first interval, not reported
    vi.setSystemTime(1000);
    meter.update(chunk); // reported
    vi.setSystemTime(1500);
    meter.update(chunk); // too soon
    vi.setSystemTime(2000);
    meter.update(chunk); // reported
    meter.finish();
    expect(reports).toEqual([
      { direction: 'download', url: 's3://b/k', transferredBytes: PROGRESS_MIN_BYTES, totalBytes: total, isDone: false },
      { direction: 'download', url: 's3://b/k', transferredBytes: total, totalBytes: total, isDone: false },
      { direction: 'download', url: 's3://b/k', transferredBytes: total, totalBytes: total, isDone: true },
    ]);
  });

  it('stays silent for small transfers, known or learned at the end', () => {
    const listener = vi.fn();
    const known = new TransferMeter('upload', 'u', PROGRESS_MIN_BYTES - 1, listener, 0);
    known.update(Buffer.alloc(PROGRESS_MIN_BYTES - 1));
    known.finish();
    const unknown = new TransferMeter('download', 'u', undefined, listener, 10_000);
    unknown.update(Buffer.alloc(100));
    unknown.finish();
    expect(listener).not.toHaveBeenCalled();
  });

  it('reports acknowledged bytes apart from the bytes read, and survives a throwing listener', () => {
    const reports: number[] = [];
    const meter = new TransferMeter('upload', 'u', PROGRESS_MIN_BYTES, (p) => {
      reports.push(p.transferredBytes);
      throw new Error('printer broke');
    }, 0);
    meter.count(Buffer.alloc(PROGRESS_MIN_BYTES));
    vi.setSystemTime(10);
    meter.reportTransferred(1024);
    expect(() => meter.finish()).not.toThrow();
    expect(reports).toEqual([1024, PROGRESS_MIN_BYTES]);
  });
});
