// `homeassistant:` in edgebus.yaml and what a sensor is called: defaults, errors with their
// file:line, the classes derived from units and names (and the overrides), and the test's
// own discovery schema, which must refuse what Home Assistant refuses.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { SchemaError } from '../../src/config/validate.js';
import { sensorClasses } from '../../src/homeassistant/classes.js';
import { alertConfig, sensorConfigs, Topics, type DiscoveryNaming } from '../../src/homeassistant/discovery.js';
import { configProblems, render } from '../helpers/home-assistant.js';
import { tempDirFor } from '../helpers/tmp.js';

function load(t: TestContext, text: string) {
  const file = join(tempDirFor(t), 'edgebus.yaml');
  writeFileSync(file, text);
  return { file, load: () => loadConfig({ file, env: {} }) };
}

function errors(t: TestContext, text: string): string[] {
  const { load: run } = load(t, text);
  try {
    run();
  } catch (err) {
    assert.ok(err instanceof SchemaError);
    return err.message.split('\n');
  }
  assert.fail('expected a config error');
}

const naming: DiscoveryNaming = { gatewayId: 'gw', prefix: 'homeassistant', version: '0.1.0', overrides: {} };

describe('homeassistant config', () => {
  it('is on by default, for the local broker, under homeassistant/', (t) => {
    const { config } = load(t, 'gatewayId: gw\n').load();
    assert.deepEqual(config.homeassistant, { enabled: true, prefix: 'homeassistant', broker: 'local', sensors: {} });
  });

  it('names the file, line and key of a bad value, and what was expected', (t) => {
    const lines = errors(t, 'gatewayId: gw\nhomeassistant:\n  broker: cloud\n  sensors:\n    flow:\n      deviceClass: flowrate\n');
    assert.ok(lines.some((l) => /edgebus\.yaml:3: homeassistant\.broker: expected one of local, upstream, got "cloud"/.test(l)), lines.join('\n'));
    assert.ok(lines.some((l) => /edgebus\.yaml:6: homeassistant\.sensors\.flow\.deviceClass: expected one of .*temperature.*, got "flowrate"/.test(l)), lines.join('\n'));
  });

  it('is turned off by the environment as any key is', (t) => {
    const file = load(t, 'gatewayId: gw\n').file;
    assert.equal(loadConfig({ file, env: { EDGEBUS_HOMEASSISTANT_ENABLED: 'false' } }).config.homeassistant.enabled, false);
  });

  it('refuses broker: upstream without an upstream', (t) => {
    const lines = errors(t, 'gatewayId: gw\nhomeassistant:\n  broker: upstream\n');
    assert.ok(lines.some((l) => /edgebus\.yaml:3: homeassistant\.broker: upstream needs the upstream section/.test(l)), lines.join('\n'));
  });

  it('refuses broker: upstream under a Sparkplug B upstream, whose Will is the NDEATH', (t) => {
    const lines = errors(t, 'gatewayId: gw\nupstream:\n  url: mqtt://127.0.0.1:1883\n  format: sparkplug\nhomeassistant:\n  broker: upstream\n');
    assert.ok(lines.some((l) => /edgebus\.yaml:6: homeassistant\.broker: upstream cannot be used with upstream\.format: sparkplug/.test(l)), lines.join('\n'));
  });

  it('refuses a prefix with a wildcard', (t) => {
    const lines = errors(t, 'homeassistant:\n  prefix: "ha/#"\n');
    assert.ok(lines.some((l) => /:2: homeassistant\.prefix: expected a discovery prefix/.test(l)), lines.join('\n'));
  });
});

describe('sensor classes', () => {
  const cases: [string, string | null, boolean, [string | null, string | null, string | null]][] = [
    ['temperature', 'C', true, ['temperature', 'measurement', '°C']],
    ['air', '°F', true, ['temperature', 'measurement', '°F']],
    ['humidity', '%', true, ['humidity', 'measurement', '%']],
    ['soil_moisture', '%', true, ['moisture', 'measurement', '%']],
    ['battery', '%', true, ['battery', 'measurement', '%']],
    ['valve', '%', true, [null, 'measurement', '%']],
    ['meter', 'kWh', true, ['energy', 'total_increasing', 'kWh']],
    ['load', 'W', true, ['power', 'measurement', 'W']],
    ['co2', 'ppm', true, ['carbon_dioxide', 'measurement', 'ppm']],
    ['rssi', 'dBm', true, ['signal_strength', 'measurement', 'dBm']],
    ['count', null, true, [null, 'measurement', null]],
    ['mode', 'C', false, [null, null, null]],
  ];
  for (const [name, unit, numeric, want] of cases) {
    it(`${name} in ${unit ?? 'no unit'}${numeric ? '' : ' (text)'}`, () => {
      const c = sensorClasses(name, unit, numeric, undefined);
      assert.deepEqual([c.deviceClass, c.stateClass, c.unit], want);
    });
  }

  it('an override replaces what it sets, null included', () => {
    const c = sensorClasses('meter', 'kWh', true, { stateClass: 'total' });
    assert.deepEqual([c.deviceClass, c.stateClass, c.unit], ['energy', 'total', 'kWh']);
    // Without a unit, a class that needs one is not derived (Home Assistant would refuse it).
    const bare = sensorClasses('meter', 'kWh', true, { unit: null });
    assert.deepEqual([bare.deviceClass, bare.stateClass, bare.unit], [null, 'measurement', null]);
  });

  it('a device/sensor override wins over the sensor one', () => {
    const n = { ...naming, overrides: { flow: { deviceClass: 'water' as const }, 'm-1/flow': { deviceClass: null } } };
    const topics = new Topics(n);
    const device = (id: string) => ({ id, status: null, metadata: {}, sensors: { flow: { value: 3, unit: 'L', timestamp: '2026-12-01T00:00:00.000Z' } } });
    const of = (id: string) => JSON.parse([...sensorConfigs(n, topics, device(id)).values()][0]) as { device_class?: string };
    assert.equal(of('m-1').device_class, undefined);
    assert.equal(of('m-2').device_class, 'water');
  });
});

describe('the discovery schema of the tests', () => {
  const topics = new Topics(naming);
  const device = { id: 'gh.1', status: null, metadata: { model: 'X' }, sensors: { 'temp/in': { value: 20, unit: 'C', timestamp: '2026-12-01T00:00:00.000Z' } } };
  const [[topic, payload]] = [...sensorConfigs(naming, topics, device)];

  it('takes what edgebus publishes, with ids made of letters, digits, _ and -', () => {
    assert.equal(topic, 'homeassistant/sensor/gw_gh_1/temp_in/config');
    assert.deepEqual(configProblems(topic, payload), []);
    const alert = alertConfig(naming, topics, 'hot', 'gh.1');
    assert.deepEqual(configProblems(topics.alertConfig('hot', 'gh.1'), alert), []);
  });

  it('takes hostile sensor names as names (the projection is JSON: __proto__ is an own key there)', () => {
    const sensors = JSON.parse('{"__proto__":{"value":1,"unit":"C","timestamp":"t"},"constructor":{"value":2,"unit":"%","timestamp":"t"}}') as typeof device.sensors;
    const configs = [...sensorConfigs(naming, topics, { ...device, sensors })];
    assert.deepEqual(configs.map(([t]) => t), ['homeassistant/sensor/gw_gh_1/__proto__/config', 'homeassistant/sensor/gw_gh_1/constructor/config']);
    for (const [t, p] of configs) assert.deepEqual(configProblems(t, p), []);
  });

  it('refuses an unknown device class, a missing state topic, a misspelt key, a device without identifiers', () => {
    const config = JSON.parse(payload) as Record<string, unknown>;
    const bad = (change: (c: Record<string, unknown>) => void) => {
      const c = structuredClone(config);
      change(c);
      return configProblems(topic, JSON.stringify(c));
    };
    assert.notDeepEqual(bad((c) => (c.device_class = 'flowrate')), []);
    assert.notDeepEqual(bad((c) => delete c.state_topic), []);
    assert.notDeepEqual(bad((c) => (c.unit_of_measurment = '°C')), []);
    assert.notDeepEqual(bad((c) => delete (c.device as Record<string, unknown>).identifiers), []);
    assert.notDeepEqual(bad((c) => (c.availability_mode = 'every')), []);
    assert.notDeepEqual(configProblems('homeassistant/sensor/gw/a.b/config', payload), []);
  });

  it('renders the templates edgebus emits', () => {
    assert.equal(render('{{ value_json }}', '21.5'), '21.5');
    assert.equal(render('{{ value_json }}', '"eco"'), 'eco');
    assert.equal(render('{{ value_json.state }}', '{"state":"offline"}'), 'offline');
    assert.equal(render("{{ 'ON' if value_json.state == 'online' else 'OFF' }}", '{"state":"online"}'), 'ON');
    assert.throws(() => render('{{ value | float }}', '1'));
  });
});
