// A claim Bound to a volume that only some nodes can use (local volumes,
// hostPath-style provisioners, zonal disks): when none of those nodes is Ready
// and schedulable (the node was removed, cordoned, or is down), every build pod
// stays Pending with "volume node affinity conflict". Say so before any BuildRun.
//
// The matching of spec.nodeAffinity against nodes is pure (below), as the
// scheduler's VolumeBinding plugin does it; checkVolumeNodes() does the I/O.
import type { V1Node, V1NodeSelectorRequirement, V1NodeSelectorTerm, V1PersistentVolume, V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { CliError, ExitCode } from './errors.js';
import { statusOf, translate, type Kube } from './kube.js';
import { progress } from './log.js';

function requirementMatches(r: V1NodeSelectorRequirement, value: string | undefined): boolean {
  const values = r.values ?? [];
  switch (r.operator) {
    case 'In':
      return value !== undefined && values.includes(value);
    case 'NotIn':
      return value === undefined || !values.includes(value);
    case 'Exists':
      return value !== undefined;
    case 'DoesNotExist':
      return value === undefined;
    case 'Gt':
    case 'Lt': {
      if (value === undefined || values.length !== 1) return false;
      const [a, b] = [Number.parseInt(value, 10), Number.parseInt(values[0], 10)];
      if (!Number.isFinite(a) || !Number.isFinite(b)) return false;
      return r.operator === 'Gt' ? a > b : a < b;
    }
    default:
      return false; // an unknown operator matches nothing, as in the scheduler
  }
}

/** One term: every matchExpression (labels) and matchField (only metadata.name exists) must hold. */
export function termMatches(term: V1NodeSelectorTerm, node: V1Node): boolean {
  const exprs = term.matchExpressions ?? [];
  const fields = term.matchFields ?? [];
  if (exprs.length === 0 && fields.length === 0) return false; // an empty term matches no node
  const labels = node.metadata?.labels ?? {};
  return (
    exprs.every((r) => requirementMatches(r, Object.prototype.hasOwnProperty.call(labels, r.key) ? labels[r.key] : undefined)) &&
    fields.every((r) => r.key === 'metadata.name' && requirementMatches(r, node.metadata?.name))
  );
}

/** The volume's required node affinity: terms are ORed. A volume without one can be used anywhere. */
export function volumeAllowsNode(pv: V1PersistentVolume, node: V1Node): boolean {
  const terms = pv.spec?.nodeAffinity?.required?.nodeSelectorTerms;
  if (!terms) return true;
  return terms.some((t) => termMatches(t, node));
}

/** Why a node cannot run a new pod (undefined: it can): NotReady, cordoned. */
export function nodeUnusable(node: V1Node): string | undefined {
  const name = node.metadata?.name;
  if (node.metadata?.deletionTimestamp) return `node ${name} is being deleted`;
  if (node.spec?.unschedulable) return `node ${name} is cordoned (spec.unschedulable: kubectl uncordon ${name})`;
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
  if (ready?.status !== 'True') {
    return `node ${name} is not Ready (${ready ? `Ready=${ready.status}${ready.reason ? ` ${ready.reason}` : ''}${ready.lastTransitionTime ? ` since ${new Date(ready.lastTransitionTime as unknown as string).toISOString()}` : ''}` : 'no Ready condition'})`;
  }
  return undefined;
}

const showValues = (r: V1NodeSelectorRequirement) => (r.values?.length ? ` (${r.values.join(', ')})` : '');
const showReq = (r: V1NodeSelectorRequirement) => `${r.key} ${r.operator}${showValues(r)}`;

/** The affinity as people read it: "kubernetes.io/hostname In (worker-2)" terms joined by " or ". */
export function describeAffinity(pv: V1PersistentVolume): string {
  const terms = pv.spec?.nodeAffinity?.required?.nodeSelectorTerms ?? [];
  return terms.map((t) => [...(t.matchExpressions ?? []), ...(t.matchFields ?? [])].map(showReq).join(' and ') || '(empty term)').join(' or ');
}

/** Node names the affinity spells out (hostname or metadata.name In ...): named even when the node is gone. */
export function namedNodes(pv: V1PersistentVolume): string[] {
  const out = new Set<string>();
  for (const t of pv.spec?.nodeAffinity?.required?.nodeSelectorTerms ?? []) {
    for (const r of [...(t.matchExpressions ?? []).filter((x) => x.key === 'kubernetes.io/hostname'), ...(t.matchFields ?? []).filter((x) => x.key === 'metadata.name')]) {
      if (r.operator === 'In') for (const v of r.values ?? []) out.add(v);
    }
  }
  return [...out];
}

export interface PlacementProblem {
  message: string;
  hint: string;
}

/**
 * undefined when at least one Ready, schedulable node may use the volume;
 * otherwise which volume, which node(s) it requires and what is wrong with them.
 */
export function volumePlacementProblem(namespace: string, claim: string, pv: V1PersistentVolume, nodes: V1Node[]): PlacementProblem | undefined {
  if (!pv.spec?.nodeAffinity?.required?.nodeSelectorTerms) return undefined;
  const allowed = nodes.filter((n) => volumeAllowsNode(pv, n));
  if (allowed.some((n) => !nodeUnusable(n))) return undefined;
  const pvName = pv.metadata?.name;
  const named = namedNodes(pv);
  const reasons = allowed.map((n) => nodeUnusable(n)!);
  const existing = new Set(nodes.map((n) => n.metadata?.name));
  const gone = named.filter((n) => !existing.has(n));
  if (gone.length) reasons.unshift(`node ${gone.join(', ')} does not exist (removed from the cluster?)`);
  if (!reasons.length) reasons.push(`no node of the cluster (${nodes.length}) matches`);
  const nodeWord = named.length ? `node ${named.join(', ')}` : `nodes matching ${describeAffinity(pv)}`;
  const bringBack = gone.length ? `bring node ${gone.join(', ')} back` : allowed.some((n) => n.spec?.unschedulable) ? `uncordon it (kubectl uncordon ${allowed.filter((n) => n.spec?.unschedulable).map((n) => n.metadata?.name).join(' ')})` : `bring ${nodeWord} back to Ready`;
  return {
    message: `PersistentVolumeClaim ${namespace}/${claim} is Bound to PersistentVolume ${pvName}, which only ${nodeWord} can use (${describeAffinity(pv)}), and none is Ready and schedulable: ${reasons.join('; ')}; build pods would stay Pending (volume node affinity conflict)`,
    hint: `${bringBack}; or give up this cache and provision a new volume: kubectl delete pvc -n ${namespace} ${claim} (the PersistentVolume follows its reclaim policy, ${pv.spec?.persistentVolumeReclaimPolicy ?? 'Delete'}), then shipwright-cache cache-pvc --name ${claim} (the next run is cold)`,
  };
}

/**
 * Before the BuildRuns: a Bound claim whose volume no usable node can reach is an
 * error (exit 6) with the claim's events. Reading PersistentVolumes and Nodes is
 * cluster-scoped (ClusterRole shipwright-cache-cluster-read); without it the check
 * is skipped with a warning.
 */
export async function checkVolumeNodes(kube: Kube, namespace: string, claim: V1PersistentVolumeClaim | undefined, events: () => Promise<string>): Promise<void> {
  const pvName = claim?.spec?.volumeName;
  if (!claim || claim.status?.phase !== 'Bound' || !pvName) return;
  const name = claim.metadata?.name ?? '?';
  const skip = (err: unknown, what: string) => {
    if (statusOf(err).code === 403) {
      progress('run', `warning: cannot check which nodes can use PersistentVolume ${pvName} (forbidden: ${what}); grant ClusterRole shipwright-cache-cluster-read (tasks/rbac)`);
      return true;
    }
    return false;
  };
  let pv: V1PersistentVolume;
  try {
    pv = await kube.core.readPersistentVolume({ name: pvName });
  } catch (err) {
    if (statusOf(err).code === 404 || skip(err, 'get persistentvolumes')) return;
    throw translate(`get PersistentVolume ${pvName}`, err);
  }
  if (!pv.spec?.nodeAffinity?.required?.nodeSelectorTerms) return;
  let nodes: V1Node[];
  try {
    nodes = (await kube.core.listNode({})).items;
  } catch (err) {
    if (skip(err, 'list nodes')) return;
    throw translate('list Nodes', err);
  }
  const problem = volumePlacementProblem(namespace, name, pv, nodes);
  if (!problem) return;
  const ev = await events();
  throw new CliError(`${problem.message}${ev ? `; events: ${ev}` : ''}`, { exitCode: ExitCode.conflict, hint: problem.hint });
}
