/** The MQTT connection settings every client of the agent shares (telemetry/mqttClient.ts). */
import { describe, expect, it } from 'vitest';
import { BrokerSchema } from '../../src/config/schema.ts';
import { brokerUrl, mqttCredentials } from '../../src/telemetry/mqttClient.ts';

describe('brokerUrl', () => {
  it('uses an external broker URL as written', () => {
    expect(brokerUrl(BrokerSchema.parse({ kind: 'external', url: 'mqtts://mq.example.net:8883' }))).toBe(
      'mqtts://mq.example.net:8883',
    );
  });

  it('reaches the embedded broker on its host, over loopback when it listens on every interface', () => {
    expect(brokerUrl(BrokerSchema.parse({ port: 1884 }))).toBe('mqtt://127.0.0.1:1884');
    expect(brokerUrl(BrokerSchema.parse({ host: '0.0.0.0', port: 1884 }))).toBe('mqtt://127.0.0.1:1884');
    expect(brokerUrl(BrokerSchema.parse({ host: '::', port: 1884 }))).toBe('mqtt://127.0.0.1:1884');
    expect(brokerUrl(BrokerSchema.parse({ host: '::1', port: 1884 }))).toBe('mqtt://[::1]:1884');
  });
});

describe('mqttCredentials', () => {
  it('reads the variables the site file names, else the HOTAISLE_MQTT_* ones', () => {
    const env = {
      HOTAISLE_MQTT_USERNAME: 'agent',
      HOTAISLE_MQTT_PASSWORD: 'pw',
      SITE_MQTT_USER: 'site-user',
    };
    expect(mqttCredentials(env, BrokerSchema.parse({}))).toEqual({ username: 'agent', password: 'pw' });
    expect(mqttCredentials(env, BrokerSchema.parse({ usernameEnv: 'SITE_MQTT_USER' }))).toMatchObject({
      username: 'site-user',
    });
  });
});
