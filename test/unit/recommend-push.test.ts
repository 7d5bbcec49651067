import { describe, expect, it } from 'vitest';
import { SiteSchema } from '../../src/config/schema.ts';
import { buildPushMessages, changeKey } from '../../src/recommend/pushPayloads.ts';
import { RecommendService } from '../../src/recommend/service.ts';
import { rackReadings, recommendIndex, recommendSite, uniform } from './recommend-fixture.ts';

const MON = Date.UTC(2026, 10, 30);
const withPush = (push: unknown) => SiteSchema.safeParse({ ...recommendSite(), recommend: { push } });

describe('recommend.push settings', () => {
  it('fills defaults: MQTT on, 60 s interval, 10 s change check, an 8-GPU internal job', () => {
    const r = withPush({});
    expect(r.success).toBe(true);
    expect(r.data?.recommend?.push).toEqual({
      mqtt: true,
      webhooks: [],
      intervalSeconds: 60,
      checkSeconds: 10,
      rankingJob: { gpus: 8, tier: 'internal', durationMin: 60 },
    });
    expect(SiteSchema.parse(recommendSite()).recommend).toBeUndefined();
  });

  it('names the wrong field', () => {
    const paths = (push: unknown) => {
      const r = withPush(push);
      return r.success ? [] : r.error.issues.map((i) => i.path.join('.'));
    };
    expect(paths({ webhooks: [{ name: 'x' }] })).toEqual(['recommend.push.webhooks.0.url']);
    expect(paths({ webhooks: [{ name: 'x', url: 'not a url' }] })).toEqual(['recommend.push.webhooks.0.url']);
    expect(paths({ webhooks: [{ name: 'x', urlEnv: 'lower' }] })).toEqual([
      'recommend.push.webhooks.0.urlEnv',
    ]);
    expect(paths({ topicPrefix: 'a/#' })).toEqual(['recommend.push.topicPrefix']);
    expect(paths({ topicPrefix: 'a/b/' })).toEqual(['recommend.push.topicPrefix']);
    expect(paths({ intervalSeconds: 1 })).toEqual(['recommend.push.intervalSeconds']);
    expect(paths({ extra: true })).toEqual(['recommend.push']);
  });
});

describe('push messages', () => {
  const service = () => {
    const s = new RecommendService({ index: recommendIndex(), now: () => MON });
    s.state.observe(rackReadings(uniform(5, 22)));
    return s;
  };
  const job = { gpus: 8, tier: 'internal' as const, durationMin: 60 };

  it('change keys ignore drift but see a rack turning hot', () => {
    const s = service();
    const before = buildPushMessages(s, 'rt', job, MON);
    s.state.observe(rackReadings({ b2: { inletC: 22.05 } }));
    const drift = buildPushMessages(s, 'rt', job, MON + 1000);
    expect(drift.placement.ts).not.toBe(before.placement.ts);
    for (const t of ['placement', 'nodes', 'batch-plan'] as const)
      expect(changeKey(t, drift)).toBe(changeKey(t, before));
    s.state.observe(rackReadings({ b2: { inletC: 28 } }));
    const hot = buildPushMessages(s, 'rt', job, MON + 2000);
    expect(changeKey('placement', hot)).not.toBe(changeKey('placement', before));
    expect(changeKey('nodes', hot)).not.toBe(changeKey('nodes', before));
    expect(hot.placement.refused).toContainEqual({ rack: 'b2', reason: expect.stringMatching(/hotspot/) });
    expect(
      hot.nodes.nodes.filter((n) => n.rack === 'b2').every((n) => n.weight === 1000 && !n.eligible),
    ).toBe(true);
  });
});
