// Removing a node from everything that holds state about it: the registry
// (which frees its index for reuse), its matrix cells from and to it, its DNS
// row and its CNI snapshot. One function for the three ways a node leaves: it
// expires (no Kubernetes API), it is deleted in Kubernetes, or an operator
// forgets it through the API. The stores are described by what removal needs,
// so this module imports none of them.
import type { NodeRegistry } from './registry.js';

export interface NodeStores {
  readonly nodes: NodeRegistry;
  readonly matrix: { removeNode(index: number, nodeSlots: number): void };
  readonly dns: { removeNode(index: number): void };
  readonly cni: { remove(node: string): void };
}

/** Removes a node by name; returns whether it was known. */
export type RemoveNode = (name: string) => boolean;

export function nodeRemover(s: NodeStores): RemoveNode {
  return (name) => {
    const index = s.nodes.remove(name);
    if (index === undefined) return false;
    // The matrix sweeps every slot's column: the registry's slot count, which removal does not shrink.
    s.matrix.removeNode(index, s.nodes.slots);
    s.dns.removeNode(index);
    s.cni.remove(name);
    return true;
  };
}
