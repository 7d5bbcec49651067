/**
 * Kubernetes scheduler extender v1 (k8s.io/kube-scheduler/extender/v1): the scheduler POSTs
 * ExtenderArgs {Pod, Nodes (a v1 NodeList) | NodeNames (with nodeCacheCapable)} and reads
 * ExtenderFilterResult {Nodes, NodeNames, FailedNodes, FailedAndUnresolvableNodes, Error} and a
 * HostPriorityList [{Host, Score}] with scores 0–10 (MaxExtenderPriority). Go encodes these structs
 * without json tags, hence the PascalCase keys. Pure: the verdicts come from `judgeNodes`.
 */
import { z } from 'zod';
import { judgeNodes, type PlacementContext } from './placement.ts';
import { type PlacementJob, PlacementJobSchema } from './schemas.ts';

export const MAX_EXTENDER_PRIORITY = 10;
/** Pod annotations a team may set to describe the job; all optional. */
export const ANNOTATIONS = {
  tier: 'hotaisle.io/tier',
  powerPerGpuKw: 'hotaisle.io/power-per-gpu-kw',
  durationMin: 'hotaisle.io/duration-min',
  profile: 'hotaisle.io/profile',
} as const;
const GPU_RESOURCES = ['nvidia.com/gpu', 'amd.com/gpu', 'gpu.intel.com/i915'];

const Quantity = z.union([z.string(), z.number()]);
const Resources = z.looseObject({
  requests: z.record(z.string(), Quantity).nullish(),
  limits: z.record(z.string(), Quantity).nullish(),
});
const PodSchema = z.looseObject({
  metadata: z
    .looseObject({
      name: z.string().optional(),
      namespace: z.string().optional(),
      annotations: z.record(z.string(), z.string()).nullish(),
    })
    .optional(),
  spec: z
    .looseObject({
      containers: z.array(z.looseObject({ resources: Resources.nullish() })).nullish(),
      priorityClassName: z.string().optional(),
    })
    .optional(),
});
const NodeListSchema = z.looseObject({
  items: z
    .array(
      z.looseObject({ metadata: z.looseObject({ name: z.string({ error: 'expected the node name' }) }) }),
    )
    .nullable(),
});
export type NodeList = z.infer<typeof NodeListSchema>;

export const ExtenderArgsSchema = z
  .looseObject({
    Pod: PodSchema,
    Nodes: NodeListSchema.nullish(),
    NodeNames: z.array(z.string()).nullish(),
  })
  .superRefine((args, ctx) => {
    if (!args.Nodes && !args.NodeNames)
      ctx.addIssue({
        code: 'custom',
        path: ['NodeNames'],
        message: 'expected Nodes (a NodeList) or NodeNames',
      });
  });
export type ExtenderArgs = z.infer<typeof ExtenderArgsSchema>;

export const ExtenderFilterResultSchema = z.object({
  Nodes: NodeListSchema.nullable(),
  NodeNames: z.array(z.string()).nullable(),
  FailedNodes: z.record(z.string(), z.string()),
  FailedAndUnresolvableNodes: z.record(z.string(), z.string()),
  Error: z.string(),
});
export type ExtenderFilterResult = z.infer<typeof ExtenderFilterResultSchema>;

export const HostPriorityListSchema = z.array(
  z.object({ Host: z.string(), Score: z.number().int().min(0).max(MAX_EXTENDER_PRIORITY) }),
);
export type HostPriorityList = z.infer<typeof HostPriorityListSchema>;

function quantity(q: string | number | undefined): number {
  if (q === undefined) return 0;
  const v = typeof q === 'number' ? q : Number.parseFloat(q);
  return Number.isFinite(v) ? v : 0;
}

/** The job a pod describes: GPUs from its containers' limits (or requests), the rest from annotations. */
export function podToJob(pod: ExtenderArgs['Pod']): PlacementJob {
  let gpus = 0;
  for (const c of pod.spec?.containers ?? []) {
    for (const r of GPU_RESOURCES) gpus += quantity(c.resources?.limits?.[r] ?? c.resources?.requests?.[r]);
  }
  const a = pod.metadata?.annotations ?? {};
  const tier = a[ANNOTATIONS.tier];
  const profile = a[ANNOTATIONS.profile];
  const parsed = PlacementJobSchema.safeParse({
    gpus: Math.max(1, Math.round(gpus)),
    ...(a[ANNOTATIONS.powerPerGpuKw] ? { powerPerGpuKw: Number(a[ANNOTATIONS.powerPerGpuKw]) } : {}),
    durationMin: Number(a[ANNOTATIONS.durationMin] ?? 60) || 60,
    ...(tier === 'realtime' || tier === 'internal' || tier === 'batch' ? { tier } : {}),
    ...(profile === 'training' || profile === 'mixed' || profile === 'inference' ? { profile } : {}),
  });
  // A bad annotation must not stop scheduling: fall back to the plain GPU count.
  return parsed.success
    ? parsed.data
    : PlacementJobSchema.parse({ gpus: Math.max(1, Math.round(gpus)), durationMin: 60 });
}

function candidateNames(args: ExtenderArgs): string[] {
  if (args.NodeNames) return args.NodeNames;
  return (args.Nodes?.items ?? []).map((n) => n.metadata.name);
}

/**
 * Filter: nodes whose rack would cross a power limit or reach a hotspot fail. Those are
 * FailedNodes (conditions change; preemption may help elsewhere), not unresolvable. Nodes the site
 * file does not know pass: they are not ours to judge.
 */
export function extenderFilter(args: ExtenderArgs, ctx: PlacementContext): ExtenderFilterResult {
  const names = candidateNames(args);
  const verdicts = judgeNodes(podToJob(args.Pod), ctx, names);
  const passed: string[] = [];
  const failed: Record<string, string> = {};
  for (const name of names) {
    const v = verdicts.get(name);
    if (v && !v.ok) failed[name] = `hotaisle: ${v.reason}`;
    else passed.push(name);
  }
  const keep = new Set(passed);
  return {
    Nodes: args.Nodes
      ? { ...args.Nodes, items: (args.Nodes.items ?? []).filter((n) => keep.has(n.metadata.name)) }
      : null,
    NodeNames: args.NodeNames ? passed : null,
    FailedNodes: failed,
    FailedAndUnresolvableNodes: {},
    Error: '',
  };
}

/** Prioritize: the placement score (0–100) scaled to 0–10; refused and unknown nodes score 0. */
export function extenderPrioritize(args: ExtenderArgs, ctx: PlacementContext): HostPriorityList {
  const names = candidateNames(args);
  const verdicts = judgeNodes(podToJob(args.Pod), ctx, names);
  return names.map((Host) => {
    const v = verdicts.get(Host);
    const Score = v?.ok ? Math.max(0, Math.min(MAX_EXTENDER_PRIORITY, Math.round(v.score / 10))) : 0;
    return { Host, Score };
  });
}
