// The CNI assessment shared by the evaluator (every half interval) and the API
// (GET /api/v1/cni and /api/v1/cni/{node}, per request): the last one is reused
// while nothing it depends on has changed, instead of comparing every node
// again for each caller. An assessment depends on the inputs (each node's
// name, snapshot, receipt time and Kubernetes pod CIDRs), on the options, and
// on the clock only through which snapshots are fresh; checking that is
// O(nodes) with no allocation, against O(nodes log nodes) plus every
// description for assessing again. A new snapshot, a node that joins or
// leaves, new pod CIDRs from the API, or a snapshot going stale: a new
// assessment.
import { assessCni, isFresh, type CniAssessment, type CniAssessOptions, type CniNodeInput } from './assess.js';

export interface AssessedCni {
  /** The inputs the assessment was made of (for nodeCniDetail). */
  readonly inputs: readonly CniNodeInput[];
  readonly assessment: CniAssessment;
}

export class CniAssessor {
  private last: AssessedCni | undefined;
  /** Assessments made, and answers served from the last one. */
  readonly stats = { computed: 0, reused: 0 };

  constructor(readonly options: CniAssessOptions) {}

  assess(inputs: readonly CniNodeInput[], now: number): AssessedCni {
    const last = this.last;
    if (last && this.current(last, inputs, now)) {
      this.stats.reused++;
      return last;
    }
    this.stats.computed++;
    this.last = { inputs, assessment: assessCni(inputs, now, this.options) };
    return this.last;
  }

  private current(last: AssessedCni, inputs: readonly CniNodeInput[], now: number): boolean {
    if (last.inputs.length !== inputs.length) return false;
    const stale = this.options.staleAfterMs;
    const at = last.assessment.at;
    for (let i = 0; i < inputs.length; i++) {
      const a = last.inputs[i]!;
      const b = inputs[i]!;
      if (a.node !== b.node || a.snapshot !== b.snapshot || a.receivedAt !== b.receivedAt || !sameList(a.kubePodCidrs, b.kubePodCidrs)) return false;
      if (isFresh(b, now, stale) !== isFresh(a, at, stale)) return false;
    }
    return true;
  }
}

function sameList(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  if (a === b) return true;
  if ((a?.length ?? 0) !== (b?.length ?? 0)) return false;
  return (a ?? []).every((x, i) => x === b![i]);
}
