// Matching a PersistentVolume's required node affinity against nodes, and the
// message for a claim whose volume no Ready, schedulable node can use.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { V1Node, V1NodeSelectorTerm, V1PersistentVolume } from '@kubernetes/client-node';
import { describeAffinity, namedNodes, nodeUnusable, termMatches, volumeAllowsNode, volumePlacementProblem } from '../../scripts/lib/node-affinity.js';

const S = suite('node-affinity: PV nodeAffinity vs nodes');

const node = (name: string, labels: Record<string, string> = {}, o: { ready?: 'True' | 'False' | 'Unknown'; cordoned?: boolean } = {}): V1Node => ({
  metadata: { name, labels: { 'kubernetes.io/hostname': name, ...labels } },
  spec: o.cordoned ? { unschedulable: true } : {},
  status: { conditions: [{ type: 'Ready', status: o.ready ?? 'True', reason: o.ready === 'Unknown' ? 'NodeStatusUnknown' : 'KubeletReady', lastTransitionTime: new Date('2026-12-03T10:00:00Z') }] },
});
const pv = (...terms: V1NodeSelectorTerm[]): V1PersistentVolume => ({ metadata: { name: 'pvc-1234' }, spec: { persistentVolumeReclaimPolicy: 'Delete', nodeAffinity: { required: { nodeSelectorTerms: terms } } } });
const host = (...names: string[]): V1NodeSelectorTerm => ({ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: names }] });

const zoneA = node('a', { 'topology.kubernetes.io/zone': 'z1', 'disk': 'ssd', 'cpus': '8' });
const zoneB = node('b', { 'topology.kubernetes.io/zone': 'z2' });

S('matchExpressions: In, NotIn, Exists, DoesNotExist, Gt, Lt on labels; all of a term must hold', () => {
  const t = (key: string, operator: string, values?: string[]): V1NodeSelectorTerm => ({ matchExpressions: [{ key, operator, values }] });
  assert.ok(termMatches(t('topology.kubernetes.io/zone', 'In', ['z1', 'z3']), zoneA));
  assert.not.ok(termMatches(t('topology.kubernetes.io/zone', 'In', ['z1']), zoneB));
  assert.ok(termMatches(t('topology.kubernetes.io/zone', 'NotIn', ['z1']), zoneB));
  assert.ok(termMatches(t('missing', 'NotIn', ['x']), zoneB), 'NotIn holds when the label is absent');
  assert.ok(termMatches(t('disk', 'Exists'), zoneA));
  assert.not.ok(termMatches(t('disk', 'Exists'), zoneB));
  assert.ok(termMatches(t('disk', 'DoesNotExist'), zoneB));
  assert.not.ok(termMatches(t('disk', 'DoesNotExist'), zoneA));
  assert.ok(termMatches(t('cpus', 'Gt', ['4']), zoneA));
  assert.not.ok(termMatches(t('cpus', 'Lt', ['4']), zoneA));
  assert.not.ok(termMatches(t('cpus', 'Gt', ['x']), zoneA), 'not a number: no match');
  assert.not.ok(termMatches(t('disk', 'Sometimes', ['ssd']), zoneA), 'unknown operator: no match');
  assert.not.ok(termMatches({ matchExpressions: [{ key: 'disk', operator: 'In', values: ['ssd'] }, { key: 'topology.kubernetes.io/zone', operator: 'In', values: ['z2'] }] }, zoneA), 'AND within a term');
  assert.not.ok(termMatches({}, zoneA), 'an empty term matches nothing');
});

S('matchFields: metadata.name In / NotIn; other fields match nothing', () => {
  assert.ok(termMatches({ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['a'] }] }, zoneA));
  assert.not.ok(termMatches({ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['a'] }] }, zoneB));
  assert.ok(termMatches({ matchFields: [{ key: 'metadata.name', operator: 'NotIn', values: ['a'] }] }, zoneB));
  assert.not.ok(termMatches({ matchFields: [{ key: 'spec.unschedulable', operator: 'In', values: ['false'] }] }, zoneB));
});

S('terms are ORed; a volume without nodeAffinity may be used anywhere', () => {
  const v = pv(host('x'), { matchExpressions: [{ key: 'topology.kubernetes.io/zone', operator: 'In', values: ['z2'] }] });
  assert.not.ok(volumeAllowsNode(v, zoneA));
  assert.ok(volumeAllowsNode(v, zoneB));
  assert.ok(volumeAllowsNode({ metadata: { name: 'nfs' }, spec: {} }, zoneA));
  assert.is(volumePlacementProblem('ns', 'c', { metadata: { name: 'nfs' }, spec: {} }, []), undefined);
});

S('usable nodes: Ready and not cordoned', () => {
  assert.is(nodeUnusable(zoneA), undefined);
  assert.match(nodeUnusable(node('c', {}, { cordoned: true }))!, /node c is cordoned .*kubectl uncordon c/);
  assert.is(nodeUnusable(node('d', {}, { ready: 'Unknown' })), 'node d is not Ready (Ready=Unknown NodeStatusUnknown since 2026-12-03T10:00:00.000Z)');
  assert.is(nodeUnusable({ metadata: { name: 'e' } }), 'node e is not Ready (no Ready condition)');
});

S('the node is gone: the message names the claim, the volume, the node, and both fixes', () => {
  const p = volumePlacementProblem('ci', 'cache', pv(host('worker-2')), [zoneA, zoneB])!;
  assert.is(p.message, 'PersistentVolumeClaim ci/cache is Bound to PersistentVolume pvc-1234, which only node worker-2 can use (kubernetes.io/hostname In (worker-2)), and none is Ready and schedulable: node worker-2 does not exist (removed from the cluster?); build pods would stay Pending (volume node affinity conflict)');
  assert.is(p.hint, 'bring node worker-2 back; or give up this cache and provision a new volume: kubectl delete pvc -n ci cache (the PersistentVolume follows its reclaim policy, Delete), then shipwright-cache cache-pvc --name cache (the next run is cold)');
});

S('the node is cordoned or NotReady; a second allowed node that is Ready makes it fine', () => {
  const cordoned = node('worker-2', {}, { cordoned: true });
  const p = volumePlacementProblem('ci', 'cache', pv(host('worker-2')), [zoneA, cordoned])!;
  assert.match(p.message, /none is Ready and schedulable: node worker-2 is cordoned/);
  assert.match(p.hint, /^uncordon it \(kubectl uncordon worker-2\); or give up this cache/);
  const down = volumePlacementProblem('ci', 'cache', pv(host('worker-2', 'a')), [zoneA, node('worker-2', {}, { ready: 'False' })]);
  assert.is(down, undefined, 'node a may use it too');
  const notReady = volumePlacementProblem('ci', 'cache', pv(host('worker-2')), [node('worker-2', {}, { ready: 'False' })])!;
  assert.match(notReady.message, /node worker-2 is not Ready \(Ready=False/);
  assert.match(notReady.hint, /^bring node worker-2 back to Ready/);
});

S('affinity by labels only (a zone): described as written, no node named', () => {
  const v = pv({ matchExpressions: [{ key: 'topology.kubernetes.io/zone', operator: 'In', values: ['z9'] }, { key: 'disk', operator: 'Exists' }] });
  assert.equal(namedNodes(v), []);
  assert.is(describeAffinity(v), 'topology.kubernetes.io/zone In (z9) and disk Exists');
  const p = volumePlacementProblem('ci', 'cache', v, [zoneA, zoneB])!;
  assert.match(p.message, /which only nodes matching topology.kubernetes.io\/zone In \(z9\) and disk Exists can use .*: no node of the cluster \(2\) matches/);
});

S.run();
