/** Deployment overrides (config/overrides.ts): environment parsing, what each override implies, bad values. */
import { describe, expect, it } from 'vitest';
import { applyOverrides, overridesFromEnv } from '../../src/config/overrides.ts';
import { oneRowSite } from '../helpers/sites.ts';

const site = oneRowSite('Overrides', 2).site;

describe('overridesFromEnv + applyOverrides', () => {
  it('a broker URL makes the broker external, an InfluxDB URL selects influx storage and its database', () => {
    const o = overridesFromEnv({
      HOTAISLE_BROKER_URL: 'mqtt://10.1.2.3:1883',
      HOTAISLE_INFLUX_URL: 'https://influx.example.net:8087/telemetry',
      HOTAISLE_API_PORT: '9000',
    });
    const s = applyOverrides(site, o);
    expect(s.broker).toMatchObject({ kind: 'external', url: 'mqtt://10.1.2.3:1883' });
    expect(s.storage.kind).toBe('influx');
    expect(s.storage.influx).toMatchObject({
      protocol: 'https',
      host: 'influx.example.net',
      port: 8087,
      database: 'telemetry',
    });
    expect(s.api.port).toBe(9000);
  });

  it('sets the MQTT client id, so agents sharing one site file keep separate sessions', () => {
    const s = applyOverrides(site, overridesFromEnv({ HOTAISLE_MQTT_CLIENT_ID: 'hotaisle-lab-2' }));
    expect(s.broker.clientId).toBe('hotaisle-lab-2');
    expect(applyOverrides(site, overridesFromEnv({})).broker.clientId).toBe(site.broker.clientId);
  });

  it('refuses values it cannot use, naming the variable', () => {
    expect(() => overridesFromEnv({ HOTAISLE_MQTT_CLIENT_ID: '' })).toThrow(/HOTAISLE_MQTT_CLIENT_ID/);
    expect(() => overridesFromEnv({ HOTAISLE_MQTT_CLIENT_ID: 'two words' })).toThrow(/without spaces/);
    expect(() => overridesFromEnv({ HOTAISLE_API_PORT: '70000' })).toThrow(/HOTAISLE_API_PORT/);
    expect(() => overridesFromEnv({ HOTAISLE_STORAGE: 'postgres' })).toThrow(/"embedded" or "influx"/);
    expect(() => applyOverrides(site, { influxUrl: 'udp://x:8089' })).toThrow(/http:\/\/ or https:\/\//);
  });
});
