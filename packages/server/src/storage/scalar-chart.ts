import { bucketOfBlock, type ChartPlan } from './scalar-summaries.js';

/**
 * Downsamples a series for a chart, free of SQL: the store reads the blocks a plan names (summary rows of
 * `plan.level`, or the points themselves at level -1, each one block of one iteration) in iteration order and adds
 * them here; each bucket of `plan.group` blocks gives its lowest and highest point, in iteration order (one point
 * when both are the same), so spikes survive whatever the level. Ties go to the earliest iteration.
 */
export class ChartBuckets {
  /** The chart's points, column by column, by iteration. */
  readonly iter: number[] = [];
  readonly value: number[] = [];
  private current: number | undefined;
  private lowValue = 0;
  private lowIter = 0;
  private highValue = 0;
  private highIter = 0;

  constructor(private readonly plan: Extract<ChartPlan, { kind: 'buckets' }>) {}

  /** Adds a block: its lowest and highest point. Blocks come in iteration order. */
  add(block: number, minValue: number, minIter: number, maxValue: number, maxIter: number): void {
    const bucket = bucketOfBlock(this.plan, block);
    if (bucket !== this.current) {
      this.flush();
      this.current = bucket;
      this.lowValue = minValue;
      this.lowIter = minIter;
      this.highValue = maxValue;
      this.highIter = maxIter;
      return;
    }
    // Strict comparisons keep the earliest point on ties.
    if (minValue < this.lowValue) {
      this.lowValue = minValue;
      this.lowIter = minIter;
    }
    if (maxValue > this.highValue) {
      this.highValue = maxValue;
      this.highIter = maxIter;
    }
  }

  /** Ends the last bucket; answers the chart's points. */
  finish(): { iter: number[]; value: number[] } {
    this.flush();
    this.current = undefined;
    return { iter: this.iter, value: this.value };
  }

  private flush(): void {
    if (this.current === undefined) return;
    const { lowIter, lowValue, highIter, highValue } = this;
    if (lowIter === highIter) {
      this.iter.push(lowIter);
      this.value.push(lowValue);
    } else if (lowIter < highIter) {
      this.iter.push(lowIter, highIter);
      this.value.push(lowValue, highValue);
    } else {
      this.iter.push(highIter, lowIter);
      this.value.push(highValue, lowValue);
    }
  }
}
